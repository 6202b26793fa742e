"""The documentation site builds offline, loads nothing from another host, and renders in a real browser.

The site is built once per test session, exactly as the README says
(``python -m sphinx -W -b html docs docs/_build/html``: warnings are errors,
the notebooks are executed). Then

- no page or stylesheet loads a script, style, font or image from another
  host (links to other sites are fine: they load nothing);
- headless Chromium opens pages from ``file://`` with the network off, and
  the rendered DOM shows typeset maths (MathJax's ``mjx-container``
  elements, no raw TeX delimiters left) and every figure loaded; screenshots
  go to ``docs/_build/html/_screenshots/``.

Without a Chromium binary the browser test skips and says so; ``.ci/run``
installs Chromium, so CI runs it.
"""

import html.parser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "docs" / "_build" / "html"
PAGES = ["index.html", "model.html", "tutorials/02_scans.html"]  # maths on model, figures on the tutorial


@pytest.fixture(scope="module")
def site():
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", "docs", str(BUILD)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"the site did not build:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return BUILD


class _Loads(html.parser.HTMLParser):
    """Every URL a page makes the browser load: scripts, stylesheets, icons, fonts, images, frames."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href") and set((attrs.get("rel") or "").split()) & {
                "stylesheet", "preload", "icon", "modulepreload", "prefetch"}:
            self.urls.append(attrs["href"])
        if tag == "object" and attrs.get("data"):
            self.urls.append(attrs["data"])


def _external(url):
    return re.match(r"^(https?:)?//", url.strip(), re.I) is not None


def test_site_builds_with_the_model_the_api_and_executed_tutorials(site):
    for page in ["index.html", "getting_started.html", "model.html", "api.html", *PAGES]:
        assert (site / page).is_file(), page
    api = (site / "api.html").read_text()
    assert "arnn_forward" in api and "Parameters" in api  # generated from the docstrings
    tutorial = (site / "tutorials" / "02_scans.html").read_text()
    assert "<img" in tutorial and "cell_output" in tutorial  # executed: outputs and figures are on the page


def test_no_page_loads_anything_from_another_host(site):
    offenders = []
    for page in sorted(site.rglob("*.html")):
        parser = _Loads()
        parser.feed(page.read_text(errors="replace"))
        offenders += [f"{page.relative_to(site)}: {url}" for url in parser.urls if _external(url)]
    for css in sorted(site.rglob("*.css")):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(errors="replace")):
            if _external(url):
                offenders.append(f"{css.relative_to(site)}: {url}")
        offenders += [f"{css.relative_to(site)}: @import {u}" for u in
                      re.findall(r"@import\s+['\"]((?:https?:)?//[^'\"]+)", css.read_text(errors="replace"))]
    assert not offenders, "the site loads from other hosts:\n" + "\n".join(offenders)


def test_the_checker_sees_external_loads():
    parser = _Loads()
    parser.feed('<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//fonts.example/c">'
                '<img src="_images/a.png"><a href="https://example.org">a link loads nothing</a>')
    assert [u for u in parser.urls if _external(u)] == ["https://cdn.example/x.js", "//fonts.example/c"]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # no network: every request fails
          "--allow-file-access-from-files", "--hide-scrollbars"]

# A page that loads the page under test in a same-origin frame and reports,
# once MathJax has had time to typeset, what the rendered document holds.
_PROBE = """<!doctype html><html><body><pre id="report">pending</pre>
<iframe id="page" src="{url}" width="1280" height="1600"></iframe>
<script>
const frame = document.getElementById("page");
frame.addEventListener("load", () => setTimeout(() => {{
  const doc = frame.contentDocument;
  const images = Array.from(doc.images);
  const text = doc.body.innerText;
  document.getElementById("report").textContent = JSON.stringify({{
    typeset: doc.querySelectorAll("mjx-container").length,
    raw_tex: (text.match(/\\\\\\(|\\\\\\[|\\$\\$/g) || []).length,
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src")),
  }});
}}, 8000));
</script></body></html>
"""


def _render(chromium, page, tmp_path):
    probe = tmp_path / (page.replace("/", "_") + ".probe.html")
    probe.write_text(_PROBE.format(url=(BUILD / page).as_uri()))
    result = subprocess.run([chromium, *_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                             "--virtual-time-budget=30000", "--dump-dom", probe.as_uri()],
                            capture_output=True, text=True, timeout=180)
    report = re.search(r'<pre id="report">(.*?)</pre>', result.stdout, re.S)
    assert report and report.group(1) != "pending", f"no report from Chromium for {page}:\n{result.stderr[-2000:]}"
    return json.loads(html.unescape(report.group(1)))


def test_pages_render_in_a_real_browser_offline(site, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium binary (chromium, chromium-browser or google-chrome) on PATH; "
                    ".ci/run installs Debian's chromium package")
    shots = site / "_screenshots"
    shots.mkdir(exist_ok=True)
    for page in PAGES:
        report = _render(chromium, page, tmp_path)
        assert report["raw_tex"] == 0, (page, report)
        assert not report["broken"], (page, report)
        if page != "index.html":
            assert report["typeset"] > 0, (page, report)
        if page.startswith("tutorials/"):
            assert report["images"] > 0, (page, report)
        shot = shots / (page.replace("/", "_").removesuffix(".html") + ".png")
        subprocess.run([chromium, *_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
                        "--virtual-time-budget=15000", f"--screenshot={shot}", (site / page).as_uri()],
                       capture_output=True, timeout=180)
        assert shot.is_file() and shot.stat().st_size > 20_000, f"no screenshot of {page}"

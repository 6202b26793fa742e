"""The documentation site builds offline, loads nothing from another host, and renders in a real browser.

The site is built once per test session, exactly as the README says
(``python -m sphinx -W -b html docs docs/_build/html``: warnings are errors,
the notebooks are executed). Then

- no page or stylesheet loads a script, style, font or image from another
  host (links to other sites are fine: they load nothing);
- headless Chromium opens pages from ``file://`` with the network off, and
  the rendered DOM shows typeset maths (MathJax's ``mjx-container``
  elements, no raw TeX delimiters left) and every figure loaded; screenshots
  go to ``docs/_build/html/_screenshots/``;
- at a 1280 px window, no display equation of any page is wider than the
  content column it sits in (a wider one hides behind a scrollbar).

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


def test_the_api_reference_keeps_the_key_table_of_init_arnn_params(site):
    api = (site / "api.html").read_text()
    section = api.split('id="attnrnn_np.init_arnn_params"', 1)[1].split('id="attnrnn_np.arnn_forward"', 1)[0]
    table = re.search(r"<pre>(.*?)</pre>", section, re.S)
    assert table, "init_arnn_params's key table is not a preformatted block"
    rows = re.sub(r"<[^>]+>", "", html.unescape(table.group(1))).splitlines()
    assert [r.split()[0] for r in rows if r.strip()] == ["{d}.W_x", "{d}.W_up", "head.w"], rows
    for page in ("api_pieces.html", "api_checks.html", "api_learning.html"):   # one page per module group
        assert (site / page).is_file(), page


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


# One page that loads every page of the site in turn into a 1280 px frame,
# waits for MathJax to finish, and measures every display equation against
# the block that holds it (the content column).
_WIDTHS = """<!doctype html><html><body><pre id="report">pending</pre>
<iframe id="page" width="{width}" height="1000"></iframe>
<script>
const pages = {pages}; const base = {base}; const out = {{}};
const frame = document.getElementById("page");
function measure(doc) {{
  return Array.from(doc.querySelectorAll('mjx-container[display="true"]')).map(m => {{
    const math = m.querySelector("mjx-math") || m;
    return {{width: math.getBoundingClientRect().width,
            column: m.parentElement.getBoundingClientRect().width,
            text: (m.querySelector("mjx-assistive-mml") || m).textContent.slice(0, 80)}};
  }});
}}
function next(k) {{
  if (k >= pages.length) {{ document.getElementById("report").textContent = JSON.stringify(out); return; }}
  frame.onload = () => {{
    const win = frame.contentWindow;
    const done = () => {{ try {{ out[pages[k]] = measure(frame.contentDocument); }}
                         catch (e) {{ out[pages[k]] = String(e); }} next(k + 1); }};
    const unfold = () => {{   // folded answers hold equations too: open every <details> before measuring
      frame.contentDocument.querySelectorAll("details").forEach(d => {{ d.open = true; }});
      setTimeout(done, 300);
    }};
    const wait = (n) => {{
      if (win.MathJax && win.MathJax.startup && win.MathJax.startup.promise)
        win.MathJax.startup.promise.then(unfold);
      else if (n > 0) setTimeout(() => wait(n - 1), 100);
      else unfold();
    }};
    wait(50);
  }};
  frame.src = base + pages[k];
}}
next(0);
</script></body></html>
"""


def _display_equations(site):
    """Pages of the built site, each with its number of display-maths blocks in the HTML."""
    pages = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_screenshots/")):
            continue
        pages[rel] = len(re.findall(r'<div class="math notranslate nohighlight"', page.read_text(errors="replace")))
    return pages


def _measure_widths(chromium, site, pages, tmp_path, width=1280):
    probe = tmp_path / "widths.probe.html"
    probe.write_text(_WIDTHS.format(width=width, pages=json.dumps(pages), base=json.dumps(site.as_uri() + "/")))
    result = subprocess.run([chromium, *_FLAGS, f"--user-data-dir={tmp_path / 'profile-widths'}",
                             "--virtual-time-budget=300000", "--dump-dom", probe.as_uri()],
                            capture_output=True, text=True, timeout=600)
    report = re.search(r'<pre id="report">(.*?)</pre>', result.stdout, re.S)
    assert report and report.group(1) != "pending", f"no width report from Chromium:\n{result.stderr[-2000:]}"
    return json.loads(html.unescape(report.group(1)))


def _clipped(measured):
    return [f"{page}: {eq['width']:.0f} px in a {eq['column']:.0f} px column: {eq['text']}"
            for page, eqs in measured.items() for eq in eqs if eq["width"] > eq["column"] + 1]


def test_no_display_equation_is_wider_than_the_column_at_1280_px(site, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium binary on PATH; .ci/run installs Debian's chromium package")
    expected = _display_equations(site)
    assert sum(expected.values()) > 50, expected  # the pages do hold display maths
    measured = _measure_widths(chromium, site, list(expected), tmp_path)
    not_typeset = [f"{page}: {len(measured.get(page, []))} of {n} typeset" for page, n in expected.items()
                   if not isinstance(measured.get(page), list) or len(measured[page]) != n]
    assert not not_typeset, "display maths not typeset, so not measured:\n" + "\n".join(not_typeset)
    clipped = _clipped(measured)
    assert not clipped, "display equations wider than the content column at 1280 px:\n" + "\n".join(clipped)


def test_the_width_check_sees_a_clipped_equation(site, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium binary on PATH")
    wide = " + ".join(f"x_{{{i}}} y_{{{i}}}" for i in range(60))
    page = site / "_width_check.html"
    page.write_text(
        '<!doctype html><html><head><script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>'
        '<script defer src="_static/mathjax/tex-chtml.js"></script></head><body>'
        '<div style="width: 700px"><div class="math notranslate nohighlight">\\[ a = b \\]</div>'
        f'<details><summary>folded</summary><div class="math notranslate nohighlight">\\[ {wide} \\]</div>'
        '</details></div></body></html>')
    try:
        measured = _measure_widths(chromium, site, ["_width_check.html"], tmp_path)
    finally:
        page.unlink()
    assert len(measured["_width_check.html"]) == 2, measured
    clipped = _clipped(measured)
    assert len(clipped) == 1 and "x" in clipped[0], clipped


def _sections(markdown):
    return set(re.findall(r"^###\s+`([^`]+)`\s*$", markdown, re.M))


def test_the_common_bugs_page_has_a_section_for_every_catalogue_entry():
    from attnrnn_np.verify.catalogue import BUGS

    page = (ROOT / "docs" / "common_bugs.md").read_text()
    sections = _sections(page)
    missing = [b.name for b in BUGS if b.name not in sections]
    assert not missing, f"docs/common_bugs.md has no section for: {missing}"
    for b in BUGS:   # each section says what it looks like, how it shows and how to catch it
        text = page.split(f"### `{b.name}`", 1)[1].split("\n### ", 1)[0]
        for part in ("**Looks like:**", "**Shows as:**", "**Catch it yourself:**"):
            assert part in text, (b.name, part)


def test_the_section_check_sees_a_missing_entry():
    assert _sections("### `gate-order`\n\n### `flip-axis`\ntext\n## `head-halves`\n") == {"gate-order", "flip-axis"}


def test_the_index_opens_with_the_students_path_and_model_md_has_a_glossary():
    index = (ROOT / "docs" / "index.md").read_text()
    first_section = index.split("\n## ", 2)[1]
    assert first_section.startswith("Start here (students)"), first_section[:80]
    for step in ("01", "02", "03", "04", "05", "06", "07"):
        assert f"| {step} |" in first_section, step
    assert "Where the paper stops" in first_section and "figures/layer_diagram.png" in first_section
    assert "attnrnn-np course" in first_section   # the course kit, offered for self-study
    model = (ROOT / "docs" / "model.md").read_text()
    notation = model.split("## §1 Notation", 1)[1].split("\n## §2", 1)[0]
    assert "**Glossary of symbols.**" in notation and "Symbols that look alike" in notation
    assert "Where the paper stops" in model.split("## §1", 1)[0]
    # every block of display equations in model.md §3–§6 carries a Source line before it
    body = model.split("## §3", 1)[1].split("## §7", 1)[0]
    for section in re.split(r"\n### |\n## ", body):
        if "$$" in section:
            assert "*Source —" in section.split("$$", 1)[0], section[:60]

"""Sphinx configuration of the attnrnn_np documentation site.

Build it (the ``docs`` extra installs what it needs) with::

    python -m sphinx -W -b html docs docs/_build/html

The site works offline: MathJax comes from the ``sphinx-mathjax-offline``
package and is copied into the build, and the theme (furo) loads nothing
from another host. The tutorials are the notebooks of ``notebooks/``,
copied into ``docs/tutorials/`` at the start of each build and executed
then, so their figures appear on the site.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "attnrnn_np"
author = "the attnrnn_np authors"
copyright = "2026, the attnrnn_np authors (MIT licence)"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]

# MyST: $...$ and $$...$$ maths, ``:::`` fences, heading anchors for links like model.md#5.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph is display maths too
myst_heading_anchors = 3

# Notebooks are executed at build time; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True  # a loop's prints form one output block, not one box per print

# API reference from the docstrings (NumPy style).
autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = False  # shapes like "array (N, H, W)" stay text, not cross-references

html_theme = "furo"
html_title = "attnrnn_np"
html_static_path = []
html_show_sourcelink = False


def _copy_notebooks(app):
    """Copy ``notebooks/*.ipynb`` to ``docs/tutorials/`` (a build product, ignored by git)."""
    target = DOCS / "tutorials"
    target.mkdir(exist_ok=True)
    for old in target.glob("*.ipynb"):
        old.unlink()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


def _keep_literal_blocks_in_fields(app, what, name, obj, options, lines):
    """Keep a field's literal block (``name : text::`` then an indented block) a literal block.

    Napoleon folds a field's indented lines into one paragraph, so a table of
    keys written as a literal block under ``Returns`` would read as one
    run-on line. Rewritten as the field's description followed by ``::``
    and the block, it stays a preformatted table. Runs before napoleon.
    """
    out, k = [], 0
    while k < len(lines):
        line = lines[k]
        stripped = line.rstrip()
        if " : " in stripped and stripped.endswith("::") and not stripped.lstrip().startswith(".."):
            indent = line[:len(line) - len(line.lstrip())]
            out += [stripped[:-2], indent + "    ::", ""]
            k += 1
            while k < len(lines) and not lines[k].strip():
                k += 1
            while k < len(lines) and (not lines[k].strip() or lines[k].startswith(indent + "    ")):
                out.append(("    " + lines[k]) if lines[k].strip() else "")
                k += 1
            continue
        out.append(line)
        k += 1
    lines[:] = out


def setup(app):
    app.connect("builder-inited", _copy_notebooks)
    app.connect("autodoc-process-docstring", _keep_literal_blocks_in_fields, priority=400)

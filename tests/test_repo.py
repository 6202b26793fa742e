"""The repository keeps its promises: README commands, CI, paired notebooks."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_top_has_exactly_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert all(c.startswith("python -m pip install -e ") for c in commands)


def test_ci_runs_the_readme_test_command():
    test_command = _readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_is_paired_with_an_identical_py_file(notebook):
    jupytext = pytest.importorskip("jupytext")
    script = notebook.with_suffix(".py")
    assert script.exists(), f"{notebook.name} has no paired {script.name}"
    from_ipynb = [(c.cell_type, c.source) for c in jupytext.read(notebook).cells]
    from_py = [(c.cell_type, c.source) for c in jupytext.read(script).cells]
    assert from_ipynb == from_py, f"{notebook.name} and {script.name} differ: run jupytext --sync {script}"

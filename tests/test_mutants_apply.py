"""The mutation check's list of mutants still fits the code (benchmarks/mutation.py).

The mutation check plants each mutant by replacing an exact piece of text in
one file of the package. A refactor can make that text disappear (the
mutant would then test nothing) or appear twice (it would plant the bug in
the wrong place). This test, in the default run, keeps the list honest:

- every mutant's old text occurs exactly once in its file, today;
- the edited file still parses, so a mutant is a bug, not a syntax error
  that any import would catch;
- every mutant names a bug of the catalogue (attnrnn_np/verify/catalogue.py);
- names are unique, every listed equivalent is a mutant, and there are at
  least 60 mutants.

It does not run the mutants: that takes tens of minutes (docs/testing.md).
"""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from attnrnn_np.verify.catalogue import BUGS

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("mutation", ROOT / "benchmarks" / "mutation.py")
mutation = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("mutation", mutation)  # its dataclasses look their module up by name
_spec.loader.exec_module(mutation)


@pytest.mark.parametrize("mutant", mutation.MUTANTS, ids=lambda m: m.name)
def test_mutant_applies_once_and_parses(mutant):
    source = (ROOT / mutation.PACKAGE / mutant.path).read_text()
    assert source.count(mutant.old) == 1, (
        f"{mutant.name}: {mutant.old!r} occurs {source.count(mutant.old)} times in {mutant.path}; "
        "update the mutant to the code's current text")
    assert mutant.new != mutant.old
    mutated = mutation.apply(source, mutant)
    assert mutated != source
    ast.parse(mutated, filename=mutant.path)


def test_every_mutant_names_a_catalogue_bug():
    known = {b.name for b in BUGS}
    unknown = {m.name: m.bug for m in mutation.MUTANTS if m.bug not in known}
    assert not unknown, f"mutants naming bugs the catalogue lacks: {unknown}"


def test_names_are_unique_equivalents_are_mutants_and_there_are_enough():
    names = [m.name for m in mutation.MUTANTS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert set(mutation.EQUIVALENT) <= set(names)
    assert len(names) >= 60


def test_apply_refuses_text_that_is_missing_or_repeated():
    m = mutation.Mutant("probe", "gate-order", "x.py", "a + b", "a - b")
    assert mutation.apply("y = a + b\n", m) == "y = a - b\n"
    for source in ("y = a * b\n", "y = a + b\nz = a + b\n"):
        with pytest.raises(ValueError, match="exactly once"):
            mutation.apply(source, m)

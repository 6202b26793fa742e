"""Tools for checking another AttentionRNN implementation against this one.

The verification kit (docs/verify.md):

- :func:`problems`: the fixed float64 problem set;
- :func:`trace`: every intermediate of the layer, by documented names;
- :func:`to_torch_layout`, :func:`from_torch_layout`: parameters (and
  gradients) between this package's layout and a PyTorch module's;
- :func:`verify`, :func:`verify_npz`, :func:`verify_installation`: the
  comparison and its report, which names the first stage that diverges and
  the likely causes from the catalogue of classic bugs (``catalogue.py``);
- :func:`write_golden`: the golden files for implementations in any language;
- :func:`assert_verified`: the check as one assertion, for a pytest suite;
- :func:`gradcheck_candidate`: a candidate's gradients against its own forward.

``attnrnn_np.verify.torch_reference`` holds a reference PyTorch module; it is
not imported here, so this package never imports torch.
"""

from .catalogue import BUGS, STAGES, bug
from .golden import load_golden, output_names, reference, write_golden
from .gradcheck import gradcheck_candidate
from .layout import from_torch_layout, to_torch_layout
from .problems import Problem, custom_problem, problem_names, problems, select_names
from .report import REQUIREMENTS, TOLERANCES, Report, stage_of, verify, verify_installation, verify_npz
from .trace import trace, trace_names

__all__ = [
    "BUGS",
    "STAGES",
    "bug",
    "Problem",
    "problems",
    "problem_names",
    "custom_problem",
    "trace",
    "trace_names",
    "to_torch_layout",
    "from_torch_layout",
    "reference",
    "output_names",
    "write_golden",
    "load_golden",
    "TOLERANCES",
    "Report",
    "stage_of",
    "verify",
    "verify_npz",
    "verify_installation",
    "REQUIREMENTS",
    "select_names",
    "gradcheck_candidate",
    "assert_verified",
]


def assert_verified(candidate, problems=None, *, dtype="float64", require=()):
    """Verify ``candidate`` and raise ``AssertionError`` with the whole report when it does not pass.

    For a researcher's own test suite::

        def test_my_layer_agrees():
            assert_verified(my_candidate, require=("grads", "intermediates"))

    ``problems`` takes Problems, names, or a ``--problems`` spec string
    (``"k3-*,multi-scale"``). Returns the Report when it passes.
    """
    if isinstance(problems, str):
        problems = select_names(problems)
    report = verify(candidate, problems, dtype=dtype, require=require)
    if not report.passed:
        from .render import render

        raise AssertionError("\n" + render(report, "all"))
    return report

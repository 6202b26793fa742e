"""Tools for checking another AttentionRNN implementation against this one.

The verification kit (docs/verify.md):

- :func:`problems`: the fixed float64 problem set;
- :func:`trace`: every intermediate of the layer, by documented names;
- :func:`to_torch_layout`, :func:`from_torch_layout`: parameters (and
  gradients) between this package's layout and a PyTorch module's;
- :func:`verify`, :func:`verify_npz`, :func:`verify_installation`: the
  comparison and its report, which names the first stage that diverges and
  the likely causes from the catalogue of classic bugs (``catalogue.py``);
- :func:`write_golden`: the golden files for implementations in any language.

``attnrnn_np.verify.torch_reference`` holds a reference PyTorch module; it is
not imported here, so this package never imports torch.
"""

from .catalogue import BUGS, STAGES, bug
from .golden import load_golden, output_names, reference, write_golden
from .layout import from_torch_layout, to_torch_layout
from .problems import Problem, custom_problem, problem_names, problems
from .report import TOLERANCES, Report, stage_of, verify, verify_installation, verify_npz
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
]

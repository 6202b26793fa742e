"""attnrnn_np: AttentionRNN (Khandelwal & Sigal, ICCV 2019) in NumPy/CuPy with manual backprop.

The package root exports the public functions of docs/model.md §7 and the thin
stateful layer; everything else lives in one module per idea.
"""

from .arnn import arnn_backward, arnn_forward, init_arnn_params
from .layer import AttentionRNN
from .multiscale import init_multiscale_params, multiscale_arnn_backward, multiscale_arnn_forward

__all__ = [
    "init_arnn_params",
    "arnn_forward",
    "arnn_backward",
    "init_multiscale_params",
    "multiscale_arnn_forward",
    "multiscale_arnn_backward",
    "AttentionRNN",
]

__version__ = "0.1.0"

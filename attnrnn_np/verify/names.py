"""The names a candidate's values go by, parsed once.

A name is one of ``A``, ``dX``, ``dq``, ``grads.{params key}``, ``S``,
``beta`` or an intermediate ``{kind}.{d}`` (kind ``U``, ``gates``, ``c``,
``h``; d ``fwd`` or ``bwd``), and for the multi-scale layer a scale's own
values carry the prefix ``scale{γ}.`` (docs/verify.md, "Names").
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Name", "parse", "stage_of", "nearest"]

_SCALE = re.compile(r"^scale(\d+)\.(.+)$")


class Name(NamedTuple):
    """One parsed name: ``parse("scale2.gates.bwd")`` → scale 2, kind ``gates``, direction ``bwd``."""

    text: str
    scale: int | None      # γ of a ``scale{γ}.`` prefix, None without one
    kind: str              # U, gates, c, h, S, A, beta, dX, dq or grads
    direction: str | None  # fwd or bwd for an intermediate, None otherwise
    key: str | None        # the params key of a ``grads.`` name

    @property
    def local(self):
        """The name without its ``scale{γ}.`` prefix."""
        return self.text if self.scale is None else self.text.split(".", 1)[1]

    @property
    def prefix(self):
        return "" if self.scale is None else f"scale{self.scale}."


@lru_cache(maxsize=4096)
def parse(text):
    """The :class:`Name` of ``text`` (any string: a name the kit does not know parses too)."""
    if text.startswith("grads."):
        return Name(text, None, "grads", None, text[len("grads."):])
    m = _SCALE.match(text)
    scale, local = (int(m.group(1)), m.group(2)) if m else (None, text)
    kind, _, rest = local.partition(".")
    direction = rest if rest in ("fwd", "bwd") else None
    return Name(text, scale, kind, direction, None)


def stage_of(name, scales=None):
    """The stage (one of the catalogue's ``STAGES``) that computes the value called ``name``.

    ``U.d`` → ``U``; ``gates.d``, ``c.d``, ``h.d`` → ``scan.d``; a scale's
    ``S`` → ``head``; ``beta`` and the combined multi-scale ``S`` →
    ``combiner``; ``A`` → ``normalize``; ``dX``, ``dq``, ``grads.*`` →
    ``backward``. ``S`` without a scale prefix is the single-scale head,
    unless ``scales`` says the problem is multi-scale.
    """
    n = parse(name)
    if n.kind in ("dX", "dq", "grads"):
        return "backward"
    if n.kind == "A":
        return "normalize"
    if n.kind == "beta":
        return "combiner"
    if n.kind == "S":
        return "combiner" if scales is not None and n.scale is None else "head"
    return "U" if n.kind == "U" else f"scan.{n.direction}"


def nearest(text, known):
    """The known name closest to ``text`` (e.g. ``h_fwd`` → ``h.fwd``), or None when none is close."""
    normalised = {k.replace("_", "").replace(".", "").lower(): k for k in known}
    squashed = text.replace("_", "").replace(".", "").lower()
    if squashed in normalised:
        return normalised[squashed]
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=0.6)
    return close[0] if close else None

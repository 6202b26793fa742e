"""What a check compared and what it never did, across every problem of a report.

Each item of the coverage applies to some problems (``dq`` to those with a
query, ``multiscale`` to the multi-scale ones, ``softmax`` to those
normalised by the softmax) and names the values that must be compared there.
An item is *complete* when every problem it applies to compared all of its
values, *partial* when some were, and *never compared* when none were. A
skipped, missing or failed-to-run problem compared nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .golden import output_names
from .names import parse

__all__ = ["REQUIREMENTS", "Item", "Coverage", "coverage"]

_INTERMEDIATE_KINDS = ("U", "gates", "c", "h")


def _names(problem, kinds=None, direction=None, grads=False):
    out = []
    for name in output_names(problem):
        n = parse(name)
        if grads:
            if n.kind == "grads":
                out.append(name)
        elif n.kind in kinds and (direction is None or n.direction == direction):
            out.append(name)
    return out


# item name -> (label, applies to problem, names that must be compared there)
_ITEMS = {
    "A": ("A", lambda p: True, lambda p: ["A"]),
    "dX": ("dX", lambda p: True, lambda p: ["dX"]),
    "dq": ("dq", lambda p: p.q is not None, lambda p: ["dq"]),
    "grads": ("every parameter's gradient", lambda p: True, lambda p: _names(p, grads=True)),
    "intermediates.fwd": ("U/gates/c/h of the raster direction", lambda p: True,
                          lambda p: _names(p, _INTERMEDIATE_KINDS, "fwd")),
    "intermediates.bwd": ("U/gates/c/h of the inverse-raster direction", lambda p: True,
                          lambda p: _names(p, _INTERMEDIATE_KINDS, "bwd")),
    "head": ("the logits S (and β)", lambda p: True, lambda p: _names(p, ("S", "beta"))),
    "sigmoid": ("the sigmoid normalisation", lambda p: p.normalize == "sigmoid", lambda p: ["A"]),
    "softmax": ("the softmax normalisation", lambda p: p.normalize == "softmax", lambda p: ["A"]),
    "single-scale": ("the single-scale layer", lambda p: p.scales is None, lambda p: ["A"]),
    "multiscale": ("the multi-scale layer", lambda p: p.scales is not None, lambda p: ["A"]),
}

# what --require accepts: the items, and "intermediates" for both directions
REQUIREMENTS = ("A", "dX", "dq", "grads", "intermediates", "head", "sigmoid", "softmax", "single-scale",
                "multiscale")
_GROUPS = {"intermediates": ("intermediates.fwd", "intermediates.bwd")}


@dataclass
class Item:
    """One coverage item over a report's problems."""

    key: str
    label: str
    applies: int = 0          # problems it applies to
    complete: int = 0         # of those, problems that compared all its values
    touched: int = 0          # of those, problems that compared at least one of its values
    never: tuple = ()         # its values (local names, scale prefix dropped) compared in no problem

    @property
    def state(self):
        if self.applies == 0:
            return "not applicable"
        if self.complete == self.applies:
            return "complete"
        return "partial" if self.touched else "never"

    def text(self):
        core = f"{self.key} {self.complete}/{self.applies}"
        if self.never and self.touched:
            shown = ", ".join(self.never[:4]) + (f" and {len(self.never) - 4} more" if len(self.never) > 4 else "")
            core += f" (never: {shown})"
        return core


@dataclass
class Coverage:
    items: dict

    def compared(self):
        return [i for i in self.items.values() if i.state in ("complete", "partial")]

    def never(self):
        return [i for i in self.items.values() if i.state == "never"]

    def unmet(self, require):
        """The required items (by requirement name) not complete; a requirement no problem has is unmet."""
        unmet = []
        for r in require:
            keys = _GROUPS.get(r, (r,))
            if any(self.items[k].state != "complete" for k in keys):
                unmet.append(r)
        return unmet

    def as_dict(self):
        return {key: {"label": i.label, "state": i.state, "problems": i.applies, "complete": i.complete,
                      "touched": i.touched, "never_compared": list(i.never)} for key, i in self.items.items()}


def coverage(results):
    """The :class:`Coverage` of a list of ProblemResults (those without a problem are left out)."""
    items = {}
    for key, (label, applies, names_of) in _ITEMS.items():
        item = Item(key, label)
        seen, wanted = set(), set()
        for r in results:
            p = r.problem
            if p is None or not applies(p):
                continue
            item.applies += 1
            names = names_of(p)
            done = r.compared & set(names)
            wanted.update(parse(n).local for n in names)
            seen.update(parse(n).local for n in done)
            item.touched += bool(done)
            item.complete += bool(names) and len(done) == len(names)
        item.never = tuple(sorted(wanted - seen))
        items[key] = item
    return Coverage(items)

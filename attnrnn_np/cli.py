"""The ``attnrnn-np`` command line: parses arguments, calls the package, no math."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="attnrnn-np", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser("tour", help="build a layer, run forward/backward, check gradients, print a report")
    tour.add_argument("--seed", type=int, default=0)
    tour.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    args = parser.parse_args(argv)
    if args.command == "tour":
        from .tour import run_tour

        return run_tour(seed=args.seed, backend=args.backend)
    return 2


if __name__ == "__main__":
    sys.exit(main())

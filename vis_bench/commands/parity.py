"""`run_bench.py parity --method NAME --fixture DIR [--out FILE]`: reproduce a golden fixture.

Exit codes: 0 every output compared and within tolerance; 1 a mismatch, or nothing to compare
(a fixture without expected outputs never passes); 3 the method has no reference implementation
to compare with (its declaration says so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "parity"
HELP = "check that this install reproduces a reference fixture made with the authors' code"

#: the method declares no parity reference (distinct from a failed comparison)
NO_REFERENCE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, help="registered method name, e.g. seqformer")
    parser.add_argument(
        "--fixture",
        required=True,
        type=Path,
        help="fixture directory, e.g. tests/fixtures/golden/seqformer/public",
    )
    parser.add_argument("--out", type=Path, default=None, help="write what was produced here")


def run(args: argparse.Namespace) -> int:
    from vis_bench.errors import InputError
    from vis_bench.registry import get_method

    plugin = get_method(args.method)
    reference = plugin.spec.parity
    if reference is None:
        print(
            f"method {plugin.name!r} has no reference implementation to check against "
            f"({plugin.spec.reference or 'none declared'}); nothing was compared"
        )
        return NO_REFERENCE
    fixture = args.fixture
    if not (fixture / "meta.json").is_file():
        raise InputError(
            f"not a parity fixture: meta.json is missing; the {plugin.name} fixture is "
            f"{reference.fixture}",
            path=str(fixture),
        )
    report = reference.run(fixture, args.out)
    print(report.format())
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0 if report.passed else 1

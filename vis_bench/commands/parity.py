"""`run_bench.py parity --method NAME | --backbone swin --fixture DIR [--out FILE]`: reproduce a
golden fixture (a whole method, or a backbone module alone).

Exit codes: 0 every output compared and within tolerance; 1 a mismatch, or nothing to compare
(a fixture without expected outputs never passes); 3 the method has no reference implementation
to compare with (its declaration says so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "parity"
HELP = "check that this install reproduces a reference fixture made with the authors' code"
GROUP = "model developer"
#: backbones with a module-level fixture (tests/fixtures/golden/backbones/public)
BACKBONE_PARITY = ("swin",)
#: the method declares no parity reference (distinct from a failed comparison)
NO_REFERENCE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--method", help="registered method name, e.g. seqformer")
    which.add_argument("--backbone", choices=BACKBONE_PARITY, help="a backbone alone")
    parser.add_argument(
        "--fixture",
        required=True,
        type=Path,
        help="fixture directory, e.g. tests/fixtures/golden/seqformer/public",
    )
    parser.add_argument("--out", type=Path, default=None, help="write what was produced here")
    parser.add_argument(
        "--json", type=Path, default=None, help="write the report (every check) as JSON here"
    )


def _runner(args: argparse.Namespace):
    """The parity function to run, or None for a method without a reference."""
    if args.backbone is not None:
        from vis_bench.methods.common.swin_parity import run_parity

        return run_parity, "tests/fixtures/golden/backbones/public"
    from vis_bench.registry import get_method

    plugin = get_method(args.method)
    reference = plugin.spec.parity
    if reference is None:
        print(
            f"method {plugin.name!r} has no reference implementation to check against "
            f"({plugin.spec.reference or 'none declared'}); nothing was compared"
        )
        return None, None
    return reference.run, reference.fixture


def run(args: argparse.Namespace) -> int:
    from vis_bench.errors import InputError

    run_parity, public_fixture = _runner(args)
    if run_parity is None:
        return NO_REFERENCE
    fixture = args.fixture
    if not (fixture / "meta.json").is_file():
        raise InputError(
            f"not a parity fixture: meta.json is missing; the public fixture is {public_fixture}",
            path=str(fixture),
        )
    report = run_parity(fixture, args.out)
    print(report.format())
    if args.out is not None:
        print(f"wrote {args.out}")
    if args.json is not None:
        import json

        from vis_bench.atomic import write_atomic

        write_atomic(args.json, json.dumps(report.to_json(), indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0 if report.passed else 1

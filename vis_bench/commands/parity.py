"""`run_bench.py parity --method NAME --fixture DIR [--out FILE]`: reproduce a golden fixture."""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.errors import InputError
from vis_bench.registry import get_method

NAME = "parity"
HELP = "check that this install reproduces a reference fixture made with the authors' code"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, help="registered method name, e.g. seqformer")
    parser.add_argument("--fixture", required=True, type=Path, help="fixture directory")
    parser.add_argument("--out", type=Path, default=None, help="write what was produced here")


def run(args: argparse.Namespace) -> int:
    plugin = get_method(args.method)
    run_parity = getattr(plugin, "run_parity", None)
    if run_parity is None:
        raise InputError(f"method {args.method!r} has no parity fixtures support", field="--method")
    fixture = args.fixture
    if not (fixture / "meta.json").is_file():
        raise InputError(
            "not a parity fixture: meta.json is missing; point --fixture at a directory such as "
            "tests/fixtures/golden/seqformer/public",
            path=str(fixture),
        )
    report = run_parity(fixture, args.out)
    print(report.format())
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0 if report.passed else 1

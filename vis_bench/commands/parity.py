"""`run_bench.py parity --method NAME | --backbone swin --fixture DIR [--out FILE]`: reproduce a
golden fixture (a whole method, or a backbone module alone)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.errors import InputError
from vis_bench.methods.common.swin_parity import run_parity as run_swin_parity
from vis_bench.registry import get_method

NAME = "parity"
HELP = "check that this install reproduces a reference fixture made with the authors' code"
#: backbones with a module-level fixture (tests/fixtures/golden/backbones/public)
BACKBONE_PARITY = {"swin": run_swin_parity}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--method", help="registered method name, e.g. seqformer")
    which.add_argument("--backbone", choices=sorted(BACKBONE_PARITY), help="a backbone alone")
    parser.add_argument("--fixture", required=True, type=Path, help="fixture directory")
    parser.add_argument("--out", type=Path, default=None, help="write what was produced here")


def run(args: argparse.Namespace) -> int:
    if args.backbone is not None:
        run_parity = BACKBONE_PARITY[args.backbone]
    else:
        run_parity = getattr(get_method(args.method), "run_parity", None)
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

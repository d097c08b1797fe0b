"""`run_bench.py parity --method NAME | --backbone NAME --fixture DIR [--out FILE]`: reproduce a
golden fixture (a whole method, or a backbone module alone). Both are looked up in the registry:
a method's spec and a backbone's registry entry declare their `ParityReference`.

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
#: the method declares no parity reference (distinct from a failed comparison)
NO_REFERENCE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--method", help="registered method name, e.g. seqformer")
    which.add_argument(
        "--backbone", help="a backbone module alone, e.g. swin (those that declare a reference)"
    )
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
    from vis_bench.toolkit.registry import backbone_parity, get_method

    if args.backbone is not None:
        reference = backbone_parity(args.backbone)
        return reference.run, reference.fixture

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
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
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
        write_json_with_provenance(args.json, report.to_json(), provenance)
        print(f"wrote {args.json}")
    return 0 if report.passed else 1

"""`run_bench.py parity --method NAME | --backbone NAME --fixture DIR [--out FILE]`: reproduce a
golden fixture (a whole method, or a backbone module alone). Both are looked up in the registry:
a method's spec and a backbone's registry entry declare their `ParityReference`.

Exit codes (docs/commands.md): 0 every output compared and within tolerance; 1 a mismatch, or
nothing to compare (a fixture without expected outputs never passes); 2 the method has no
reference implementation to compare with (its declaration says so), as any input error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "check that this install reproduces a reference fixture made with the authors' code"
GROUP = "model developer"
#: where a user finds fixtures: an install carries none, the repository vendors one per method
WHERE_FIXTURES_ARE = (
    "the vis-bench repository vendors one per method and backbone under "
    "tests/fixtures/golden/<folder>/public (tests/fixtures/golden/README.md says which)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--method", help="registered method name (`methods` lists them)")
    which.add_argument(
        "--backbone", help="a backbone module alone (those whose registry entry declares one)"
    )
    parser.add_argument(
        "--fixture",
        type=Path,
        default=None,
        help=f"fixture folder (meta.json and the authors' outputs); {WHERE_FIXTURES_ARE}",
    )
    parser.add_argument("--out", type=Path, default=None, help="write what was produced here")
    parser.add_argument(
        "--json", type=Path, default=None, help="write the report (every check) as JSON here"
    )


def _runner(args: argparse.Namespace):
    """The parity function to run; an InputError for a method without a reference."""
    from vis_bench.api.registration import backbone_parity, get_method

    if args.backbone is not None:
        return backbone_parity(args.backbone).run

    from vis_bench.errors import InputError

    plugin = get_method(args.method)
    reference = plugin.spec.parity
    if reference is None:
        raise InputError(
            f"method {plugin.name!r} has no reference implementation to check against "
            f"({plugin.spec.reference or 'none declared'}); nothing was compared: choose a "
            "method whose `methods` entry declares parity",
            field="--method",
        )
    return reference.run


def _fixture(args: argparse.Namespace) -> Path:
    """The fixture folder the user named; an InputError saying where fixtures are otherwise."""
    from vis_bench.errors import InputError

    if args.fixture is None:
        raise InputError(
            f"parity compares against a fixture made with the authors' code: pass --fixture DIR; "
            f"{WHERE_FIXTURES_ARE}",
            field="--fixture",
        )
    if not (args.fixture / "meta.json").is_file():
        raise InputError(
            f"not a parity fixture: meta.json is missing; {WHERE_FIXTURES_ARE}",
            path=str(args.fixture),
            field="--fixture",
        )
    return args.fixture


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file

    for flag, path in (("--out", args.out), ("--json", args.json)):
        if path is not None:
            check_output_file(path, flag)
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    run_parity = _runner(args)
    fixture = _fixture(args)
    report = run_parity(fixture, args.out)
    print(report.format())
    if args.out is not None:
        print(f"wrote {args.out}")
    if args.json is not None:
        write_json_with_provenance(args.json, report.to_json(), provenance)
        print(f"wrote {args.json}")
    return 0 if report.passed else 1

"""The output of a command that writes a committed table (`flops`, `sizes`): its arguments,
where it writes, and how it says what it wrote."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_table_arguments(parser: argparse.ArgumentParser, kind: str, config_help: str) -> None:
    """`--config FILE` and `--out STEM` of a command that writes a committed table (`flops`,
    `sizes`): without --out the table goes to results/runs/<kind>/<name>, never committed."""
    parser.add_argument("--config", required=True, type=Path, help=config_help)
    parser.add_argument(
        "--out",
        default=None,
        help=f"output path without suffix (default: results/runs/{kind}/<name>; the committed "
        "table is rewritten only when this names the config's `output`)",
    )
    parser.add_argument("--output", default=None, help=argparse.SUPPRESS)  # the former name


def start_table(
    args: argparse.Namespace, kind: str, name: str, suffixes: tuple[str, ...]
) -> tuple[Path, bool, dict[str, Any]]:
    """Where a table command writes (`--out`, the former `--output`, or
    results/runs/<kind>/<name> beside the sweeps' runs, which git ignores in a checkout),
    whether the user named it, and the provenance started once each `suffixes` file is checked
    (the config is valid: the work starts)."""
    from vis_bench.atomic import check_output_file
    from vis_bench.measure.provenance import start_provenance

    given, flag = (args.out, "--out") if args.out is not None else (args.output, "--output")
    out = Path(given) if given is not None else Path("results/runs") / kind / name
    for suffix in suffixes:
        check_output_file(out.with_suffix(suffix), flag if given is not None else None)
    return out, given is not None, start_provenance()


def write_rows_json(out: Path, title: str, rows: list, provenance: dict[str, Any]) -> None:
    """`<out>.json`: the table's name, its rows and the provenance block."""
    from vis_bench.measure.provenance import write_json_with_provenance

    write_json_with_provenance(out.with_suffix(".json"), {"name": title, "rows": rows}, provenance)


def report_written(out: Path, suffixes: tuple[str, ...], given: bool, committed: str) -> None:
    """Name the files written and, when `--out` did not name them, where the committed table
    is and how to write it again."""
    paths = [str(out.with_suffix(suffix)) for suffix in suffixes]
    print(f"wrote {', '.join(paths[:-1])} and {paths[-1]}")
    if not given:
        print(f"(the committed table is {committed}: `--out {committed}` rewrites it)")

"""`run_bench.py regress --baseline FILE [--tolerance 0.3]`: AP regression against a baseline.

Re-runs every cell a baseline file records (its dataset, methods, checkpoints and axes, on the
thread count it states), prints baseline vs now per metric and exits 1 when any AP metric falls
by more than the tolerance (AP points) or a cell fails. `--update` writes the baseline instead:
from `--config` when given, else re-measuring the file's own config.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from vis_bench.commands._options import add_override_argument

NAME = "regress"
HELP = "re-run the cells of an AP baseline and fail when AP drops (e.g. results/baselines/synthetic.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", type=Path, required=True, help="baseline JSON file")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.3,
        help="largest allowed drop of an AP metric, in AP points (default 0.3)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="write the baseline from a fresh run instead of checking against it",
    )
    parser.add_argument("--config", type=Path, default=None, help="with --update: the run config")
    add_override_argument(parser, "with --update --config: override a config key (repeatable)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="keep the run's records here (default: a temporary folder)",
    )
    parser.add_argument(
        "--description", default="", help="with --update: a line saying what the baseline is"
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.config import load_config
    from vis_bench.report.baseline import compare, read_baseline, write_baseline

    if args.update and args.config is not None:
        config = load_config(args.config, args.overrides)
        description = args.description
    else:
        baseline = read_baseline(args.baseline)
        config = baseline.config
        description = args.description or baseline.meta.get("description", "")
    # accuracy only: timings and FLOPs are not what a regression check compares
    config = dataclasses.replace(
        config, measure=dataclasses.replace(config.measure, fps=False, flops=False, memory=False)
    )
    with tempfile.TemporaryDirectory(prefix="vis-bench-regress-") as tmp:
        run_dir = args.run_dir or Path(tmp)
        records = _run(config, run_dir)
        if args.update:
            write_baseline(args.baseline, config, records, description)
            print(f"wrote {args.baseline} ({sum(r.get('status') == 'ok' for r in records)} cells)")
            return 0 if all(r.get("status") == "ok" for r in records) else 1
    result = compare(baseline, records, args.tolerance)
    if not result.table.empty:
        print(
            result.table.to_markdown(
                index=False, tablefmt="github", floatfmt=("", "", ".2f", ".2f", "+.2f", "")
            )
        )
    for line in result.missing:
        print(f"FAILED cell {line}")
    for line in result.regressions:
        print(f"REGRESSION {line} (tolerance {args.tolerance} points)")
    if result.regressions or result.missing:
        return 1
    print(
        f"no regression: {len(baseline.cells)} cells within {args.tolerance} AP points of {args.baseline}"
    )
    return 0


def _run(config, run_dir: Path) -> list[dict]:
    from vis_bench.inference.sources import open_source
    from vis_bench.measure.accuracy import evaluate_results
    from vis_bench.sweep import run_sweep, sweep_records

    source = open_source(config.dataset, config.source)
    print(f"regress {config.name!r}: {source.describe()}")
    run_sweep(config, source, source.gt_path, source.dataset_id, run_dir, evaluate=evaluate_results)
    return sweep_records(config, source.dataset_id, run_dir)

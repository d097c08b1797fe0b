"""`run_bench.py regress --baseline FILE [--tolerance 0.3|auto]`: AP regression against a baseline.

Re-runs every cell a baseline file records (its dataset, methods, checkpoints and axes, on the
thread count it states), prints baseline vs now per metric and exits 1 when any gated AP metric
falls by more than the tolerance (AP points) or a cell fails. `--tolerance auto` uses the rule
of the tables' `n.s.` marks instead: a metric fails when the paired bootstrap interval of
(now - baseline), both re-scored on the same resampled videos, lies entirely below 0
(docs/statistics.md). That interval exists for AP, AP50 and AP75; the area-range and occlusion
APs have none and are listed as not gated. Every run prints which metrics each rule gated.
Cells of a baseline written before it kept the per-video matching fall back to the fixed 0.3
points, with a note. A checkpoint whose sha256 differs from the baseline's is refused (exit 2)
unless `--allow-checkpoint-change`; a gain beyond the tolerance (auto: an interval above 0) is
reported as a stale baseline (exit 0). `--update` writes the baseline instead: from `--config`
when given, else re-measuring the file's own config.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from vis_bench import exit_codes
from vis_bench.commands._options import add_config_arguments

HELP = "re-run the cells of an AP baseline and fail when AP drops (e.g. results/baselines/synthetic.json)"
GROUP = "benchmark"


def _tolerance(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected AP points (e.g. 0.3) or 'auto', got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a tolerance is >= 0 AP points, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", type=Path, required=True, help="baseline JSON file")
    parser.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.3,
        help="largest allowed drop of an AP metric, in AP points (default 0.3), or 'auto': "
        "fail when the paired bootstrap interval of (now - baseline) lies below 0, so only "
        "drops the resampled videos agree on fail (AP, AP50, AP75; the others are listed as "
        "not gated)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="write the baseline from a fresh run instead of checking against it",
    )
    parser.add_argument(
        "--allow-checkpoint-change",
        action="store_true",
        help="compare even when a checkpoint's bytes differ from the baseline's",
    )
    add_config_arguments(
        parser,
        "with --update: the run config",
        "with --update --config: override a config key (repeatable)",
    )
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
    from vis_bench.commands._options import check_outputs
    from vis_bench.config import load_config
    from vis_bench.errors import InputError
    from vis_bench.report.baseline import (
        attach_video_matches,
        changed_checkpoints,
        read_baseline,
        write_baseline,
    )

    check_outputs(
        {"--baseline": args.baseline if args.update else None}, {"--run-dir": args.run_dir}
    )
    baseline = None
    if args.update and args.config is not None:
        config = load_config(args.config, args.overrides)
        description = args.description
    else:
        baseline = read_baseline(args.baseline)
        config = baseline.config
        description = args.description or baseline.meta.get("description", "")
        changed = changed_checkpoints(baseline)
        if changed and not (args.update or args.allow_checkpoint_change):
            raise InputError(
                "checkpoint(s) changed since the baseline was made, so its numbers describe "
                f"other weights: {'; '.join(changed)}. Rewrite the baseline with --update, or "
                "compare anyway with --allow-checkpoint-change",
                path=str(args.baseline),
                field="checkpoints",
            )
    # accuracy only: timings and FLOPs are not what a regression check compares
    config = dataclasses.replace(
        config, measure=dataclasses.replace(config.measure, fps=False, flops=False, memory=False)
    )
    with tempfile.TemporaryDirectory(prefix="vis-bench-regress-") as tmp:
        # the per-video matching is read before a temporary run folder goes
        records = attach_video_matches(_run(config, args.run_dir or Path(tmp)))
    if args.update:
        write_baseline(args.baseline, config, records, description)
        print(f"wrote {args.baseline} ({sum(r.get('status') == 'ok' for r in records)} cells)")
        return 0 if all(r.get("status") == "ok" for r in records) else 1
    return _report(baseline, records, args, config)


def _report(baseline, records: list[dict], args: argparse.Namespace, config) -> int:
    from vis_bench.eval.stats.bootstrap import DEFAULT_REPLICATES
    from vis_bench.report.baseline import Tolerance, compare

    if args.tolerance == "auto":
        measure = config.measure
        tolerance = Tolerance(
            auto=True,
            replicates=measure.bootstrap or DEFAULT_REPLICATES,
            seed=measure.bootstrap_seed,
        )
    else:
        tolerance = Tolerance(fixed=args.tolerance)
    result = compare(baseline, records, tolerance)
    if not result.table.empty:
        print(
            result.table.to_markdown(
                index=False,
                tablefmt="github",
                floatfmt=("", "", ".2f", ".2f", "+.2f", "", ""),
                missingval="-",
            )
        )
    for line in result.coverage_lines():
        print(line)
    for line in result.notes:
        print(f"note: {line}")
    for line in result.missing:
        print(f"FAILED cell {line}")
    for line in result.regressions:
        print(f"REGRESSION {line}")
    if result.regressions or result.missing:
        return exit_codes.BAD_ANSWER
    for line in result.gains:
        print(f"GAIN {line}")
    if result.gains:
        print(
            f"baseline is stale: {len(result.gains)} metric(s) rose beyond the tolerance; "
            f"rewrite it with `regress --baseline {args.baseline} --update`"
        )
    print(
        f"no regression: {len(baseline.cells)} cells within the tolerance "
        f"({tolerance.describe()}) of {args.baseline} or above"
    )
    return 0


def _run(config, run_dir: Path) -> list[dict]:
    from vis_bench.inference.sources import open_source
    from vis_bench.sweep import resolve_methods, run_sweep, sweep_records

    methods = resolve_methods(config)
    source = open_source(config.dataset, config.source)
    print(f"regress {config.name!r}: {source.describe()}")
    run_sweep(config, source, run_dir, methods)
    return sweep_records(config, methods, source.dataset_id, run_dir)

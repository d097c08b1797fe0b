"""`eval`'s YouTube-VIS 2022 scoring (`--short-videos`, `--long-videos`) and category groups
(`--category-groups`): their options, their tables and their entries in the stats file.

Kept apart from eval.py so the plain command stays as it was. Tables are one row per statistic
and one column per set of numbers (the overall line, then each group's).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

#: `eval` options the 2022 scoring does not combine with (what each would need is per set)
_NOT_WITH_SETS = ("--bootstrap", "--breakdown", "--per-video")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--short-videos",
        default=None,
        metavar="S",
        help="YouTube-VIS 2022: the short set, as its ground-truth file (gt_short.json) or a "
        "JSON list of video ids; with --long-videos, prints the 2022 scoring's figures",
    )
    parser.add_argument(
        "--long-videos",
        default=None,
        metavar="L",
        help="YouTube-VIS 2022: the long set (gt_long.json or a JSON list of video ids)",
    )
    parser.add_argument(
        "--category-groups",
        default=None,
        metavar="FILE|FIELD",
        help="every AP/AR line per group of categories too: a JSON file mapping each group to "
        "its category ids, or a field of the GT's categories (LV-VIS: partition)",
    )


def wants_sets(args: argparse.Namespace) -> bool:
    return args.short_videos is not None or args.long_videos is not None


def fmt(value: float | None) -> str:
    return "n/a" if value is None or value == -1 else f"{100 * value:.2f}"


def stats_table(columns: dict[str, dict[str, float]], title: str = "metric") -> str:
    """One row per statistic, one column per named set of numbers, as percentages."""
    from vis_bench.commands._pipe_table import pipe_table

    names = list(next(iter(columns.values())))
    rows = [[name, *(fmt(values.get(name)) for values in columns.values())] for name in names]
    heads = list(columns) if len(columns) > 1 else ["value"]
    headers = [title, *(f"{head} (%)" for head in heads)]
    return pipe_table(rows, headers)


def groups_for(args: argparse.Namespace, cat_ids: list[int]) -> dict[str, list[int]] | None:
    """The groups `--category-groups` names (None without the option)."""
    if args.category_groups is None:
        return None
    from vis_bench.eval.stats.category_groups import read_category_groups

    return read_category_groups(args.category_groups, args.gt, cat_ids, "--category-groups")


def with_groups(result: Any, groups: dict[str, list[int]] | None) -> dict[str, dict[str, float]]:
    """The overall statistics (`all`) and, with groups, each group's."""
    columns = {"all": dict(result.stats)}
    if groups:
        from vis_bench.eval.stats.category_groups import group_stats

        columns.update(group_stats(result, groups))
    return columns


def describe_groups(groups: dict[str, list[int]] | None) -> None:
    if groups:
        sizes = ", ".join(f"{name} ({len(ids)} categories)" for name, ids in groups.items())
        print(f"category groups: {sizes}; each line is the mean over the group's categories")


def check_set_options(args: argparse.Namespace) -> None:
    """Both sets given, and no option the 2022 scoring does not combine with."""
    from vis_bench.commands._options import refuse_options
    from vis_bench.errors import InputError

    if (args.short_videos is None) != (args.long_videos is None):
        missing = "--long-videos" if args.long_videos is None else "--short-videos"
        raise InputError(
            f"the YouTube-VIS 2022 scoring needs both sets; add {missing}", field=missing
        )
    refuse_options(
        args,
        _NOT_WITH_SETS,
        "--short-videos/--long-videos; score a set alone with its ground-truth file "
        "(--gt gt_short.json) to use it",
    )
    if args.metric == "ovis":
        raise InputError(
            "the YouTube-VIS 2022 scoring uses the YouTube-VIS evaluator; drop --metric ovis",
            field="--metric",
        )


def run_sets(args: argparse.Namespace) -> int:
    """The 2022 scoring: the figures, then each set's statistics (and groups), then --out."""
    from vis_bench.atomic import write_atomic
    from vis_bench.commands._options import report_dropped
    from vis_bench.eval.stats.ytvis2022 import SET_LABELS, evaluate_long_short_files

    check_set_options(args)
    result = evaluate_long_short_files(
        args.gt, args.results, args.short_videos, args.long_videos, args.gt_cache
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    cat_ids = sorted(set(result.sets["S"].cat_ids) | set(result.sets["L"].cat_ids))
    groups = groups_for(args, cat_ids)
    print("YouTube-VIS 2022 scoring: mAP = (mAP_S + mAP_L) / 2 (AP_L: the long videos' AP)")
    print(stats_table({"2022": result.figures}))
    describe_groups(groups)
    # the layout of the golden cases' expected.json: the figures, each set's statistics as a
    # list in `stat_names` order, each set's video ids
    out: dict[str, Any] = {**result.figures, "stat_names": list(result.stats("S"))}
    for suffix, evaluation in result.sets.items():
        columns = with_groups(evaluation, groups)
        label = f"{SET_LABELS[suffix]}, {len(result.video_ids[suffix])} videos"
        print(f"\n{label}: the evaluator's statistics")
        print(stats_table(columns))
        if args.per_category:
            _print_per_category(evaluation)
        out[f"stats_{suffix}"] = list(columns.pop("all").values())
        if groups:
            out[f"groups_{suffix}"] = columns
        out[f"videos_{SET_LABELS[suffix].split()[0]}"] = result.video_ids[suffix]
    if args.out is not None:
        write_atomic(args.out, json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.out}")
    return report_dropped([(str(args.results), result)], args.allow_dropped)


def _print_per_category(evaluation: Any) -> None:
    from vis_bench.commands._pipe_table import pipe_table

    rows = [
        [cid, evaluation.category_names.get(cid, ""), fmt(ap)]
        for cid, ap in evaluation.per_category_ap.items()
    ]
    print(pipe_table(rows, ["category", "name", "AP (%)"]))

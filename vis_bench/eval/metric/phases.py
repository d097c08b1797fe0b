"""What a metric plugs into the shared phases: checks, matching, accumulation, summary.

The YouTube-VIS and OVIS metrics run the same load -> IoU -> match -> accumulate -> summarize
chain (eval/api.py); OVIS only adds input checks and runs the matching and accumulation per
(area, occlusion) range. Each metric is one `MetricPhases` value, so the chain has no branch
per metric: `YTVIS_PHASES` here, `OVIS_PHASES` in eval/ovis/metric.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vis_bench.eval.metric.accumulate import Accumulated, accumulate
from vis_bench.eval.metric.iou import PairTable
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.matching import Matches, match
from vis_bench.eval.metric.summary import summarize


@dataclass(frozen=True)
class MetricPhases:
    """One metric's steps; `matched` is whatever its `match` returns, `breakdown` whatever
    extra arrays its `accumulate` returns (None for YouTube-VIS)."""

    name: str
    #: rejects inputs before any IoU is computed (the official run would abort on them)
    check_inputs: Callable[[GroundTruth, Results], None]
    #: rejects inputs once the (result, GT) pairs are known
    check_pairs: Callable[[GroundTruth, Results, PairTable], None]
    match: Callable[[GroundTruth, PairTable], Any]
    #: -> (the YouTube-VIS-shaped matches, accumulation, breakdown)
    accumulate: Callable[[GroundTruth, PairTable, Any], tuple[Matches, Accumulated, Any]]
    #: -> the summary numbers, from the accumulation and the breakdown
    summarize: Callable[[Accumulated, Any], dict[str, float]]


def _no_input_check(gt: GroundTruth, res: Results) -> None:
    """The YouTube-VIS evaluator rejects nothing the loader accepted."""


def _no_pair_check(gt: GroundTruth, res: Results, pairs: PairTable) -> None:
    """The YouTube-VIS evaluator compares frame lists of any lengths."""


def _match(gt: GroundTruth, pairs: PairTable) -> Matches:
    return match(pairs)


def _accumulate(gt: GroundTruth, pairs: PairTable, matches: Matches) -> tuple:
    return matches, accumulate(pairs, matches), None


def _summarize(acc: Accumulated, breakdown: None) -> dict[str, float]:
    return summarize(acc)


YTVIS_PHASES = MetricPhases(
    "ytvis", _no_input_check, _no_pair_check, _match, _accumulate, _summarize
)

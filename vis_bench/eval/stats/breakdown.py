"""The official metric per video-length bucket (`eval --breakdown length`).

Default buckets follow YouTube-VIS 2022, whose valid set is the 421 videos of YouTube-VIS 2021
valid ("short", scored as AP_S) plus long videos added in 2022 ("long", AP_L); the server scores
each part as its own GT file with the unchanged metric and reports mAP as the mean of the two.
The server splits by list (with the lists, ytvis2022.py scores as the program does); here the
split is by annotated frames: short = at most 36 frames (the longest videos of YouTube-VIS
2019/2021 have 36), long = more. See docs/statistics.md.

Each bucket is scored by restricting the loaded GT and results to its videos and running the
ordinary evaluation on them (`subset.restrict_to_videos`): the numbers are those of a GT/results
pair filtered to those videos.
"""

from __future__ import annotations

from dataclasses import dataclass

from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_loaded
from vis_bench.eval.metric.loading import GroundTruth, Results
from vis_bench.eval.metric.params import STAT_NAMES
from vis_bench.eval.stats.subset import restrict_to_videos

#: YouTube-VIS 2022's short/long split by length: short <= 36 annotated frames < long
DEFAULT_LENGTH_EDGES: tuple[int, ...] = (36,)


@dataclass(frozen=True)
class Bucket:
    """Videos with low <= length <= high frames (high None: no upper bound)."""

    label: str
    low: int
    high: int | None

    def holds(self, length: int) -> bool:
        return self.low <= length and (self.high is None or length <= self.high)


def parse_edges(text: str) -> tuple[int, ...]:
    """ "20,36" -> (20, 36): increasing upper bounds (inclusive) of all but the last bucket."""
    try:
        edges = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(
            f"--length-buckets takes increasing frame counts like 36 or 20,36,72, got {text!r}"
        ) from None
    if not edges or any(e < 1 for e in edges) or list(edges) != sorted(set(edges)):
        raise InputError(
            f"--length-buckets takes increasing positive frame counts like 20,36,72, got {text!r}"
        )
    return edges


def length_buckets(edges: tuple[int, ...] = DEFAULT_LENGTH_EDGES) -> list[Bucket]:
    """Buckets from edges; the default edges give YouTube-VIS 2022's "short" and "long"."""
    if tuple(edges) == DEFAULT_LENGTH_EDGES:
        return [Bucket("short", 1, edges[0]), Bucket("long", edges[0] + 1, None)]
    buckets, low = [], 1
    for edge in edges:
        buckets.append(Bucket(f"{low}-{edge}", low, edge))
        low = edge + 1
    buckets.append(Bucket(f"{low}+", low, None))
    return buckets


def videos_by_bucket(gt: GroundTruth, buckets: list[Bucket]) -> dict[str, list[int]]:
    """Video ids per bucket label, by each video's `length` (else its number of file names)."""
    unknown = [v for v in gt.video_ids if gt.video_length.get(v) is None]
    if unknown:
        raise InputError(
            f"video {unknown[0]} has neither 'length' nor 'file_names' ({len(unknown)} such "
            "videos): a length breakdown needs one of them",
            path=gt.path,
            field="videos",
        )
    return {b.label: [v for v in gt.video_ids if b.holds(int(gt.video_length[v]))] for b in buckets}


def length_breakdown(
    gt: GroundTruth, res: Results, edges: tuple[int, ...] = DEFAULT_LENGTH_EDGES
) -> dict[str, dict]:
    """`{label: {"videos": n, "frames": [low, high], "AP": ..., ... (the 12 stats)}}`."""
    out = {}
    buckets = length_buckets(edges)
    for bucket in buckets:
        videos = videos_by_bucket(gt, [bucket])[bucket.label]
        entry: dict = {"videos": len(videos), "frames": [bucket.low, bucket.high]}
        if videos:
            stats = evaluate_loaded(*restrict_to_videos(gt, res, videos)).stats
        else:
            stats = dict.fromkeys(STAT_NAMES, -1.0)
        entry.update({name: stats[name] for name in STAT_NAMES})
        out[bucket.label] = entry
    return out

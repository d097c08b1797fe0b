"""YouTube-VIS 2022's short and long sets as a sweep's dataset config names them: checked before
any cell runs.

The 2022 figures average the two sets' statistics, so a video listed in both is scored twice,
one in neither is never scored, and a list naming a video twice reads as a longer set than it
is; the scoring program (`eval --short-videos`) warns about the first two, but a sweep's pages
would show its mAP with no word. Here each is an error naming the key and the fix.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vis_bench.errors import InputError

#: how many ids a message names before it says "and N more"
_SHOWN = 8


def check_video_sets(dataset: Any, whole: Any, sets: tuple[Any, Any]) -> None:
    """Refuse sets (eval.stats.ytvis2022.VideoSet, short then long) that overlap, leave a video
    of the ground truth `whole` out, or (as lists in the config) name a video twice."""
    for key in ("short_videos", "long_videos"):
        given = getattr(dataset, key, None)
        if isinstance(given, list):
            twice = sorted(v for v, n in Counter(given).items() if n > 1)
            if twice:
                raise InputError(
                    f"video ids {_ids(twice)} are listed more than once; list each video once",
                    field=f"dataset.{key}",
                )
    short, long = (set(s.gt.video_ids) for s in sets)
    both = sorted(short & long)
    if both:
        raise InputError(
            f"{len(both)} videos are in both the short and the long set (ids {_ids(both)}), so "
            "the 2022 figures would score them twice; list each video in one set",
            field="dataset.long_videos",
        )
    neither = sorted(set(whole.video_ids) - short - long)
    if neither:
        raise InputError(
            f"{len(neither)} videos of the ground truth are in neither the short nor the long "
            f"set (ids {_ids(neither)}), so the 2022 figures would never score them; list each "
            "video in one set (or use a ytvis2021 dataset kind for the plain metric)",
            field="dataset.short_videos",
        )


def _ids(ids: list[int]) -> str:
    text = ", ".join(map(str, ids[:_SHOWN]))
    return text if len(ids) <= _SHOWN else f"{text} and {len(ids) - _SHOWN} more"

"""The regenerator `show --run` and `pages --regenerate` hand to the pictures they draw."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vis_bench.eval.stats.video_matches import VideoMatches
    from vis_bench.records import CellRecord


def regenerator(run_dir: Path):
    """Makes a recorded cell's predictions again (sweep/regenerate.py) when the run folder did
    not keep them; the sweep machinery is imported only when a cell needs it."""

    def regenerate(
        record: CellRecord,
        videos: list[int] | None = None,
        recorded: VideoMatches | None = None,
    ) -> Path:
        from vis_bench.sweep.regenerate import regenerate_predictions

        records = str(run_dir / "records.jsonl")
        return regenerate_predictions(record, records, videos=videos, recorded=recorded)

    return regenerate

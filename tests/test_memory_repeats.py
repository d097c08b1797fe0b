"""Growth with video length is judged against the spread of repeated runs of the same cell."""

from __future__ import annotations

from vis_bench.records import CellRecord
from vis_bench.report.memory_repeats import growth_lines, median_records, spread_table


def _record(frames, peak, repeat, schedule=(10, 5)):
    return CellRecord.from_json(
        {
            "method": "seqformer",
            "clip_length": schedule[0],
            "stride": schedule[1],
            "video_frames": frames,
            "num_videos": 1,
            "num_frames": frames,
            "status": "ok",
            "peak_rss_mb": peak,
            "repeat": repeat,
        }
    )


def test_a_growth_inside_the_spread_of_repeats_is_said_to_be_so():
    records = [
        _record(36, 1000, 0),
        _record(36, 1100, 1),
        _record(36, 1050, 2),
        _record(144, 1040, 0),
        _record(144, 1120, 1),
        _record(144, 1060, 2),
    ]
    (line,) = growth_lines(records)
    assert "1050 MiB at 36 frames -> 1060 MiB at 144 frames (+1.0 %)" in line
    assert "per run +1.0 to +4.0 %" in line
    assert "differ by up to 9.5 %" in line and "within the spread" in line
    medians = median_records(records)
    assert sorted(r.memory.peak_rss_mb for r in medians) == [1050, 1060]
    assert "| seqformer | T=10 S=5 | 36 | 3 | 1050 | 1000 | 1100 | 9.5 % |" in spread_table(records)


def test_a_growth_beyond_the_spread_and_a_single_run():
    records = [_record(36, 1000, i) for i in range(3)] + [_record(144, 2000, i) for i in range(3)]
    assert "beyond the spread" in growth_lines(records)[0]
    single = [_record(36, 1000, 0), _record(144, 1100, 0)]
    assert "one run per cell: the spread is unknown" in growth_lines(single)[0]

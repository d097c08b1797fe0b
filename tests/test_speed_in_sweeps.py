"""Speed as a sweep measures it: every protocol asked for lands in each record with its
definition, `measure.stream` adds the live-stream replay to every cell (its accounting follows
the clip schedule exactly), energy says what the machine could read, and tables, leaderboard
(every format) and the HTML page set the protocols and latency side by side. Records made before
these fields still report, as "not measured"."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
import tests.helpers.toy_timed_method  # noqa: F401  (registers "toy-timed")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.api.registration import get_method
from vis_bench.config import parse_config
from vis_bench.engine.schedule import clip_windows
from vis_bench.inference.pass_hooks import NO_WARM_UP
from vis_bench.inference.runner import run_method
from vis_bench.measure.stream import replay_video
from vis_bench.report.exports import cells_frame, export_leaderboard
from vis_bench.report.html_report import report_context
from vis_bench.report.leaderboard import leaderboard_markdown
from vis_bench.report.record_set import RecordSet
from vis_bench.report.speed import latency_table, protocol_table
from vis_bench.report.tables_document import tables_markdown
from vis_bench.report.video_browser import BrowserLimits
from vis_bench.sweep import run_sweep

ALL = ["end_to_end", "model", "authors", "single_clip"]


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    config = parse_config(
        {
            "name": "speed",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy-timed"}, {"name": "toy"}],
            "sweep": {"clip_length": ["all", 3], "resolution": [32]},
            "measure": {
                "warmup": 0,
                "repeats": 1,
                "protocols": ALL,
                "stream": True,
                "stream_fps": 6.0,
                "bootstrap": 0,
                **QUICK_ROUNDS,
            },
        }
    )
    folder = tmp_path_factory.mktemp("run")
    made = run_sweep(config, MemorySource(), folder, isolate=False, log=lambda s: None)
    return folder, made


def test_each_protocol_is_recorded_with_its_fps_and_definition(records):
    _, made = records
    for record in made:
        assert record["status"] == "ok"
        protocols = record["protocols"]
        assert sorted(protocols) == sorted(ALL)
        assert protocols["end_to_end"]["fps"] == record["fps_end_to_end"] > 0
        assert protocols["model"]["fps"] == record["fps_model"] > 0
        assert protocols["end_to_end"]["protocol"]["name"] == "vis-bench end to end"
        assert protocols["model"]["protocol"]["mean"].startswith("median_of_rounds")
        assert protocols["model"]["protocol"]["region"] == "model_stage"
        assert protocols["single_clip"]["fps"] == record["fps_single_clip"] > 0
        assert protocols["single_clip"]["protocol"]["mean"].startswith("median_of_repeats")
        # the model stage is inside the same timed pass as end to end, round by round
        for timed_round in record["speed"]["rounds"]:
            assert timed_round["stages"]["model"] <= timed_round["seconds"]
            assert sum(timed_round["stages"].values()) == pytest.approx(timed_round["seconds"])
        json.dumps(record)  # a record copied out carries it all as plain data
    timed, plain = (
        [r for r in made if r["method"] == "toy-timed"],
        [r for r in made if r["method"] == "toy"],
    )
    for record in timed:
        authors = record["protocols"]["authors"]
        assert record["fps_authors"] == authors["fps"] > 0
        assert authors["frames"] == 9  # the first video is the warm-up (5 declared, 1 of 2 kept)
        assert authors["applied"]["precision"] == "fp32"  # fp16 autocast declared, CPU here
        assert authors["applied"]["notes"]
    for record in plain:
        assert record["fps_authors"] is None
        assert "declares no authors' protocol" in record["protocols"]["authors"]["not_measured"]


def test_every_cell_gets_the_stream_and_the_energy_reading(records):
    _, made = records
    for record in made:
        stream = record["stream"]
        assert stream["frames"] == record["num_frames"] == 15 and stream["videos"] == 2
        assert stream["arrival"] == "6 fps" and stream["dropped"] is not None
        assert set(stream["latency_ms"]) == {"p50", "p90", "p99"}
        energy = record["energy"]
        assert (energy["joules"] is None) == energy["note"].startswith("not available here")


def test_the_tables_the_leaderboard_and_the_page_show_them_side_by_side(records):
    folder, _ = records
    record_set = RecordSet.read([folder])
    tables = tables_markdown(record_set, "t")
    assert "## FPS by timing protocol" in tables and "## Latency of a live stream" in tables
    assert "authors / e2e" in tables and "not declared by the method" in tables
    board = leaderboard_markdown(record_set)
    header = next(line for line in board.splitlines() if line.startswith("| rank"))
    for column in ("FPS model", "FPS authors", "authors / e2e", "p50 latency ms"):
        assert column in header
    assert "What each FPS timed:" in board and "Latency of a live stream" in board
    csv = export_leaderboard(record_set, "csv", "t").splitlines()[0].split(",")
    assert {"FPS_model", "FPS_authors", "authors_over_end_to_end", "latency_p50_ms"} <= set(csv)
    rows = json.loads(export_leaderboard(record_set, "json", "t"))["rows"]
    assert any(row.get("FPS_authors") for row in rows)
    latex = export_leaderboard(record_set, "latex", "t")
    assert "FPS authors" in latex and "authors / e2e" in latex and "FPS_" not in latex
    assert {"fps_authors", "latency_p99_ms"} <= set(cells_frame(record_set).columns)
    context = report_context(record_set, "t", BrowserLimits(videos=0))
    assert "FPS by timing protocol" in context["speed"]
    assert "FPS by timing protocol" not in context["tables_html"]  # shown once, in its section


def test_records_made_before_the_protocols_report_them_as_not_measured(records):
    _, made = records
    old = [
        {
            k: v
            for k, v in r.items()
            if k
            not in ("protocols", "fps_authors", "stream", "energy", "fps_model", "fps_single_clip")
        }
        for r in made
    ]
    record_set = RecordSet.from_records(old)
    assert protocol_table(record_set) is None and latency_table(record_set) is None
    header = leaderboard_markdown(record_set).splitlines()
    assert not any("FPS authors" in line for line in header)


@pytest.mark.parametrize(("length", "stride"), [(1, 1), (3, 3), (4, 2), ("all", None)])
def test_the_stream_replays_the_clips_the_run_timed(length, stride):
    plugin = get_method("toy").build({})
    source = MemorySource()
    outcome = run_method(
        plugin, source, clip_length=length, stride=stride, resolution=24, untimed=NO_WARM_UP
    )
    videos = source.videos()
    assert [n for n, _ in outcome.clip_timings] == [int(v.length) for v in videos]
    for (_, clips), video in zip(outcome.clip_timings, videos, strict=True):
        assert [c.frames for c in clips] == clip_windows(int(video.length), length, stride)
    seconds = [c.seconds for _, clips in outcome.clip_timings for c in clips]
    # the clips' own seconds are inside the pass, which also waits for decoded frames
    assert 0 < sum(seconds) <= outcome.seconds_end_to_end
    for n, clips in outcome.clip_timings:
        taken = replay_video(clips, n, fps=None)
        if stride == length or length == "all":  # no overlap: each frame waits for its clip
            expected = np.concatenate([[c.seconds] * len(c.frames) for c in clips])
            assert np.allclose(taken.latency, expected, rtol=0, atol=1e-12)
        live = replay_video(clips, n, fps=6.0)
        last = {t: max(c.frames.stop for c in clips if t in c.frames) - 1 for t in range(n)}
        wait = np.array([(last[t] - t) / 6.0 for t in range(n)])
        assert (live.latency >= wait - 1e-12).all()  # a frame waits for its clip's last frame

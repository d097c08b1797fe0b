"""The speed-accuracy answer: the front per machine, device and dtype, each method's fastest cell
at equal AP, "faster at equal AP" verdicts, their plot at 100 cells, and `compare` of two cells."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

from tests.helpers.scored_records import ScoredCells  # noqa: E402
from tests.helpers.vis_cases import make_gt, predict  # noqa: E402
from vis_bench.cli import main  # noqa: E402
from vis_bench.errors import InputError  # noqa: E402
from vis_bench.eval.benchmarks import FIGURE_NAMES, MEAN_AP  # noqa: E402
from vis_bench.measure.precision import NOT_COMPARABLE, median_interval  # noqa: E402
from vis_bench.report.cell_names import find_cell  # noqa: E402
from vis_bench.report.exports import export_leaderboard  # noqa: E402
from vis_bench.report.front import (  # noqa: E402
    AP_TOLD_APART,
    FASTER,
    NOT_TOLD_APART,
    front_keys,
    speed_accuracy,
)
from vis_bench.report.html_report import _front_html  # noqa: E402
from vis_bench.report.leaderboard import leaderboard_markdown  # noqa: E402
from vis_bench.report.plot_index import draw_plots  # noqa: E402
from vis_bench.report.plot_styles import MAX_LEGEND_ENTRIES, styles  # noqa: E402
from vis_bench.report.record_set import RecordSet  # noqa: E402


def timed(record: dict, rounds: list[float], *, loaded: bool = False, session: str = "s") -> dict:
    """`record` timed in `rounds` (FPS per round) of sweep call `session`, as a sweep writes it;
    `loaded`: other work competed for the cores, so its FPS cannot be compared."""
    fps, low, high = median_interval(rounds)
    reason = f"{NOT_COMPARABLE}: other work competed for the cores in round(s) [2]"
    return {
        **record,
        "fps_end_to_end": fps,
        "environment": {"cpu": "Test CPU", "threads": 2},
        "load": {"loaded": loaded},
        "speed": {
            "session": session,
            "fps": fps,
            "fps_ci": [low, high],
            "fps_ci_confidence": 0.75,
            "rounds_timed": len(rounds),
            "comparable": not loaded,
            "not_comparable": reason if loaded else None,
            "rounds": [
                {"round": i, "fps": f, "used": True, "counted": True}
                for i, f in enumerate(rounds, 1)
            ],
        },
    }


def _rounds(fps: float) -> list[float]:
    return [fps * 0.99, fps, fps * 1.01, fps * 0.995, fps * 1.005]


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Scored cells of one run folder: 40 videos; `best` predicts every track, `near` misses
    one of them (within the videos' noise), `poor` moves and misses many (told apart)."""
    run = tmp_path_factory.mktemp("run")
    gt = make_gt(n_videos=40, seed=2)
    cells = ScoredCells(run / "cells", gt, replicates=200)
    best = predict(gt, seed=5, jitter=0)
    near = best[1:]
    poor = predict(gt, seed=5, jitter=2, miss=0.3)
    return run, cells, {"best": best, "near": near, "poor": poor}


def _cell(cells: ScoredCells, results, method: str, clip, fps: float, **fields) -> dict:
    loaded = fields.pop("loaded", False)
    rounds = fields.pop("rounds", None) or _rounds(fps)
    record = cells.record(method, results, clip=clip, resolution=360, **fields)
    return timed(record, rounds, loaded=loaded)


def _ifc_case(scored) -> list[dict]:
    """The user's case: IFC's best cell T=5 at 47 FPS, its T=all cell three times as fast at an
    AP the videos cannot tell apart; a slower method with a far lower AP."""
    _, cells, results = scored
    return [
        _cell(cells, results["best"], "ifc", 5, 47.0),
        _cell(cells, results["near"], "ifc", "all", 148.0),
        _cell(cells, results["poor"], "seqformer", "all", 40.0),
    ]


def test_a_fast_cell_within_the_ap_noise_of_the_best_is_chosen(scored):
    (answer,) = speed_accuracy(RecordSet.from_records(_ifc_case(scored)))
    ifc = next(c for c in answer.choices if c.method == "ifc")
    assert ifc.best.record.clip_length == 5 and ifc.chosen.record.clip_length == "all"
    assert ifc.ap_vs_best is not None and not ifc.ap_vs_best.significant
    assert ifc.ap_vs_best.difference < 0  # a little lower, within the noise
    assert ifc.fps_vs_best.value == pytest.approx(148 / 47, rel=1e-6)
    assert ifc.fps_vs_best.told_apart
    # seqformer's AP is told apart from IFC's: no speed verdict at equal AP between them
    (verdict,) = answer.verdicts
    assert verdict.a.method == "ifc" and verdict.verdict == AP_TOLD_APART
    # the leaderboard's JSON export carries the same answer with plain numbers
    exported = json.loads(
        export_leaderboard(RecordSet.from_records(_ifc_case(scored)), "json", "t")
    )
    (group,) = exported["speed_accuracy"]
    (ifc_json,) = [c for c in group["fastest_at_equal_ap"] if c["method"] == "ifc"]
    assert ifc_json["fastest_at_equal_ap"]["cell"] == "T=all 360p"
    assert ifc_json["ap_vs_best"]["told_apart"] is False
    assert ifc_json["fps_vs_best"]["told_apart"] is True
    assert group["faster_at_equal_ap"][0]["verdict"] == AP_TOLD_APART


def test_a_2022_front_ranks_by_its_mean_ap_without_a_paired_interval_of_it(scored):
    """YouTube-VIS 2022 records rank by mAP, their declared headline; the bootstrap has no
    interval of mAP, so the steps say they are not paired instead of failing the report."""
    records = [{**r, **dict.fromkeys(FIGURE_NAMES, r["AP"])} for r in _ifc_case(scored)]
    (answer,) = speed_accuracy(RecordSet.from_records(records))
    assert {cell.statistic for cell in answer.cells} == {MEAN_AP}
    _, slower = answer.front
    assert slower.ap_step.reason == f"{MEAN_AP} has no bootstrap interval over videos"


def test_a_cell_beaten_on_both_axes_is_off_the_front(scored):
    (answer,) = speed_accuracy(RecordSet.from_records(_ifc_case(scored)))
    front = {(c.method, c.record.clip_length) for c in answer.front}
    assert front == {("ifc", 5), ("ifc", "all")}  # seqformer: less AP and fewer FPS
    fastest, slower = answer.front
    assert fastest.ap_step is None and slower.fps_step.value == pytest.approx(47 / 148)
    assert not slower.ap_step.significant  # the AP bought by T=5 is within the noise
    assert front_keys([("a", 40, 10), ("b", 40, 10), ("c", 39, 10), ("d", 30, 50)]) == {
        "a",
        "b",
        "d",
    }


def test_equal_ap_verdicts_say_faster_or_not_told_apart(scored):
    _, cells, results = scored
    records = [
        _cell(cells, results["best"], "minvis", "all", 100.0),
        _cell(cells, results["near"], "ifc", "all", 150.0),
        # as fast as minvis: faster in some rounds, slower in others
        _cell(cells, results["near"], "videomt", "all", 0, rounds=[101, 98, 102, 99.8, 100.4]),
    ]
    (answer,) = speed_accuracy(RecordSet.from_records(records))
    verdicts = {(v.a.method, v.b.method): v for v in answer.verdicts}
    faster = verdicts["ifc", "minvis"]
    assert faster.verdict == FASTER and faster.text().startswith("faster: 1.50x [")
    tie = verdicts["videomt", "minvis"]
    assert tie.verdict == NOT_TOLD_APART and tie.fps.low < 1 < tie.fps.high


def test_cpu_and_gpu_cells_never_share_a_front(scored):
    _, cells, results = scored
    records = [
        _cell(cells, results["best"], "ifc", 5, 20.0),
        _cell(cells, results["best"], "ifc", "all", 400.0, device="cuda", key="gpu"),
        _cell(cells, results["best"], "minvis", "all", 300.0, device="cuda", dtype="fp16"),
    ]
    answers = speed_accuracy(RecordSet.from_records(records))
    groups = {(a.group.device, a.group.dtype): [c.record.key for c in a.front] for a in answers}
    assert groups == {
        ("cpu", "fp32"): ["ifc-5-"],
        ("cuda", "fp32"): ["gpu"],
        ("cuda", "fp16"): ["minvis-all-"],
    }  # the CPU cell stays on its own front, though a GPU cell beats it on both
    assert all(not a.verdicts for a in answers)  # one method per group: nothing to set against


def test_loaded_cells_are_on_no_front_and_not_comparable(scored):
    _, cells, results = scored
    records = [
        _cell(cells, results["best"], "ifc", "all", 148.0, loaded=True),
        _cell(cells, results["near"], "minvis", "all", 60.0),
    ]
    record_set = RecordSet.from_records(records)
    (answer,) = speed_accuracy(record_set)
    assert [c.method for c in answer.front] == ["minvis"]
    assert [c.method for c in answer.refused] == ["ifc"]
    (verdict,) = answer.verdicts
    assert verdict.verdict == NOT_COMPARABLE and verdict.text() == NOT_COMPARABLE
    board = leaderboard_markdown(record_set)
    assert "### Speed at equal AP" in board and "On no front (FPS ranks nothing):" in board
    assert f"- ifc T=all 360p: {NOT_COMPARABLE}" in board
    assert "| ifc (T=all 360p) | minvis (T=all 360p) |" in board.replace("  ", " ")
    html = _front_html(record_set)
    assert "<table>" in html and NOT_COMPARABLE in html


def test_cells_of_two_runs_are_set_side_by_side_without_a_paired_ratio(scored):
    _, cells, results = scored
    one = _cell(cells, results["best"], "ifc", "all", 148.0)
    other = timed(
        cells.record("minvis", results["near"], clip="all", resolution=360),
        _rounds(60.0),
        session="another run",
    )
    (answer,) = speed_accuracy(RecordSet.from_records([one, other]))
    (verdict,) = answer.verdicts
    assert verdict.verdict == "not paired" and "different sweep calls" in verdict.fps.why_not
    assert verdict.text().startswith("not paired (timed in different sweep calls)")  # once
    assert [c.method for c in answer.front] == ["ifc"]  # one front across the two runs
    # with the machine's reference speed in both: the ratio at equal machine speed, unpaired
    one["speed"]["reference_gflops"], other["speed"]["reference_gflops"] = 100.0, 110.0
    (answer,) = speed_accuracy(RecordSet.from_records([one, other]))
    (verdict,) = answer.verdicts
    assert verdict.fps.value == pytest.approx(148 / 60 * 1.1) and verdict.fps.low is None
    assert verdict.verdict == "not paired" and "at equal machine speed" in verdict.text()


def _hundred() -> list[dict]:
    """10 methods x 5 clip schedules x 2 resolutions, without scoring (AP and its interval)."""
    out = []
    for m in range(10):
        for resolution in (360, 480):
            for clip, stride in ((5, 1), (5, 3), (10, 1), (10, 3), ("all", None)):
                ap = 0.3 + 0.02 * m + (0.05 if resolution == 480 else 0.0) + 0.003 * (stride or 4)
                fps = 150.0 / (1 + m) * (0.6 if resolution == 480 else 1.0) * (1 + (stride or 4))
                record = {
                    "key": f"method-{m}-{clip}-{stride}-{resolution}",
                    "status": "ok",
                    "method": f"method-{m}",
                    "clip_length": clip,
                    "stride": stride,
                    "resolution": resolution,
                    "device": "cpu",
                    "dtype": "fp32",
                    "dataset": "d",
                    "AP": ap,
                    "AP_ci": [ap - 0.06, ap + 0.04],
                }
                out.append(timed(record, _rounds(fps), loaded=(m, clip) == (0, "all")))
    return out


@dataclass
class Figure:
    """What a saved figure showed: its layout, whether every text lay inside it, whether it was
    saved with the area of all its texts, each legend's entries, its panels' titles."""

    faceted: bool
    inside: bool
    tight: bool
    legends: list[list[str]]
    titles: list[str]


@pytest.fixture(scope="module")
def hundred_plots(tmp_path_factory) -> tuple[list[Path], list[Figure]]:
    """The run's plots of 100 cells, drawn once, each figure looked at as it is saved."""
    seen = []
    real_save = plt.Figure.savefig

    def save(fig, *args, **kwargs):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        box = fig.bbox
        visible = [ax for ax in fig.axes if ax.get_visible()]
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
        texts = [fig._suptitle, *legends, *(ax.title for ax in visible)]
        extents = [t.get_window_extent(renderer) for t in texts if t is not None]
        inside = all(
            box.x0 - 1 <= e.x0 and e.x1 <= box.x1 + 1 and box.y0 - 1 <= e.y0 and e.y1 <= box.y1 + 1
            for e in extents
        )
        seen.append(
            Figure(
                isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine),
                inside,
                kwargs.get("bbox_inches") == "tight",
                [[t.get_text() for t in legend.get_texts()] for legend in legends],
                [ax.get_title() for ax in visible],
            )
        )
        return real_save(fig, *args, **kwargs)

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(plt.Figure, "savefig", save)
        drawn = draw_plots(RecordSet.from_records(_hundred()), tmp_path_factory.mktemp("plots"))
    return drawn, seen


def test_the_plots_of_100_cells_cut_nothing_and_keep_their_legends_short(hundred_plots):
    """Every text of each figure (title, panel titles, legend) is in the saved image: inside the
    figure itself for the faceted plots (their layout holds it), and every figure is saved with
    the area of all its texts; no legend lists more than MAX_LEGEND_ENTRIES entries (one per
    resolution, stride or schedule, not one per line)."""
    drawn, seen = hundred_plots
    assert {"ap_vs_fps.png", "ap_fps_vs_resolution.png"} <= {p.name for p in drawn}
    assert len(seen) == len(drawn) and sum(figure.faceted for figure in seen) == 2
    for figure in seen:
        assert figure.tight and (figure.inside or not figure.faceted)
        assert all(len(entries) <= MAX_LEGEND_ENTRIES for entries in figure.legends)


def test_the_front_plot_has_a_panel_per_method_and_marks_the_front(hundred_plots):
    _, seen = hundred_plots
    (front,) = [f for f in seen if "method-0" in f.titles]
    assert sorted(front.titles) == sorted(f"method-{m}" for m in range(10))
    (legend,) = front.legends
    assert {"360p", "480p", "S=1", "S=3", "one clip (T=all)", "the front"} <= set(legend)
    assert "FPS not comparable (loaded)" in legend


def test_the_front_plot_gives_each_device_its_own_panels(scored, tmp_path, monkeypatch):
    _, cells, results = scored
    records = [
        _cell(cells, results["best"], "ifc", 5, 20.0),
        _cell(cells, results["best"], "ifc", "all", 400.0, device="cuda", key="gpu"),
    ]
    titles = []
    real_save = plt.Figure.savefig

    def save(fig, *args, **kwargs):
        titles.extend(ax.get_title() for ax in fig.axes if ax.get_visible())
        return real_save(fig, *args, **kwargs)

    monkeypatch.setattr(plt.Figure, "savefig", save)
    from vis_bench.report.plots_front import plot_front

    assert plot_front(RecordSet.from_records(records), tmp_path / "front.png").is_file()
    assert titles == ["ifc\ncpu fp32 on Test CPU", "ifc\ncuda fp32 on Test CPU"]


def test_twenty_series_get_twenty_distinct_styles():
    pairs = styles(20)
    assert len({(tuple(c), m) for c, m in pairs}) == 20
    assert len({tuple(c) for c, _ in pairs}) == 20  # no colour repeated
    assert len({tuple(c) for c, _ in styles(30)}) == 30


def _run_folder(scored) -> Path:
    run, _, _ = scored
    records = _ifc_case(scored)
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return run


def test_compare_two_cells_of_a_run(scored, tmp_path, capsys):
    run = _run_folder(scored)
    out = tmp_path / "cmp.json"
    argv = ["compare", "--run", str(run), "--a", "ifc/all", "--b", "ifc/T=5", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "AP A - B, paired over videos (95%):" in printed and "-> not told apart" in printed
    assert "FPS A / B, paired over rounds: 3.15x [" in printed and "-> A faster" in printed
    result = json.loads(out.read_text())
    assert result["ap_difference"]["verdict"] == "not told apart"
    assert result["fps_ratio"]["verdict"] == "A faster"
    low, high = result["fps_ratio"]["interval"]
    assert 1 < low <= result["fps_ratio"]["value"] <= high
    # a cell named by its folder gives the same cell
    record_set = RecordSet.read([run])
    named = find_cell(record_set, "ifc/all", "--a")
    folder = record_set.files(named).folder
    assert folder is not None and find_cell(record_set, folder.name, "--a") is named
    for name in ("ifc/5/2/360", "ifc/T=5/S=2/res=360p", "ifc/360p/5", "ifc/5/fp32/cpu"):
        assert find_cell(record_set, name, "--b").clip_length == 5, name


def test_compare_refuses_a_name_that_matches_several_cells_or_none(scored, capsys):
    run = _run_folder(scored)
    record_set = RecordSet.read([run])
    with pytest.raises(InputError, match="2 cells match 'ifc'"):
        find_cell(record_set, "ifc", "--a")
    with pytest.raises(InputError, match="no finished cell is named 'mask2former/5'"):
        find_cell(record_set, "mask2former/5", "--b")
    assert main(["compare", "--run", str(run), "--a", "ifc", "--b", "ifc/all"]) == 2
    assert "add the axis that tells them apart" in capsys.readouterr().err
    assert main(["compare", "--a", "x.json", "--b", "y.json"]) == 2


def test_compare_runs_shows_each_runs_front(scored):
    from vis_bench.report.run_comparison import compare_runs_markdown

    before = RecordSet.from_records(_ifc_case(scored))
    after = RecordSet.from_records(_ifc_case(scored)[1:])  # IFC's T=5 cell left out
    text = compare_runs_markdown(before, after, "a", "b")
    in_a = text.split("## Speed at equal AP in A")[1].split("## Speed at equal AP in B")[0]
    in_b = text.split("## Speed at equal AP in B")[1]
    front_a = in_a.split("Front (fastest first):")[1].split("other cell(s)")[0]
    front_b = in_b.split("Front (fastest first):")[1].split("Fastest at equal AP")[0]
    assert re.search(r"\| ifc +\| T=5 ", front_a) and "T=5 " not in front_b

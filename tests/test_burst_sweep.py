"""A sweep on a BURST-layout dataset (`dataset.kind: burst`): a model runs on the sequences'
annotated frames, its results are converted with the dataset's conversion settings and scored by
the BURST metric, and HOTA is the headline every report ranks by (table, leaderboard, front,
compare-runs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.tiny import REPO, tiny_options
from vis_bench.config import parse_config
from vis_bench.data.burst_layout import FRAMES_DIR, GT_FILE, write_burst_layout
from vis_bench.data.synthetic import generate_dataset
from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import BURST_STAT_NAMES
from vis_bench.eval.burst.as_videos import read_videos
from vis_bench.inference.sources import open_source
from vis_bench.records import CellRecord
from vis_bench.report.baseline import Baseline, compare
from vis_bench.report.exports import export_leaderboard, leaderboard_table
from vis_bench.report.front import speed_accuracy
from vis_bench.report.front_tables import front_lines
from vis_bench.report.html_report import report_context
from vis_bench.report.leaderboard import header_lines, leaderboard_frame, ranked_by
from vis_bench.report.plots import plot_ap_vs_clip_length
from vis_bench.report.plots_sweep import plot_vs_resolution
from vis_bench.report.record_set import RecordSet
from vis_bench.report.run_comparison import compared_statistics, differences_frame
from vis_bench.report.tables import comparison_table
from vis_bench.report.tables_document import tables_markdown
from vis_bench.report.video_browser import BrowserLimits
from vis_bench.sweep import run_sweep
from vis_bench.sweep.burst_scoring import BurstScoring
from vis_bench.sweep.run import summary_line

HOTA = BURST_STAT_NAMES[0]
MEASURE = {"warmup": 0, "repeats": 1, "bootstrap": 0, "rounds": 1, "max_rounds": 1, "precision": 0}


def _burst_folder(root: Path) -> Path:
    """A small synthetic dataset written in BURST's layout (all_classes.json and frames/)."""
    folder = generate_dataset(root / "ytvis", videos=2, seed=11, min_frames=4, max_frames=5)
    return write_burst_layout(folder / "annotations.json", folder / "JPEGImages", root / "burst")


def _dataset(folder: Path, **conversion) -> dict:
    return {
        "kind": "burst",
        "annotations": str(folder / GT_FILE),
        "frames": str(folder / FRAMES_DIR),
        **conversion,
    }


def _config(dataset: dict):
    return parse_config({"dataset": dataset, "methods": [{"name": "minvis"}]}, "b.yaml")


def test_the_burst_layout_is_read_as_videos_of_the_annotated_frames(tmp_path):
    folder = _burst_folder(tmp_path)
    gt = json.loads((folder / GT_FILE).read_text())
    view = read_videos(folder)  # the folder, as `eval --gt` takes it
    first = gt["sequences"][0]
    assert [v["id"] for v in view["videos"]] == [s["id"] for s in gt["sequences"]]
    assert view["videos"][0]["file_names"][0] == (
        f"{first['dataset']}/{first['seq_name']}/{first['annotated_image_paths'][0]}"
    )
    assert (folder / FRAMES_DIR / view["videos"][0]["file_names"][0]).is_file()
    tracks = sum(len(s["track_category_ids"]) for s in gt["sequences"])
    assert len(view["annotations"]) == tracks


def test_a_malformed_burst_mask_is_an_input_error_naming_the_file(tmp_path):
    folder = _burst_folder(tmp_path)
    gt = json.loads((folder / GT_FILE).read_text())
    frame = gt["sequences"][0]["segmentations"][0]
    frame[next(iter(frame))] = {"counts": "no rle key"}
    (folder / GT_FILE).write_text(json.dumps(gt))
    with pytest.raises(InputError, match="needs 'rle'") as err:
        open_source(_config(_dataset(folder)).dataset)
    assert err.value.path == str(folder / GT_FILE)


def test_conversion_settings_belong_to_a_burst_dataset(tmp_path):
    folder = _burst_folder(tmp_path)
    config = _config(_dataset(folder, score_threshold=0.5, remove_overlap=True))
    source = open_source(config.dataset)
    assert source.identity["conversion"] == {"score_threshold": 0.5, "remove_overlap": True}
    assert "above score 0.5, overlap removed" in source.label()
    with pytest.raises(InputError, match="only a burst dataset") as err:
        _config({"kind": "ytvis2019", "annotations": "a", "frames": "f", "score_threshold": 0.5})
    assert err.value.field == "dataset.score_threshold"


def test_a_missing_frame_of_a_burst_dataset_is_an_input_error_naming_it(tmp_path):
    folder = _burst_folder(tmp_path)
    view = read_videos(folder)
    missing = folder / FRAMES_DIR / view["videos"][1]["file_names"][2]
    missing.unlink()
    with pytest.raises(InputError, match=missing.name):
        open_source(_config(_dataset(folder)).dataset)


def test_the_ground_truth_answers_its_own_masks_with_full_hota(tmp_path):
    """The scorer converts YouTube-VIS-format results as `eval --metric burst` does: the
    ground truth's own tracks, as results, score 100 on every split that has a class."""
    folder = _burst_folder(tmp_path)
    config = _config(_dataset(folder))
    view = read_videos(folder)
    results = [
        {**track, "score": 0.9} for track in view["annotations"] if track["category_id"] != 4
    ]
    scoring = BurstScoring(folder / GT_FILE, config.dataset)
    stats, vocabulary = scoring.statistics(tmp_path / "r.json", results)
    assert set(stats) == set(BURST_STAT_NAMES) and vocabulary is None
    assert stats[HOTA] is not None and stats[HOTA] < 100.0  # category 4's tracks were left out
    assert stats["HOTA_uncommon"] == pytest.approx(100.0)
    # a model that cannot name category 4 (mapped by name) is scored on the classes it names
    named = {track["category_id"] for track in view["annotations"]} - {4}
    stats, vocabulary = scoring.statistics(tmp_path / "r.json", results, named)
    assert stats[HOTA] == pytest.approx(100.0)
    assert vocabulary == (len(named), len(named) + 1)


def _record(key: str, hota: float, track_ap: float, fps: float) -> dict:
    return {
        "key": key,
        "method": key,
        "dataset": "burst:all_classes.json:0-2v",
        "status": "ok",
        "device": "cpu",
        "dtype": "fp32",
        "clip_length": "all",
        "stride": None,
        "resolution": None,
        "fps_end_to_end": fps,
        **{name: 10.0 for name in BURST_STAT_NAMES},
        HOTA: hota,
        "AP_all": track_ap,
    }


def test_reports_rank_burst_cells_by_hota_not_by_track_ap():
    """Two methods where HOTA and track AP disagree: every ranking follows HOTA, the headline."""
    records = [_record("tracker", 60.0, 20.0, 5.0), _record("detector", 40.0, 30.0, 10.0)]
    record_set = RecordSet.from_records(records)
    assert ranked_by(record_set)[0] == HOTA
    assert list(leaderboard_frame(record_set)["method"]) == ["tracker", "detector"]
    (answer,) = speed_accuracy(record_set)
    assert {cell.method: cell.ap for cell in answer.front} == {"tracker": 60.0, "detector": 40.0}
    assert all(cell.statistic == HOTA for cell in answer.cells)
    assert f"| {HOTA} vs next faster " in "\n".join(front_lines(record_set))
    typed = [CellRecord.from_json(r) for r in records]
    assert compared_statistics(typed)[0] == HOTA
    assert f"  {HOTA} 60.0  " in summary_line(typed[0])  # the console's line per cell
    assert f"shown by its best-{HOTA} cell" in "\n".join(header_lines(record_set))


def test_every_page_names_hota_where_it_speaks_of_the_ranked_figure():
    """The front's title and note, the export's column notes and the LaTeX caption say HOTA_all,
    the figure a BURST run is ranked by, not AP."""
    records = [_record("tracker", 60.0, 20.0, 5.0), _record("detector", 40.0, 30.0, 10.0)]
    record_set = RecordSet.from_records(records)
    front = "\n".join(front_lines(record_set))
    assert front.startswith(f"## Speed at equal {HOTA}\n")
    assert f"Fastest at equal {HOTA}, per method:" in front
    assert f"beats on both {HOTA} and FPS" in front
    assert re.search(r"\bAP\b", front) is None
    exported = json.loads(export_leaderboard(record_set, "json", "t"))
    assert f"best-{HOTA} cell" in exported["columns"]["cells"]
    assert exported["columns"]["rank"].startswith(f"by {HOTA},")
    assert f"below the ranking, `Speed at equal {HOTA}`" in "\n".join(header_lines(record_set))
    latex = export_leaderboard(record_set, "latex", "t")
    assert "best-HOTA\\_all cell" in latex
    page = report_context(RecordSet.from_records(records), "t", BrowserLimits(videos=0))
    assert page["front_title"] == f"Speed at equal {HOTA}"
    assert f"both {HOTA} and FPS" in page["front_note"]


def test_an_interval_of_the_ranked_figure_is_exported_under_its_name():
    """A headline with a bootstrap interval gives `<headline>_low/_high` in the export, in the
    percent HOTA is recorded in."""
    record = {**_record("tracker", 60.0, 20.0, 5.0), f"{HOTA}_ci": [55.0, 65.0]}
    table = leaderboard_table(RecordSet.from_records([record]))
    assert list(table[[f"{HOTA}_low", f"{HOTA}_high"]].iloc[0]) == pytest.approx([55.0, 65.0])
    assert "AP_low" not in table


def test_compare_runs_sets_hota_and_track_ap_of_two_burst_runs_side_by_side():
    """Percent values are shown as recorded; HOTA has no bootstrap: a plain difference."""
    a = RecordSet.from_records([_record("tracker", 60.0, 20.0, 5.0)])
    b = RecordSet.from_records([_record("tracker", 62.5, 21.0, 5.0)])
    (row,) = differences_frame(a, b).to_dict("records")
    assert (row[f"{HOTA} A"], row[f"{HOTA} B"], row[f"{HOTA} B-A"]) == ("60.00", "62.50", "+2.50")
    assert row["AP_all B-A"] == "+1.00"


def test_regress_gates_a_hota_drop_in_points_as_recorded():
    """BURST records hold percentages: a drop of 0.5 HOTA points fails a 0.3 tolerance."""
    cell = {"method": "m", "checkpoint": None, "options": {}, "clip_length": "all"}
    cell |= {"stride": None, "resolution": None, "device": "cpu", "dtype": "fp32"}
    base = Baseline(
        "b.json", _config({"kind": "synthetic"}), [{**cell, "metrics": {HOTA: 60.0}}], {}
    )
    (regression,) = compare(base, [{**cell, "status": "ok", HOTA: 59.5}], 0.3).regressions
    assert regression.startswith(f"m T=all {HOTA}: 60.00 -> 59.50")


def test_the_tables_document_and_plots_set_hota_against_the_sweep_axes(tmp_path):
    records = [
        {**_record("tracker", hota, 20.0, fps), "key": f"t{t}", "clip_length": t}
        for t, hota, fps in ((2, 50.0, 8.0), (4, 60.0, 5.0))
    ]
    record_set = RecordSet.from_records(records)
    section = tables_markdown(record_set, "burst").split(f"## {HOTA} by clip length")[1]
    assert "| tracker  | 60.00 | 50.00 |" in section.split("##")[0]  # in points, per clip length
    assert plot_ap_vs_clip_length(record_set, tmp_path / "clip.png").is_file()
    sizes = [{**r, "key": f"r{r['key']}", "resolution": 96} for r in records]
    sizes = RecordSet.from_records([*sizes, *({**r, "resolution": 128} for r in records)])
    assert plot_vs_resolution(sizes, tmp_path / "resolution.png").is_file()


@pytest.mark.slow
def test_a_sweep_of_a_tiny_model_on_a_burst_dataset_is_scored_by_hota(tmp_path):
    folder = _burst_folder(tmp_path)
    checkpoint = REPO / "results" / "checkpoints" / "minvis_tiny.pth"
    config = parse_config(
        {
            "name": "burst",
            "dataset": _dataset(folder, score_threshold=0.05),
            "methods": [
                {"name": "minvis", "checkpoint": str(checkpoint), "options": tiny_options("minvis")}
            ],
            "sweep": {"clip_length": ["all"], "resolution": [96]},
            "measure": MEASURE,
        },
        "burst.yaml",
    )
    records = run_sweep(config, open_source(config.dataset), tmp_path / "run", log=lambda s: None)
    (record,) = records
    assert record["status"] == "ok", record.get("error")
    assert all(name in record for name in BURST_STAT_NAMES)
    assert record["dataset_identity"]["conversion"]["score_threshold"] == 0.05
    assert record[HOTA] > 0.0  # the tiny model finds the synthetic objects
    record_set = RecordSet.from_records(records)
    assert f"| {HOTA} " in comparison_table(record_set).splitlines()[0]
    assert ranked_by(record_set)[0] == HOTA
    (answer,) = speed_accuracy(record_set)
    assert answer.cells[0].statistic == HOTA and answer.cells[0].ap == record[HOTA]

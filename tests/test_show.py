"""`show`: a video's predictions drawn over its frames, checked on the pictures themselves.

Results are copies of the ground truth with known mistakes (tests/helpers/picture_cases.py), so
which track is missed, which prediction is a false positive and which colour each track must
have are known: the tests look for those colours on the masks' outlines, frame by frame.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.helpers.picture_cases import results_from_gt, synthetic_split, write_json
from vis_bench.cli import main
from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
from vis_bench.formats import rle
from vis_bench.report.overlays.draw import _eroded
from vis_bench.report.overlays.inputs import from_files
from vis_bench.report.overlays.palette import ERROR
from vis_bench.report.overlays.scene import VideoInfo, video_scene
from vis_bench.report.overlays.sheets import GAP, SceneRenderer


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    folder = tmp_path_factory.mktemp("split")
    gt_path, frames, gt = synthetic_split(folder / "data")
    video = gt["videos"][0]
    tracks = [a for a in gt["annotations"] if a["video_id"] == video["id"]]
    missed = tracks[-1]["id"]  # the GT track method "a" leaves out
    a = write_json(folder / "a.json", results_from_gt(gt, drop={missed}, false_positive=True))
    b = write_json(folder / "b.json", results_from_gt(gt, reverse=True))
    return {"gt_path": gt_path, "frames": frames, "gt": gt, "a": a, "b": b, "missed": missed}


def _scene(split):
    gt = ground_truth_from_dict(split["gt"])
    video = split["gt"]["videos"][0]
    info = VideoInfo(video["id"], "v", video["height"], video["width"], video["length"])
    methods = [
        (name, results_from_list(results_from_gt(split["gt"], **kw), gt))
        for name, kw in (
            ("a", {"drop": {split["missed"]}, "false_positive": True}),
            ("b", {"reverse": True}),
        )
    ]
    return video_scene(gt, methods, info, score_threshold=0.0)


def test_each_object_has_one_colour_in_every_method_and_the_misses_are_marked(split):
    scene = _scene(split)
    colours = {track.slot: track.colour for track in scene.gt}
    assert len(set(colours.values())) == len(colours)  # GT tracks are told apart
    a, b = scene.methods
    for method in (a, b):
        paired = [p for p in method.predictions if p.slot is not None]
        assert all(p.colour == colours[p.slot] for p in paired)
    missed_slot = next(t.slot for t in scene.gt if t.ref == split["missed"])
    assert {p.slot for p in b.predictions} == set(colours)  # b finds every track
    assert missed_slot not in {p.slot for p in a.predictions}
    fp = next(i for i, p in enumerate(a.predictions) if p.slot is None)
    assert a.predictions[fp].colour not in colours.values()
    visible = [t for t, s in enumerate(scene.gt[missed_slot].frames) if s is not None]
    assert [t for t, m in enumerate(a.marks) if missed_slot in m.missed] == visible
    assert all(fp in m.false_positives for m in a.marks)
    assert all(not m.missed and not m.false_positives for m in b.marks)
    row = next(r for r in a.diagnosis if r["slot"] == missed_slot)
    assert row["matched_frames"] == 0 and row["missed_frames"] == visible


def _edge_share(panel: np.ndarray, mask: np.ndarray, colour, top: int) -> float:
    """Share of the mask's outline pixels that have exactly `colour` on the panel."""
    edge = mask & ~_eroded(mask, 1)
    picture = panel[top : top + mask.shape[0]]
    return float(np.all(picture[edge] == colour, axis=-1).mean())


def test_the_pictures_carry_each_tracks_colour_on_its_outline_in_every_frame(split):
    scene = _scene(split)
    gt_by_id = {a["id"]: a for a in split["gt"]["annotations"]}
    renderer = SceneRenderer(scene, lambda t: np.full((72, 96, 3), 128, np.uint8), None)
    top = renderer.style.header
    missed_slot = next(t.slot for t in scene.gt if t.ref == split["missed"])
    for t in range(scene.video.length):
        gt_panel, a_panel, b_panel = renderer.panels(t)
        assert gt_panel.shape == (renderer.style.total_height, 96, 3)
        for track in scene.gt:
            segmentation = gt_by_id[track.ref]["segmentations"][t]
            if not segmentation:
                continue
            mask = rle.decode(segmentation).astype(bool)
            assert _edge_share(gt_panel, mask, track.colour, top) > 0.5, (t, track.slot)
            if track.slot == missed_slot:  # dashed red where method a missed it, not its colour
                assert _edge_share(a_panel, mask, ERROR, top) > 0.1
                assert _edge_share(a_panel, mask, track.colour, top) == 0
            else:
                assert _edge_share(a_panel, mask, track.colour, top) > 0.5
            assert _edge_share(b_panel, mask, track.colour, top) > 0.5


def test_show_compares_two_results_files_in_one_animation_and_sheet(split, tmp_path, capsys):
    out = tmp_path / "pics" / "v.gif"
    argv = ["show", "--gt", str(split["gt_path"]), "--frames", str(split["frames"])]
    argv += ["--results", str(split["a"]), "--compare", str(split["b"]), "--video", "1"]
    argv += ["--out", str(out), "--sheet-frames", "3", "--panel-size", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "a: " in printed and "missed in frames" in printed and "false positives" in printed
    video = split["gt"]["videos"][0]
    with Image.open(out) as gif:
        assert gif.n_frames == video["length"]
        height = gif.size[1]
        assert gif.size[0] == 3 * video["width"] + 2 * GAP  # GT, a, b
    with Image.open(out.with_name("v.sheet.png")) as sheet:
        assert sheet.size[0] == 3 * video["width"] + 2 * GAP
        assert sheet.size[1] > 3 * height  # a title bar and three rows


def test_show_writes_an_mp4(split, tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    out = tmp_path / "v.mp4"
    argv = ["show", "--gt", str(split["gt_path"]), "--frames", str(split["frames"])]
    argv += ["--results", str(split["b"]), "--video", "1", "--out", str(out)]
    assert main([*argv, "--panel-size", "101"]) == 0
    reader = imageio.get_reader(out)
    try:
        frames = [frame for frame in reader]
    finally:
        reader.close()
    assert len(frames) == split["gt"]["videos"][0]["length"]
    assert frames[0].shape[1] % 2 == 0 and frames[0].shape[0] % 2 == 0


def test_sources_read_a_split_by_video_name(split):
    sources = from_files(split["gt_path"], [split["a"]], split["frames"])
    video, info = sources.video(sources.dataset.videos[1].name)
    assert info.id == sources.dataset.videos[1].id
    assert sources.frame_reader(video)(0).shape == (72, 96, 3)


def _other_split_results(split, tmp_path):
    results = results_from_gt(split["gt"])
    for r in results:
        r["video_id"] += 1000
    return write_json(tmp_path / "other.json", results)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown video", ["annotations.json", "no video '77'", "--video"]),
        ("other split", ["other.json", "not a video of the ground truth", "matching split"]),
        ("no frames", ["nowhere", "frame folder not found", "JPEGImages"]),
        ("no gt", ["missing.json", "ground-truth file not found"]),
        ("bad suffix", ["v.avi", ".gif or .mp4"]),
        ("run and files", ["either --run"]),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(split, tmp_path, capsys, case, expected):
    out = tmp_path / "out" / "v.gif"
    gt, frames, results, video = split["gt_path"], split["frames"], split["a"], "1"
    extra = []
    if case == "unknown video":
        video = "77"
    elif case == "other split":
        results = _other_split_results(split, tmp_path)
    elif case == "no frames":
        frames = tmp_path / "nowhere"
    elif case == "no gt":
        gt = tmp_path / "missing.json"
    elif case == "bad suffix":
        out = tmp_path / "out" / "v.avi"
    else:
        extra = ["--run", str(tmp_path)]
    argv = ["show", "--gt", str(gt), "--frames", str(frames), "--results", str(results)]
    assert main([*argv, "--video", video, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _first_cells(document: str, heading: str) -> str:
    """The first cells of the command table under `heading` in `document` (repository-relative)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / document).read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return " ".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| `"))


def test_every_command_is_in_the_docs_tour():
    """docs/commands.md's tour names every command of the command line."""
    import re

    from vis_bench.cli import build_parser

    first_cells = _first_cells("docs/commands.md", "## A short tour")
    _, commands = build_parser()
    missing = [
        name
        for name in commands
        if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", first_cells)
    ]
    assert missing == []


def test_the_readmes_commands_are_commands():
    """The README's ten commands are commands of the command line, each in the docs' tour too."""
    from vis_bench.cli import build_parser

    _, commands = build_parser()
    rows = _first_cells("README.md", "## Ten commands").split("`python run_bench.py ")[1:]
    named = [row.split()[0].strip("`") for row in rows]
    assert len(named) == 10 and set(named) <= set(commands), named
    tour = _first_cells("docs/commands.md", "## A short tour")
    assert all(name in tour for name in named)


def test_the_render_speed_block_reads_the_benchmarks_report(tmp_path):
    import json

    from tools.doc_numbers import regenerate

    phases = {"read inputs": 0.1, "scene": 0.1, "draw animation": 1.8, "encode GIF": 0.7}
    phases |= {"encode MP4": 1.1, "contact sheet": 0.6}
    size = {"columns": 4, "median_seconds": phases, "total_seconds": 4.4}
    report = {
        "video": {"frames": 36, "height": 720, "width": 1280},
        "methods": 3,
        "repeat": 3,
        "sizes": [
            {**size, "panel_size": 480, "draw_seconds_per_frame": 0.05},
            {**size, "panel_size": "video", "draw_seconds_per_frame": 0.1},
        ],
        "run_report": {"cells": 9, "videos": 24, "median_seconds": 2.0, "bytes": 4 * 2**20},
        "provenance": {"commit": "a" * 40, "dirty": False, "command": "bench_show_render.py"},
    }
    report["run_report"]["cells_seconds"] = 100.0
    source = tmp_path / "benchmarks" / "results" / "show_render.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(report))
    text = regenerate("<!-- numbers: render-speed -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "| 480 px | 4 | 1.80 s | 50 ms | 0.70 s | 1.10 s | 0.60 s | 4.40 s |" in text
    assert "| 1280x720 (`--panel-size 0`) | 4 |" in text
    assert "2.00 s, 4.0 MiB; those cells took 100 s" in text and "2.0 % more" in text


def test_a_split_without_annotations_shows_predictions_alone(split, tmp_path):
    import json

    header = {k: v for k, v in split["gt"].items() if k != "annotations"}
    gt_path = write_json(tmp_path / "valid.json", header)
    out = tmp_path / "test.gif"
    argv = ["show", "--gt", str(gt_path), "--frames", str(split["frames"]), "--video", "1"]
    assert main([*argv, "--results", str(split["b"]), "--out", str(out), "--panel-size", "0"]) == 0
    video = split["gt"]["videos"][0]
    with Image.open(out) as gif:
        assert gif.size[0] == video["width"]  # one column: no ground truth to show
    assert json.loads(gt_path.read_text()).get("annotations") is None

"""`predict`: a method on a video of one's own (an MP4 or a frame folder), through the sweep's
runner: the same predictions, scored identically by `eval`, as the same video's cell of a run
(same method, checkpoint, clip schedule and resolution), plus the overlay pictures.

The video is a synthetic one: its JPEG frames are the frame folder, and the MP4 is those frames
encoded losslessly (H.264 in RGB at qp 0, so decoding gives the JPEGs' pixels back)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vis_bench.cli import main
from vis_bench.data.dataset import load_dataset

CHECKPOINT = "results/checkpoints/ifc_tiny.pth"


def write_lossless_mp4(frames: list[np.ndarray], path: Path, fps: float = 10.0) -> Path:
    """The frames as an MP4 that decodes to exactly these pixels (libx264rgb, qp 0)."""
    imageio = pytest.importorskip("imageio.v2")
    pytest.importorskip("imageio_ffmpeg")
    writer = imageio.get_writer(
        path,
        format="FFMPEG",
        fps=fps,
        codec="libx264rgb",
        quality=None,
        macro_block_size=1,
        pixelformat="rgb24",
        ffmpeg_params=["-qp", "0", "-preset", "ultrafast"],
        ffmpeg_log_level="error",
    )
    for frame in frames:
        writer.append_data(frame)
    writer.close()
    return path


@pytest.fixture(scope="module")
def one_video_run(tmp_path_factory):
    """A run of one cell (T=5, S=3, 144 px) on a one-video synthetic split."""
    tmp = tmp_path_factory.mktemp("predict")
    run_dir = tmp / "run"
    overrides = [
        "dataset.videos=1", f"dataset.cache_dir={tmp / 'cache'}", "sweep.clip_length=[5]",
        "measure.fps=false", "measure.flops=false", "measure.bootstrap=0",
        f"methods=[{{name: ifc, checkpoint: {CHECKPOINT}, label_space: synthetic}}]",
    ]  # fmt: skip
    argv = ["run", "--in-process", "--run-dir", str(run_dir)]
    assert main([*argv, *[a for o in overrides for a in ("--set", o)]]) == 0
    (results,) = run_dir.glob("cells/*/results.json")
    (root,) = (tmp / "cache").glob("synthetic-*")
    dataset = load_dataset(root / "annotations.json", root / "JPEGImages")
    (video,) = dataset.videos
    return {
        "tmp": tmp,
        "results": results,
        "gt": root / "annotations.json",
        "video": video,
        "frames_dir": dataset.frame_path(video, 0).parent,
        "frames": list(dataset.frames(video)),
    }


def _predict(case: dict, video: Path, out: Path, *extra: str) -> dict:
    argv = ["predict", "--method", "ifc", "--video", str(video), "--out", str(out)]
    argv += ["--video-id", str(case["video"].id), "--clip-length", "5", *extra]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text())


def _eval(gt: Path, results: Path, out: Path) -> dict:
    assert main(["eval", "--gt", str(gt), "--results", str(results), "--out", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mp4", "frames"])
def test_predict_gives_the_runs_predictions_and_scores(one_video_run, kind, capsys):
    case = one_video_run
    tmp = case["tmp"]
    if kind == "mp4":
        video = write_lossless_mp4(case["frames"], tmp / "video.mp4")
    else:
        video = case["frames_dir"]
    out = tmp / f"out-{kind}"
    predicted = _predict(case, video, out)
    assert predicted == json.loads(case["results"].read_text())
    ours = _eval(case["gt"], out / "results.json", tmp / f"stats-{kind}.json")
    theirs = _eval(case["gt"], case["results"], tmp / "stats-run.json")
    assert ours == theirs and ours["AP"] > 0
    printed = capsys.readouterr().out
    assert "T=5 S=3, 144 px" in printed and "results/checkpoints/ifc_tiny.pth" in printed
    with Image.open(out / "overlay.gif") as gif:
        assert gif.n_frames == case["video"].length
        assert max(gif.size) >= 480  # panels of --panel-size 480 px
    with Image.open(out / "sheet.png") as sheet:
        assert sheet.size[0] >= 480
    summary = json.loads((out / "predict.json").read_text())
    assert summary["checkpoint"] == CHECKPOINT and summary["clip_length"] == 5
    assert (summary["width"], summary["height"]) == (case["video"].width, case["video"].height)


def test_predict_names_what_is_missing(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    argv = ["predict", "--method", "ifc", "--video", str(frames)]
    assert main(argv) == 2
    assert "no frame images" in capsys.readouterr().err
    Image.new("RGB", (32, 24)).save(frames / "00000.jpg")
    assert main(["predict", "--method", "nope", "--video", str(frames)]) == 2
    assert "--method" in capsys.readouterr().err
    config = tmp_path / "one.yaml"
    config.write_text("name: one\ndataset: {kind: synthetic}\nmethods: [{name: ifc}]\n")
    assert main(["predict", "--method", "minvis", "--video", str(frames), "--config", str(config)])
    err = capsys.readouterr().err
    assert "declares no checkpoint for 'minvis'" in err and "--checkpoint FILE" in err
    bad = ["predict", "--method", "ifc", "--video", str(frames), "--clip-length", "x"]
    assert main(bad) == 2 and "--clip-length" in capsys.readouterr().err
    assert main(["predict", "--method", "ifc", "--video", str(tmp_path / "none.mp4")]) == 2
    assert "no such video file" in capsys.readouterr().err


def test_a_video_file_without_the_video_extra_names_the_extra(tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name.startswith("imageio"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    (tmp_path / "clip.mp4").write_bytes(b"not read")
    monkeypatch.setattr(builtins, "__import__", blocked)
    assert main(["predict", "--method", "ifc", "--video", str(tmp_path / "clip.mp4")]) == 2
    assert "pip install 'vis-bench[video]'" in capsys.readouterr().err


def test_a_file_that_is_no_video_is_named_without_ffmpegs_banner(tmp_path, capsys):
    pytest.importorskip("imageio_ffmpeg")
    for name in ("README.txt", "notes.mp4"):  # a text file, and one renamed .mp4
        (tmp_path / name).write_text("hello\n")
        assert main(["predict", "--method", "ifc", "--video", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert f"{tmp_path / name}: field '--video': not a video ffmpeg can read" in err
        assert "Invalid data" in err  # ffmpeg's reason is kept
        assert "ffmpeg version" not in err and "configuration:" not in err  # its banner is not
        assert err.count("\n") == 1 and "Traceback" not in err


def test_frames_of_mixed_sizes_are_named_against_the_first_frame(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("RGB", (64, 48)).save(frames / "00000.jpg")
    Image.new("RGB", (80, 48)).save(frames / "00001.jpg")
    assert main(["predict", "--method", "ifc", "--video", str(frames)]) == 2
    err = capsys.readouterr().err
    assert (
        "image is 80x48 (width x height) but the folder's first frame (00000.jpg) is 64x48" in err
    )
    assert "record" not in err  # predict has no video record


def test_an_mp4_animation_without_its_writer_is_refused_before_the_model_runs(
    tmp_path, monkeypatch, capsys
):
    import builtins

    real_import = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name.startswith("imageio_ffmpeg"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("RGB", (64, 48)).save(frames / "00000.jpg")
    monkeypatch.setattr(builtins, "__import__", blocked)
    argv = ["predict", "--method", "ifc", "--video", str(frames), "--animation", "mp4"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "field '--animation'" in captured.err and "--animation gif" in captured.err
    assert captured.out == ""  # nothing ran: the model line is printed before it runs


def test_a_frame_that_is_no_image_is_named(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "00000.jpg").write_text("not a jpeg")
    assert main(["predict", "--method", "ifc", "--video", str(frames)]) == 2
    err = capsys.readouterr().err
    assert f"{frames / '00000.jpg'}: field '--video': cannot decode image" in err
    assert "Traceback" not in err

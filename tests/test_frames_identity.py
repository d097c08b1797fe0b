"""A run folder's finished cells are reused only for the same frames: frames changed in place
(even with the mtime kept), another frames folder, a frame added or removed make a resumed run
refuse, naming what changed; the same frames copied elsewhere are the same data, and an unchanged
second run hashes nothing again."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml

import tests.helpers.toy_method  # noqa: F401  (registers the "toy" method)
import vis_bench.data.frames_digest as frames_digest
from vis_bench.cli import main
from vis_bench.config import parse_config
from vis_bench.errors import InputError
from vis_bench.inference.sources import open_source
from vis_bench.records.store import read_records
from vis_bench.sweep import run_sweep
from vis_bench.sweep.run_dir import FRAMES_FILE, RUN_FILE

QUIET = {"log": lambda s: None, "isolate": False}
MEASURE = {"warmup": 0, "repeats": 1, "fps": False, "flops": False, "bootstrap": 0}


@pytest.fixture()
def synth(tmp_path, monkeypatch):
    """A 2-video folder written by `run_bench.py synth`."""
    monkeypatch.setattr(frames_digest, "RACY_NS", 0)  # the frames were written just now
    out = tmp_path / "data"
    argv = ["synth", "--out", str(out), "--videos", "2", "--height", "40", "--width", "56"]
    assert main([*argv, "--min-frames", "2", "--max-frames", "3"]) == 0
    return out


def _config(data, frames=None):
    dataset = {
        "kind": "synth",
        "annotations": str(data / "annotations.json"),
        "frames": str(frames or data / "JPEGImages"),
        "cache_dir": str(data.parent / "cache"),
    }
    config = {"name": "t", "dataset": dataset, "methods": ["toy"], "measure": MEASURE}
    return parse_config({**config, "sweep": {"clip_length": ["all"]}}, "t.yaml")


def _sweep(data, run_dir, frames=None):
    config = _config(data, frames)
    return run_sweep(config, open_source(config.dataset, "t.yaml"), run_dir, **QUIET)


def _frames(data, video=0):
    gt = json.loads((data / "annotations.json").read_text())
    first = gt["videos"][video]
    return first["id"], [data / "JPEGImages" / name for name in first["file_names"]]


def _same_size_other_bytes(path):
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


def test_a_frame_changed_in_place_is_refused_naming_it_never_reported_finished(
    synth, tmp_path, capsys
):
    """The user's case through the command line: the resumed run said "already finished" and
    printed the old AP; now it stops with exit 2 and names the video and the file."""
    config = yaml.safe_load(json.dumps(_config(synth).to_dict()))
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(config))
    run = ["run", "--config", str(path), "--run-dir", str(tmp_path / "run"), "--in-process"]
    assert main(run) == 0
    video, files = _frames(synth)
    _same_size_other_bytes(files[1])
    capsys.readouterr()
    assert main(run) == 2
    out, err = capsys.readouterr()
    assert "already finished" not in out + err
    assert f"frames of video {video}" in err and "1 file(s) differ" in err
    assert files[1].relative_to(synth / "JPEGImages").as_posix() in err
    assert "--run-dir" in err and "Traceback" not in err
    assert len(read_records(tmp_path / "run")) == 1  # nothing appended on other frames


def test_an_unchanged_rerun_resumes_and_hashes_nothing_again(synth, tmp_path, monkeypatch):
    _sweep(synth, tmp_path / "run")
    assert (synth / "JPEGImages" / frames_digest.CACHE_NAME).is_file()  # beside the data
    hashed = []
    real = frames_digest._content_digest
    monkeypatch.setattr(frames_digest, "_content_digest", lambda p: hashed.append(p) or real(p))
    assert _sweep(synth, tmp_path / "run") == []  # the cell is finished: nothing written
    assert hashed == []
    run = json.loads((tmp_path / "run" / RUN_FILE).read_text())
    (record,) = read_records(tmp_path / "run")
    assert record["dataset_identity"]["frames"] == run["dataset"]["frames"]
    assert run["dataset"]["frames"]["files"] == sum(len(_frames(synth, v)[1]) for v in (0, 1))


def test_a_content_change_that_keeps_size_and_mtime_is_still_caught(synth, tmp_path):
    """A copy that keeps the mtime (cp -p) misses the cache by its ctime and is hashed again."""
    _sweep(synth, tmp_path / "run")
    video, files = _frames(synth, 1)
    before = files[0].stat()
    _same_size_other_bytes(files[0])
    os.utime(files[0], ns=(before.st_atime_ns, before.st_mtime_ns))
    after = files[0].stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(InputError, match=f"frames of video {video} .*1 file\\(s\\) differ"):
        _sweep(synth, tmp_path / "run")


def test_a_frame_added_or_removed_is_named(synth, tmp_path):
    video, files = _frames(synth)
    extra = files[0].with_name("99999.jpg")
    _sweep(synth, tmp_path / "run")
    shutil.copy(files[0], extra)
    with pytest.raises(InputError, match=rf"video {video} .*1 file\(s\) added \(.*99999\.jpg\)"):
        _sweep(synth, tmp_path / "run")
    _sweep(synth, tmp_path / "with-extra")
    extra.unlink()
    assert _sweep(synth, tmp_path / "run") == []  # the folder's frames again: resumed
    with pytest.raises(InputError, match=rf"video {video} .*1 file\(s\) removed"):
        _sweep(synth, tmp_path / "with-extra")
    files[-1].unlink()  # a frame the annotations list
    with pytest.raises(InputError, match="missing"):
        _sweep(synth, tmp_path / "run")


def test_frames_pointed_elsewhere_are_refused_and_a_copy_of_the_same_frames_is_accepted(
    synth, tmp_path
):
    _sweep(synth, tmp_path / "run")
    copy = tmp_path / "copy"
    shutil.copytree(synth / "JPEGImages", copy)
    assert _sweep(synth, tmp_path / "run", frames=copy) == []  # the same data: resumed
    other = tmp_path / "other"
    argv = ["synth", "--out", str(other), "--videos", "2", "--height", "40", "--width", "56"]
    assert main([*argv, "--min-frames", "2", "--max-frames", "3", "--seed", "7"]) == 0
    shutil.rmtree(copy)
    shutil.copytree(other / "JPEGImages", copy)
    with pytest.raises(InputError) as err:
        _sweep(synth, tmp_path / "run", frames=copy)
    message = str(err.value)
    assert "other frames" in message and f"is now {copy.resolve()}" in message
    assert "differ" in message and "--run-dir" in message


def test_a_folder_from_before_frames_were_pinned_takes_this_runs_frames_and_says_so(
    synth, tmp_path, capsys
):
    _sweep(synth, tmp_path / "run")
    run_file = tmp_path / "run" / RUN_FILE
    run = json.loads(run_file.read_text())
    del run["dataset"]["frames"]
    run_file.write_text(json.dumps(run))
    (tmp_path / "run" / FRAMES_FILE).unlink()
    capsys.readouterr()
    assert _sweep(synth, tmp_path / "run") == []
    assert "names no frames" in capsys.readouterr().err
    assert "frames" in json.loads(run_file.read_text())["dataset"]
    _, files = _frames(synth)
    _same_size_other_bytes(files[0])
    with pytest.raises(InputError, match="other frames"):
        _sweep(synth, tmp_path / "run")


def test_records_without_run_json_still_keep_other_frames_out(synth, tmp_path):
    _sweep(synth, tmp_path / "run")
    (tmp_path / "run" / RUN_FILE).unlink()
    (tmp_path / "run" / FRAMES_FILE).unlink()
    _, files = _frames(synth)
    _same_size_other_bytes(files[0])
    with pytest.raises(InputError, match=r"other frames.*digest \w+ \(\d+ files\) -> "):
        _sweep(synth, tmp_path / "run")


def test_generated_synthetic_frames_edited_in_the_cache_are_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(frames_digest, "RACY_NS", 0)
    dataset = {"kind": "synthetic", "videos": 1, "min_frames": 2, "max_frames": 2}
    config = parse_config(
        {"name": "s", "dataset": {**dataset, "cache_dir": str(tmp_path / "cache")},
         "methods": ["toy"], "measure": MEASURE, "sweep": {"clip_length": ["all"]}}
    )  # fmt: skip
    run_sweep(config, open_source(config.dataset), tmp_path / "run", **QUIET)
    frame = next((tmp_path / "cache").glob("synthetic-*/*/*/*.jpg"))
    _same_size_other_bytes(frame)
    with pytest.raises(InputError, match="other frames.*1 file\\(s\\) differ"):
        run_sweep(config, open_source(config.dataset), tmp_path / "run", **QUIET)


def test_a_frames_folder_that_cannot_be_written_keeps_its_cache_in_the_project_cache(
    synth, tmp_path, monkeypatch
):
    frames = synth / "JPEGImages"
    real = frames_digest.write_atomic

    def read_only(path, data):
        if path.parent == frames:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data)

    monkeypatch.setattr(frames_digest, "write_atomic", read_only)
    _sweep(synth, tmp_path / "run")
    assert not (frames / frames_digest.CACHE_NAME).exists()
    (cache,) = (tmp_path / "cache" / "frames_digest").glob("*.json")
    hashed = []
    monkeypatch.setattr(frames_digest, "_content_digest", lambda p: hashed.append(p))
    assert _sweep(synth, tmp_path / "run") == [] and hashed == []  # read back from there


def test_show_and_a_cell_made_again_refuse_frames_changed_since_the_run(synth, tmp_path, capsys):
    """Pictures of a run draw its predictions on its frames, and a cell whose predictions were
    not kept is run again on them: on other frames either would show another run's data."""
    from vis_bench.records import CellRecord
    from vis_bench.sweep.regenerate import regenerate_predictions

    (line,) = _sweep(synth, tmp_path / "run")
    video, files = _frames(synth)
    _same_size_other_bytes(files[0])
    show = ["show", "--run", str(tmp_path / "run"), "--video", str(video)]
    assert main([*show, "--out", str(tmp_path / "a.gif")]) == 2
    assert "changed since the run (frames digest" in capsys.readouterr().err
    with pytest.raises(InputError, match="other frames than its config now opens"):
        regenerate_predictions(CellRecord.from_json(line), str(tmp_path / "run" / "records.jsonl"))


def test_a_change_names_three_folders_and_counts_the_rest(tmp_path, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(frames_digest, "RACY_NS", 0)
    names = [f"v{i}/{n}" for i in range(5) for n in ("00000.jpg", ".hidden.jpg")]
    for name in names:
        (tmp_path / "f" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "f" / name).write_bytes(name.encode())
    (tmp_path / "f" / "v0" / ".DS_Store").write_bytes(b"a viewer's")
    videos = [SimpleNamespace(id=i + 1, file_names=names[2 * i : 2 * i + 2]) for i in range(5)]
    before = frames_digest.frames_manifest(tmp_path / "f", videos, tmp_path / "cache")
    assert before.files == 10  # hidden files the annotations name count, others do not
    for i in range(5):
        (tmp_path / "f" / f"v{i}" / ".hidden.jpg").write_bytes(b"other")
    after = frames_digest.frames_manifest(tmp_path / "f", videos, tmp_path / "cache")
    said = frames_digest.frames_change(before, after)
    assert said.count("1 file(s) differ") == 3 and "and 2 more folder(s) changed" in said
    assert said.startswith("frames of video 1 (folder v0) changed: 1 file(s) differ (v0/.hidden")


def test_a_frame_that_cannot_be_read_is_one_error_naming_it(synth, tmp_path, monkeypatch):
    from pathlib import Path

    _, files = _frames(synth)
    real = Path.read_bytes

    def read_bytes(self):
        if self == files[0]:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(InputError, match=f"cannot read {files[0]} .*Permission denied"):
        _sweep(synth, tmp_path / "run")


def test_a_frame_touched_or_rewritten_with_the_same_bytes_is_the_same_data(synth, tmp_path):
    _sweep(synth, tmp_path / "run")
    _, files = _frames(synth)
    files[0].write_bytes(files[0].read_bytes())  # new mtime and ctime, same content
    os.utime(files[1])
    assert _sweep(synth, tmp_path / "run") == []  # hashed again, found equal: resumed

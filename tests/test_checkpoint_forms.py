"""Every place that takes a checkpoint takes the same forms, found by one reader: a file, a
Hugging Face model folder (config.json + model.safetensors), a gzip-compressed file, a shipped
one by its bare name; and `check-checkpoint` says what it read: which entry (`model` or
`model_ema`), that a file was gzip-compressed, and a guess between methods whose checkpoints
have the same key names as the guess it is, naming each."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from tests.helpers.release_files import write_transformers_videomt
from tests.test_release_containers import _videomt_config, original_state
from vis_bench.cli import main
from vis_bench.config import load_config
from vis_bench.config_paths import command_line_checkpoint
from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import open_checkpoint
from vis_bench.sweep import resolve_methods

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]
MINVIS_TINY = REPO / "results" / "checkpoints" / "minvis_tiny.pth"


def _config(tmp_path: Path, method: str, checkpoint: str) -> Path:
    data = {
        "name": "forms",
        "dataset": {"kind": "synthetic", "videos": 1, "min_frames": 2, "max_frames": 2},
        "methods": [{"name": method, "checkpoint": checkpoint}],
        "sweep": {"clip_length": [2], "resolution": [64]},
        "output": str(tmp_path / "runs"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def hf_folder(golden_dir, tmp_path) -> Path:
    """Transformers' `save_pretrained` folder of the fixture's VidEoMT."""
    state = original_state(golden_dir, "videomt")
    return write_transformers_videomt(state, tmp_path / "videomt-hf", _videomt_config(golden_dir))


def test_a_run_config_takes_a_hugging_face_folder_as_check_checkpoint_does(
    hf_folder, tmp_path, capsys
):
    assert main(["check-checkpoint", str(hf_folder)]) == 0
    capsys.readouterr()
    (entry,) = resolve_methods(load_config(_config(tmp_path, "videomt", str(hf_folder))))
    assert entry.checkpoint_path == str(hf_folder)
    assert entry.model_options  # the folder's config.json gave the model its options
    assert entry.fingerprint() is not None  # of its model.safetensors: a resume sees a change
    # relative to the config's folder, as any checkpoint path, and from `--checkpoint`
    (entry,) = resolve_methods(load_config(_config(tmp_path, "videomt", "videomt-hf")))
    assert entry.checkpoint_path == str(hf_folder)
    config = load_config(_config(tmp_path, "videomt", "x"), checkpoint=str(hf_folder))
    assert resolve_methods(config)[0].checkpoint_path == str(hf_folder)


def test_predict_takes_a_hugging_face_folder(hf_folder, tmp_path, capsys):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    for i in range(2):
        Image.new("RGB", (64, 48), (40 * i, 90, 200)).save(tmp_path / "frames" / f"{i:05d}.jpg")
    argv = ["predict", "--method", "videomt", "--video", str(tmp_path / "frames")]
    argv += ["--checkpoint", str(hf_folder), "--config", str(_config(tmp_path, "videomt", "x"))]
    assert main([*argv, "--out", str(tmp_path / "out"), "--sheet-frames", "1"]) == 0
    assert (tmp_path / "out" / "results.json").is_file()


def test_a_folder_without_weights_is_refused_naming_both_forms(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as caught:
        resolve_methods(load_config(_config(tmp_path, "minvis", "empty")))
    assert caught.value.field == "methods[0].checkpoint"
    assert "Hugging Face model folder" in str(caught.value)


def test_check_checkpoint_takes_a_shipped_name_as_run_does(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing of that name here: the shipped file
    assert main(["check-checkpoint", "minvis_tiny.pth"]) == 0
    out = capsys.readouterr().out
    assert f"the shipped file {MINVIS_TINY}" in out and "OK: loads strictly" in out
    # the name without its extension too, wherever a checkpoint is taken (one reader)
    assert command_line_checkpoint("minvis_tiny", "checkpoint").path == MINVIS_TINY
    for name in ("minvis_tiny.pth", "minvis_tiny"):
        entry = resolve_methods(load_config(_config(tmp_path, "minvis", name)))[0]
        assert entry.checkpoint_path == str(MINVIS_TINY)


def test_check_checkpoint_says_a_guess_between_identical_key_names_is_one(
    golden_dir, tmp_path, capsys
):
    path = tmp_path / "model_final.pth"
    torch.save({"model": original_state(golden_dir, "minvis")}, path)
    main(["check-checkpoint", str(path)])
    out = capsys.readouterr().out
    assert "method: ambiguous" in out and "mask2former-vis and minvis" in out
    assert "--method minvis" in out  # how to check it as the other
    assert "(from the file's keys)" not in out  # no guess given as fact
    # a run entry of either method is not refused as "another method's" file
    for method in ("minvis", "mask2former-vis"):
        config = load_config(_config(tmp_path, method, str(path)))
        assert resolve_methods(config)[0].checkpoint_path == str(path)


def test_check_checkpoint_says_which_entry_it_read(golden_dir, tmp_path, capsys):
    state = original_state(golden_dir, "minvis")
    both, ema = tmp_path / "both.pth", tmp_path / "ema.pth"
    torch.save({"model": state, "model_ema": {k: v + 1 for k, v in state.items()}}, both)
    torch.save({"model_ema": state}, ema)
    main(["check-checkpoint", str(both), "--method", "minvis"])  # the fixture's small sizes
    out = capsys.readouterr().out
    assert "weights read from the file's 'model' entry, not from 'model_ema'" in out
    assert open_checkpoint(ema).notes == ["weights read from the file's 'model_ema' entry"]
    key = next(iter(state))  # the model's own weights, not the EMA copy's
    assert torch.equal(open_checkpoint(both).state_dict[key], state[key])


def test_a_gzip_compressed_file_is_said_and_read(tmp_path, capsys):
    packed = tmp_path / "minvis_tiny.pth.gz"
    with open(MINVIS_TINY, "rb") as plain, gzip.open(packed, "wb") as out:
        shutil.copyfileobj(plain, out)
    assert main(["check-checkpoint", str(packed)]) == 0
    out = capsys.readouterr().out
    assert "container: gzip-compressed torch.save zip" in out
    assert "gunzip -k minvis_tiny.pth.gz" in out and "OK: loads strictly" in out
    entry = resolve_methods(load_config(_config(tmp_path, "minvis", str(packed))))[0]
    assert entry.model_options["min_size_test"] == 144  # the file's stored options were read
    # a gzip file that is not a checkpoint inside says what it is
    (tmp_path / "notes.gz").write_bytes(gzip.compress(b"plain text"))
    assert main(["check-checkpoint", str(tmp_path / "notes.gz")]) == 2
    assert "gzip-compressed, and what it holds is not a checkpoint" in capsys.readouterr().err


def test_home_in_a_checkpoint_argument_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(MINVIS_TINY, tmp_path / "mine.pth")
    assert command_line_checkpoint("~/mine.pth", "checkpoint").path == tmp_path / "mine.pth"
    with pytest.raises(InputError, match="NOT_SET_HERE, which is not set") as caught:
        command_line_checkpoint("$NOT_SET_HERE/mine.pth", "--checkpoint")
    assert caught.value.field == "--checkpoint"


def test_a_training_run_may_start_from_a_hugging_face_folder(hf_folder, tmp_path):
    from vis_bench.train.config import load_train_config

    path = tmp_path / "train.yaml"
    path.write_text(
        f"method: videomt\ndataset: {{kind: synthetic}}\ninit_checkpoint: {hf_folder}\n"
    )
    assert load_train_config(path).init_checkpoint == str(hf_folder)
    path.write_text(f"method: videomt\ndataset: {{kind: synthetic}}\nbackbone_init: {hf_folder}\n")
    with pytest.raises(InputError, match="backbone_init"):  # a backbone is `pretrain`'s file
        load_train_config(path)

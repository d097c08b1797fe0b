"""Every command that writes checks its output paths before any work (`atomic.check_output_file`
and `check_output_folder`): a folder where a file goes, a path under a plain file, a file where a
folder goes and a folder nothing can be written in each end in one line naming the path and the
flag (exit 2), never in a traceback after the work. Read-only folders: tests/helpers/read_only.py
(a read-only bind mount as root, where permissions stop nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.read_only import read_only_folder
from vis_bench import atomic
from vis_bench.cli import BROKEN_PIPE, main
from vis_bench.errors import InputError

REPO = Path(__file__).resolve().parents[1]

#: command -> (argv with OUT where the output path goes, the flag named, what OUT is)
WRITERS = {
    "eval --out": (
        ["eval", "--gt", "g.json", "--results", "r.json", "--out", "OUT"],
        "--out",
        "file",
    ),
    "eval --per-video": (
        ["eval", "--gt", "g.json", "--results", "r.json", "--per-video", "OUT"],
        "--per-video",
        "file",
    ),
    "eval --gt-cache": (
        ["eval", "--gt", "g.json", "--results", "r.json", "--gt-cache", "OUT"],
        "--gt-cache",
        "folder",
    ),
    "compare": (
        ["compare", "--gt", "g.json", "--a", "a.json", "--b", "b.json", "--out", "OUT"],
        "--out",
        "file",
    ),
    "compare-runs": (["compare-runs", "a", "b", "--out", "OUT"], "--out", "file"),
    "diagnose --out": (
        ["diagnose", "--gt", "g.json", "--results", "r.json", "--out", "OUT"],
        "--out",
        "file",
    ),
    "diagnose --show": (
        ["diagnose", "--gt", "g.json", "--results", "r.json", "--show", "OUT", "--frames", "f"],
        "--show",
        "folder",
    ),
    "errors": (
        ["errors", "--gt", "g.json", "--results", "r.json", "--out", "OUT"],
        "--out",
        "file",
    ),
    "validate --zip": (["validate", "--gt", "g.json", "r.json", "--zip", "OUT"], "--zip", "file"),
    "leaderboard": (["leaderboard", "run", "--out", "OUT"], "--out", "file"),
    "report": (["report", "run", "--out", "OUT"], "--out", "file"),
    "keys": (["keys", "--method", "ifc", "--out", "OUT"], "--out", "file"),
    "parity --out": (["parity", "--method", "ifc", "--out", "OUT"], "--out", "file"),
    "parity --json": (["parity", "--method", "ifc", "--json", "OUT"], "--json", "file"),
    "show --out": (["show", "--video", "1", "--out", "OUT"], "--out", "file"),
    "show --sheet": (["show", "--video", "1", "--sheet", "OUT"], "--sheet", "file"),
    "regress --baseline": (
        ["regress", "--baseline", "OUT", "--update", "--config", "c.yaml"],
        "--baseline",
        "file",
    ),
    "regress --run-dir": (
        ["regress", "--baseline", "b.json", "--run-dir", "OUT"],
        "--run-dir",
        "folder",
    ),
    "run --run-dir": (["run", "--config", "c.yaml", "--run-dir", "OUT"], "--run-dir", "folder"),
    "predict --out": (
        ["predict", "--method", "ifc", "--video", "v.mp4", "--out", "OUT"],
        "--out",
        "folder",
    ),
    "synth --out": (["synth", "--out", "OUT"], "--out", "folder"),
    "split --out": (["split", "--annotations", "a.json", "--out", "OUT"], "--out", "folder"),
    "profile --out-dir": (
        ["profile", "--method", "ifc", "--out-dir", "OUT"],
        "--out-dir",
        "folder",
    ),
    "train output": (
        ["train", "--config", str(REPO / "configs/tiny/ifc.yaml"), "--set", "output=OUT"],
        "output",
        "file",
    ),
    "train work_dir": (
        ["train", "--config", str(REPO / "configs/tiny/ifc.yaml"), "--set", "work_dir=OUT"],
        "work_dir",
        "folder",
    ),
    "pretrain output": (
        ["pretrain", "--config", str(REPO / "configs/tiny/backbone.yaml"), "--set", "output=OUT"],
        "output",
        "file",
    ),
    "flops --output": (
        ["flops", "--config", str(REPO / "configs/ifc_encoder_flops.yaml"), "--output", "OUT"],
        "--output",
        "stem",
    ),
    "sizes --output": (
        ["sizes", "--config", str(REPO / "configs/model_sizes.yaml"), "--output", "OUT"],
        "--output",
        "stem",
    ),
    "sizes --out": (
        ["sizes", "--config", str(REPO / "configs/model_sizes.yaml"), "--out", "OUT"],
        "--out",
        "stem",
    ),
}


def _refused(argv: list[str], out: Path, capsys) -> str:
    """Run the command with OUT replaced; it must exit 2 with one line and no traceback."""
    line = [a.replace("OUT", str(out)) for a in argv]
    assert main(line) == 2, line
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_output_of_the_wrong_kind_is_refused_before_any_work(name, tmp_path, capsys):
    argv, flag, kind = WRITERS[name]
    a_file = tmp_path / "plain.txt"
    a_file.write_text("not a folder")
    a_folder = tmp_path / "folder"
    a_folder.mkdir()
    if kind == "folder":
        err = _refused(argv, a_file, capsys)  # a file where a folder goes
        assert f"{a_file}: field '{flag}': is a file, but a folder is written here" in err
    elif kind == "file":
        err = _refused(argv, a_folder, capsys)  # a folder where a file goes
        assert f"{a_folder}: field '{flag}': is a folder, but a file is written here" in err
    else:  # a stem: OUT.md (and .csv, .json) are written
        (tmp_path / "table.md").mkdir()
        err = _refused(argv, tmp_path / "table", capsys)
        assert f"{tmp_path / 'table.md'}: field '{flag}': is a folder" in err
    # and any output under a plain file, as if it were a folder
    err = _refused(argv, a_file / "out", capsys)
    assert f"{a_file} is a file, not a folder" in err and flag in err


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_output_in_a_read_only_folder_is_refused_before_any_work(
    name, tmp_path, capsys, monkeypatch
):
    argv, flag, _ = WRITERS[name]
    with read_only_folder(tmp_path / "ro", monkeypatch) as how:
        err = _refused(argv, tmp_path / "ro" / "out", capsys)
    assert f"cannot write in {tmp_path / 'ro'}" in err, how
    assert flag in err and "choose a folder you can write to" in err, how


def test_the_check_itself_names_read_only_file_systems_and_permissions(tmp_path, monkeypatch):
    with read_only_folder(tmp_path / "ro", monkeypatch) as how:
        reason = atomic.unwritable_reason(tmp_path / "ro")
        with pytest.raises(InputError, match="read-only file system|permission"):
            atomic.check_output_folder(tmp_path / "ro" / "a" / "b", "--out")
    assert reason in ("read-only file system", "no permission to write there"), how
    assert atomic.unwritable_reason(tmp_path) is None
    assert atomic.check_output_file(tmp_path / "new" / "x.json") == tmp_path / "new" / "x.json"
    assert not (tmp_path / "new").exists()  # checking makes nothing
    # a device is no file to replace (an atomic write would put a file in its place)
    with pytest.raises(InputError, match="is no plain file"):
        atomic.check_output_file("/dev/null", "--out")


def test_pages_names_a_file_that_is_no_run_folder(tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    assert "not a run folder" in _refused(["pages", "OUT"], a_file, capsys)
    with read_only_folder(tmp_path / "ro", monkeypatch):
        assert "cannot write in" in _refused(["pages", "OUT"], tmp_path / "ro", capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["methods"],
        ["eval", "--gt", "GOLDEN/gt.json", "--results", "GOLDEN/results.json", "--allow-dropped"],
    ],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(argv, golden_dir):
    """`... | head -1`: the pipe closes before the command has printed; no traceback."""
    case = golden_dir / "ytvis_eval" / "public" / "case_01"
    line = [a.replace("GOLDEN", str(case)) for a in argv]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_bench.py"), *line],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == BROKEN_PIPE
    assert "Traceback" not in err and "BrokenPipeError" not in err, err

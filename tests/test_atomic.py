"""Atomic files: the target holds the whole new content or is untouched, never a partial file."""

from __future__ import annotations

import os
import stat

import pytest

from vis_bench.atomic import atomic_directory, atomic_file, write_atomic


def test_write_atomic_replaces_whole_file(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    write_atomic(target, "first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_failed_writer_leaves_target_untouched_and_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_results_get_the_umask_mode_not_the_temporary_files_0600(tmp_path):
    """Checkpoints and records must be readable by the group/others a plain open() would allow."""
    previous = os.umask(0o027)
    try:
        write_atomic(tmp_path / "out.json", "{}")
        with atomic_directory(tmp_path / "folder") as folder:
            (folder / "x").write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o750

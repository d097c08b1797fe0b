"""A folder nothing can be written in, for the tests of output checks.

Tests run as root on some machines, and root ignores permissions, so `chmod` alone proves
nothing there. As root the folder is a read-only bind mount of itself (what a read-only disk or
share is to the process); where mounting is not allowed either, the check's probe write
(`vis_bench.atomic._probe`) is made to fail for that folder as a read-only file system would.
Yields how the folder was made, so a failure says which path was exercised.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vis_bench import atomic


def _mount_read_only(path: Path) -> bool:
    if shutil.which("mount") is None:
        return False
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bind.returncode != 0:
        return False
    remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True)
    if remount.returncode != 0:
        subprocess.run(["umount", str(path)], capture_output=True)
        return False
    return True


@contextmanager
def read_only_folder(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make `path` (created here) a folder nothing can be written in, until the block ends."""
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield "chmod 555"
        finally:
            path.chmod(0o755)
        return
    if _mount_read_only(path):
        try:
            yield "read-only bind mount"
        finally:
            subprocess.run(["umount", str(path)], capture_output=True)
        return
    real_probe = atomic._probe

    def probe(folder: Path) -> None:
        folder = Path(folder).resolve()
        if folder == path.resolve() or path.resolve() in folder.parents:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_probe(folder)

    monkeypatch.setattr(atomic, "_probe", probe)
    yield "injected read-only probe"

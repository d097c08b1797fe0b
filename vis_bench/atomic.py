"""Files and folders written whole or not at all: built under a temporary name beside the
target, then renamed into place.

An interrupted run (Ctrl-C, a crash, a full disk) then leaves either the complete result or
nothing at the target path, never a half-written file that a later run would trust.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vis_bench.errors import InputError


@contextmanager
def naming(path: str | Path) -> Iterator[None]:
    """An OSError raised within that names no file (a write's ENOSPC, EIO) names `path`, so
    the CLI's one line says which file could not be written."""
    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, else it goes.

    For writers that want a path (torch.save, np.savez, a profiler's trace export). An error of
    the file system that names no file (a full disk) names `target`.
    """
    target = Path(target)
    with naming(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            try:
                yield Path(tmp)
            except RuntimeError as err:  # a writer of its own (torch.save) on a full disk
                if _disk_full(target.parent):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from err
                raise
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            # mkstemp creates 0600 files; give the result the mode a plain open() would have
            os.chmod(tmp, 0o666 & ~_current_umask())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


#: free bytes below which a writer's failure is taken for a full disk
NEARLY_FULL_BYTES = 1 << 20


def _disk_full(folder: Path) -> bool:
    """Whether the file system of `folder` has (next to) no space left: a writer that reports
    its failure in words of its own (torch's "unexpected pos") failed for that."""
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a whole file or nothing."""
    with atomic_file(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)


@contextmanager
def atomic_directory(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces `target`, on error it is removed.

    Raises InputError up front when `target` exists and `overwrite` is False, and
    FileExistsError if another process created `target` while we were writing.
    """
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise InputError(
            "output folder already exists; choose another folder or pass --overwrite",
            path=str(target),
        )
    with naming(target):  # a write's error that names no file names the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            yield tmp
            os.chmod(tmp, 0o777 & ~_current_umask())  # mkdtemp creates 0700 folders
            _move_into_place(tmp, target, overwrite=overwrite)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _move_into_place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if target.exists():
        if not overwrite:
            raise FileExistsError(f"{target} appeared while it was being generated")
        import uuid  # here only: its import (and platform's) is start-up time of every command

        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return
    try:
        os.rename(tmp, target)
    except OSError as err:
        if target.exists():
            raise FileExistsError(f"{target} appeared while it was being generated") from err
        raise


def check_output_file(path: str | Path, field: str | None = None) -> Path:
    """Check, before any work, that a file can be written at `path`: it is not a folder, and
    the folder it goes in is one (or can be made in a folder that is) and is writable.

    Every command checks its output paths with this or `check_output_folder` first, so a wrong
    path fails in a second with an InputError naming it, not after the work as a traceback.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(
            "is a folder, but a file is written here: give the path of a file (a new name in "
            "this folder, for instance)",
            path=str(path),
            field=field,
        )
    if path.exists() and not path.is_file():
        raise InputError(
            "is no plain file (a device, a pipe or a socket), and a file written here replaces "
            "what is there: give the path of a file",
            path=str(path),
            field=field,
        )
    _check_writable_parent(path.parent, path, field)
    return path


def check_output_folder(path: str | Path, field: str | None = None) -> Path:
    """Check, before any work, that a folder can be written at `path`: it is a folder (or does
    not exist yet and can be made in a folder that is) and is writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(
            "is a file, but a folder is written here: give a folder's path (a new one, or an "
            "existing folder)",
            path=str(path),
            field=field,
        )
    _check_writable_parent(path, path, field)
    return path


def _check_writable_parent(folder: Path, target: Path, field: str | None) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise InputError(
            f"{existing} is a file, not a folder, so nothing can be written under it: choose "
            "another path",
            path=str(target),
            field=field,
        )
    reason = unwritable_reason(existing)
    if reason is not None:
        raise InputError(
            f"cannot write in {existing} ({reason}): choose a folder you can write to",
            path=str(target),
            field=field,
        )


def _nearest_existing(path: Path) -> Path:
    """`path` or its nearest ancestor that exists (the folder new folders would be made in)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def unwritable_reason(folder: Path) -> str | None:
    """Why nothing can be created in `folder` (None: it can). Permissions and a read-only
    file system are asked of the system; a file is then made and removed, which also finds
    what permissions do not show (an immutable folder; root ignores permissions)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        return "read-only file system" if read_only else "no permission to write there"
    try:
        _probe(folder)
    except OSError as err:
        return (err.strerror or str(err)).lower()
    return None


def _probe(folder: Path) -> None:
    """Create and remove an empty file in `folder` (raises OSError where that fails)."""
    fd, name = tempfile.mkstemp(prefix=".vis-bench-write-check-", dir=folder)
    os.close(fd)
    os.unlink(name)

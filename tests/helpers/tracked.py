"""The repository's committed files, as git lists them.

A test that checks committed numbers (records, configs, checkpoints, docs) reads these only:
a checkout also holds what its user made (the git-ignored run folder of `python run_bench.py`,
a note, a config of one's own), and those are not the project's to check. Where there is no
git checkout (a tarball, an unpacked sdist) the committed set cannot be told from a user's
files, and the tests that need it skip, saying so, rather than reading a folder's contents.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@cache
def _no_git_reason(root: Path) -> str | None:
    """Why `root` is not a git work tree of its own (None when it is)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as err:
        return f"git cannot be run ({err})"
    if done.returncode != 0:
        return f"{root} is not a git checkout ({done.stderr.strip() or 'git rev-parse failed'})"
    if Path(done.stdout.strip()).resolve() != root.resolve():
        return f"{root} is inside another git work tree ({done.stdout.strip()})"
    return None


def no_git_reason(root: Path = REPO_ROOT) -> str | None:
    """Why the committed files of `root` cannot be listed; None where git lists them."""
    reason = _no_git_reason(root)
    if reason is None:
        return None
    return f"committed files unknown: {reason}; untracked outputs could not be told apart"


def git_tracked(*patterns: str, root: Path = REPO_ROOT) -> list[Path] | None:
    """The tracked files matching any of `patterns` (globs relative to `root`: `*` stays within
    one folder, `**` crosses folders), sorted; None where `root` is no git checkout."""
    if no_git_reason(root) is not None:
        return None
    done = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--", *(f":(glob){p}" for p in patterns)],
        capture_output=True,
        check=True,
    )
    names = [name for name in done.stdout.decode().split("\0") if name]
    return sorted(root / name for name in names)


def tracked(*patterns: str, root: Path = REPO_ROOT) -> list[Path]:
    """`git_tracked`, skipping the calling test (with the reason) where there is no git."""
    files = git_tracked(*patterns, root=root)
    if files is None:
        pytest.skip(no_git_reason(root))
    return files


def tracked_params(*patterns: str, root: Path = REPO_ROOT) -> list:
    """`git_tracked` for `pytest.mark.parametrize`: one skipped case, with the reason, where
    there is no git (an empty parameter list would hide that anything was left out)."""
    files = git_tracked(*patterns, root=root)
    if files is None:
        skip = pytest.mark.skip(reason=no_git_reason(root))
        return [pytest.param(None, marks=skip, id="committed-files-unknown")]
    return files


def repo_relative(path: Path) -> str:
    """A tracked file's test id: its path within the repository."""
    return path.relative_to(REPO_ROOT).as_posix()

"""Where a committed number came from: the code state, the machine and the command that wrote it.

Every command that writes a JSON the project commits (records, baselines, parity reports,
benchmark results, size tables) puts one `provenance` block in it, so a reader can check a
number against the code that made it, and `docs` can refuse a source made from uncommitted code.

The code state is the commit plus whether the checkout differed from it in any *code* path.
Outputs (results/, benchmarks/results/, docs and markdown) are not code: a sweep that appends to
a committed records.jsonl must not call its own second record dirty. When the code differs, the
sha256 of that difference (tracked changes as `git diff HEAD --binary`, then each untracked,
not-ignored code file's name and bytes) names the exact state, so two sources made from the same
uncommitted state can still be told to be one.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: the folder this package was imported from: a checkout's vis_bench/, or an install's
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: what a block says of the code where the package is an install, not a checkout
NOT_A_CHECKOUT = "not a git checkout"
#: paths whose changes are outputs, not code (git pathspecs)
OUTPUT_PATHSPECS = (
    ":(exclude)results",
    ":(exclude)benchmarks/results",
    ":(exclude)docs",
    ":(exclude,glob)**/*.md",
)


def _git(args: Sequence[str], repo: Path) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, check=True, timeout=60
    ).stdout


def installed_version() -> str:
    """The version of the vis-bench distribution this package belongs to."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vis-bench")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        from vis_bench import __version__

        return __version__


def checkout_of(package_dir: Path) -> Path | None:
    """The git working tree that tracks the package in `package_dir`; None for an install (its
    files are tracked by no repository, even where site-packages lies in a checkout's .venv)."""
    try:
        top = _git(["rev-parse", "--show-toplevel"], package_dir).decode().strip()
        tracked = _git(["ls-files", "--", "__init__.py"], package_dir).strip()
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return Path(top) if tracked else None


@functools.cache
def package_checkout() -> Path | None:
    """The checkout this package was imported from, None for an install."""
    return checkout_of(PACKAGE_DIR)


def code_state(repo: str | Path | None = None) -> dict[str, Any]:
    """{"commit", "dirty", "diff_sha256"} of a checkout (by default the one this package was
    imported from); commit None outside git, and an install says it is no checkout."""
    repo = Path(repo) if repo else package_checkout()
    if repo is None:
        return {"commit": None, "dirty": None, "diff_sha256": None, "code": NOT_A_CHECKOUT}
    try:
        commit = _git(["rev-parse", "HEAD"], repo).decode().strip()
        spec = ["--", ".", *OUTPUT_PATHSPECS]
        diff = _git(["diff", "HEAD", "--binary", *spec], repo)
        untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", *spec], repo)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None, "diff_sha256": None}
    names = sorted(name for name in untracked.decode().split("\0") if name)
    if not diff and not names:
        return {"commit": commit, "dirty": False, "diff_sha256": None}
    digest = hashlib.sha256(diff)
    for name in names:
        digest.update(name.encode() + b"\0")
        try:
            digest.update((repo / name).read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return {"commit": commit, "dirty": True, "diff_sha256": digest.hexdigest()}


def commit_label(state: dict[str, Any]) -> str | None:
    """The full commit, with "-dirty" when the code differed from it."""
    commit = state.get("commit")
    if commit is None:
        return None
    return commit + ("-dirty" if state.get("dirty") else "")


def _load1() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def start_provenance(command: Sequence[str] | None = None) -> dict[str, Any]:
    """The provenance block as a command starts: code state, machine, command, load before."""
    import torch

    argv = list(command) if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return {
        **code_state(),
        "vis_bench": installed_version(),
        # the program as called is a name, not an argument to quote (`python -m vis_bench`)
        "command": " ".join([argv[0], *map(shlex.quote, argv[1:])]) if argv else "",
        "machine": {
            "cpu": cpu_model(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_before": _load1(),
        "load_after": None,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def finish_provenance(block: dict[str, Any]) -> dict[str, Any]:
    """The same block with the load after the work (a copy)."""
    return {**block, "load_after": _load1()}


def source_states(blocks: Sequence[dict[str, Any] | None]) -> list[str]:
    """The distinct code states of several provenance blocks (commit, or commit-dirty and the
    diff's hash); a block without provenance counts as "unknown"."""
    states = []
    for block in blocks:
        if not block or block.get("commit") is None:
            label = "unknown"
        elif block.get("dirty"):
            label = f"{block['commit']}-dirty ({str(block.get('diff_sha256'))[:12]})"
        else:
            label = block["commit"]
        if label not in states:
            states.append(label)
    return states


def write_json_with_provenance(
    path: str | Path, payload: dict[str, Any], block: dict[str, Any], indent: int = 1
) -> None:
    """Write `payload` plus its finished provenance block as JSON, atomically."""
    import json

    from vis_bench.atomic import write_atomic

    document = {**payload, "provenance": finish_provenance(block)}
    write_atomic(Path(path), json.dumps(document, indent=indent, default=str) + "\n")


def written_by(block: dict[str, Any]) -> str:
    """The sentence a markdown output carries about its provenance: the command and the full
    commit (with "-dirty" when the code differed from it), or the installed version."""
    label = commit_label(block)
    if label is None:
        version = block.get("vis_bench") or installed_version()
        return f"Written by `{block['command']}` with vis-bench {version} ({NOT_A_CHECKOUT})."
    return f"Written by `{block['command']}` at commit {label}."

"""Files vis-bench ships beside its code: the configs and the tiny models' weights.

A config names them by the path they have in the repository (`configs/default.yaml`,
`results/checkpoints/<name>.pth`), and the same text must work in a checkout, in an install and
from any directory. setup.py installs those folders as package data under this package (FOLDERS);
an editable install leaves them in its source tree, which the install's own record names
(direct_url.json, PEP 610). A path is looked up where it is given first, so a user's own file of
the same relative name wins.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

#: data folder of the repository -> its folder in the installed package (setup.py's SHIPPED)
FOLDERS = {"configs": "configs", "results/checkpoints": "checkpoints"}
DISTRIBUTION = "vis-bench"


@functools.cache
def _editable_source() -> Path | None:
    """The source folder of an editable install of vis-bench, None for any other install."""
    from importlib.metadata import distributions

    # every record of the name: a source tree's own vis_bench.egg-info may come first on sys.path
    for installed in distributions(name=DISTRIBUTION):
        text = installed.read_text("direct_url.json")
        record = json.loads(text) if text else {}
        url = urlparse(record.get("url", ""))
        if record.get("dir_info", {}).get("editable") and url.scheme == "file":
            return Path(unquote(url.path))
    return None


def shipped_path(relative: str | Path) -> Path | None:
    """The shipped file (or folder) a repository-relative path names, None when none is."""
    parts = PurePosixPath(Path(relative).as_posix())
    for folder, installed in FOLDERS.items():
        if not parts.is_relative_to(folder):
            continue
        rest = parts.relative_to(folder)
        for candidate in (Path(__file__).parent / installed / rest, _source_copy(folder, rest)):
            if candidate is not None and candidate.exists():
                return candidate
    return None


def _source_copy(folder: str, rest: PurePosixPath) -> Path | None:
    source = _editable_source()
    return None if source is None else source / folder / rest


def resolve(path: str | Path) -> Path:
    """`path` as given when it exists (absolute, or relative to the working directory), else the
    shipped file it names, else `path` unchanged (the caller reports it missing)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return shipped_path(path) or path

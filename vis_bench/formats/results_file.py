"""The one reader of a results.json (the YouTube-VIS/OVIS submission layout): a JSON list of
predictions, each `{"video_id", "category_id", "score", "segmentations"}`.

The metric (eval/metric/loading.py), a sweep's shard merge and its scoring (sweep/run.py,
sweep/scoring.py) read predictions through `read_results`, so a file that is not a list fails
the same way, naming the file, wherever it is read.

A CodaLab submission archive (a zip holding the one results JSON, at its root as the servers
read it or in a folder; `validate --zip` writes one) is read as the JSON it holds, wherever a
results file is read (`results_text`), so the file that was uploaded is the file scored.
"""

from __future__ import annotations

import mmap
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from vis_bench.errors import InputError
from vis_bench.jsonio import parse_json, read_mapped

#: how a zip archive begins (a local file header, or the end record of an empty archive)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
#: how many member names an error lists before it says "and N more"
_NAMED = 10


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The predictions of a results file (or submission zip); InputError (naming the file) when
    it is unreadable, not JSON or not a list. The entries are checked by their consumer (the
    metric's loader)."""
    return results_list(read_results_json(path), path)


def read_results_json(path: str | Path) -> Any:
    """A results file (or submission zip) parsed, whatever its top level (`validate` reports
    a non-list itself)."""
    return parse_json(results_text(path), path, "results")


def results_text(path: str | Path) -> bytes | mmap.mmap:
    """A results file's JSON text: the file's own (read_mapped), or the one JSON member of a
    submission zip. An archive with no JSON member or several is an InputError naming them."""
    raw = read_mapped(path, "results")
    if raw[:4] in _ZIP_MAGIC:
        return _zip_member_text(path)
    return raw


def _junk(name: str) -> bool:
    """Entries archivers add beside the files (macOS resource forks and their folder)."""
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or parts[-1].startswith("._")


def _named(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMED])
    return shown if len(names) <= _NAMED else f"{shown} and {len(names) - _NAMED} more"


def _zip_member_text(path: str | Path) -> bytes:
    """The bytes of the one `.json` member of the zip at `path`."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = [i.filename for i in archive.infolist() if not i.is_dir()]
            found = [n for n in files if n.lower().endswith(".json") and not _junk(n)]
            if len(found) == 1:
                return archive.read(found[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError) as err:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression
        raise InputError(
            f"results is a zip archive that cannot be read ({err}); give the results.json "
            "itself, or a zip made with `run_bench.py validate --zip`",
            path=str(path),
        ) from None
    except (zlib.error, OSError) as err:
        raise InputError(
            f"results is a damaged zip archive ({err}); zip the results.json again",
            path=str(path),
        ) from None
    fix = (
        "a submission zip holds one results JSON, `results.json` at the archive's root "
        "(`run_bench.py validate --gt GT.json RESULTS.json --zip OUT.zip` writes one)"
    )
    if not found:
        held = f"it holds {_named(files)}" if files else "it is empty"
        raise InputError(f"results zip has no .json member ({held}); {fix}", path=str(path))
    raise InputError(
        f"results zip has {len(found)} .json members ({_named(found)}), so which one to score "
        f"is unclear; {fix}",
        path=str(path),
    )


def results_list(data: Any, path: str | Path) -> list[dict[str, Any]]:
    """`data`, parsed from results file `path`, if it is a list; else the InputError."""
    if not isinstance(data, list):
        raise InputError(
            f"results must be a JSON list of predictions, got {type(data).__name__}",
            path=str(path),
        )
    return data

"""CodaLab submission archive: a zip with `results.json` at its root.

The YouTube-VIS servers refuse a bare .json upload and read `results.json` from the zip root
(no sub-folder), so the archive holds exactly that one member, with the file's original bytes.
The OVIS servers (CodaLab, run by the OVIS authors) took the same package (docs/ovis.md).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from vis_bench.atomic import atomic_file
from vis_bench.formats.results_file import results_text

MEMBER_NAME = "results.json"


def write_submission_zip(results_path: str | Path, out_path: str | Path) -> Path:
    """Write the archive atomically (temporary file in the same folder, then rename)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    data = bytes(results_text(results_path))  # a zip given to validate is packed as its JSON
    with atomic_file(out_path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MEMBER_NAME, data)
    return out_path

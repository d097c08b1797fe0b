"""Where the docs' pictures come from, written beside them and checked by `docs --check`.

A picture pasted into the docs goes stale as silently as a number: the docs' report and
contact sheet once showed three methods after the default run had five. `python -m tools
pictures` draws them from the committed default run and writes docs/pictures.json: the run's
records file and its sha256, the code states the run's records were made from, the commit the
pictures were drawn at, and each picture's sha256. `docs --check` fails when the committed
records no longer hash to what the pictures were drawn from (run `python -m tools pictures`
again), or when a picture is not the file that was drawn.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

#: the run the pictures show, and the sidecar naming what they were drawn from
RUN_RECORDS = "results/default_run/records.jsonl"
SIDECAR = "docs/pictures.json"
COMMAND = "python -m tools pictures"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_states(root: Path) -> list[str]:
    """The code states the run's records were made from (their provenance blocks)."""
    from tools.doc_numbers import source_provenance
    from vis_bench.measure.provenance import source_states

    return source_states(source_provenance(root, RUN_RECORDS))


def write_sidecar(root: Path, pictures: dict[str, dict[str, Any]]) -> Path:
    """docs/pictures.json for `pictures` (relative path -> what it shows), drawn just now."""
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.provenance import code_state, commit_label

    document = {
        "made_by": COMMAND,
        "run_records": RUN_RECORDS,
        "run_records_sha256": sha256(root / RUN_RECORDS),
        "run_made_at": run_states(root),
        "drawn_at": commit_label(code_state(root)),
        "pictures": {
            name: {**about, "sha256": sha256(root / name)}
            for name, about in sorted(pictures.items())
        },
    }
    path = root / SIDECAR
    write_atomic(path, json.dumps(document, indent=1) + "\n")
    return path


def check_pictures(root: Path) -> tuple[list[str], list[str]]:
    """(problems, what was checked) of the docs' pictures against the committed run."""
    path = root / SIDECAR
    if not path.is_file():
        return [f"{SIDECAR} is missing: run `{COMMAND}`"], []
    document = json.loads(path.read_text())
    problems = []
    records = root / document["run_records"]
    if not records.is_file() or sha256(records) != document["run_records_sha256"]:
        problems.append(
            f"the pictures of {SIDECAR} were drawn from another {document['run_records']} "
            f"(sha256 {document['run_records_sha256'][:12]}): run `{COMMAND}`"
        )
    for name, about in document["pictures"].items():
        picture = root / name
        if not picture.is_file():
            problems.append(f"{name} is missing: run `{COMMAND}`")
        elif sha256(picture) != about["sha256"]:
            problems.append(f"{name} is not the picture {SIDECAR} names: run `{COMMAND}`")
    checked = [
        f"pictures {', '.join(document['pictures'])}: drawn from {document['run_records']} "
        f"(sha256 {document['run_records_sha256'][:12]}, the run made at "
        f"{', '.join(document['run_made_at'])}) by `{document['made_by']}` at "
        f"{document['drawn_at']}"
    ]
    return problems, checked

"""Reading the committed sources of the docs' generated blocks (doc_numbers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError


def read_source(root: Path, relative: str) -> Any:
    path = root / relative
    if not path.is_file():
        raise InputError(
            "the source of a generated docs block is missing; run the command that writes it",
            path=str(path),
        )
    text = path.read_text()
    if relative.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def fmt(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"

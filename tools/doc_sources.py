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
        return [_line(path, number, line) for number, line in enumerate(text.splitlines(), 1)
                if line.strip()]  # fmt: skip
    return json.loads(text)


def _line(path: Path, number: int, line: str) -> Any:
    """One record of a committed records file; a damaged one is an error naming its line (the
    docs are made from whole records only)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise InputError(
            f"line {number} is no whole record: restore the file from git, or re-run the "
            "sweep that writes it (it repairs the file)",
            path=str(path),
        ) from None


def fmt(value: float | None, scale: float = 1.0, digits: int = 1) -> str:
    return "-" if value is None else f"{value * scale:.{digits}f}"

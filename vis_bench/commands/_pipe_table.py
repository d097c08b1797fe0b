"""The GitHub-style pipe tables `eval` prints, from the standard library only.

`eval` is a whole process per results file, and on a small case importing tabulate (0.10
imports importlib.metadata and wcwidth) took longer than scoring it; reports and the other
commands keep tabulate. Cells are printed as given (`"45.10"` stays `45.10`, where tabulate
would reparse it as `45.1`): text columns left-aligned, number columns right-aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

#: what a number column may hold besides numbers (an undefined statistic)
NOT_AVAILABLE = "n/a"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def pipe_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """`rows` under `headers` as a GitHub pipe table; a column whose every cell is a number
    (or n/a) is right-aligned, any other left-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in headers]
    widths, right = [], []
    for header, column in zip(headers, columns, strict=True):
        widths.append(max([len(header), *(len(cell) for cell in column)]))
        numbers = [cell for cell in column if cell != NOT_AVAILABLE]
        right.append(bool(numbers) and all(_is_number(cell) for cell in numbers))

    def line(texts: Sequence[str]) -> str:
        padded = (
            text.rjust(width) if flush else text.ljust(width)
            for text, width, flush in zip(texts, widths, right, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])

"""One cell of a run folder by the name a user gives it on the command line.

A cell is named by its folder under cells/ (`NAME_T_5_S_1_360p_cpu_fp32-5205b0bf`), its key (or the
key's first 8 characters), its label (`NAME T=5 S=1 360p cpu fp32`), or by its method and axes:
`METHOD/T/S/RESOLUTION` in that order (`NAME/5/1/360`, `NAME/all`), or parts as `T=5`, `S=1`,
`res=360` (or `360p`), `fp16`, `cuda` in any order after the method (`NAME/T=all/res=360`). A name
that matches no finished cell, or several, is refused with the cells there are or those it
matched, so the user can add the axis that tells them apart.
"""

from __future__ import annotations

from vis_bench.errors import InputError
from vis_bench.records import CellRecord
from vis_bench.report.record_set import RecordSet

#: the positional parts after the method, in order
POSITIONAL = ("T", "S", "res")
#: key=value spellings of an axis
ALIASES = {"t": "T", "clip": "T", "clip_length": "T", "s": "S", "stride": "S", "res": "res"}
ALIASES |= {"resolution": "res", "dtype": "dtype", "device": "device"}
DTYPES = ("fp32", "fp16", "bf16")
#: how many cells a refusal lists
LISTED = 12


def cell_name(record_set: RecordSet, record: CellRecord) -> str:
    """The cell's name as a user can give it back: its folder's, else its key's start."""
    folder = record_set.files(record).folder
    return folder.name if folder is not None else str(record.key)[:8]


def find_cell(record_set: RecordSet, name: str, flag: str) -> CellRecord:
    """The finished cell `name` names (see the module docstring); `flag` is the option that
    gave it, named in a refusal."""
    cells = record_set.ok
    exact = [r for r in cells if name in _names(record_set, r)]
    if len(exact) == 1:
        return exact[0]
    matched = exact or [r for r in cells if _selects(r, name, flag)]
    if len(matched) == 1:
        return matched[0]
    if not matched:
        raise InputError(
            f"no finished cell is named {name!r}; the run's cells: {_listed(record_set, cells)} "
            "(name one by its folder, or as METHOD/T/S/RESOLUTION, e.g. NAME/5/1/360 or NAME/all)",
            path=str(record_set.folder),
            field=flag,
        )
    raise InputError(
        f"{len(matched)} cells match {name!r}: {_listed(record_set, matched)}; add the axis "
        "that tells them apart (T=, S=, res=, dtype, device) or give a folder name",
        path=str(record_set.folder),
        field=flag,
    )


def _names(record_set: RecordSet, record: CellRecord) -> set[str]:
    files = record_set.files(record)
    key = str(record.key)
    names = {key, key[:8]}
    if files.folder is not None:
        names.add(files.folder.name)
    if files.label:
        names.add(files.label)
    return names


def _selects(record: CellRecord, name: str, flag: str) -> bool:
    """Whether `METHOD/parts...` selects the record."""
    method, *parts = name.strip("/").split("/")
    if method not in {record.method, record.variant, record.shown_method}:
        return False
    wanted = _wanted(parts, name, flag)
    have = {
        "T": str(record.clip_length),
        "S": "-" if record.stride is None else str(record.stride),
        "res": "-" if record.resolution is None else str(record.resolution),
        "dtype": str(record.dtype),
        "device": str(record.device).split(":")[0],
    }
    return all(have[axis] == value for axis, value in wanted.items())


def _wanted(parts: list[str], name: str, flag: str) -> dict[str, str]:
    """Axis -> value from the parts after the method: named ones (`T=5`, `360p`, `fp16`,
    `cuda`) anywhere, the others taken as T, S and resolution in that order."""
    wanted: dict[str, str] = {}
    positional = iter(POSITIONAL)
    for part in (p for p in parts if p):
        if "=" in part:
            axis, value = part.split("=", 1)
            if axis.strip().lower() not in ALIASES and axis.strip() not in ALIASES.values():
                raise InputError(
                    f"{name!r}: unknown axis {axis!r} (use T=, S=, res=, dtype=, device=)",
                    field=flag,
                )
            axis = ALIASES.get(axis.strip().lower(), axis.strip())
            value = value.strip()
            wanted[axis] = value[:-1] if axis == "res" and value.endswith("p") else value
        elif part.lower() in DTYPES:
            wanted["dtype"] = part.lower()
        elif part.lower() in ("cpu", "cuda"):
            wanted["device"] = part.lower()
        elif part.endswith("p") and part[:-1].isdigit():
            wanted["res"] = part[:-1]
        elif (axis := next(positional, None)) is not None:
            wanted[axis] = part
        else:
            raise InputError(
                f"{name!r}: too many parts (METHOD/T/S/RESOLUTION, e.g. NAME/5/1/360)", field=flag
            )
    return wanted


def _listed(record_set: RecordSet, records: list[CellRecord]) -> str:
    names = [cell_name(record_set, r) for r in records[:LISTED]]
    more = len(records) - LISTED
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")

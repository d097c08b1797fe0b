"""The cells of a sweep: every (method, clip schedule, resolution, device, dtype, video frames,
prompts) combination.

A cell's stride is resolved here (null = ceil(T/2)), so every record and table states the stride
actually used; T = "all" is one clip per video and has no stride. A cell is identified by its
axes, its method's options and checkpoint (path, size and modification time: a file replaced
under the same path makes its cells unfinished) and the dataset, hashed into a 16-hex key; a cell
that cuts videos to their first N frames has N in its key too (whole-video cells keep the keys
they always had), and so does a cell giving a prompted method its first k categories (`P=k`; a
method that takes no prompt count has one cell, whatever `sweep.prompts` lists). Two entries that would give the same cells (twins) are told apart by the entry's
name (methods.py `told_apart`), and `measure.twins: true` runs every cell twice, twin 1 and twin
2, as an A/A check of the timing: both are in the key, so no two cells share one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from vis_bench.config import BenchConfig
from vis_bench.engine.schedule import default_stride
from vis_bench.errors import InputError
from vis_bench.sweep.methods import MethodEntry


@dataclass(frozen=True)
class Cell:
    """One point of the sweep."""

    method: MethodEntry
    clip_length: int | str
    #: frames between clip starts; None only for T = "all" (one clip per video)
    stride: int | None
    resolution: int | None
    device: str
    dtype: str
    #: every video cut to its first N frames (None: whole videos)
    video_frames: int | None = None
    #: 1 or 2 under `measure.twins` (the same cell run twice, an A/A check); None otherwise
    twin: int | None = None
    #: a prompted method given its label space's first k categories (None: all, or no prompts)
    prompts: int | None = None

    def identity(self, dataset_id: str) -> dict[str, Any]:
        identity = {
            "method": self.method.name,
            "checkpoint": self.method.checkpoint,
            "checkpoint_file": self.method.fingerprint(),
            "checkpoint_strict": self.method.checkpoint_strict,
            "label_space": self.method.label_space,
            # (a checkpoint's own label space mapped by name: the map is part of the cell too)
            "category_map": self.method.category_map
            if self.method.label_space or self.method.category_map != "strict"
            else None,
            "options": self.method.options,
            "dataset": dataset_id,
            "clip_length": self.clip_length,
            "stride": self.stride,
            "resolution": self.resolution,
            "device": self.device,
            "dtype": self.dtype,
        }
        if self.video_frames is not None:
            identity["video_frames"] = self.video_frames
        if self.method.variant is not None:
            identity["variant"] = self.method.variant
        if self.method.entry is not None:
            identity["entry"] = self.method.entry
        if self.twin is not None:
            identity["twin"] = self.twin
        if self.prompts is not None:
            identity["prompts"] = self.prompts
        return identity

    def key(self, dataset_id: str) -> str:
        blob = json.dumps(self.identity(dataset_id), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def label(self) -> str:
        """e.g. "NAME T=5 S=3 144p cpu fp32" (T=all: "one clip")."""
        schedule = "T=all" if self.stride is None else f"T={self.clip_length} S={self.stride}"
        parts = [self.method.variant or self.method.name, schedule]
        if self.resolution is not None:
            parts.append(f"{self.resolution}p")
        parts += [self.device, self.dtype]
        if self.video_frames is not None:
            parts.append(f"{self.video_frames}f")
        if self.prompts is not None:
            parts.append(f"P={self.prompts}")
        if self.method.entry is not None:
            parts.append(f"({self.method.entry})")
        if self.twin is not None:
            parts.append(f"twin {self.twin}")
        return " ".join(parts)

    def folder_name(self, dataset_id: str) -> str:
        """The cell's prediction folder: readable, and unique through the key."""
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.label().replace(" ", "_"))
        return f"{readable}-{self.key(dataset_id)[:8]}"


def resolved_schedules(config: BenchConfig) -> list[tuple[int | str, int | None]]:
    """(T, S) pairs with the stride resolved; pairs that would skip frames are left out."""
    sweep = config.sweep
    if sweep.clip_schedule:
        pairs = [(pair[0], pair[1] if len(pair) > 1 else None) for pair in sweep.clip_schedule]
    else:
        pairs = list(itertools.product(sweep.clip_length, sweep.stride))
    schedules: list[tuple[int | str, int | None]] = []
    for t, s in pairs:
        if t == "all":
            s = None  # one clip: a stride means nothing
        elif s is None:
            s = default_stride(int(t))
        elif s > t:
            continue  # frames would be skipped: not a meaningful schedule
        if (t, s) not in schedules:
            schedules.append((t, s))
    return schedules


def expand_cells(config: BenchConfig, methods: list[MethodEntry]) -> list[Cell]:
    """All cells in a stable order: methods outermost, then the axes as listed (under
    `measure.twins` each cell followed by its twin); a prompted method once per prompt count,
    a method with its own `clip_length` only at those."""
    sweep = config.sweep
    twins = (1, 2) if config.measure.twins else (None,)
    cells: list[Cell] = []
    for method in methods:
        for (t, s), r, d, dt, n, k in itertools.product(
            resolved_schedules(config),
            sweep.resolution,
            sweep.device,
            sweep.dtype,
            sweep.video_frames,
            sweep.prompts if method.prompt_count_option else [None],
        ):
            if method.clip_lengths is not None and t not in method.clip_lengths:
                continue
            for twin in twins:
                cell = Cell(with_prompt_count(method, k), t, s, r, d, dt, n, twin, k)
                if cell not in cells:
                    cells.append(cell)
    return cells


def with_prompt_count(method: MethodEntry, prompts: int | None) -> MethodEntry:
    """The entry built with its first `prompts` categories as prompts (as it is for None)."""
    if prompts is None or method.prompt_count_option is None:
        return method
    options = {**method.model_options, method.prompt_count_option: prompts}
    return dataclasses.replace(method, model_options=options)


def distinct_keys(cells: list[Cell], dataset_id: str) -> None:
    """Two cells with one key would write two records under it: refused, naming both."""
    seen: dict[str, Cell] = {}
    for cell in cells:
        key = cell.key(dataset_id)
        if key in seen:
            first = seen[key]
            raise InputError(
                f"{first.method.where} and {cell.method.where} give the same cell "
                f"({cell.label()}, key {key}): give the entries different labels, or list the "
                "method once"
            )
        seen[key] = cell

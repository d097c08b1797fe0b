"""What a cell's worker measured, as the record's own typed parts (vis_bench/records/parts.py).

The worker builds each part (execution, environment, memory, FLOPs, the protocols' entries, the
FPS it timed itself...) and sends them back in its `CellOutcome`; sweep/record.py puts them into
the cell's `CellRecord` as they are. No part travels as a dict read back by string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vis_bench.records.parts import (
    PROTOCOL_FPS,
    CheckpointLoad,
    Energy,
    Environment,
    Execution,
    Flops,
    Harness,
    LabelSpace,
    Memory,
    ProtocolEntry,
    Provenance,
    Speed,
    Stream,
)


@dataclass
class CellMeasurements:
    """A worker's measurements of its cell (None: not measured). `speed` holds the FPS the
    worker timed (the authors' protocol, a single clip) and the load while the accuracy pass was
    timed; the end-to-end and model FPS come later, from the timed rounds."""

    model_options: dict[str, Any] | None = None
    backbone: str | None = None
    checkpoint_load: CheckpointLoad | None = None
    execution: Execution | None = None
    environment: Environment | None = None
    provenance: Provenance | None = None
    harness: Harness | None = None
    stream: Stream | None = None
    energy: Energy | None = None
    memory: Memory = field(default_factory=Memory)
    flops: Flops = field(default_factory=Flops)
    speed: Speed = field(default_factory=Speed)
    #: per protocol the sweep asked for: its declaration and what ran (its FPS is `speed`'s)
    protocols: dict[str, ProtocolEntry] | None = None
    #: the warning for an input far from the frames' size (the record's notes say it)
    input_scale: str | None = None
    #: frames turned upright by their EXIF orientation during the pass
    frames_oriented: int | None = None
    #: the worker's seconds per phase (sweep/phase_clock.py)
    timings: dict[str, float] | None = None
    #: how the model's classes met the dataset's: set by the parent, which maps them
    label_space: LabelSpace | None = None
    #: a prompted method's prompts and the objects it tracked per frame (vis_bench.api.prompts)
    prompts: int | None = None
    objects_tracked: dict[str, Any] | None = None


def protocol_parts(
    results: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, ProtocolEntry], dict[str, float | None]]:
    """The protocols' entries (measure/protocols.py `protocol_result`) as the record's parts, and
    each entry's FPS by its `Speed` attribute: the FPS is the record's, never the entry's."""
    entries, fps = {}, {}
    for name, result in results.items():
        entry = ProtocolEntry.from_json({k: v for k, v in result.items() if k != "fps"})
        if entry is not None:
            entries[name] = entry
        if name in PROTOCOL_FPS:
            fps[PROTOCOL_FPS[name]] = result.get("fps")
    return entries, fps

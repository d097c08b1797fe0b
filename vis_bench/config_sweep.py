"""The config's `sweep:` section: the axes whose product is the run's cells, and their checks.

Kept apart from config.py (which reads the whole file and checks the dataset) because the axes
are one subject of their own (docs/sweeps.md) and each new axis adds its check here;
`vis_bench.config` re-exports `SweepConfig`, so callers import it from there as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vis_bench.errors import InputError

DTYPES = ("fp32", "fp16", "bf16")


@dataclass
class SweepConfig:
    """Axes of the sweep; every combination is one cell."""

    #: frames per clip; "all" = the whole video in one clip (offline inference)
    clip_length: list[int | str] = field(default_factory=lambda: ["all"])
    #: frames between clip starts; None = ceil(T / 2) (half-overlapping clips)
    stride: list[int | None] = field(default_factory=lambda: [None])
    #: explicit (T, S) pairs ([all] for one clip); when given it replaces the clip_length x
    #: stride product
    clip_schedule: list[list[int | str | None]] | None = None
    #: test-time shorter side in pixels; None = the method's own default
    resolution: list[int | None] = field(default_factory=lambda: [None])
    device: list[str] = field(default_factory=lambda: ["cpu"])
    dtype: list[str] = field(default_factory=lambda: ["fp32"])
    #: every video cut to its first N frames (null: whole videos): memory and speed against
    #: video length; the ground truth is not cut, so it needs `measure.ap: false`
    video_frames: list[int | None] = field(default_factory=lambda: [None])
    #: a prompted method (one declaring a prompt count) given the first k categories of its
    #: label space as prompts (null: all of them): speed against vocabulary size; a method
    #: without prompts runs once, unchanged
    prompts: list[int | None] = field(default_factory=lambda: [None])

    def check(self, where: str, source: str) -> None:
        """Each axis has values, and each value is one the harness can run."""
        _check_axes(self, source)


def _check_axes(sweep: SweepConfig, source: str) -> None:
    for axis in ("clip_length", "stride", "resolution", "device", "dtype", "prompts"):
        values = getattr(sweep, axis)
        if not values:
            raise InputError("needs at least one value", path=source, field=f"sweep.{axis}")
    for value in sweep.clip_length:
        if not (value == "all" or (isinstance(value, int) and value > 0)):
            raise InputError(
                f"{value!r} is not a positive integer or 'all'",
                path=source,
                field="sweep.clip_length",
            )
    for value in sweep.stride:
        if value is not None and not (isinstance(value, int) and value > 0):
            raise InputError(
                f"{value!r} is not a positive integer or null", path=source, field="sweep.stride"
            )
    for pair in sweep.clip_schedule or []:
        one_clip = pair in (["all"], ["all", None])
        if not one_clip and not (
            len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)
            and pair[1] <= pair[0]
        ):
            raise InputError(
                f"{pair!r} is not a [T, S] pair of positive integers with S <= T, or [all]",
                path=source,
                field="sweep.clip_schedule",
            )
    _check_schedule_pairs(sweep, source)
    for value in sweep.video_frames:
        if value is not None and value < 1:
            raise InputError(
                f"{value!r} is not a positive number of frames or null",
                path=source,
                field="sweep.video_frames",
            )
    for value in sweep.prompts:
        if value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
        ):
            raise InputError(
                f"{value!r} is not a positive number of prompts or null (all of them)",
                path=source,
                field="sweep.prompts",
            )
    for value in sweep.resolution:
        if value is not None and not (isinstance(value, int) and value >= 32):
            raise InputError(
                f"{value!r} is not a shorter side in pixels (>= 32) or null",
                path=source,
                field="sweep.resolution",
            )
    for value in sweep.dtype:
        if value not in DTYPES:
            raise InputError(f"{value!r} is not one of {DTYPES}", path=source, field="sweep.dtype")
    for value in sweep.device:
        if not isinstance(value, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", value):
            raise InputError(
                f"{value!r} is not 'cpu' or 'cuda[:N]'", path=source, field="sweep.device"
            )


def check_method_clip_lengths(
    chosen_per_method: list[list[int | str] | None], sweep: SweepConfig, source: str
) -> None:
    """A method's own clip lengths (`methods[i].clip_length`, in the config's order) are some
    of the sweep's (with `clip_schedule`, of its pairs' T), so every cell it keeps is one the
    sweep describes."""
    lengths = [p[0] for p in sweep.clip_schedule] if sweep.clip_schedule else sweep.clip_length
    for i, chosen in enumerate(chosen_per_method):
        if chosen is None:
            continue
        if not isinstance(chosen, list) or not chosen:
            raise InputError(
                "expected a non-empty list of clip lengths, e.g. [all]",
                path=source,
                field=f"methods[{i}].clip_length",
            )
        for value in chosen:
            if value not in lengths:
                raise InputError(
                    f"{value!r} is not one of the sweep's clip lengths {lengths}: list only "
                    "those (the method's cells are a subset of the sweep's)",
                    path=source,
                    field=f"methods[{i}].clip_length",
                )


def _check_schedule_pairs(sweep: SweepConfig, source: str) -> None:
    """Every (T, S) of clip_length x stride is a schedule that sees every frame (S <= T), as
    `predict --stride` requires: a pair that would skip frames is refused, never dropped."""
    if sweep.clip_schedule:
        return
    for t in sweep.clip_length:
        for s in sweep.stride:
            if t != "all" and s is not None and s > t:
                raise InputError(
                    f"stride {s} is longer than clip length {t}: the frames between clips would "
                    f"never be seen. Give strides <= every clip length (null: ceil(T/2)), or the "
                    f"(T, S) pairs themselves in sweep.clip_schedule, e.g. [[{t}, {t}], [all]]",
                    path=source,
                    field="sweep.stride",
                )

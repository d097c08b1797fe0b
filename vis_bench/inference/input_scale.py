"""Whether a model's input is far from its frames' size: the warning a run and `predict` give.

The resolution axis (and a method's own test size) sets the input's shorter side whatever the
frames' size, so 120-pixel synthetic frames can reach a model at 1000 pixels (every pixel it
sees interpolated, and paid for), or full-HD frames at 96 (objects a few pixels wide). Neither
is an error (a sweep may mean it), but a number measured so is not what it seems, so it is said.
The factor is the input's shorter side over the frame's, after the method's own resize rule
(its cap on the longer side included).
"""

from __future__ import annotations

from collections.abc import Iterable

from vis_bench.api.preprocessing import Preprocessing

#: an input whose shorter side is more than this many times the frame's is warned about: past
#: 2x the model sees mostly interpolated pixels (4x the pixels to pay for, no detail gained)
UPSAMPLE_LIMIT = 2.0
#: ... or less than this share of it: below 1/8 a 1080p frame reaches the model at 135 pixels
#: and a small object (32 pixels, COCO's limit) at 4 (the standard test sizes, 360-480 on
#: 720p-1080p frames, stay within both)
DOWNSAMPLE_LIMIT = 1 / 8
#: how the warning starts (a record's note begins with the pages' WARNING mark, then this)
INPUT_SIZE = "input far from the frames' size:"


def input_scale_warning(
    preprocessing: Preprocessing,
    resolution: int | None,
    sizes: Iterable[tuple[int, int]],
    field: str = "sweep.resolution",
) -> str | None:
    """The warning for an input `resolution` (None: the method's own) of frames of `sizes`
    ((height, width) each) beyond the limits above, one line without "; " (records join their
    notes with it); None within them."""
    frames = sorted(set(sizes), key=lambda size: (min(size), size))
    if not frames:
        return None
    factors = [min(preprocessing.output_size(h, w, resolution)) / min(h, w) for h, w in frames]
    low, high = min(factors), max(factors)
    given = (
        f"{resolution}"
        if resolution is not None
        else f"null (the method's own, {preprocessing.shorter_side} px)"
    )
    seen = _sizes(frames)
    if high > UPSAMPLE_LIMIT:
        return (
            f"{INPUT_SIZE} {field} {given} upsamples the frames ({seen}) {_range(low, high)}, "
            f"over the {UPSAMPLE_LIMIT:g}x this warns at: the model sees interpolated pixels "
            "and pays for detail the frames do not hold. Set it near the frames' shorter side "
            f"({_shorter(frames)} px) unless this is the point"
        )
    if low < DOWNSAMPLE_LIMIT:
        return (
            f"{INPUT_SIZE} {field} {given} downsamples the frames ({seen}) to "
            f"{_range(low, high)} of their size, under the 1/{1 / DOWNSAMPLE_LIMIT:g} this warns "
            "at: small objects shrink to a few pixels. Set it nearer the frames' shorter side "
            f"({_shorter(frames)} px) unless this is the point"
        )
    return None


def _range(low: float, high: float) -> str:
    def one(factor: float) -> str:
        return f"{factor:.1f}x" if factor >= 1 else f"1/{1 / factor:.1f}"

    return one(low) if f"{low:.1f}" == f"{high:.1f}" else f"{one(low)} to {one(high)}"


def _sizes(frames: list[tuple[int, int]]) -> str:
    shown = [f"{h}x{w}" for h, w in frames]
    return f"{shown[0]} HxW" if len(shown) == 1 else f"{shown[0]} to {shown[-1]} HxW"


def _shorter(frames: list[tuple[int, int]]) -> str:
    sides = sorted({min(size) for size in frames})
    return f"{sides[0]}" if len(sides) == 1 else f"{sides[0]}-{sides[-1]}"

"""Occluded synthetic scenes: objects passing in front of others, labelled the OVIS way.

With `SyntheticSpec.occlusion` set (`synth --occlusion SHARE`), the generator

* writes OVIS's per-frame `occlusion` list on every track, computed from the covered fraction f
  of the object's full in-frame shape (what its later-drawn neighbours hide of it): f < 0.05
  `no_occlusion`, f < 0.5 `slight_occlusion`, otherwise `severe_occlusion`. A fully covered
  object has a null mask and a `severe_occlusion` label; an object out of the frame a null
  mask and a null label (formats/occlusion.py defines the levels);
* adds, for about SHARE of the tracks, another object that passes in front of it: it crosses
  the track's centre at a random time in the middle of the video, a little larger than the
  track, so the track goes from no to slight to severe occlusion and back. SHARE 0 labels the
  scenes as they are (the ordinary depth order already hides objects now and then).

The crossings draw from their own random stream, so the rest of a video (its objects, paths,
colours, background, noise) is the one the same spec without `occlusion` makes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from vis_bench.data.raster import draw_appearance
from vis_bench.formats.occlusion import level_of_covered_fraction

#: an occluder's radius relative to the track it crosses (at least as large: severe is reached)
_SIZE = (1.05, 1.5)
#: the frame (fraction of the video) at which an occluder is centred on its track
_WHEN = (0.3, 0.7)
#: crossing speed: from first contact to clear again in about this share of the video
_CROSSING_SHARE = 0.45


def crossing_rng(seed: int, video_index: int) -> np.random.Generator:
    """The crossings' own random stream for one video (the scene's stream is left alone)."""
    return np.random.default_rng([seed, video_index, 1])


def add_crossings(
    tracks: list[Any],
    length: int,
    share: float,
    looks: tuple[tuple[str, str], ...],
    rng: np.random.Generator,
) -> list[Any]:
    """`tracks` (back to front) plus, for about `share` of them, an occluder in front of all.

    `looks[c - 1]` is the (shape, texture) of category id c; tracks are synthetic._Track.
    """
    occluders = []
    for track in tracks:
        if rng.random() < share:
            occluders.append(_occluder(track, length, looks, rng))
    return [*tracks, *occluders]


def _occluder(target: Any, length: int, looks: tuple, rng: np.random.Generator) -> Any:
    category_id = int(rng.integers(1, len(looks) + 1))
    shape, texture = looks[category_id - 1]
    when = float(rng.uniform(*_WHEN)) * max(length - 1, 1)
    cy, cx, radius, _ = target.pose(when)
    scale = radius * float(rng.uniform(*_SIZE))
    heading = float(rng.uniform(0, 2 * np.pi))
    direction = np.array([np.sin(heading), np.cos(heading)])
    # Cover the distance between "just touching" on either side within the crossing share.
    speed = 2.5 * (radius + scale) / max(_CROSSING_SHARE * length, 2.0)
    velocity = direction * speed
    miss = rng.uniform(-0.2, 0.2) * radius * np.array([-direction[1], direction[0]])
    centre = np.array([cy, cx]) + miss
    return dataclasses.replace(
        target,
        category_id=category_id,
        shape=shape,
        texture=texture,
        **draw_appearance(rng, shape),
        colors=_colours(rng),
        start=centre - velocity * when,
        velocity=velocity,
        accel=np.zeros(2),
        scale=scale,
        growth=0.0,
        angle=float(rng.uniform(0, 2 * np.pi)),
        spin=float(rng.uniform(-0.1, 0.1)),
    )


def _colours(rng: np.random.Generator) -> np.ndarray:
    """Base and pattern colour, far enough apart for the texture to show."""
    base = rng.uniform(20, 235, size=3)
    other = np.where(base > 127, base - 110, base + 110)
    return np.stack([base, other]).astype(np.float32)


def occlusion_label(full: np.ndarray | None, visible: np.ndarray | None) -> str | None:
    """OVIS label of one frame from the full in-frame mask and the visible part (or None)."""
    if full is None:
        return None  # not in the frame
    total = int(np.count_nonzero(full))
    if total == 0:
        return None
    seen = 0 if visible is None else int(np.count_nonzero(visible))
    return level_of_covered_fraction(1.0 - seen / total)

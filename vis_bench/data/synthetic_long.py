"""Long synthetic videos: objects that enter, leave and re-enter over hundreds of frames.

The default generator moves each object along one smooth path (a video of 8-20 frames sees it
cross the frame at most once). With `SyntheticSpec.long_video` each object instead visits a
random sequence of waypoints, about a third of them outside the frame, at a speed drawn once per
object: over a few hundred frames it leaves and comes back several times, in a new place, which
is what a stitcher must survive on long real videos (OVIS, YouTube-VIS 2022). Sizes breathe
around the starting scale instead of growing without bound, so an object stays recognisable
however long the video.

Long plans draw from the scene's random stream only when asked for, so specs without
`long_video` generate exactly the files they always did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vis_bench.data.raster import MAX_EXTENT, ObjectLook, draw_appearance, draw_category

#: pixels per frame, as a fraction of the frame's shorter side
_SPEED = (0.006, 0.02)
#: share of waypoints outside the frame (the object leaves the view to reach them)
_OUTSIDE = 0.35
#: relative amplitude and period (frames) of the slow size change
_BREATHE = (0.15, (60.0, 160.0))


@dataclass
class WaypointTrack(ObjectLook):
    """An object's appearance and its waypoint path."""

    points: np.ndarray  # [K, 2] (y, x) waypoints
    times: np.ndarray  # [K] frame at which each waypoint is reached (increasing)
    scale: float
    breathe: float
    breathe_period: float
    angle: float
    spin: float

    def pose(self, t: int) -> tuple[float, float, float, float]:
        """(centre y, centre x, radius, angle) at frame t; eased between waypoints."""
        k = int(np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, len(self.times) - 2))
        span = self.times[k + 1] - self.times[k]
        u = float(np.clip((t - self.times[k]) / span, 0.0, 1.0))
        u = u * u * (3.0 - 2.0 * u)  # smoothstep: no jumps in velocity at a waypoint
        cy, cx = self.points[k] + (self.points[k + 1] - self.points[k]) * u
        radius = self.scale * (1.0 + self.breathe * np.sin(2 * np.pi * t / self.breathe_period))
        return float(cy), float(cx), float(radius), self.angle + self.spin * t


def plan_long_track(
    rng: np.random.Generator,
    height: int,
    width: int,
    length: int,
    looks: tuple[tuple[str, str], ...],
    colours: np.ndarray,
) -> WaypointTrack:
    """One object of a long video: its look from `looks` (category id = index + 1)."""
    category_id, shape, texture = draw_category(rng, looks)
    short = min(height, width)
    scale = float(rng.uniform(0.08, 0.16) * short)
    size = np.array([height, width], dtype=np.float64)
    reach = MAX_EXTENT * scale * (1 + _BREATHE[0]) + 2  # centre this far outside => invisible
    speed = float(rng.uniform(*_SPEED) * short)
    points = [rng.uniform(0.15, 0.85, size=2) * size]  # every object starts in view
    times = [0.0]
    while times[-1] < length:
        if rng.random() < _OUTSIDE:
            point = rng.uniform(0.1, 0.9, size=2) * size
            axis = int(rng.integers(2))
            point[axis] = -reach if rng.random() < 0.5 else size[axis] + reach
        else:
            point = rng.uniform(0.15, 0.85, size=2) * size
        distance = float(np.linalg.norm(point - points[-1]))
        times.append(times[-1] + max(distance / speed, 4.0))
        points.append(point)
    return WaypointTrack(
        category_id=category_id,
        shape=shape,
        texture=texture,
        **draw_appearance(rng, shape),
        colors=colours,
        points=np.stack(points),
        times=np.asarray(times),
        scale=scale,
        breathe=float(rng.uniform(0.0, _BREATHE[0])),
        breathe_period=float(rng.uniform(*_BREATHE[1])),
        angle=float(rng.uniform(0, 2 * np.pi)),
        spin=float(rng.uniform(-0.05, 0.05)),
    )

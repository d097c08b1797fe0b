"""Vectorised rasterisation of the synthetic objects: shapes, textures and backgrounds.

Everything is evaluated on pixel-centre grids in an object's own frame (u, v), where the shape
fits in the unit disc. Working in object coordinates makes textures move, rotate and scale with
the object, as a real surface pattern would, so texture stays a usable cue under motion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHAPES = ("disc", "box", "triangle", "star", "ring", "cross")
TEXTURES = ("solid", "stripes", "checker", "dots")

# Largest distance from the centre a shape reaches, in units of the object's scale (box corners).
MAX_EXTENT = 1.3


def local_coords(
    ys: np.ndarray, xs: np.ndarray, cy: float, cx: float, scale: float, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel grids -> object coordinates (u, v): centred, rotated by -angle, divided by scale."""
    dy = ys - cy
    dx = xs - cx
    c, s = np.cos(angle), np.sin(angle)
    u = (dx * c + dy * s) / scale
    v = (-dx * s + dy * c) / scale
    return u, v


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray, aspect: float) -> np.ndarray:
    """Boolean mask of `shape` in object coordinates; `aspect` squashes disc and box (0 < a <= 1)."""
    if shape == "disc":
        return u * u + (v / aspect) ** 2 <= 1.0
    if shape == "box":
        return (np.abs(u) <= 0.9) & (np.abs(v) <= 0.9 * aspect)
    if shape == "triangle":
        # Equilateral triangle inscribed in the unit circle: three half-planes at distance 0.5.
        inside = np.ones(u.shape, dtype=bool)
        for k in range(3):
            phi = -np.pi / 2 + 2 * np.pi * k / 3
            inside &= u * np.cos(phi) + v * np.sin(phi) <= 0.5
        return inside
    r = np.sqrt(u * u + v * v)
    if shape == "star":
        frac = np.mod(np.arctan2(v, u) * 5 / (2 * np.pi), 1.0)
        return r <= 0.45 + 0.55 * np.abs(2 * frac - 1)
    if shape == "ring":
        return (r >= 0.55) & (r <= 1.0)
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return ((au <= 0.33) & (av <= 0.95)) | ((av <= 0.33) & (au <= 0.95))
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def texture_mask(
    texture: str, u: np.ndarray, v: np.ndarray, period: float, phase: float
) -> np.ndarray:
    """Boolean pattern (True = second colour) of `texture`, with `period` in object units."""
    if texture == "solid":
        return np.zeros(u.shape, dtype=bool)
    if texture == "stripes":
        return np.sin(2 * np.pi * u / period + phase) > 0
    if texture == "checker":
        return (np.floor(u / period + phase) + np.floor(v / period + phase)) % 2 == 0
    if texture == "dots":
        du = np.mod(u / period + phase, 1.0) - 0.5
        dv = np.mod(v / period + phase, 1.0) - 0.5
        return du * du + dv * dv < 0.09
    raise ValueError(f"unknown texture {texture!r}; known: {', '.join(TEXTURES)}")


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Low-frequency colour field float32 [H, W, 3] in 0..255: a random grid, bilinearly upsampled."""
    gh = max(2, cells)
    gw = max(2, round(cells * width / height))
    grid = rng.uniform(0, 255, size=(gh, gw, 3)).astype(np.float32)
    rows = _interp_weights(gh, height)
    cols = _interp_weights(gw, width)
    out = grid[rows[0]] * rows[2][:, None, None] + grid[rows[1]] * (1 - rows[2][:, None, None])
    out = out[:, cols[0]] * cols[2][None, :, None] + out[:, cols[1]] * (1 - cols[2][None, :, None])
    return out


def _interp_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pos = np.linspace(0, n_in - 1, n_out)
    lo = np.minimum(np.floor(pos).astype(np.int64), n_in - 2)
    w_hi = (pos - lo).astype(np.float32)
    return lo, lo + 1, 1 - w_hi


@dataclass
class ObjectLook:
    """What a generated object looks like, whichever way it moves: its category's shape and
    texture, the proportions and texture rhythm of `draw_appearance`, and its two colours."""

    category_id: int
    shape: str
    texture: str
    aspect: float
    period: float
    phase: float
    colors: np.ndarray  # [2, 3] float32: base colour, pattern colour


def draw_category(
    rng: np.random.Generator, looks: Sequence[tuple[str, str]]
) -> tuple[int, str, str]:
    """An object's category, drawn uniformly (id = index in `looks` + 1), with its shape and
    texture."""
    category_id = int(rng.integers(1, len(looks) + 1))
    shape, texture = looks[category_id - 1]
    return category_id, shape, texture


def draw_appearance(rng: np.random.Generator, shape: str) -> dict[str, float]:
    """An object's drawn proportions and texture rhythm: `aspect` (discs and boxes are
    stretched, other shapes keep 1), texture `period` and `phase`, drawn in that order from
    `rng` (every generator draws them alike, so a dataset depends on its seed only)."""
    return {
        "aspect": float(rng.uniform(0.55, 1.0)) if shape in ("disc", "box") else 1.0,
        "period": float(rng.uniform(0.28, 0.45)),
        "phase": float(rng.uniform(0, 1)),
    }

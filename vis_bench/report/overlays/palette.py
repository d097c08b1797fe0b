"""Track colours: distinct, readable on video, and never the red that marks an error.

The first colours are hand-picked to be told apart at a glance; beyond them hues step by the
golden angle, skipping the reds. Colour i is the same in every picture, so GT track i of a video
and the predictions paired with it look alike across methods and pictures.
"""

from __future__ import annotations

import colorsys

RGB = tuple[int, int, int]

#: what marks an error on a picture: a missed GT track's outline, a false positive's caption
ERROR: RGB = (255, 40, 40)
#: a caption's or timeline's "all right"
GOOD: RGB = (60, 200, 90)
#: a frame with only false positives (nothing missed)
WARNING: RGB = (255, 170, 0)
#: crowd regions and frames without ground truth
NEUTRAL: RGB = (150, 150, 150)

_BASE: tuple[RGB, ...] = (
    (31, 119, 255),
    (255, 221, 0),
    (0, 214, 143),
    (186, 85, 255),
    (0, 200, 255),
    (255, 128, 0),
    (140, 255, 60),
    (255, 90, 200),
    (0, 128, 128),
    (170, 110, 40),
    (120, 140, 255),
    (230, 230, 230),
)
_GOLDEN = 0.381966


def colour(i: int) -> RGB:
    """The i-th track colour (i >= 0)."""
    if i < len(_BASE):
        return _BASE[i]
    hue = (0.07 + (i - len(_BASE)) * _GOLDEN) % 1.0
    hue = 0.08 + hue * 0.84  # keep clear of the reds around hue 0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255))


def text_colour(background: RGB) -> RGB:
    """Black or white, whichever reads better on `background`."""
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def hex_colour(rgb: RGB) -> str:
    """`#rrggbb`, for HTML."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)

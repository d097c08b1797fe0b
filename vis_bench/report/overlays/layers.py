"""The report's video browser in layers: the page composes what `show` draws into one picture.

A panel of `show` bakes the frame, every track, every caption and the header into one image, so
a page that embedded such panels could neither hide the captions nor show one track alone, and
paid for the frame once per column. Here one video's sampled frames are one JPEG strip shared by
every column; each track (or mark) of each column is a strip of its own, a palette PNG with
transparency (transparent, fill, outline, false-positive outline) that the browser lays over
the frames; captions, headers and timelines are data the page's script draws as text. What is
drawn comes from the same `SceneRenderer` layers, colours and caption placement as `show`'s
panels, so the page and the pictures agree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from vis_bench.report.overlays.draw import (
    FILL_ALPHA,
    Layer,
    caption_boxes,
    caption_size,
    edge_pixels,
)
from vis_bench.report.overlays.palette import RGB, hex_colour, text_colour
from vis_bench.report.overlays.sheets import Drawn, SceneRenderer

#: palette index of a layer's pixels: none, fill, outline in its colour, outline in its mark's
NONE, FILL, EDGE, MARK = range(4)


@dataclass
class LayerStrip:
    """One track (or mark) of one column over the sampled frames, stacked top to bottom."""

    key: str
    #: the GT slot it belongs to (None: a prediction paired with no GT track)
    slot: int | None
    colour: RGB
    mark: RGB
    #: palette indices [frames * height, width]
    indices: np.ndarray = field(repr=False)

    def png(self) -> bytes:
        """The strip as a palette PNG whose fill is translucent, the rest opaque or clear."""
        image = Image.fromarray(self.indices, mode="P")
        image.putpalette([0, 0, 0, *self.colour, *self.colour, *self.mark])
        buffer = io.BytesIO()
        # zlib's default level: `optimize` made files a few percent smaller at several times
        # the encoding time, which was most of a report's drawing
        image.save(buffer, format="PNG", transparency=bytes([0, FILL_ALPHA, 255, 255]))
        return buffer.getvalue()


@dataclass
class ColumnView:
    """One column (the ground truth, or one method) of a video in the browser."""

    title: str
    layers: list[LayerStrip]
    #: per sampled frame: its captions {x, y, text, bg, fg, key, slot}
    captions: list[list[dict[str, Any]]]
    #: per sampled frame: its status line [(text, colour)]
    status: list[list[tuple[str, str]]]
    #: one colour per frame of the video (empty without ground truth)
    timeline: list[str]


def _paint(strip: np.ndarray, row: int, layer: Layer, line: int) -> None:
    """A layer's fill and outline into its strip at the frame starting at `row`."""
    found = edge_pixels(layer, line)
    if found is None:
        return
    (rows, cols), edge = found
    rows = slice(rows.start + row, rows.stop + row)
    part = strip[rows, cols]
    if layer.fill:
        part[layer.mask[found[0]]] = FILL
    marked = layer.outline_colour is not None and layer.outline_colour != layer.colour
    part[edge] = MARK if marked else EDGE


def _captions(drawn: list[Drawn], renderer: SceneRenderer) -> list[dict[str, Any]]:
    layers = [layer for _, layer, _ in drawn]
    out = []
    for (key, layer, slot), box in zip(drawn, caption_boxes(layers, renderer.style), strict=True):
        if box is None or not layer.caption:
            continue
        background = layer.caption_colour or layer.colour
        out.append(
            {
                "x": box[0],
                "y": box[1],
                "text": layer.caption,
                "bg": hex_colour(background),
                "fg": hex_colour(text_colour(background)),
                "key": key,
                "slot": slot,
            }
        )
    return out


def _column(
    title: str, per_frame: list[list[Drawn]], headers: list, renderer: SceneRenderer
) -> ColumnView:
    """A column's strips, captions and headers from its layers of each sampled frame."""
    style = renderer.style
    strips: dict[str, LayerStrip] = {}
    for i, drawn in enumerate(per_frame):
        for key, layer, slot in drawn:
            if key not in strips:
                indices = np.zeros((len(per_frame) * style.height, style.width), dtype=np.uint8)
                mark = layer.outline_colour or layer.colour
                strips[key] = LayerStrip(key, slot, layer.colour, mark, indices)
            elif layer.outline_colour is not None:
                strips[key].mark = layer.outline_colour
            _paint(strips[key].indices, i * style.height, layer, style.line)
    timeline = [hex_colour(c) for c in headers[0][1]] if headers else []
    return ColumnView(
        title=title,
        layers=sorted(strips.values(), key=_drawing_order),
        captions=[_captions(drawn, renderer) for drawn in per_frame],
        status=[[(text, hex_colour(colour)) for text, colour in status] for status, _ in headers],
        timeline=timeline,
    )


def _drawing_order(strip: LayerStrip) -> tuple[int, int]:
    """GT tracks, then predictions from the lowest score up (the best drawn last), marks last."""
    kind, _, number = strip.key.partition("-")
    rank = {"gt": 0, "pred": 1, "missed": 2}.get(kind, 3)
    return rank, -int(number) if kind == "pred" else int(number)


def browser_columns(renderer: SceneRenderer, frames: list[int]) -> list[ColumnView]:
    """Every column of the scene over the sampled `frames`, GT first when there is GT."""
    scene = renderer.scene
    columns = []
    if scene.gt is not None:
        per_frame = [renderer.gt_layers(t) for t in frames]
        headers = [renderer.gt_header(t) for t in frames]
        columns.append(_column("ground truth", per_frame, headers, renderer))
    for method in scene.methods:
        per_frame = [renderer.method_layers(method, t) for t in frames]
        headers = [renderer.method_header(method, t) for t in frames]
        columns.append(_column(method.label, per_frame, headers, renderer))
    return columns


def frame_strip(renderer: SceneRenderer, frames: list[int]) -> np.ndarray:
    """The sampled frames at the panel's size, stacked top to bottom (no overlay)."""
    return np.concatenate([renderer.frame_image(t) for t in frames], axis=0)


def caption_text_size(renderer: SceneRenderer) -> int:
    """The captions' text size in pixels, as the pictures draw them."""
    return caption_size(renderer.style)

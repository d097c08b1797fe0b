"""One panel of one frame: the frame, masks filled and outlined, captions, header and timeline.

A panel is, top to bottom: a header (the column's title, the frame number and what went wrong in
this frame), the frame with its tracks, and a timeline with one cell per frame of the video
coloured by what went wrong there (the current frame outlined). Masks are blended at a fixed
opacity and outlined in their colour; a dashed outline marks a GT track the method missed in
this frame. Sizes of lines and text follow the panel's size, so a 720p panel and a thumbnail
read alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pycocotools import mask as mask_utils

from vis_bench.report.overlays.labels import LabelRequest, place_labels
from vis_bench.report.overlays.palette import RGB, text_colour

#: mask fill opacity, out of 256
FILL_ALPHA = 102
BACKGROUND: RGB = (24, 24, 28)
HEADER_TEXT: RGB = (235, 235, 235)


@cache
def panel_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at `size` px (its bitmap font where FreeType is missing)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # Pillow without FreeType: one fixed size
        return ImageFont.load_default()


@dataclass(frozen=True)
class PanelStyle:
    """Sizes of one panel: the frame area, text, outline width, header and timeline."""

    height: int
    width: int
    text: int
    line: int
    header: int
    timeline: int

    @classmethod
    def for_size(cls, height: int, width: int) -> PanelStyle:
        text = int(np.clip(round(max(height, width) / 30), 9, 22))
        return cls(
            height=height,
            width=width,
            text=text,
            line=max(1, round(max(height, width) / 320)),
            header=2 * text + 8,
            timeline=max(5, text // 2),
        )

    @property
    def total_height(self) -> int:
        return self.header + self.height + self.timeline


@dataclass(frozen=True)
class Layer:
    """One mask on a panel (already at the panel's size)."""

    mask: np.ndarray  # bool [height, width]
    colour: RGB
    caption: str | None = None
    fill: bool = True
    dashed: bool = False
    #: the caption's background (default: the mask's colour)
    caption_colour: RGB | None = None
    #: the outline's colour (default: the mask's colour; a false positive's is the header's)
    outline_colour: RGB | None = None


def decode_resized(rle: dict | None, height: int, width: int) -> np.ndarray | None:
    """A frame's RLE as a bool mask of the panel's size (nearest neighbour); None if absent."""
    if rle is None:
        return None
    mask = mask_utils.decode(rle)
    h, w = mask.shape
    if (h, w) != (height, width):
        rows = np.minimum((np.arange(height) + 0.5) * h / height, h - 1).astype(np.intp)
        cols = np.minimum((np.arange(width) + 0.5) * w / width, w - 1).astype(np.intp)
        mask = mask.take(rows, axis=0).take(cols, axis=1)
    return mask.astype(bool)


def _eroded(mask: np.ndarray, steps: int) -> np.ndarray:
    """4-neighbour erosion, `steps` times (pixels outside the array count as background)."""
    out = mask.copy()
    for _ in range(steps):
        inner = out.copy()
        inner[1:, :] &= out[:-1, :]
        inner[:-1, :] &= out[1:, :]
        inner[:, 1:] &= out[:, :-1]
        inner[:, :-1] &= out[:, 1:]
        inner[0, :] = inner[-1, :] = False
        inner[:, 0] = inner[:, -1] = False
        out = inner
    return out


def _box(mask: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """The mask's bounding box grown by `pad` pixels (clipped), None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (
        slice(max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)),
        slice(max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)),
    )


def edge_pixels(layer: Layer, line: int) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """The layer's outline inside its mask's bounding box (grown by 1): (box, bool edge), dashed
    where the layer asks; None for an empty mask. The frame's own border counts as background,
    the crop's padding does not."""
    box = _box(layer.mask, 1)
    if box is None:
        return None
    mask = layer.mask[box]
    inner = np.pad(layer.mask, 1)[box[0].start : box[0].stop + 2, box[1].start : box[1].stop + 2]
    edge = mask & ~_eroded(inner, line)[1:-1, 1:-1]
    if layer.dashed:
        ys, xs = np.nonzero(edge)
        keep = ((ys + box[0].start + xs + box[1].start) // (4 * line)) % 2 == 0
        edge = np.zeros_like(edge)
        edge[ys[keep], xs[keep]] = True
    return box, edge


def _blend(image: np.ndarray, layer: Layer, line: int) -> None:
    """Fill and outline one layer into `image` (uint8 [H, W, 3]) in place, inside the mask's
    bounding box only (a small object on a 720p frame costs little)."""
    found = edge_pixels(layer, line)
    if found is None:
        return
    box, edge = found
    mask, part = layer.mask[box], image[box]
    colour = np.array(layer.colour, dtype=np.uint16)
    if layer.fill:
        pixels = part[mask].astype(np.uint16)
        part[mask] = ((pixels * (256 - FILL_ALPHA) + colour * FILL_ALPHA) >> 8).astype(np.uint8)
    part[edge] = layer.outline_colour or layer.colour


@cache
def _text(text: str, size: int, fill: RGB, background: RGB, pad: int = 2) -> Image.Image:
    """A line of text drawn once on its background and reused (captions and headers repeat
    frame after frame)."""
    font = panel_font(size)
    left, top, right, bottom = font.getbbox(text)
    label = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2), background)
    ImageDraw.Draw(label).text((pad - left, 1 - top), text, fill=fill, font=font)
    return label


def _label(text: str, size: int, background: RGB) -> Image.Image:
    return _text(text, size, text_colour(background), background)


def caption_size(style: PanelStyle) -> int:
    """The captions' text size on a panel of this style."""
    return max(8, style.text - 2)


def caption_boxes(layers: list[Layer], style: PanelStyle) -> list[tuple[int, int, int, int] | None]:
    """Where each layer's caption goes (None: no caption, or nothing visible to name); the
    layer drawn last (on top) places its caption first (labels.py)."""
    size = caption_size(style)
    order = [i for i in reversed(range(len(layers))) if layers[i].caption]
    requests = []
    for i in order:
        label = _label(layers[i].caption, size, layers[i].caption_colour or layers[i].colour)
        requests.append(LabelRequest(layers[i].mask, *label.size))
    boxes: list[tuple[int, int, int, int] | None] = [None] * len(layers)
    for i, box in zip(order, place_labels(requests, style.height, style.width), strict=True):
        boxes[i] = box
    return boxes


def _captions(frame: Image.Image, layers: list[Layer], style: PanelStyle) -> None:
    size = caption_size(style)
    for layer, box in zip(layers, caption_boxes(layers, style), strict=True):
        if box is not None and layer.caption:
            frame.paste(_label(layer.caption, size, layer.caption_colour or layer.colour), box[:2])


@cache
def _title(text: str, size: int, width: int) -> Image.Image:
    font = panel_font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    return _text(fitted(probe, text, width, font), size, HEADER_TEXT, BACKGROUND, pad=0)


def _header(
    canvas: Image.Image, style: PanelStyle, title: str, status: list[tuple[str, RGB]]
) -> None:
    canvas.paste(_title(title, style.text, style.width - 8), (4, 3))
    x = 4
    for text, fill in status:
        if x >= style.width - 4:
            break
        piece = _text(text, style.text, fill, BACKGROUND, pad=0)
        canvas.paste(piece, (x, style.text + 5))
        x += piece.width + style.text


def fitted(
    draw: ImageDraw.ImageDraw,
    text: str,
    width: int,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
) -> str:
    """`text`, cut with "..." to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _timeline(draw: ImageDraw.ImageDraw, style: PanelStyle, cells: list[RGB], current: int) -> None:
    top = style.header + style.height
    bottom = top + style.timeline - 1
    n = len(cells)
    for i, fill in enumerate(cells):
        x0, x1 = round(i * style.width / n), round((i + 1) * style.width / n) - 1
        draw.rectangle((x0, top + 1, max(x0, x1 - 1), bottom), fill=fill)
        if i == current:
            draw.rectangle((x0, top, max(x0, x1), bottom), outline=(255, 255, 255))


def draw_panel(
    frame: np.ndarray,
    layers: list[Layer],
    style: PanelStyle,
    title: str,
    status: list[tuple[str, RGB]],
    timeline: list[RGB],
    current: int,
) -> np.ndarray:
    """The panel of one frame (uint8 [total_height, width, 3]); `frame` is at the panel's size."""
    image = np.array(frame, dtype=np.uint8, copy=True)
    for layer in layers:
        _blend(image, layer, style.line)
    canvas = Image.new("RGB", (style.width, style.total_height), BACKGROUND)
    picture = Image.fromarray(image)
    _captions(picture, layers, style)
    canvas.paste(picture, (0, style.header))
    _header(canvas, style, title, status)
    if timeline:
        _timeline(ImageDraw.Draw(canvas), style, timeline, current)
    return np.asarray(canvas)

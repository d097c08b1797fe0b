"""Panels side by side: the ground truth, then one column per method, frame by frame.

`SceneRenderer` turns a `VideoScene` into pictures: one row of panels per frame (an animation's
frame), a contact sheet of evenly spaced frames (one row per frame, a title bar on top), and per
column its layers (layers.py: what the HTML report composes). Every panel of a scene has the
same size: the video's frame scaled so that its longer side is `panel_size` pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from vis_bench.report.overlays.draw import (
    BACKGROUND,
    HEADER_TEXT,
    Layer,
    PanelStyle,
    decode_resized,
    draw_panel,
    fitted,
    panel_font,
)
from vis_bench.report.overlays.palette import ERROR, GOOD, NEUTRAL, RGB, WARNING
from vis_bench.report.overlays.scene import FrameMarks, MethodScene, VideoScene

#: pixels between panels
GAP = 4
#: one layer of a panel: (key, layer, GT slot it belongs to); the key names the same track or
#: mark in every frame (`gt-<slot>`, `pred-<position>`, `missed-<slot>`)
Drawn = tuple[str, Layer, int | None]
#: the timeline's colour of a frame, by `FrameMarks.status`
STATUS_COLOURS: dict[str, RGB] = {"miss": ERROR, "fp": WARNING, "ok": GOOD, "none": (70, 70, 70)}
#: the panel's longer side by default (`show --panel-size`)
DEFAULT_PANEL_SIZE = 480
#: frames to a row on the contact sheet of a single column (`predict`)
SHEET_GRID = 3


def panel_shape(height: int, width: int, panel_size: int | None) -> tuple[int, int]:
    """(height, width) of a panel whose longer side is `panel_size` (None or 0: the frame's)."""
    if not panel_size:
        return height, width
    scale = panel_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def evenly_spaced(length: int, count: int) -> list[int]:
    """`count` frame indices spread over [0, length) from the first to the last (all if fewer)."""
    if count <= 0 or length <= 0:
        return []
    if count >= length:
        return list(range(length))
    return sorted({int(round(x)) for x in np.linspace(0, length - 1, count)})


class SceneRenderer:
    """Draws the panels of one scene; `read_frame(t)` gives frame t as uint8 RGB [H, W, 3]."""

    def __init__(
        self,
        scene: VideoScene,
        read_frame: Callable[[int], np.ndarray],
        panel_size: int | None = DEFAULT_PANEL_SIZE,
        focus: int | None = None,
        title: str | None = None,
    ):
        self.scene = scene
        self.read_frame = read_frame
        #: a GT slot to single out: other tracks are drawn as bare outlines (`diagnose --show`)
        self.focus = focus
        self.title = title
        video = scene.video
        self.style = PanelStyle.for_size(*panel_shape(video.height, video.width, panel_size))
        self._gt_masks: dict[tuple[int, int], np.ndarray | None] = {}

    @property
    def columns(self) -> list[str]:
        """Column titles, left to right."""
        head = ["ground truth"] if self.scene.gt is not None else []
        return head + [m.label for m in self.scene.methods]

    def _mask(self, rle) -> np.ndarray | None:
        return decode_resized(rle, self.style.height, self.style.width)

    def _gt_mask(self, slot: int, t: int) -> np.ndarray | None:
        if (slot, t) not in self._gt_masks:
            frames = self.scene.gt[slot].frames
            self._gt_masks[slot, t] = self._mask(frames[t] if t < len(frames) else None)
        return self._gt_masks[slot, t]

    def frame_image(self, t: int) -> np.ndarray:
        """Frame t at the panel's size, nothing drawn on it."""
        frame = self.read_frame(t)
        if frame.shape[:2] == (self.style.height, self.style.width):
            return frame
        resized = Image.fromarray(frame).resize(
            (self.style.width, self.style.height), Image.Resampling.BILINEAR
        )
        return np.asarray(resized)

    def gt_layers(self, t: int) -> list[Drawn]:
        """The GT column's layers of frame t: each visible track, keyed `gt-<slot>`."""
        out = []
        for track in self.scene.gt:
            mask = self._gt_mask(track.slot, t)
            if mask is not None:
                fill = NEUTRAL if track.crowd else track.colour
                layer = self._focused(Layer(mask, fill, track.caption), track.slot)
                out.append((f"gt-{track.slot}", layer, track.slot))
        return out

    def gt_header(self, t: int) -> tuple[list[tuple[str, RGB]], list[RGB]]:
        """The GT column's status line of frame t and its timeline."""
        visible = sum(1 for track in self.scene.gt if self._gt_mask(track.slot, t) is not None)
        timeline = [STATUS_COLOURS["ok" if seen else "none"] for seen in self._gt_visible()]
        return [(f"frame {t}", HEADER_TEXT), (f"{visible} visible", NEUTRAL)], timeline

    def _gt_panel(self, t: int, image: np.ndarray) -> np.ndarray:
        layers = [layer for _, layer, _ in self.gt_layers(t)]
        status, timeline = self.gt_header(t)
        return draw_panel(image, layers, self.style, "ground truth", status, timeline, t)

    def _gt_visible(self) -> list[bool]:
        """Per frame: whether a non-crowd GT track is visible (the GT column's timeline)."""
        length = self.scene.video.length
        tracks = [track for track in self.scene.gt if not track.crowd]
        return [
            any(t < len(k.frames) and k.frames[t] is not None for k in tracks)
            for t in range(length)
        ]

    def method_layers(self, method: MethodScene, t: int) -> list[Drawn]:
        """A method's layers of frame t, the best score drawn last: its predictions (keyed
        `pred-<position>`, a false positive outlined and captioned in the header's orange) and
        the GT tracks it missed (`missed-<slot>`, dashed red)."""
        marks = method.marks[t] if method.marks else None
        out = []
        for p in reversed(range(len(method.predictions))):
            track = method.predictions[p]
            mask = self._mask(track.frames[t] if t < len(track.frames) else None)
            if mask is None:
                continue
            wrong = marks is not None and p in marks.false_positives
            caption = ("FP " if wrong else "") + track.caption
            mark = WARNING if wrong else None  # the header's colour of false positives
            layer = Layer(mask, track.colour, caption, caption_colour=mark, outline_colour=mark)
            out.append((f"pred-{p}", self._focused(layer, track.slot), track.slot))
        for slot in marks.missed if marks is not None else ():
            if self.focus is not None and slot != self.focus:
                continue
            mask = self._gt_mask(slot, t)
            if mask is not None:
                layer = Layer(mask, ERROR, f"missed #{slot}", fill=False, dashed=True)
                out.append((f"missed-{slot}", layer, slot))
        return out

    def method_header(self, method: MethodScene, t: int) -> tuple[list[tuple[str, RGB]], list[RGB]]:
        """A method column's status line of frame t and its timeline."""
        marks = method.marks[t] if method.marks else None
        timeline = [STATUS_COLOURS[m.status] for m in method.marks] if self.scene.gt else []
        return _status(t, marks), timeline

    def _method_panel(self, method: MethodScene, t: int, image: np.ndarray) -> np.ndarray:
        layers = [layer for _, layer, _ in self.method_layers(method, t)]
        status, timeline = self.method_header(method, t)
        return draw_panel(image, layers, self.style, method.label, status, timeline, t)

    def _focused(self, layer: Layer, slot: int | None) -> Layer:
        """The layer as drawn under `focus`: a track other than the focused one is a bare
        outline without caption."""
        if self.focus is None or slot == self.focus:
            return layer
        return Layer(layer.mask, layer.colour, None, fill=False)

    def panels(self, t: int) -> list[np.ndarray]:
        """The panels of frame t, left to right (GT first when there is GT)."""
        image = self.frame_image(t)
        out = [self._gt_panel(t, image)] if self.scene.gt is not None else []
        return out + [self._method_panel(m, t, image) for m in self.scene.methods]

    def row(self, t: int) -> np.ndarray:
        """Frame t's panels side by side."""
        return _side_by_side(self.panels(t))

    def animation(self, frames: list[int] | None = None) -> list[np.ndarray]:
        """One row per frame (all frames by default)."""
        frames = range(self.scene.video.length) if frames is None else frames
        return [self.row(t) for t in frames]

    def sheet(self, frames: list[int]) -> np.ndarray:
        """A contact sheet: a title bar, one row per frame in `frames` (a grid of frames when
        there is one column), and a legend of the marks."""
        rows = [self.row(t) for t in frames]
        if len(self.columns) == 1 and len(rows) > 1:
            rows = _grid(rows, per_row=min(SHEET_GRID, len(rows)))
        width = rows[0].shape[1] if rows else self.style.width
        pieces = [_title_bar(self._title(), width, self.style.text)]
        for row in rows:
            pieces += [np.full((GAP, width, 3), BACKGROUND, dtype=np.uint8), row]
        pieces.append(legend_bar(width, self.style.text, with_gt=self.scene.gt is not None))
        return np.concatenate(pieces, axis=0)

    def _title(self) -> str:
        if self.title is not None:
            return self.title
        video = self.scene.video
        return (
            f"video {video.name} (id {video.id}), {video.width}x{video.height}, "
            f"{video.length} frames; predictions with score >= {self.scene.score_threshold:g}, "
            f"at most {self.scene.top} per method"
        )


def _status(t: int, marks: FrameMarks | None) -> list[tuple[str, RGB]]:
    """The header's second line: frame index, then what went wrong in this frame."""
    status: list[tuple[str, RGB]] = [(f"frame {t}", HEADER_TEXT)]
    if marks is None:
        return status
    if marks.missed:
        status.append(("missed " + " ".join(f"#{s}" for s in marks.missed), ERROR))
    if marks.false_positives:
        status.append((f"FP {len(marks.false_positives)}", WARNING))
    if marks.switches:
        status.append(("ID switch " + " ".join(f"#{s}" for s in marks.switches), ERROR))
    if len(status) == 1:
        status.append(("all found" if marks.has_gt else "no GT", GOOD if marks.has_gt else NEUTRAL))
    return status


def _side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    height = panels[0].shape[0]
    gap = np.full((height, GAP, 3), BACKGROUND, dtype=np.uint8)
    pieces = [panels[0]]
    for panel in panels[1:]:
        pieces += [gap, panel]
    return np.concatenate(pieces, axis=1)


def _grid(panels: list[np.ndarray], per_row: int) -> list[np.ndarray]:
    """Panels of one column laid out `per_row` to a row (the last row padded)."""
    blank = np.full_like(panels[0], BACKGROUND)
    rows = []
    for start in range(0, len(panels), per_row):
        chunk = panels[start : start + per_row]
        rows.append(_side_by_side(chunk + [blank] * (per_row - len(chunk))))
    return rows


def _wrapped(draw: ImageDraw.ImageDraw, text: str, width: int, font) -> list[str]:
    """`text` broken at spaces into lines of at most `width` pixels."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _title_bar(text: str, width: int, size: int) -> np.ndarray:
    font = panel_font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = [
        fitted(probe, line, width - 12, font) for line in _wrapped(probe, text, width - 12, font)
    ]
    bar = Image.new("RGB", (width, len(lines) * (size + 4) + 8), BACKGROUND)
    draw = ImageDraw.Draw(bar)
    for i, line in enumerate(lines):
        draw.text((6, 4 + i * (size + 4)), line, fill=HEADER_TEXT, font=font)
    return np.asarray(bar)


#: what the contact sheet's legend explains: (mark, text), mark drawn by `_swatch`
LEGEND_GT = (
    ("fill", "prediction, in the colour of the GT track it matches"),
    ("fp", "FP: a prediction matching no GT track in this frame"),
    ("missed", "missed #k: GT track k matched by no prediction in this frame"),
    ("timeline", "timeline: every track found / a track missed / FP only / no GT"),
)
LEGEND_PLAIN = (("fill", "a predicted track in its own colour: category and score"),)


def _swatch(draw: ImageDraw.ImageDraw, kind: str, x: int, y: int, size: int) -> int:
    """Draw one legend mark at (x, y); returns its width."""
    line = max(1, size // 8)
    if kind == "timeline":
        cells = (STATUS_COLOURS["ok"], STATUS_COLOURS["miss"], STATUS_COLOURS["fp"])
        for i, fill in enumerate((*cells, STATUS_COLOURS["none"])):
            draw.rectangle(
                (x + i * size // 2, y + size // 3, x + (i + 1) * size // 2 - 2, y + size - 2),
                fill=fill,
            )
        return 2 * size
    box = (x, y, x + size, y + size - 1)
    if kind == "fill":
        draw.rectangle(box, fill=(31, 119, 255), outline=(31, 119, 255), width=line)
    elif kind == "fp":
        draw.rectangle(box, fill=(186, 85, 255), outline=WARNING, width=line + 1)
    else:  # a dashed red outline
        for i in range(0, size, 4 * line):
            for a, b in (
                ((x + i, y), (x + i + 2 * line, y)),
                ((x + i, y + size - 1), (x + i + 2 * line, y + size - 1)),
            ):
                draw.line((a, b), fill=ERROR, width=line)
            for a, b in (
                ((x, y + i), (x, y + i + 2 * line)),
                ((x + size, y + i), (x + size, y + i + 2 * line)),
            ):
                draw.line((a, b), fill=ERROR, width=line)
    return size


def legend_bar(width: int, size: int, with_gt: bool = True) -> np.ndarray:
    """The marks of the pictures explained, left to right, wrapped to `width`."""
    font = panel_font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    entries = LEGEND_GT if with_gt else LEGEND_PLAIN
    placed, x, y = [], 6, 6
    for kind, text in entries:
        step = (
            (2 * size if kind == "timeline" else size)
            + 6
            + int(probe.textlength(text, font=font))
            + 18
        )
        if x > 6 and x + step > width:
            x, y = 6, y + size + 8
        placed.append((kind, text, x, y))
        x += step
    bar = Image.new("RGB", (width, y + size + 8), BACKGROUND)
    draw = ImageDraw.Draw(bar)
    for kind, text, x, y in placed:
        mark = _swatch(draw, kind, x, y, size)
        draw.text((x + mark + 6, y), text, fill=HEADER_TEXT, font=font)
    return np.asarray(bar)

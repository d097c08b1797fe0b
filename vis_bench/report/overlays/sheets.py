"""Panels side by side: the ground truth, then one column per method, frame by frame.

`SceneRenderer` turns a `VideoScene` into pictures: one row of panels per frame (an animation's
frame), a contact sheet of evenly spaced frames (one row per frame, a title bar on top), and per
column a vertical strip of frames (what the HTML report plays). Every panel of a scene has the
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
#: the timeline's colour of a frame, by `FrameMarks.status`
STATUS_COLOURS: dict[str, RGB] = {"miss": ERROR, "fp": WARNING, "ok": GOOD, "none": (70, 70, 70)}
#: the panel's longer side by default (`show --panel-size`)
DEFAULT_PANEL_SIZE = 480


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

    def _image(self, t: int) -> np.ndarray:
        frame = self.read_frame(t)
        if frame.shape[:2] == (self.style.height, self.style.width):
            return frame
        resized = Image.fromarray(frame).resize(
            (self.style.width, self.style.height), Image.Resampling.BILINEAR
        )
        return np.asarray(resized)

    def _gt_panel(self, t: int, image: np.ndarray) -> np.ndarray:
        layers = []
        for track in self.scene.gt:
            mask = self._gt_mask(track.slot, t)
            if mask is not None:
                fill = NEUTRAL if track.crowd else track.colour
                layers.append(self._focused(Layer(mask, fill, track.caption), track.slot))
        visible = sum(1 for track in self.scene.gt if self._gt_mask(track.slot, t) is not None)
        timeline = [STATUS_COLOURS["ok" if seen else "none"] for seen in self._gt_visible()]
        status = [(f"frame {t}", HEADER_TEXT), (f"{visible} visible", NEUTRAL)]
        return draw_panel(image, layers, self.style, "ground truth", status, timeline, t)

    def _gt_visible(self) -> list[bool]:
        """Per frame: whether a non-crowd GT track is visible (the GT column's timeline)."""
        length = self.scene.video.length
        tracks = [track for track in self.scene.gt if not track.crowd]
        return [
            any(t < len(k.frames) and k.frames[t] is not None for k in tracks)
            for t in range(length)
        ]

    def _method_panel(self, method: MethodScene, t: int, image: np.ndarray) -> np.ndarray:
        marks = method.marks[t] if method.marks else None
        layers = []
        for p in reversed(range(len(method.predictions))):  # the best score drawn last
            track = method.predictions[p]
            mask = self._mask(track.frames[t] if t < len(track.frames) else None)
            if mask is None:
                continue
            wrong = marks is not None and p in marks.false_positives
            caption = ("FP " if wrong else "") + track.caption
            layer = Layer(mask, track.colour, caption, caption_colour=ERROR if wrong else None)
            layers.append(self._focused(layer, track.slot))
        for slot in marks.missed if marks is not None else ():
            if self.focus is not None and slot != self.focus:
                continue
            mask = self._gt_mask(slot, t)
            if mask is not None:
                layers.append(Layer(mask, ERROR, f"missed #{slot}", fill=False, dashed=True))
        timeline = [STATUS_COLOURS[m.status] for m in method.marks] if self.scene.gt else []
        return draw_panel(image, layers, self.style, method.label, _status(t, marks), timeline, t)

    def _focused(self, layer: Layer, slot: int | None) -> Layer:
        """The layer as drawn under `focus`: a track other than the focused one is a bare
        outline without caption."""
        if self.focus is None or slot == self.focus:
            return layer
        return Layer(layer.mask, layer.colour, None, fill=False)

    def panels(self, t: int) -> list[np.ndarray]:
        """The panels of frame t, left to right (GT first when there is GT)."""
        image = self._image(t)
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
        """A contact sheet: a title bar, then one row per frame in `frames`."""
        rows = [self.row(t) for t in frames]
        width = rows[0].shape[1] if rows else self.style.width
        title = _title_bar(self._title(), width, self.style.text)
        pieces = [title]
        for row in rows:
            pieces += [np.full((GAP, width, 3), BACKGROUND, dtype=np.uint8), row]
        return np.concatenate(pieces, axis=0)

    def strips(self, frames: list[int]) -> list[np.ndarray]:
        """Per column, its panels of `frames` stacked top to bottom (the HTML report's player)."""
        per_frame = [self.panels(t) for t in frames]
        return [np.concatenate(column, axis=0) for column in zip(*per_frame, strict=True)]

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


def _title_bar(text: str, width: int, size: int) -> np.ndarray:
    font = panel_font(size)
    bar = Image.new("RGB", (width, size + 10), BACKGROUND)
    draw = ImageDraw.Draw(bar)
    draw.text((6, 4), fitted(draw, text, width - 12, font), fill=HEADER_TEXT, font=font)
    return np.asarray(bar)

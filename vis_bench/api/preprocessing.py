"""How frames become a method's input, declared as data (timm's pretrained config, for video).

Methods differ in the resize they were trained and evaluated with, and the difference is visible
in AP, so each declares its own rule and the harness applies it. Two rules reproduce the
authors' pipelines:
* `antialias` (methods built on torchvision transforms): torchvision-0.8 `Resize(shorter_side)` on a PIL image: the
  longer side becomes `int(shorter_side * long / short)`; bilinear with antialiasing, rounded back
  to uint8; no cap on the longer side;
* `pil-bilinear` (methods built on detectron2): detectron2's `ResizeShortestEdge`: scale the shorter side, cap the longer
  side at `max_size`, round each side with `int(x + 0.5)`, resize with PIL's bilinear filter.
Then pixels are divided by `pixel_divisor` (255 when mean/std are given for [0, 1]), put in
`channel_order` and normalised with mean/std given in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

RESIZE_RULES = ("antialias", "pil-bilinear")


@dataclass(frozen=True)
class Preprocessing:
    """A method's test-time preprocessing; `shorter_side` is its published test resolution."""

    shorter_side: int
    resize: str = "antialias"
    max_size: int | None = None
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    #: divides uint8 pixels before normalising (255: mean/std are given for [0, 1])
    pixel_divisor: float = 255.0
    channel_order: str = "RGB"
    #: the model pads its input to a multiple of this itself (documentation for users)
    size_divisibility: int = 1

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_RULES:
            raise ValueError(f"resize must be one of {RESIZE_RULES}, got {self.resize!r}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be RGB or BGR, got {self.channel_order!r}")

    def output_size(
        self, height: int, width: int, shorter_side: int | None = None
    ) -> tuple[int, int]:
        """(height, width) after resizing a frame of the given size."""
        short = int(shorter_side or self.shorter_side)
        if self.resize == "antialias":
            if min(height, width) == short:
                return height, width
            if width < height:
                return int(short * height / width), short
            return short, int(short * width / height)
        scale = short / min(height, width)
        new_h, new_w = (short, scale * width) if height < width else (scale * height, short)
        if self.max_size is not None and max(new_h, new_w) > self.max_size:
            cap = self.max_size / max(new_h, new_w)
            new_h, new_w = new_h * cap, new_w * cap
        return int(new_h + 0.5), int(new_w + 0.5)

    def resize_frames(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 [T, 3, H, W] -> uint8 [T, 3, h, w] by this rule."""
        height, width = frames.shape[-2:]
        size = self.output_size(height, width, shorter_side)
        if size == (height, width):
            return frames
        if self.resize == "antialias":
            resized = F.interpolate(
                frames.float(), size=size, mode="bilinear", align_corners=False, antialias=True
            )
            return resized.round().clamp(0, 255).to(torch.uint8)
        return _pil_bilinear(frames, size)

    def __call__(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 RGB frames [T, 3, H, W] -> the normalised float input [T, 3, h, w]."""
        return self.normalise(self.resize_frames(frames, shorter_side))

    def normalise(self, frames: torch.Tensor) -> torch.Tensor:
        """Resized uint8 frames [T, 3, h, w] -> the normalised float input (a timing protocol
        that leaves resizing outside its timer times this part alone)."""
        x = frames.float()
        if self.pixel_divisor != 1:
            # by a tensor: IEEE division on every device (a GPU multiplies by the reciprocal of a
            # Python number, one bit off the CPU's quotient), the CPU's result unchanged
            x = x / x.new_tensor(self.pixel_divisor)
        if self.channel_order == "BGR":
            x = x.flip(1)
        mean = x.new_tensor(self.mean).view(1, 3, 1, 1)
        std = x.new_tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std


def _pil_bilinear(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PIL's bilinear resize of each uint8 frame (what detectron2's transform calls)."""
    from PIL import Image

    height, width = size
    out = []
    for frame in frames:
        array = frame.permute(1, 2, 0).cpu().numpy().astype(np.uint8)
        array = np.asarray(Image.fromarray(array).resize((width, height), Image.BILINEAR))
        out.append(torch.from_numpy(array.copy()).permute(2, 0, 1))
    return torch.stack(out)

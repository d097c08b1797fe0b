"""Training clips: which frames a clip takes, the clip-level augmentation, and its targets.

Methods train on short clips cut from the training videos; which frames a clip takes is the
method's own rule (its spec's `frame_sampler`). Clips are flipped, rescaled and (optionally)
recoloured as a whole and drop instances that appear in none of its frames. Targets are built
once here, in one layout, and each method's criterion derives what it needs (boxes, masks at its
own stride) from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vis_bench.api.training import ABSENT_BOX, ClipTargets, FrameSampler
from vis_bench.data.dataset import VideoDataset
from vis_bench.data.videos import Video
from vis_bench.errors import InputError


@dataclass
class TrainingClip:
    video_id: int
    frame_indices: list[int]
    frames: torch.Tensor  # uint8 [T, 3, H, W]
    targets: ClipTargets


def sample_frame_indices(
    rng: np.random.Generator,
    length: int,
    num_frames: int,
    sampler: FrameSampler,
    reference: int | None = None,
) -> list[int]:
    """Sorted frame indices of one training clip around a reference frame drawn uniformly
    (unless given), picked by the method's sampler (repeats are possible, as in the authors')."""
    if length < 1 or num_frames < 1:
        raise ValueError(f"need a non-empty video and clip, got {length=} {num_frames=}")
    ref = int(rng.integers(length)) if reference is None else reference
    return sampler(rng, length, num_frames, ref)


def choose_scale(
    rng: np.random.Generator, height: int, width: int, scales: Sequence[int], max_size: int | None
) -> tuple[int, int]:
    """(height, width) with the shorter side drawn from `scales`, the longer capped at max_size."""
    short = int(scales[int(rng.integers(len(scales)))])
    factor = short / min(height, width)
    if max_size is not None and max(height, width) * factor > max_size:
        factor = max_size / max(height, width)
    return max(1, round(height * factor)), max(1, round(width * factor))


def build_clip(
    dataset: VideoDataset,
    video: Video,
    indices: Sequence[int],
    size: tuple[int, int] | None = None,
    flip: bool = False,
) -> TrainingClip:
    """Decode the frames and targets of `indices`, resized to `size` (h, w) and maybe flipped."""
    frames = torch.from_numpy(dataset.frames(video, list(indices))).permute(0, 3, 1, 2)
    height, width = video.height, video.width
    out_h, out_w = size or (height, width)
    labels, masks, boxes, valid = [], [], [], []
    for ann in video.annotations:
        if ann.iscrowd:
            continue
        seen = [ann.visible(t) for t in indices]
        if not any(seen):
            continue
        track = np.zeros((len(indices), height, width), dtype=np.uint8)
        track_boxes = np.zeros((len(indices), 4), dtype=np.float32)  # x0, y0, x1, y1 pixels
        for i, t in enumerate(indices):
            if not seen[i]:
                continue
            track[i] = ann.mask(t)
            track_boxes[i] = _xyxy(ann, t, track[i])
        labels.append(ann.category_id)
        masks.append(torch.from_numpy(track))
        boxes.append(torch.from_numpy(track_boxes))
        valid.append(torch.tensor(seen))
    frames = _resize_frames(frames, out_h, out_w, flip)
    t = len(indices)
    if not labels:  # nothing visible in these frames: the trainer draws another clip
        targets = ClipTargets(
            torch.zeros(0, dtype=torch.int64),
            torch.zeros((0, t, out_h, out_w)),
            torch.zeros((0, t, 4)),
            torch.zeros((0, t), dtype=torch.bool),
        )
        return TrainingClip(video.id, list(indices), frames, targets)
    mask_t = torch.stack(masks).float()  # [N, T, H, W]
    box_t = torch.stack(boxes)  # [N, T, 4]
    valid_t = torch.stack(valid)
    if (out_h, out_w) != (height, width):
        mask_t = F.interpolate(mask_t, size=(out_h, out_w), mode="nearest")
        box_t = box_t * box_t.new_tensor([out_w / width, out_h / height] * 2)
    if flip:
        mask_t = mask_t.flip(-1)
        box_t = torch.stack(
            [out_w - box_t[..., 2], box_t[..., 1], out_w - box_t[..., 0], box_t[..., 3]], -1
        )
    box_t[..., 0::2] = box_t[..., 0::2].clamp(0, out_w)
    box_t[..., 1::2] = box_t[..., 1::2].clamp(0, out_h)
    cxcywh = torch.stack(
        [
            (box_t[..., 0] + box_t[..., 2]) / 2 / out_w,
            (box_t[..., 1] + box_t[..., 3]) / 2 / out_h,
            (box_t[..., 2] - box_t[..., 0]) / out_w,
            (box_t[..., 3] - box_t[..., 1]) / out_h,
        ],
        -1,
    )
    cxcywh = torch.where(valid_t[..., None], cxcywh, torch.zeros_like(cxcywh)).clamp(min=ABSENT_BOX)
    targets = ClipTargets(torch.tensor(labels, dtype=torch.int64), mask_t, cxcywh, valid_t)
    return TrainingClip(video.id, list(indices), frames, targets)


def recoloured(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """uint8 [..., 3, H, W] with its colour channels in a random order, each inverted with
    probability 1/2 (one draw for all the images: a clip keeps one look). The synthetic objects'
    colours are drawn per instance and carry no category, so this keeps their shape and texture
    and takes away what would let a network remember the training split's instances."""
    images = images[..., torch.from_numpy(rng.permutation(3)), :, :]
    invert = torch.from_numpy(rng.random(3) < 0.5)[:, None, None]
    return torch.where(invert, 255 - images, images)


def _xyxy(ann, t: int, mask: np.ndarray) -> np.ndarray:
    """The annotation's own box (x, y, w, h) of frame t as corners, or the mask's extent."""
    bbox = ann.bboxes[t] if ann.bboxes is not None and t < len(ann.bboxes) else None
    if bbox is not None:
        x, y, w, h = (float(v) for v in bbox)
        return np.array([x, y, x + w, y + h], dtype=np.float32)
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return np.zeros(4, dtype=np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


def _resize_frames(frames: torch.Tensor, height: int, width: int, flip: bool) -> torch.Tensor:
    """uint8 [T, 3, H, W] -> uint8 at (height, width) (bilinear, antialiased), maybe flipped."""
    if frames.shape[-2:] != (height, width):
        frames = F.interpolate(
            frames.float(),
            size=(height, width),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        frames = frames.round().clamp(0, 255).to(torch.uint8)
    return frames.flip(-1) if flip else frames


def check_trainable(dataset: VideoDataset, source: str) -> None:
    """Training needs annotated videos: say which file lacks them."""
    if not dataset.has_annotations or not any(v.annotations for v in dataset.videos):
        raise InputError(
            "no annotations to train on (a test split?); give a training split",
            path=source,
            field="annotations",
        )

"""SAM 3's video model: the detector and the tracker under one module named as the released
checkpoint (`detector.*`, `tracker.*`), and the VIS protocol on a video: every text prompt gets
the authors' pass (`add_prompt` on frame 0, then frames 0..T-1), all passes advanced frame by
frame so each frame's backbone runs once for every prompt (the passes are independent, so the
results are those of separate passes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vis_bench.methods.sam3.detector import Detector, DetectorSizes
from vis_bench.methods.sam3.text_encoder import TextFeatures
from vis_bench.methods.sam3.tracker import FrameFeatures, Tracker, TrackerSizes
from vis_bench.methods.sam3.video_detections import (
    NMS_IOU_THRESHOLD,
    FrameDetections,
    frame_detections,
    preprocess_video_frames,
)
from vis_bench.methods.sam3.video_inference import (
    EncodedOutput,
    PromptRun,
    VideoMasklet,
    encode_output,
    encoded_masklets,
)
from vis_bench.methods.sam3.video_outputs import FrameOutput, OutputBuffer, postprocess
from vis_bench.methods.sam3.video_step import (
    FrameResult,
    PromptPass,
    VideoSettings,
    step_passes,
)

#: what a pass reads of one frame: the tracker's features and each prompt's detections
FrameInputs = tuple[FrameFeatures, list[FrameDetections]]


@dataclass(frozen=True)
class VideoRun:
    """Each prompt's pass and the video's masklets for the evaluator."""

    runs: list[PromptRun]
    masklets: list[VideoMasklet]
    #: objects in the tracker's states after each frame's step, over all prompts
    objects_per_frame: list[int]


class Sam3VideoModel(nn.Module):
    """uint8 frames and tokenized prompts -> `VideoRun`."""

    def __init__(self, detector: DetectorSizes, tracker: TrackerSizes) -> None:
        super().__init__()
        self.detector = Detector(detector)
        self.tracker = Tracker(tracker)

    def frame_inputs(
        self,
        image: torch.Tensor,
        words: TextFeatures,
        threshold: float,
        batch: int = 0,
        nms_iou: float = NMS_IOU_THRESHOLD,
    ) -> FrameInputs:
        """One preprocessed frame (1, 3, S, S): the tracker's features and every prompt's
        detections (after mask NMS at IoU `nms_iou` and the score threshold); all that a pass
        reads of the frame, so it can be computed as the frame arrives. The detector runs
        `batch` prompts at a time (0: all at once)."""
        vision = self.detector.backbone.vision_backbone(image)
        features = self.tracker.frame_features(vision.tracker, vision.positions)
        detections = []
        for chunk in prompt_chunks(words.padding_mask.shape[0], batch):
            out = self.detector.detect(vision, words.select(chunk))
            detections += [
                frame_detections(
                    out.pred_logits[p],
                    out.pred_boxes_xyxy[p],
                    out.pred_masks[p],
                    threshold,
                    nms_iou,
                )
                for p in range(out.pred_logits.shape[0])
            ]
        return features, detections

    def encode_prompts(self, tokens: torch.Tensor) -> TextFeatures:
        """Prompt tokens (P, context) -> the text features every frame's detector reads."""
        device = next(self.parameters()).device
        return self.detector.backbone.language_backbone(tokens.to(device))

    @torch.no_grad()
    def run(
        self,
        frames: np.ndarray,
        tokens: torch.Tensor,
        labels: list[int],
        settings: VideoSettings | None = None,
    ) -> VideoRun:
        """uint8 frames (T, H, W, 3) and prompt tokens (P, context) with the category id of
        each prompt -> every pass and the masklets."""
        size = self.detector.backbone.vision_backbone.trunk.sizes.image
        images = preprocess_video_frames(frames, size)
        video_size = (int(frames.shape[1]), int(frames.shape[2]))
        return self.run_images(images, video_size, tokens, labels, settings)

    @torch.no_grad()
    def run_images(
        self,
        images: torch.Tensor,
        video_size: tuple[int, int],
        tokens: torch.Tensor,
        labels: list[int],
        settings: VideoSettings | None = None,
    ) -> VideoRun:
        """`run` from frames already preprocessed (T, 3, S, S) float16, as the authors' loader
        holds a video, and the video's (H, W); each frame's inputs made as its step needs them."""
        settings = settings or VideoSettings()
        device = next(self.parameters()).device
        words = self.encode_prompts(tokens)
        threshold = settings.score_threshold_detection
        inputs = (
            self.frame_inputs(
                images[t : t + 1].float().to(device),
                words,
                threshold,
                settings.prompt_batch,
                settings.det_nms_thresh,
            )
            for t in range(images.shape[0])
        )
        return self.run_frames(inputs, images.shape[0], video_size, labels, settings)

    @torch.no_grad()
    def run_frames(
        self,
        frames: Iterable[FrameInputs],
        num_frames: int,
        video_size: tuple[int, int],
        labels: list[int],
        settings: VideoSettings | None = None,
        keep_steps: bool = True,
    ) -> VideoRun:
        """Every prompt's pass from each frame's inputs (`frame_inputs`, in frame order) and
        the video's length and (H, W). Each frame's output is encoded as RLE when it is
        yielded; `keep_steps` also keeps every step and output (the parity checks read them),
        whose masks at video size grow with objects x frames."""
        settings = settings or VideoSettings()
        remaining = iter(frames)
        passes = [PromptPass(self.tracker, num_frames, video_size, settings) for _ in labels]
        chunks = prompt_chunks(len(passes), settings.prompt_batch)
        first = next(remaining)
        added = _step_chunks(passes, chunks, 0, first)
        delay = settings.hotstart.hotstart_delay
        buffers = [OutputBuffer(delay, num_frames - 1, video_size) for _ in labels]
        steps: list[list[FrameResult]] = [
            [added[k]] if keep_steps else [] for k in range(len(labels))
        ]
        outputs: list[list[FrameOutput]] = [[] for _ in labels]
        encoded: list[list[EncodedOutput]] = [[] for _ in labels]
        objects = []
        for t in range(num_frames):
            results = _step_chunks(passes, chunks, t, first if t == 0 else next(remaining))
            for k, result in enumerate(results):
                ready = buffers[k].push(result)
                encoded[k] += [encode_output(out) for out in ready]
                if keep_steps:
                    steps[k].append(result)
                    outputs[k] += ready
            objects.append(sum(len(s.obj_ids) for p in passes for s in p.states))
        scores = [dict(p.masklets.scores) for p in passes]
        runs = [
            PromptRun(postprocess(added[k], set(), video_size), steps[k], outputs[k], scores[k])
            for k in range(len(labels))
        ]
        masklets = encoded_masklets(encoded, scores, labels, num_frames, video_size)
        return VideoRun(runs, masklets, objects)


def prompt_chunks(count: int, batch: int) -> list[range]:
    """Prompts 0..count-1 in consecutive groups of `batch` (0: one group of all)."""
    size = batch if batch > 0 else max(count, 1)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def _step_chunks(
    passes: list[PromptPass], chunks: list[range], frame: int, inputs: FrameInputs
) -> list[FrameResult]:
    """One frame of every pass, each chunk of passes stepped as one batch."""
    features, detections = inputs
    results: list[FrameResult] = []
    for chunk in chunks:
        group = [passes[k] for k in chunk]
        results += step_passes(group, frame, [detections[k] for k in chunk], features)
    return results

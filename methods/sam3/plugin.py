"""The `sam3` method: SAM 3's video model run as a VIS method, every category name of the label
space a text prompt, with the authors' evaluation protocol (`Sam3VideoInference.forward`: one
pass per prompt over the whole video, each masklet labelled with its prompt's category and
scored with its birth detection probability).

The harness runs it as a `WholeVideoRefinement`: the authors' passes need the video's length
from the start (the tracker's object-pointer count and their temporal encoding are bounded by
it, and outputs are released `hotstart_delay` frames late, the rest at the last frame), which a
clip does not know. So each clip computes what the passes read of its new frames (preprocessed
as the authors' loader does: the backbone once per frame, every prompt's detections, the
tracker's features) and adds it to the video's state; at the video's end `refine_video` runs
every prompt's pass over them (`Sam3VideoModel.run_frames`) and keeps the `max_masklets` best
masklets; the second pass hands their masks (at the video's size, held as RLE while the
passes run) to the harness. The frames arrive at the video's size (`preprocess` passes them
through) because the masklets are made at that size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vis_bench.api import (
    ClipResult,
    InputError,
    MethodPlugin,
    MethodSpec,
    Preprocessing,
    WholeVideoRefinement,
    register_method,
)
from vis_bench.api.checkpoints import CheckpointContents, LoadSummary
from vis_bench.api.prompts import PromptLoad
from vis_bench.api.refinement import VideoRefinement
from vis_bench.methods.sam3 import hf_layout
from vis_bench.methods.sam3.masklet_masks import MaskletMasks
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.text_encoder import TextFeatures
from vis_bench.methods.sam3.timing import AUTHORS_TIMING
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.tracker import FrameFeatures
from vis_bench.methods.sam3.variants import HOW_TO_OBTAIN, RELEASE_FILE, VARIANTS
from vis_bench.methods.sam3.video_detections import FrameDetections, preprocess_video_frames
from vis_bench.methods.sam3.video_inference import VideoMasklet
from vis_bench.methods.sam3.video_model import FrameInputs, Sam3VideoModel

SUMMARY = "SAM 3: concept-prompted detector and memory tracker, every category name a prompt"
REFERENCE = "facebookresearch/sam3 @ 99d02f28 (sam3/model/sam3_video_inference.py)"
NOTES = (
    "frames resized to the model's square (PIL bicubic, aspect ratio not kept) and normalised "
    "in float16 inside the method's call; masklet score = its birth detection probability; "
    "at most max_masklets per video"
)
#: the detector's parts that run once per prompt (FLOPs split: `per_prompt_modules`)
PER_PROMPT_DETECTOR_PARTS = (
    "transformer",
    "segmentation_head",
    "dot_prod_scoring",
)
#: the mask logit the second pass gives a masklet's pixels (its background gets the negative)
MASK_LOGIT = 1.0


@dataclass
class HeldVideo:
    """What the passes read of a video's frames so far, its prompts' features and its size."""

    video_size: tuple[int, int]
    words: TextFeatures
    frames: list[FrameInputs] = field(default_factory=list)


@register_method("sam3")
class Sam3Plugin(MethodPlugin):
    """SAM 3's video model with the authors' VIS protocol (see the module docstring)."""

    spec = MethodSpec(
        name="sam3",
        summary=SUMMARY,
        options=Sam3Options,
        preprocessing=Preprocessing(shorter_side=1008, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        reference=REFERENCE,
        notes=NOTES,
        checkpoint_signature=(
            r"^detector\.backbone\.vision_backbone\.trunk\.",
            r"^tracker\.sam_mask_decoder\.",
        ),
        checkpoint_constants=hf_layout.CHECKPOINT_CONSTANTS,
        linking=WholeVideoRefinement(),
        prompt_categories_option="categories",
        prompt_count_option="max_prompts",
        variants=VARIANTS,
        timing_protocol=AUTHORS_TIMING,
    )

    @classmethod
    def create(cls, options: Sam3Options) -> Sam3Plugin:
        plugin = cls()
        plugin.options = options
        plugin.model = Sam3VideoModel(options.detector_sizes(), options.tracker_sizes()).eval()
        plugin.tokenizer = Tokenizer(options.context)
        plugin.prompts, plugin.category_ids = options.prompt_texts()
        plugin.objects_per_frame = []
        return plugin

    @property
    def preprocessing(self) -> Preprocessing:
        side = self.options.image
        return Preprocessing(shorter_side=side, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 frames [T, 3, H, W] as they are: the call resizes them to the model's square
        and keeps the video's size, at which the masklets are made."""
        side = self.options.image
        if shorter_side is not None and int(shorter_side) != side:
            raise InputError(
                f"SAM 3 runs at its square input side {side} (options.image, fixed by its "
                f"position tables), not at resolution {shorter_side}: set the sweep's "
                "resolution to null or to options.image",
                field="sweep.resolution",
            )
        return frames

    def backbone_name(self) -> str:
        return f"ViT {self.options.vit_dim}x{self.options.vit_depth}"

    def flops_modules(self) -> list[str]:
        return ["detector.backbone.vision_backbone", "detector.backbone.language_backbone"]

    def per_prompt_modules(self) -> list[str]:
        """The detector's prompt-conditioned parts, run for every prompt on every frame (the
        backbone, the text encoder, the geometry encoder's image-only CLS token and the tracker's
        frame features are shared)."""
        return [f"detector.{name}" for name in PER_PROMPT_DETECTOR_PARTS]

    def prompt_count(self) -> int:
        return len(self.prompts)

    def load_checkpoint(
        self, checkpoint: str | CheckpointContents, strict: bool = True
    ) -> LoadSummary:
        """The default strict load by name; a missing file says how to obtain the release."""
        if isinstance(checkpoint, str) and not Path(checkpoint).expanduser().exists():
            raise InputError(
                f"checkpoint not found: {checkpoint}. SAM 3's released weights ({RELEASE_FILE}) "
                f"are gated: {HOW_TO_OBTAIN}",
                field="checkpoint",
            )
        return super().load_checkpoint(checkpoint, strict)

    @classmethod
    def foreign_checkpoint(cls, contents: CheckpointContents) -> CheckpointContents | None:
        """A Transformers `Sam3VideoModel` file in the authors' keys (hf_layout.py)."""
        return hf_layout.convert(contents)

    def infer_clip(
        self, frames: torch.Tensor, *, state: HeldVideo | None = None, seen: int = 0
    ) -> ClipResult:
        """The clip's new frames (uint8 [T, 3, H, W]): their backbone, every prompt's detections
        and the tracker's features join the video's state; nothing is predicted before the
        video's end."""
        model = self.model
        device = next(model.parameters()).device
        threshold = self.options.score_threshold_detection
        batch = self.options.prompt_batch
        with torch.no_grad():
            if state is None:
                words = model.encode_prompts(self.tokenizer(self.prompts))
                state = HeldVideo((int(frames.shape[-2]), int(frames.shape[-1])), words)
            new = np.ascontiguousarray(frames[seen:].permute(0, 2, 3, 1).cpu().numpy())
            with torch.autocast("cpu", enabled=False):  # the loader's float16, as the authors'
                images = preprocess_video_frames(new, self.options.image) if len(new) else []
            for image in images:
                inputs = model.frame_inputs(
                    image[None].float().to(device),
                    state.words,
                    threshold,
                    batch,
                    self.options.det_nms_thresh,
                )
                state.frames.append(float32_inputs(inputs))
        empty = torch.zeros(0)
        return ClipResult(scores=empty, labels=empty.long(), masks=empty, state=state)

    def refine_video(self, state: HeldVideo) -> VideoRefinement:
        """Every prompt's pass over the whole video; the best `max_masklets` masklets."""
        frames, state.frames = state.frames, []
        run = self.model.run_frames(
            frames,
            len(frames),
            state.video_size,
            list(self.category_ids),
            self.options.video_settings(),
            keep_steps=False,
        )
        del frames
        self.objects_per_frame += run.objects_per_frame
        chosen = best_masklets(run.masklets, int(self.options.max_masklets))
        predictions = [(slot, m.label, clamped_score(m.score)) for slot, m in chosen.items()]
        return VideoRefinement(predictions, data={slot: m.held for slot, m in chosen.items()})

    def prompt_load(self) -> PromptLoad:
        """Its prompts, and the objects in its tracker states after each frame's step (all
        prompts' passes together) of every video since it was built."""
        return PromptLoad(len(self.prompts), tuple(self.objects_per_frame))

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The chosen masklets' masks on `frame_indices` as logits (+-1) at the video's size."""
        h, w = frames.shape[-2:]
        held: dict[int, MaskletMasks] = refinement.data
        rows = [held[slot].dense(frame_indices) for slot in refinement.slots]
        if not rows:
            return torch.zeros(0, len(frame_indices), h, w, device=frames.device)
        stacked = torch.stack(rows).to(frames.device)
        return torch.where(stacked, MASK_LOGIT, -MASK_LOGIT)


def float32_inputs(inputs: FrameInputs) -> FrameInputs:
    """A frame's inputs in float32 (the same values): made under a cell's autocast, they are
    read by the passes outside it, at the video's end."""
    features, detections = inputs
    return (
        FrameFeatures(
            top=features.top.float(),
            top_pos=features.top_pos.float(),
            high_res=[x.float() for x in features.high_res],
        ),
        [
            FrameDetections(boxes=d.boxes.float(), masks=d.masks.float(), scores=d.scores.float())
            for d in detections
        ],
    )


def best_masklets(masklets: list[VideoMasklet], cap: int) -> dict[int, VideoMasklet]:
    """Slot (the masklet's index in the authors' order) -> masklet, the `cap` highest scores
    (all with 0), ties kept in the authors' order."""
    order = sorted(range(len(masklets)), key=lambda i: -masklets[i].score)
    kept = order[:cap] if cap > 0 else order
    return {i: masklets[i] for i in sorted(kept)}


def clamped_score(score: float) -> float:
    """A masklet's score in [0, 1]: the authors give a masklet hotstart removed -1e4, which
    ranks it below every other as 0 does."""
    return min(max(float(score), 0.0), 1.0)

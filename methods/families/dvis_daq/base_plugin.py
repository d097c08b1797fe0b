"""What the DVIS-DAQ methods declare alike: options, preprocessing, checkpoints and the
first pass over a video (the segmenter per clip, the tracker frame by frame from the video's
carried sequences).

The released configs test at MIN_SIZE_TEST 480 (the MinVIS base they inherit) with detectron2's
test mapper; R50 models have 100 queries, ViT-L and Swin-L ones 200 (NUM_NEW_INS equal to them);
the results are the top MAX_NUM 20. The YouTube-VIS configs select at 0.01; OVIS's at 0.1
(online) or 0.05 (offline), with the slot branch deciding whether a track is kept (OVIS_INFER).
Training is not implemented (no recipe is declared).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api import ClipResult, InputError, Preprocessing
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.families.dvis.base_plugin import checkpoint_options
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis_daq.decisions import (
    DecisionSettings,
    FrameInputs,
    TrackedFrame,
    track_frame,
)
from vis_bench.methods.families.dvis_daq.model import DAQConfig, DAQModel, build_model
from vis_bench.methods.families.dvis_daq.sequences import SequenceHub
from vis_bench.methods.families.dvis_daq.video import NOISE_FRAMES
from vis_bench.methods.families.mask2former.base_plugin import Mask2FormerBase, test_preprocessing
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    stack_features,
)

MIN_SIZE_TEST = 480
RELEASE_QUERIES = {"vit_l": 200, "swin_l": 200}
DEFAULT_QUERIES = 100
#: TEST.MAX_NUM of every released config
MAX_NUM = 20
#: keys only DVIS-DAQ checkpoints have (with the DVIS family's ReID branch, so a DAQ file
#: matches DAQ above the Mask2Former members)
CHECKPOINT_SIGNATURE = (
    r"^sem_seg_head\.predictor\.reid_embed\.",
    r"^tracker\.new_ins_embeds\.weight$",
    r"^tracker\.bg_slots\.weight$",
)


@dataclass
class DAQOptions(DAQConfig):
    """The network plus the test settings (the YouTube-VIS 2019 R50 config's by default);
    `num_queries` None follows the backbone's release."""

    num_queries: int | None = None  # type: ignore[assignment]
    min_size_test: int = MIN_SIZE_TEST
    #: results per video (TEST.MAX_NUM)
    top_k: int = MAX_NUM
    #: MODEL.VIDEO_HEAD.INFERENCE_SELECT_THRESHOLD
    select_threshold: float = 0.01
    #: MODEL.VIDEO_HEAD.AUX_INFERENCE_SELECT_THRESHOLD
    segmenter_threshold: float = 0.01
    #: MODEL.VIDEO_HEAD.DIS_FG_THRESHOLD
    keep_threshold: float = 0.01
    #: MODEL.VIDEO_HEAD.OVIS_INFER (True in the OVIS configs)
    slot_decides: bool = False
    #: MODEL.VIDEO_HEAD.NOISE_FRAME_NUM
    noise_frames: int = NOISE_FRAMES
    #: frames a track may stay invalid (the tracker's `kick_out_frame_num`)
    kick_out_frames: int = 8

    def __post_init__(self) -> None:
        if self.num_queries is None:
            self.num_queries = RELEASE_QUERIES.get(str(self.backbone), DEFAULT_QUERIES)
        for name in ("noise_frames", "kick_out_frames", "top_k"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1", field=name)
        super().__post_init__()

    def network(self) -> DAQConfig:
        fields = DAQConfig.__dataclass_fields__
        return DAQConfig(**{name: getattr(self, name) for name in fields})

    def decisions(self) -> DecisionSettings:
        return DecisionSettings(
            float(self.select_threshold),
            float(self.segmenter_threshold),
            float(self.keep_threshold),
            bool(self.slot_decides),
            int(self.kick_out_frames),
        )


def first_pass_result(hub: SequenceHub) -> ClipResult:
    """A first-pass clip's result: the video's sequences are its state; masks come later."""
    empty = torch.zeros(0)
    return ClipResult(scores=empty, labels=empty.long(), masks=empty, state=hub)


class DAQBase(Mask2FormerBase):
    """The parts both DVIS-DAQ plugins share (the segmenter is the DVIS family's)."""

    temporal = False
    model: DAQModel
    options: DAQOptions
    #: not trainable here: no recipe is declared, so no training hook may be offered
    training_losses = None
    parameter_groups = None

    @classmethod
    def create(cls, options: DAQOptions) -> DAQBase:
        return cls(build_model(options.network()), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return test_preprocessing(int(self.options.min_size_test))

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        options = checkpoint_options(state_dict)
        backbone = options.get("backbone") or detect_backbone(state_dict).describe()
        rest = [f"{k}: {v}" for k, v in options.items() if k != "backbone"]
        return [f"backbone: {backbone}", *rest]

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Backbone, queries, classes and depths of the file, limited to this method's options."""
        found = checkpoint_options(state_dict)
        slots = state_dict.get("tracker.bg_slots.weight")
        if slots is not None:
            found["num_slots"] = int(slots.shape[0])
        if found.get("backbone") is None and detect_backbone(state_dict).name == "swin_l":
            found["backbone"] = "swin_l"
        accepted = cls.spec.options.__dataclass_fields__
        return {k: v for k, v in found.items() if k in accepted}

    def flops_modules(self) -> list[str]:
        return [*super().flops_modules(), "tracker"]

    def infer_clip(
        self, frames: torch.Tensor, state: SequenceHub | None = None, seen: int = 0
    ) -> ClipResult:
        """The per-frame stages, then the rest: one code path with or without frame reuse."""
        return self.infer_clip_features(self.frame_features(frames), state=state, seen=seen)

    def infer_clip_features(
        self,
        features: list[PixelDecoderFeatures],
        state: SequenceHub | None = None,
        seen: int = 0,
    ) -> ClipResult:
        """The clip's new frames through the segmenter (one batch) and the tracker (frame by
        frame from the video's sequences, which it updates); frames an earlier clip covered
        are in the sequences already."""
        hub = state if state is not None else SequenceHub()
        new = features[seen:]
        if not new:
            return first_pass_result(hub)
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            queries = self.model.segment(stack_features(new))
            track_features(self.model, queries, hub, self.options.decisions())
        return first_pass_result(hub)


def track_features(
    model: DAQModel,
    queries: FrameQueries,
    hub: SequenceHub,
    settings: DecisionSettings,
    with_slots: bool = False,
) -> list[TrackedFrame]:
    """Each frame of a clip's `FrameQueries` through the tracker, in order, the hub updated;
    returns what each frame computed (`with_slots`: the slot branch also where it decides
    nothing)."""
    projected = model.tracker.project(queries.mask_features)
    tracked = []
    for t in range(len(queries)):
        frame = FrameInputs(
            queries.embeds[t],
            queries.logits[t],
            queries.masks[t],
            queries.mask_features[t],
            projected[t],
        )
        tracked.append(
            track_frame(model.tracker, hub, frame, model.query_feat, settings, with_slots)
        )
    return tracked

"""What the DVIS-DAQ methods declare alike: options, preprocessing, checkpoints and the
first pass over a video (the segmenter per clip, the tracker frame by frame from the video's
carried sequences).

The released configs test at MIN_SIZE_TEST 480 (the MinVIS base they inherit) with detectron2's
test mapper; R50 models have 100 queries, ViT-L and Swin-L ones 200 (NUM_NEW_INS equal to them);
the results are the top MAX_NUM 20. The YouTube-VIS configs select at 0.01; OVIS's at 0.1
(online) or 0.05 (offline), with the slot branch deciding whether a track is kept (OVIS_INFER).

Training, as the authors', starts from a DVIS++ segmenter and trains one part with the rest
frozen: the tracker (`dvis-daq-online`, training.py) or the temporal refiner
(`dvis-daq-offline`); the solver is the DVIS family's (AdamW 1e-4, weight decay 0.05, the whole
model's gradient norm clipped at 0.01, x0.1 after 0.7 of the steps: 112000 of 160000).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import torch

from vis_bench.api import ClipResult, InputError, Preprocessing, WholeVideoRefinement
from vis_bench.api.checkpoints import (
    CheckpointContents,
    LoadReport,
    checkpoint_contents,
    compare_and_load,
)
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.common.first_pass import first_pass_result
from vis_bench.methods.common.stage_start import check_stage_start, check_stage_trained
from vis_bench.methods.families.dvis.base_plugin import (
    SecondPassMasks,
    checkpoint_options,
    describe_checkpoint,
    member_spec,
)
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis_daq.decisions import (
    DecisionSettings,
    FrameInputs,
    TrackedFrame,
    track_frame,
)
from vis_bench.methods.families.dvis_daq.model import DAQConfig, DAQModel, build_model
from vis_bench.methods.families.dvis_daq.sequences import SequenceHub
from vis_bench.methods.families.dvis_daq.training import (
    FIRST_PHASE,
    SECOND_PHASE,
    TrackerTraining,
    daq_criterion,
    short_clip,
    tracker_losses,
)
from vis_bench.methods.families.dvis_daq.video import NOISE_FRAMES
from vis_bench.methods.families.mask2former.base_plugin import CarryingMember, test_preprocessing
from vis_bench.methods.families.mask2former.matcher import TRAIN_NUM_POINTS
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
#: per training stage: the parts it trains (the rest frozen) and the keys the file it starts from
#: may lack (what it trains from scratch, and what comes after it)
STAGE_PARTS = {"tracker": ("tracker",), "refiner": ("refiner",)}
STAGE_NEW_KEYS = {
    "tracker": ("tracker.", "daq_criterion.", "refiner."),
    "refiner": ("refiner.",),
}
#: a DVIS++ file's name of the Mask2Former criterion's constant `empty_weight`, and DAQ's
DVIS_CRITERION, DAQ_CRITERION = "criterion.empty_weight", "daq_criterion.empty_weight"

#: a DVIS-DAQ member's declaration (`member_spec`): both members decide at the video's end
daq_member_spec = partial(
    member_spec, signature=CHECKPOINT_SIGNATURE, linking=WholeVideoRefinement()
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
    #: what a training run trains, the rest frozen: the tracker (online) or the refiner (offline)
    train_stage: str = "tracker"
    #: MODEL.VIDEO_HEAD.TRAINING_SELECT_THRESHOLD (after the first phase: which queries go on
    #: as tracks; 0.02 YouTube-VIS, 0.1 OVIS)
    training_select_threshold: float = 0.02
    #: INPUT.USING_FRAME_NUM[0] and INPUT.STEPS[0] / SOLVER.MAX_ITER (10000 / 160000): the first
    #: phase of the tracker's training, on clips of this many frames
    short_clip_frames: int = 2
    short_clip_phase: float = 0.0625
    #: MODEL.MASK_FORMER.TRAIN_NUM_POINTS (points per mask and frame in the mask losses)
    train_num_points: int = TRAIN_NUM_POINTS

    def __post_init__(self) -> None:
        if self.num_queries is None:
            self.num_queries = RELEASE_QUERIES.get(str(self.backbone), DEFAULT_QUERIES)
        for name in ("noise_frames", "kick_out_frames", "top_k"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1", field=name)
        if self.train_stage not in STAGE_PARTS:
            raise InputError(f"train_stage must be one of {list(STAGE_PARTS)}", field="train_stage")
        if not 0.0 <= float(self.short_clip_phase) <= 1.0:
            raise InputError("short_clip_phase must be within 0..1", field="short_clip_phase")
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


class DAQBase(SecondPassMasks, CarryingMember):
    """The parts both DVIS-DAQ plugins share (the segmenter is the DVIS family's)."""

    temporal = False
    model: DAQModel
    options: DAQOptions
    #: the training stages this method's model has the parts for
    training_stages: ClassVar[tuple[str, ...]] = ("tracker",)
    #: the stage-2 / stage-3 phase of the tracker's training (`training_step`)
    phase: int = SECOND_PHASE
    #: the refiner's assignment is made on the online predictions (`training_step`)
    guided: bool = True

    @classmethod
    def create(cls, options: DAQOptions) -> DAQBase:
        cls.check_stage(options)
        return cls(build_model(options.network()), options)

    @classmethod
    def check_stage(cls, options: DAQOptions) -> None:
        """A method trains only the stages its model has the parts for."""
        check_stage_trained(cls.spec.name, cls.training_stages, options.train_stage)

    @property
    def preprocessing(self) -> Preprocessing:
        return test_preprocessing(int(self.options.min_size_test))

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        return describe_checkpoint(state_dict)

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

    # -- training --------------------------------------------------------------------------

    def start_training_from(self, checkpoint: str | CheckpointContents) -> LoadReport:
        """A stage starts from the previous stage's file: the tracker from a DVIS++ segmenter
        (whose `criterion.empty_weight` is DAQ's `daq_criterion.empty_weight`), the refiner
        from DAQ online's. Every tensor by name; only what the stage trains from scratch (and
        what comes after it) may be missing, nothing may be unexpected or mis-shaped."""
        contents = checkpoint_contents(checkpoint)
        state = dict(contents.state_dict)
        if DVIS_CRITERION in state and DAQ_CRITERION not in state:
            state[DAQ_CRITERION] = state.pop(DVIS_CRITERION)
        report = LoadReport(contents.path, contents.format, strict=False)
        compare_and_load(self.model, state, report, self.spec.ignored_checkpoint_keys)
        stage = self.options.train_stage
        check_stage_start(report, STAGE_NEW_KEYS[stage], stage, contents.path)
        self.load_report = report
        return report

    def training_step(self, iteration: int, iterations: int) -> None:
        """The tracker's first phase (stage 2, short clips) covers the first
        `short_clip_phase` of the steps; the refiner matches on the online predictions in the
        first half."""
        first = iteration < round(float(self.options.short_clip_phase) * iterations)
        self.phase = FIRST_PHASE if first else SECOND_PHASE
        self.guided = iteration < iterations // 2

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """Only the stage's part trains; the others are frozen, as the authors run them (eval,
        no gradient)."""
        trained = STAGE_PARTS[self.options.train_stage]
        for name, module in self.model.named_children():
            module.requires_grad_(name in trained)
        return super().parameter_groups(lr, backbone_lr_mult)

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """The stage's objective on one clip, normalised per clip (each of the authors' GPUs
        holds one video; the trainer's clips are averaged as their gradients are)."""
        stage = self.options.train_stage
        for name, module in self.model.named_children():
            module.train(name in STAGE_PARTS[stage])
        losses = self.stage_losses(frames, targets)
        return {name: value / num_clips for name, value in losses.items()}

    def stage_losses(self, frames: torch.Tensor, targets: Any) -> dict[str, torch.Tensor]:
        """The tracker stage (the offline method adds the refiner's)."""
        settings = TrackerTraining(
            select_threshold=float(self.options.training_select_threshold),
            segmenter_threshold=float(self.options.segmenter_threshold),
            num_points=int(self.options.train_num_points),
            no_object_weight=float(self.config.no_object_weight),
        )
        if self.phase == FIRST_PHASE:
            frames, targets = short_clip(frames, targets, int(self.options.short_clip_frames))
        criterion = daq_criterion(self.config.num_classes, settings, self.config.tracker_layers)
        return tracker_losses(
            self.model, criterion.to(frames.device), settings, frames, targets, self.phase
        )

    def new_video(self) -> Any:
        """A video's state before its first clip: its sequences (the offline method gathers
        more)."""
        return SequenceHub()

    def gather(self, queries: FrameQueries, state: Any) -> None:
        """A clip's segmenter outputs through the tracker, frame by frame, into the video's
        state."""
        track_features(self.model, queries, state, self.options.decisions())

    def infer_clip_features(
        self,
        features: list[PixelDecoderFeatures],
        state: Any = None,
        seen: int = 0,
    ) -> ClipResult:
        """The clip's new frames through the segmenter (one batch) and the tracker (frame by
        frame from the video's sequences, which it updates); frames an earlier clip covered
        are in the sequences already."""
        state = state if state is not None else self.new_video()
        new = features[seen:]
        if not new:
            return first_pass_result(state)
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            self.gather(self.model.segment(stack_features(new)), state)
        return first_pass_result(state)


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

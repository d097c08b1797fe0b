"""What both DVIS++ methods declare alike: options, preprocessing, checkpoints and the
segmenter's per-frame stages; each method adds its inference (online tracking, or tracking and
whole-video refinement).

The released R50 and ViT-L configs test at MIN_SIZE_TEST 480 (the MinVIS base config they
inherit; the YouTube-VIS base's 360 is overridden) with detectron2's test mapper, like the rest
of the Mask2Former family; R50 models have 100 queries, ViT-L ones 200.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from vis_bench.api import (
    CarriedState,
    InputError,
    MethodSpec,
    Preprocessing,
    WholeVideoRefinement,
)
from vis_bench.api.checkpoints import (
    CheckpointContents,
    LoadReport,
    checkpoint_contents,
    compare_and_load,
    load_state_dict_strict,
    spec_rules,
)
from vis_bench.api.refinement import VideoRefinement
from vis_bench.api.timing import TimingProtocol
from vis_bench.api.training import FrameSampler, TrainingRecipe
from vis_bench.api.variants import PretrainedVariant
from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.methods.common.checkpoint_heads import query_and_class_counts
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.common.frame_sampling import ConsecutiveFrameSampler
from vis_bench.methods.common.stage_start import check_stage_start, check_stage_trained
from vis_bench.methods.common.vit_adapter import ViTAdapter
from vis_bench.methods.families.dvis.backbones import SEGMENTER_BACKBONES
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.model import DVISModel, build_model
from vis_bench.methods.families.dvis.noiser import NOISE_MODES, Noiser
from vis_bench.methods.families.dvis.training import (
    STAGES,
    StageLossConfig,
    refiner_losses,
    segmenter_losses,
    stage_criterion,
    tracker_losses,
)
from vis_bench.methods.families.mask2former.base_plugin import (
    CarryingMember,
    family_spec,
    test_preprocessing,
)
from vis_bench.methods.families.mask2former.matcher import TRAIN_NUM_POINTS
from vis_bench.methods.families.mask2former.pixel_decoder import (
    PixelDecoderFeatures,
    stack_features,
)

MIN_SIZE_TEST = 480
RELEASE_QUERIES = {"vit_l": 200}
DEFAULT_QUERIES = 100
#: keys only DVIS++ checkpoints have (the offline method adds the refiner's)
CHECKPOINT_SIGNATURE = (
    r"^sem_seg_head\.predictor\.reid_embed\.",
    r"^tracker\.ref_proj\.layers\.0\.weight$",
)
#: the stage-1 segmenter (the CTVIS checkpoint DVIS++ starts from): these parts of the model
SEGMENTER_PARTS = ("backbone", "sem_seg_head", "criterion")
#: the ViT inside the ViT-L models' adapter (`D2VitAdapterDinoV2.vit_module`)
VIT_PREFIX = "backbone.vit_module."
#: per training stage: the parts it trains (frozen otherwise) and the keys a file it starts
#: from may lack (what the stage trains from scratch, and what comes after it)
STAGE_PARTS = {
    "segmenter": ("backbone", "sem_seg_head"),
    "tracker": ("tracker",),
    "refiner": ("refiner",),
}
STAGE_NEW_KEYS = {
    "segmenter": ("sem_seg_head.predictor.reid_embed.", "tracker.", "refiner."),
    "tracker": ("tracker.", "refiner."),
    "refiner": ("refiner.",),
}


@dataclass
class DVISOptions(DVISConfig):
    """The network plus the test settings; `num_queries` None follows the backbone's release
    (100 for R50, 200 for ViT-L)."""

    num_queries: int | None = None  # type: ignore[assignment]
    min_size_test: int = MIN_SIZE_TEST
    #: results per video (TEST.MAX_NUM)
    top_k: int = 10
    #: what a training run trains, the rest frozen: the segmenter (the authors' CTVIS stage),
    #: the tracker (DVIS++ online) or the refiner (DVIS++ offline)
    train_stage: str = "tracker"
    #: MODEL.TRACKER.NOISE_MODE / NOISE_RATIO (training only; the released 8wIter config's)
    noise_mode: str = "wa"
    noise_ratio: float = 0.8
    #: MODEL.MASK_FORMER.TRAIN_NUM_POINTS (points per mask and frame in the mask losses)
    train_num_points: int = TRAIN_NUM_POINTS

    def __post_init__(self) -> None:
        if self.num_queries is None:
            self.num_queries = RELEASE_QUERIES.get(str(self.backbone), DEFAULT_QUERIES)
        if self.train_stage not in STAGES:
            raise InputError(f"train_stage must be one of {list(STAGES)}", field="train_stage")
        if self.noise_mode not in NOISE_MODES:
            raise InputError(f"noise_mode must be one of {list(NOISE_MODES)}", field="noise_mode")
        super().__post_init__()

    def network(self) -> DVISConfig:
        fields = DVISConfig.__dataclass_fields__
        return DVISConfig(**{name: getattr(self, name) for name in fields})


class _Segmenter(nn.Module):
    """A view of a model's segmenter parts, for loading a stage-1 segmenter checkpoint."""

    def __init__(self, model: DVISModel) -> None:
        super().__init__()
        for name in SEGMENTER_PARTS:
            if name in model._modules:
                self.add_module(name, model._modules[name])


class SecondPassMasks:
    """The second pass of a member that decides at the video's end (`WholeVideoRefinement`,
    both DVIS families' offline members and DVIS-DAQ online): the chosen tracks' masks from the
    frames' mask features, in the model's inference context. Each member says how
    (`chosen_masks`)."""

    model: Any
    frame_features: Any

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The second pass from the frames, through their per-frame stages."""
        return self.refined_masks_features(self.frame_features(frames), refinement, frame_indices)

    def refined_masks_features(
        self,
        features: list[PixelDecoderFeatures],
        refinement: VideoRefinement,
        frame_indices: list[int],
    ) -> torch.Tensor:
        """Mask logits [S, t, h, w] of the refinement's choice from the frames' per-frame
        stages."""
        return self.masks_from(stack_features(features).mask_features, refinement, frame_indices)

    def masks_from(
        self, mask_features: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """`chosen_masks` on the frames' raw mask features [t, C, h, w], prepared for inference."""
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            return self.chosen_masks(mask_features, refinement, frame_indices)

    def chosen_masks(
        self, mask_features: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """Mask logits [S, t, h, w] of what `refine_video` chose (`refinement.data`) on the
        frames whose raw mask features [t, C, h, w] are given."""
        raise NotImplementedError


class DVISBase(CarryingMember):
    """The parts both DVIS++ plugins share (the segmenter is the family's, in frame mode)."""

    temporal = False
    model: DVISModel
    #: the training stages this method's model has the parts for
    training_stages: ClassVar[tuple[str, ...]] = ("segmenter", "tracker")

    @classmethod
    def refiner_layers(cls, options: Any) -> int | None:
        """The refiner's depth (offline), None for a model without one."""
        return None

    @classmethod
    def create(cls, options: DVISOptions) -> DVISBase:
        check_stage_trained(cls.spec.name, cls.training_stages, options.train_stage)
        plugin = cls(build_model(options.network(), cls.refiner_layers(options)), options)
        plugin.guided = True
        return plugin

    @property
    def preprocessing(self) -> Preprocessing:
        return test_preprocessing(int(self.options.min_size_test))

    def load_segmenter(self, checkpoint: str | CheckpointContents) -> LoadReport:
        """A stage-1 segmenter (CTVIS: backbone, sem_seg_head, criterion) into this model's
        segmenter by name, strictly; the tracker (and refiner) keep their weights."""
        contents = checkpoint_contents(checkpoint)
        return load_state_dict_strict(_Segmenter(self.model), contents, self.spec)

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        return describe_checkpoint(state_dict)

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """What the file says, limited to this method's options (an offline file read for the
        online method names no refiner: its refiner keys then show as unexpected)."""
        accepted = cls.spec.options.__dataclass_fields__
        return {k: v for k, v in checkpoint_options(state_dict).items() if k in accepted}

    def flops_modules(self) -> list[str]:
        return [*super().flops_modules(), "tracker"]

    # -- training --------------------------------------------------------------------------

    def start_training_from(self, checkpoint: str | CheckpointContents) -> LoadReport:
        """A stage starts from the previous stage's file (or, for the segmenter, a frame-level
        Mask2Former's): every tensor by name; only what this stage trains from scratch (and what
        comes after it) may be missing, nothing may be unexpected or mis-shaped."""
        contents = checkpoint_contents(checkpoint)
        report = LoadReport(contents.path, contents.format, strict=False)
        compare_and_load(
            self.model,
            contents.state_dict,
            report,
            **spec_rules(self.spec),
            versions=contents.versions,
        )
        stage = self.options.train_stage
        check_stage_start(report, STAGE_NEW_KEYS[stage], stage, contents.path)
        self.load_report = report
        return report

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights up to this stage: the parts a later stage trains from scratch (the
        tracker after the segmenter stage) are left out of the stage's file."""
        following = STAGES[STAGES.index(self.options.train_stage) + 1 :]
        later = STAGE_NEW_KEYS[following[0]] if following else ()
        return {k: v for k, v in self.model.state_dict().items() if not k.startswith(later)}

    def training_step(self, iteration: int, iterations: int) -> None:
        """The first half of the steps match on the earlier stage's predictions."""
        self.guided = iteration < iterations // 2

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """Only the stage's parts train; the others are frozen, as the authors freeze them."""
        trained = STAGE_PARTS[self.options.train_stage]
        for name, module in self.model.named_children():
            module.requires_grad_(name in trained)
        backbone = self.model._modules.get("backbone")
        if isinstance(backbone, ViTAdapter) and backbone.config.freeze_vit:
            # FREEZE_VIT (every ViT-L config): the segmenter stage trains the adapter only
            backbone.vit_module.requires_grad_(False)
        return super().parameter_groups(lr, backbone_lr_mult)

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """The stage's objective on one clip (families/dvis/training.py). The tracker and the
        refiner stages normalise per clip, as each of the authors' GPUs holds one video, and
        the trainer's clips are averaged as their GPUs' gradients are."""
        stage = self.options.train_stage
        model = self.model
        config = StageLossConfig(num_points=int(self.options.train_num_points))
        for name, module in model.named_children():
            module.train(name in STAGE_PARTS[stage])
        classes = self.config.num_classes
        if stage == "segmenter":
            layers = self.config.dec_layers + 1
            criterion = stage_criterion(classes, layers, config.num_points, config)
            batch = (num_instances, num_clips)
            return segmenter_losses(
                model, criterion.to(frames.device), config, frames, targets, batch
            )
        if stage == "tracker":
            criterion = stage_criterion(
                classes, self.config.tracker_layers, config.num_points, config
            )
            noiser = Noiser(self.options.noise_mode, float(self.options.noise_ratio))
            losses = tracker_losses(
                model, criterion.to(frames.device), config, frames, targets, noiser, self.guided
            )
        else:
            contrastive = bool(getattr(self.options, "refiner_contrastive", False))
            losses = refiner_losses(model, config, frames, targets, self.guided, contrastive)
        return {name: value / num_clips for name, value in losses.items()}


def _count(state_dict: Mapping[str, torch.Tensor], prefix: str) -> int:
    """How many numbered children `prefix.N.` the keys have."""
    return len({k[len(prefix) :].split(".")[0] for k in state_dict if k.startswith(prefix)})


def checkpoint_options(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Backbone, queries, classes and depths of the model a DVIS++ state dict was saved from."""
    options: dict[str, Any] = {}
    if any(k.startswith(VIT_PREFIX) for k in state_dict):
        options["backbone"] = "vit_l"
    elif detect_backbone(state_dict).name == "resnet50":
        options["backbone"] = "resnet50"
    predictor = "sem_seg_head.predictor."
    heads = (predictor + "query_feat.weight", predictor + "class_embed.weight")
    options.update(query_and_class_counts(state_dict, *heads))
    reid = state_dict.get(predictor + "reid_embed.layers.0.weight")
    if reid is not None:
        options["reid_hidden_dim"] = int(reid.shape[0])
        options["reid_layers"] = _count(state_dict, predictor + "reid_embed.layers.")
    for prefix, name in (
        ("tracker.transformer_ffn_layers.", "tracker_layers"),
        ("refiner.transformer_ffn_layers.", "refiner_layers"),
    ):
        if _count(state_dict, prefix):
            options[name] = _count(state_dict, prefix)
    return options


def describe_checkpoint(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """A DVIS++ or DVIS-DAQ file in lines: its backbone, then what `checkpoint_options` reads."""
    options = checkpoint_options(state_dict)
    backbone = options.get("backbone") or detect_backbone(state_dict).describe()
    rest = [f"{k}: {v}" for k, v in options.items() if k != "backbone"]
    return [f"backbone: {backbone}", *rest]


def training_recipe(frame_sampler: FrameSampler) -> TrainingRecipe:
    """The released DVIS++ solver (ytvis19 base and online / offline configs): AdamW 1e-4,
    backbone x0.1, weight decay 0.05 (none on norms and embeddings), the whole model's gradient
    norm clipped at 0.01, the rate x0.1 after 0.7 of the steps (56000 of 80000 online, 28000
    of 40000 offline); detectron2's video dataset has one item per video."""
    return TrainingRecipe(
        frame_sampler=frame_sampler,
        lr=1e-4,
        weight_decay=0.05,
        clip_max_norm=0.01,
        lr_drops=(0.7,),
        backbone_lr_mult=0.1,
        videos_by_length=False,
    )


#: what an offline member's checkpoint has beside its online model's keys
REFINER_SIGNATURE = r"^refiner\.activation_proj\.weight$"


def member_spec(
    package: str,
    summary: str,
    options: type,
    reference: str,
    variants: tuple[PretrainedVariant, ...],
    timing_protocol: TimingProtocol,
    *,
    signature: tuple[str, ...] = CHECKPOINT_SIGNATURE,
    linking: CarriedState | WholeVideoRefinement | None = None,
) -> MethodSpec:
    """A DVIS++ or DVIS-DAQ member's declaration: what the members declare alike (the
    segmenter's backbones and test size, the solver, `package`'s parity check, the method named
    after its package) around what each declares itself. An offline member (its package ends
    in `_offline`) trains on consecutive frames reversed half the time (SAMPLING_FRAME_NUM 15,
    RANGE 7, REVERSE_AGU) and its checkpoints add the refiner's keys; an online one trains on
    five consecutive frames (SAMPLING_FRAME_NUM 5, RANGE 2). `linking` defaults to the whole
    video refined (offline) or the tracker's state carried (online)."""
    name = package.rsplit(".", 1)[-1].replace("_", "-")
    offline = name.endswith("-offline")
    if linking is None:
        linking = WholeVideoRefinement() if offline else CarriedState()
    return family_spec(
        name=name,
        summary=summary,
        options=options,
        min_size_test=MIN_SIZE_TEST,
        reference=reference,
        parity=f"{package}.parity:run_parity",
        checkpoint_signature=(*signature, REFINER_SIGNATURE) if offline else signature,
        training=training_recipe(ConsecutiveFrameSampler(reverse=offline)),
        backbones=tuple(SEGMENTER_BACKBONES.names()),
        variants=variants,
        linking=linking,
        timing_protocol=timing_protocol,
    )

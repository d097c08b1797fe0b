"""The clip-inference interface every method implements, and the one declaration of each method.

A method is a `MethodPlugin` subclass carrying a `MethodSpec` (in the spirit of timm's pretrained
configs): everything a user needs to know and the harness needs to run it sits in that one
declaration: its options (validated when a config is loaded), its preprocessing, the checkpoint
layouts it reads and how to recognise its files, its training recipe and frame sampler, and its
optional abilities (a parity reference, extra measurements). The harness talks to a method only
through this class: it builds the model from validated options, loads a checkpoint, preprocesses
frames the method's way and calls `infer_clip` on clips it forms itself. Everything around the
call (clip schedule, stitching, resizing, RLE, metric, timing) is the harness's, identical for
every method.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import torch

from vis_bench.toolkit.linking import Linking, SoftIoUStitching
from vis_bench.toolkit.options import build_dataclass, options_dict
from vis_bench.toolkit.preprocessing import Preprocessing
from vis_bench.toolkit.pretrained import PretrainedVariant
from vis_bench.toolkit.timing_protocols import TimingProtocol

if TYPE_CHECKING:
    from vis_bench.toolkit.checkpoint_files import CheckpointContents
    from vis_bench.toolkit.parity import ParityReport


@dataclass
class ClipResult:
    """Instances found in one clip.

    scores: [N] confidence in [0, 1]; labels: [N] dataset category ids;
    masks: [N, T, h, w] per-frame mask probabilities at the clip's working resolution
    (the valid, unpadded region of the preprocessed frames), used for soft-IoU matching;
    mask_logits: optional [N, T, h, w] logits; when given, overlapping clips are averaged in
    logit space and the final mask is `logit > 0` (a method that averages logits), otherwise
    probabilities are averaged and thresholded at 0.5;
    class_probs: optional [N, K] per-instance class distribution, averaged over a track's clips
    and handed to `MethodPlugin.track_predictions` (a multi-class expansion of a track uses it);
    extra: anything else the method wants to keep (e.g. query embeddings).

    Methods whose spec links clips by query tracks (linking.py) return every track of the clip
    and also: frame_logits [T, N, K+1] per-frame class logits and frame_embeddings [T, N, C]
    per-frame track embeddings, both in the clip's track order; and, with `CarriedState`, the
    per-video `state` the harness hands back to the next clip's
    `infer_clip(frames, state=..., seen=...)`.
    """

    scores: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    mask_logits: torch.Tensor | None = None
    class_probs: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    frame_logits: torch.Tensor | None = None
    frame_embeddings: torch.Tensor | None = None
    state: Any = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@dataclass
class VideoRefinement:
    """What a `WholeVideoRefinement` method decides at a video's end (`refine_video`).

    predictions: (slot, dataset category id, score) in the method's order; a slot may appear
    under several categories. data: whatever the method needs to make the chosen slots' masks
    in the second pass (`refined_masks`), e.g. each frame's refined queries of those slots.
    """

    predictions: list[tuple[int, int, float]]
    data: Any = None

    @property
    def slots(self) -> list[int]:
        """The slots whose masks the second pass makes, ascending (the rows of
        `refined_masks`)."""
        return sorted({int(slot) for slot, _, _ in self.predictions})


class FrameSampler(Protocol):
    """Which frames one training clip takes: sorted indices (repeats allowed) of a video of
    `length` frames around the `reference` frame."""

    def __call__(
        self, rng: np.random.Generator, length: int, num_frames: int, reference: int
    ) -> list[int]: ...


@dataclass(frozen=True)
class TrainingRecipe:
    """A method's published optimisation recipe; `train` uses it unless a config overrides it.

    lr_drops: fractions of the schedule where the learning rate is multiplied by `lr_drop_factor`
    (the authors' step schedules, e.g. drops at epochs 4 and 10 of 12, or at 4k of 6k steps).
    clip_max_norm: gradient clipping on the total L2 norm of every trainable parameter.
    backbone_lr_mult: the backbone's learning rate relative to `lr` (pretrained backbones).
    frame_sampler: how a training clip picks its frames (the authors' loader).
    videos_by_length: draw videos in proportion to their length (a dataset of frames, as some
    authors' loaders are) rather than uniformly (a dataset of videos, as detectron2's).
    poly_power: > 0 replaces the step drops by a polynomial decay, the rate times
    (1 - t / T) ** poly_power after warm-up (t and T counted from the end of the warm-up).
    backbone_warmup_iters: > 0 holds the parameter groups marked `"backbone": True` at rate 0
    while the others warm up (`warmup_iters`), then warms them up over this many steps (a
    two-stage warm-up: a pretrained ViT waits until the new heads give sensible gradients).
    layer_decay: layer-wise rate decay; a group marked `"layer_decay_exponent": n` (its distance
    from a ViT's top block) trains at `layer_decay ** n` times its rate.
    """

    lr: float
    weight_decay: float
    clip_max_norm: float
    lr_drops: tuple[float, ...]
    frame_sampler: FrameSampler
    videos_by_length: bool = False
    lr_drop_factor: float = 0.1
    backbone_lr_mult: float = 0.1
    warmup_iters: int = 0
    poly_power: float = 0.0
    backbone_warmup_iters: int = 0
    layer_decay: float = 1.0


@dataclass(frozen=True)
class ParityReference:
    """A method's check against fixtures made by running the authors' code.

    run(fixture_dir, out_path) -> ParityReport; the fixture folder is the user's to name
    (`parity --fixture DIR`): a method's declaration names no path of any checkout.
    """

    run: Callable[[Path, Path | None], ParityReport]
    reference: str


@dataclass(frozen=True)
class TableMeasurement:
    """A measurement a method offers beyond the sweep's (e.g. a FLOPs table of its encoder).

    run(**arguments) -> (FlopReport, tokens per frame); `arguments` lists what a variant may set.
    """

    run: Callable[..., tuple[Any, int]]
    description: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class MethodSpec:
    """Everything the harness and a user need to know about one method."""

    name: str
    summary: str
    #: dataclass of every option the method takes (network shape and inference settings)
    options: type
    preprocessing: Preprocessing
    #: where the architecture comes from (authors' repository and commit, or a reconstruction)
    reference: str = ""
    #: carried into every record and table row (e.g. "reconstruction from the paper")
    notes: str = ""
    checkpoint_formats: tuple[str, ...] = ("vis-bench", "release", "state_dict")
    #: regular expressions that all match some key of this method's checkpoints (and that
    #: recognise a file handed to the wrong method)
    checkpoint_signature: tuple[str, ...] = ()
    #: regular expressions of checkpoint keys the authors' own loading skips on purpose
    ignored_checkpoint_keys: tuple[str, ...] = ()
    training: TrainingRecipe | None = None
    parity: ParityReference | None = None
    measurements: Mapping[str, TableMeasurement] = field(default_factory=dict)
    #: stitch clips only within a category (methods that emit one instance per (query, class));
    #: False matches regardless of category (a method whose clips give one instance per query)
    stitch_class_aware: bool = True
    #: a track whose mask is empty in every frame at the video size yields no prediction
    #: (as a method's authors drop such queries; the default keeps them)
    drop_empty_tracks: bool = False
    #: how clips become video tracks (linking.py): soft-IoU stitching, query-embedding
    #: association, or a state the method carries from clip to clip
    linking: Linking = field(default_factory=SoftIoUStitching)
    #: the option naming the backbone (tables and the leaderboard show its value) and the
    #: values it takes
    backbone_option: str = "backbone"
    backbones: tuple[str, ...] = ()
    #: the leading stages of the forward that act on each frame alone (e.g. the backbone): the
    #: plugin's `frame_features` computes them and `infer_clip_features` the rest of a clip,
    #: so the runner computes each frame once under overlapping clips (`measure.feature_reuse`)
    per_frame_stages: tuple[str, ...] = ()
    #: the authors' released checkpoints, each a name `<method>.<variant>` (pretrained.py)
    variants: tuple[PretrainedVariant, ...] = ()
    #: how the method's authors timed the FPS they published (timing_protocols.py), run as the
    #: `authors` protocol of `measure.protocols`; None: not declared (nothing to run)
    timing_protocol: TimingProtocol | None = None

    def matches_checkpoint(self, keys: Iterable[str]) -> int:
        """How many signature patterns a checkpoint's keys satisfy (0 when any is unmet)."""
        if not self.checkpoint_signature:
            return 0
        keys = list(keys)
        for pattern in self.checkpoint_signature:
            regex = re.compile(pattern)
            if not any(regex.search(key) for key in keys):
                return 0
        return len(self.checkpoint_signature)

    def declaration(self) -> dict[str, Any]:
        """What `methods` prints: the declaration as plain data."""
        prep = self.preprocessing
        return {
            "summary": self.summary,
            "reference": self.reference,
            "notes": self.notes,
            "options": [f"{k}={v}" for k, v in sorted(options_dict(self.options()).items())],
            "backbones": list(self.backbones),
            "preprocessing": (
                f"{prep.resize} resize to shorter side {prep.shorter_side}"
                + (f" (longer side <= {prep.max_size})" if prep.max_size else "")
                + f", {prep.channel_order} / {prep.pixel_divisor:g}, mean {prep.mean}, "
                f"std {prep.std}, size divisibility {prep.size_divisibility}"
            ),
            "checkpoint formats": list(self.checkpoint_formats),
            "ignored checkpoint keys": list(self.ignored_checkpoint_keys),
            "linking": self.linking.name,
            "training": "yes" if self.training else "no",
            "parity reference": self.parity.reference if self.parity else "none",
            "measurements": sorted(self.measurements),
            "stitching": "within a category" if self.stitch_class_aware else "across categories",
            "per-frame stages": list(self.per_frame_stages) or "none",
            "released checkpoints": [variant.name for variant in self.variants],
            "authors' timing protocol": _protocol_text(self.timing_protocol),
        }


def _protocol_text(protocol: TimingProtocol | None) -> str:
    """One line for `methods`: the protocol's name, what it times and under what, its source."""
    if protocol is None:
        return "not declared"
    if not protocol.stated:
        return f"not stated ({protocol.source})"
    compiled = "" if protocol.compile is None else f", torch.compile {protocol.compile.mode}"
    return (
        f"{protocol.name}: {', '.join(protocol.timed)}; {protocol.precision or 'cell dtype'}"
        f"{compiled}; {protocol.frames_per_call} per call; warm-up {protocol.warmup} "
        f"{protocol.warmup_unit} ({protocol.source})"
    )


class MethodPlugin(ABC):
    """One registered VIS method: a model plus the method's own inference procedure.

    Subclasses set `spec`, keep their `torch.nn.Module` in `self.model` (in eval mode) and the
    options instance they were built with in `self.options`; `flops_modules()` names sub-modules
    of the model (dotted paths) for the per-module FLOPs breakdown.
    """

    spec: ClassVar[MethodSpec]
    #: the registry name (the spec's)
    name: ClassVar[str] = ""
    model: torch.nn.Module
    options: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec" in cls.__dict__:
            cls.name = cls.spec.name

    @classmethod
    def parse_options(
        cls, options: Mapping[str, Any] | None, where: str = "options", source: str = "<config>"
    ) -> Any:
        """The method's options dataclass from a mapping; unknown keys and bad values are
        InputErrors naming `where.key` (called when a config is loaded, before any cell runs)."""
        return build_dataclass(cls.spec.options, dict(options or {}), where, source)

    @classmethod
    def build(cls, options: Any = None) -> MethodPlugin:
        """Build the method from an options instance or a mapping of options (parsed first;
        missing keys take the published defaults)."""
        if options is None or isinstance(options, Mapping):
            options = cls.parse_options(options, f"methods[{cls.spec.name}].options")
        return cls.create(options)

    @classmethod
    @abstractmethod
    def create(cls, options: Any) -> MethodPlugin:
        """Build the method from a validated options instance (see `parse_options`)."""

    def load_checkpoint(
        self, checkpoint: str | CheckpointContents, strict: bool = True
    ) -> LoadSummary:
        """Load the authors' released layout (`{"model": ...}`), the project's own or a bare
        state dict, strictly unless told not to: every key must fit, after the method's own
        completions (`checkpoint_tensors`). A method whose files need more overrides this."""
        from vis_bench.toolkit.checkpoint_loading import (
            checkpoint_contents,
            load_state_dict_strict,
        )

        contents = checkpoint_contents(checkpoint)
        contents.check_method(self.name)
        tensors = self.checkpoint_tensors(contents.state_dict)
        self.load_report = load_state_dict_strict(self.model, contents, self.spec, tensors, strict)
        return self.load_report

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Options that build the model a release state dict was saved from, read from its keys
        and shapes (e.g. the backbone); `check-checkpoint` builds that model to compare."""
        return {}

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        """Lines saying what a state dict holds beyond its keys (e.g. "backbone: ..."), which
        `check-checkpoint` prints; default: nothing."""
        return []

    @classmethod
    def checkpoint_tensors(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The entries `load_checkpoint` would load from a file's state dict (after the method's
        own completions, such as duplicated keys); default: the state dict as it is."""
        return dict(state_dict)

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 RGB frames [T, 3, H, W] -> the method's normalised, resized input [T, 3, h, w].

        `shorter_side` overrides the method's own test resolution (the sweep's resolution axis);
        None keeps the published one.
        """
        return self.preprocessing(frames, shorter_side)

    @property
    def preprocessing(self) -> Preprocessing:
        """This instance's preprocessing (a method may adapt it to its options, e.g. backbone)."""
        return self.spec.preprocessing

    @abstractmethod
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """Preprocessed frames of one clip -> instances, with the method's own post-processing.

        A method whose spec declares `CarriedState` linking also takes `state=`: None for a
        video's first clip, then the `state` of its previous clip's result; and `seen=`: how
        many of the clip's first frames earlier clips covered (0 without overlap).
        """

    def video_predictions(self, mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
        """(slot, dataset category id, score) of a video whose clips were linked by query tracks,
        from each slot's class logits averaged over the video's frames [N, K+1] (the last logit
        "no object"). Default: each slot's most likely class, softmax score."""
        probs = torch.softmax(mean_logits.float(), dim=-1)[:, :-1]
        scores, labels = probs.max(-1)
        return [(slot, int(labels[slot]) + 1, float(scores[slot])) for slot in range(len(probs))]

    def refine_video(self, state: Any) -> VideoRefinement:
        """A `WholeVideoRefinement` method's decision once the video's last clip is in: the
        state its clips carried -> the video's predictions and what `refined_masks` needs."""
        raise NotImplementedError(f"method {self.spec.name!r} does not refine whole videos")

    def refined_masks(
        self, frames: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The second pass of a `WholeVideoRefinement` method: preprocessed frames [t, 3, h, w]
        (the video's frames `frame_indices`) -> mask logits [S, t, h', w'] of the refinement's
        `slots` in that order (foreground where > 0), at the resolution `masks_to_video` takes."""
        raise NotImplementedError(f"method {self.spec.name!r} does not refine whole videos")

    def frame_features(self, frames: torch.Tensor) -> list[Any]:
        """The spec's `per_frame_stages` of preprocessed frames [n, 3, h, w]: one entry per frame,
        whatever the batch (each frame's values must not depend on the others)."""
        raise NotImplementedError(f"method {self.spec.name!r} declares no per-frame stages")

    def infer_clip_features(self, features: list[Any]) -> ClipResult:
        """`infer_clip` of a clip from its frames' `frame_features`, bit for bit."""
        raise NotImplementedError(f"method {self.spec.name!r} declares no per-frame stages")

    def to(self, device: str | torch.device) -> MethodPlugin:
        """Move the model to `device` (the harness moves clips itself)."""
        self.model.to(device)
        return self

    def track_predictions(self, track: Any) -> list[tuple]:
        """(category id, score) or (category id, score, with_masks) predictions of one track.

        Default: the track's own label and mean clip score. A method overrides this to expand a
        track into several predictions (e.g. every class whose averaged probability > 0.01) or to
        write `None` segmentations for a prediction (with_masks False, e.g. below a score).
        """
        return default_track_predictions(track)

    def masks_to_video(
        self, masks: torch.Tensor, height: int, width: int, threshold: float
    ) -> np.ndarray:
        """Working-resolution masks [n, h, w] (mean logits or probabilities) -> uint8 [n, H, W].

        Default: one bilinear resize (align_corners=False) to the video size, then threshold.
        """
        return default_masks_to_video(masks, height, width, threshold)

    def mask_cut(self, threshold: float) -> float | None:
        """The value the bilinear-resized mask must exceed to be foreground, when that is what
        `masks_to_video` does (the harness then resizes, thresholds and encodes in one exact
        compiled pass); None: the harness calls `masks_to_video`. Default: `threshold` while
        `masks_to_video` is the default one."""
        if type(self).masks_to_video is MethodPlugin.masks_to_video:
            return float(threshold)
        return None

    def reset_execution_info(self) -> None:
        """Forget what `execution_info` would report; the worker calls it before the run."""
        return None

    def execution_info(self) -> dict[str, Any]:
        """How this method's run executed, beyond dtype, device and threads, for the record's
        `execution` (e.g. which deformable-attention core ran). Default: nothing to add, so a
        method without such choices records none."""
        return {}

    def flops_modules(self) -> list[str]:
        """Names of sub-modules FLOPs are broken down by (backbone, encoder, decoder, heads)."""
        return []

    def backbone_name(self) -> str:
        """The backbone this instance was built with (tables and the leaderboard show it)."""
        return str(getattr(self.options, self.spec.backbone_option, None) or "-")

    # -- training (only for methods whose spec has a `training` recipe) -------------------------

    def backbone_module(self) -> torch.nn.Module:
        """The image backbone (what a pretrained initialisation such as ImageNet weights fills)."""
        raise NotImplementedError(f"method {self.spec.name!r} does not expose its backbone")

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups with the authors' per-module learning rates.

        Default: one group of every trainable parameter at `lr`.
        """
        params = [p for p in self.model.parameters() if p.requires_grad]
        return [{"params": params, "lr": lr}]

    def start_training_from(self, checkpoint: str | CheckpointContents) -> LoadSummary:
        """A training run's starting weights (`init_checkpoint`). Default: the strict
        `load_checkpoint`. A method trained in stages overrides it to start a stage from the
        previous stage's file, naming what may be missing (what the stage trains from scratch)."""
        return self.load_checkpoint(checkpoint)

    def training_step(self, iteration: int, iterations: int) -> None:
        """Told before each optimiser step where the schedule is (a method whose objective
        changes during training, e.g. matching on another part's predictions for the first
        half of the steps); default: nothing."""
        return None

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """Weighted losses of one preprocessed training clip [T, 3, H, W] of a batch.

        `targets` is a `vis_bench.train.clips.ClipTargets` at the size of `frames`. The batch
        has `num_clips` clips and `num_instances` ground-truth instances; losses are normalised
        over the whole batch (the authors divide by the batch's instance count), so the
        trainer's sum over the clips' values is the batch loss.
        """
        raise NotImplementedError(f"method {self.spec.name!r} does not support training")


class LoadSummary(Protocol):
    """What a checkpoint load did (methods return their LoadReport; records keep this much)."""

    path: str
    format: str
    strict: bool

    @property
    def partial(self) -> bool: ...

    def as_record(self) -> dict[str, Any]: ...


def default_track_predictions(track: Any) -> list[tuple]:
    """One prediction per track: its label and mean clip score."""
    return [(int(track.label), float(track.score))]


def default_masks_to_video(
    masks: torch.Tensor, height: int, width: int, threshold: float
) -> np.ndarray:
    """One bilinear resize (align_corners=False) to the video size, then `> threshold`."""
    resized = torch.nn.functional.interpolate(
        masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
    )
    return (resized[:, 0] > threshold).to(torch.uint8).numpy()

"""The method plugin: the core every method implements, and what it returns for one clip.

A method is a `MethodPlugin` subclass carrying a `MethodSpec` (spec.py). The core is three hooks:
`create` builds the model from validated options, `load_checkpoint` fills it (the default loads
the authors' release, the project's format or a bare state dict strictly), `infer_clip` turns
one clip's preprocessed frames into instances (`ClipResult`). Everything around the call (clip
schedule, linking clips into video tracks, resizing, RLE, metric, timing) is the harness's,
identical for every method. Anything else a method may do is an optional capability, a small
protocol in its own module of vis_bench.api, found from what the class implements
(capabilities.py lists them and checks them when the method is registered).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from vis_bench.api.checkpoints import (
    CheckpointContents,
    LoadSummary,
    load_method_checkpoint,
)
from vis_bench.api.options import build_dataclass
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.api.spec import MethodSpec


@dataclass
class ClipResult:
    """Instances found in one clip.

    scores: [N] confidence in [0, 1]; labels: [N] dataset category ids;
    masks: [N, T, h, w] per-frame mask probabilities at the clip's working resolution
    (the valid, unpadded region of the preprocessed frames), used for soft-IoU matching; a
    method linked by query tracks that gives mask_logits leaves it None (linking reads the
    logits: every query's probabilities would be a large tensor nobody reads);
    mask_logits: optional [N, T, h, w] logits; when given, overlapping clips are averaged in
    logit space and the final mask is `logit > 0` (a method that averages logits), otherwise
    probabilities are averaged and thresholded at 0.5;
    class_probs: optional [N, K] per-instance class distribution, averaged over a track's clips
    and handed to a `track_predictions` hook (output.py: a multi-class expansion of a track
    uses it);
    extra: anything else the method wants to keep (e.g. query embeddings).

    Methods whose spec links clips by query tracks (linking.py) return every track of the clip
    and also: frame_logits [T, N, K+1] per-frame class logits and frame_embeddings [T, N, C]
    per-frame track embeddings, both in the clip's track order; and, with `CarriedState`, the
    per-video `state` the harness hands back to the next clip's
    `infer_clip(frames, state=..., seen=...)`.
    """

    scores: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None = None
    mask_logits: torch.Tensor | None = None
    class_probs: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    frame_logits: torch.Tensor | None = None
    frame_embeddings: torch.Tensor | None = None
    state: Any = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])


class MethodPlugin(ABC):
    """One registered VIS method: a model plus the method's own inference procedure.

    Subclasses set `spec`, keep their `torch.nn.Module` in `self.model` (in eval mode) and the
    options instance they were built with in `self.options`, and implement `create` and
    `infer_clip`.
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
        state dict, in any container, strictly unless told not to: every key must fit, after
        the authors' renames and the method's own completions (checkpoints.py). A method whose
        files need more overrides this."""
        self.load_report = load_method_checkpoint(type(self), self.model, checkpoint, strict)
        return self.load_report

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

        A method whose spec declares `CarriedState` (or `WholeVideoRefinement`) linking also
        takes `state=`: None for a video's first clip, then the `state` of its previous clip's
        result; and `seen=`: how many of the clip's first frames earlier clips covered (0
        without overlap).
        """

    def to(self, device: str | torch.device) -> MethodPlugin:
        """Move the model to `device` (the harness moves clips itself)."""
        self.model.to(device)
        return self

    def backbone_name(self) -> str:
        """The backbone this instance was built with (tables and the leaderboard show it)."""
        return str(getattr(self.options, self.spec.backbone_option, None) or "-")

"""Per-frame stages, an optional capability: the leading stages of a forward that act on each frame
alone (a backbone, say), computed once per frame when clips overlap.

A method has it when its class implements `PerFrameStages`: `frame_features` computes the stages
of a batch of preprocessed frames, one entry per frame whatever the batch; `infer_clip_features`
gives the clip's `infer_clip` result from its frames' entries, bit for bit; `per_frame_stages`
names the stages (`methods` prints them). Under a near-online schedule the runner then computes
each frame's stages once and keeps them while a later clip covers the frame
(vis_bench/inference/feature_reuse.py). Registration refuses a class that implements some of the
three and not the others.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

#: what a class implements to have the capability, all together
MEMBERS = ("per_frame_stages", "frame_features", "infer_clip_features")


class PerFrameStages(Protocol):
    """The capability's members (see the module docstring)."""

    #: names of the stages `frame_features` computes (e.g. ("backbone", "pixel_decoder"))
    per_frame_stages: ClassVar[tuple[str, ...]]

    def frame_features(self, frames: Any) -> list[Any]:
        """Preprocessed frames [n, 3, h, w] -> one entry per frame (each frame's values must not
        depend on the others in the batch)."""
        ...

    def infer_clip_features(self, features: list[Any], **carried: Any) -> Any:
        """`infer_clip` of a clip from its frames' `frame_features`, bit for bit (a method that
        carries a state also takes `state=` and `seen=` here)."""
        ...


def has_per_frame_stages(plugin: Any) -> bool:
    """Whether a plugin (class or instance) computes per-frame stages apart from the clip."""
    return all(getattr(plugin, member, None) for member in MEMBERS)

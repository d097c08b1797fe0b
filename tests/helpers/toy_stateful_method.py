"""A toy method that carries state from clip to clip, as DVIS++'s tracker or CTVIS's memory bank
would: defined entirely here, it declares `CarriedState` linking and the harness hands it back
its state with every clip of a video.

Two query tracks per clip: the pixels brighter than the clip's mean and the others. Its raw
query order flips on every other clip (as a real online model's queries need not keep their
order), and it puts them back in a fixed order from a memory it keeps in its state: each track's
mean brightness in the previous clip. Without the state handed back, tracks would swap.
"""

from __future__ import annotations

from typing import Any

import torch

from tests.helpers.toy_method import ToyOptions, ToyPlugin
from vis_bench.api import CarriedState, ClipResult, MethodSpec, register_method


@register_method("toy-stateful")
class ToyStatefulPlugin(ToyPlugin):
    spec = MethodSpec(
        name="toy-stateful",
        summary="test-only toy method that carries a per-video state from clip to clip",
        options=ToyOptions,
        preprocessing=ToyPlugin.spec.preprocessing,
        notes="test-only toy method",
        training=ToyPlugin.spec.training,
        linking=CarriedState(),
    )

    def infer_clip(
        self, frames: torch.Tensor, state: dict[str, Any] | None = None, seen: int = 0
    ) -> ClipResult:
        state = state or {"clips": 0, "memory": None}
        gray = frames.mean(1)  # [T, h, w]
        bright = gray > gray.mean()
        raw = [bright, ~bright]
        if state["clips"] % 2 == 1:
            raw = raw[::-1]  # the raw query order of this clip differs from the last one's
        brightness = torch.stack([(gray * m).sum() / m.sum().clamp(min=1) for m in raw])
        order = [0, 1]
        if state["memory"] is not None:
            # each remembered track continues as the raw query closest in brightness
            nearest = (brightness[None] - state["memory"][:, None]).abs().argmin(1)
            order = nearest.tolist() if sorted(nearest.tolist()) == [0, 1] else order
        masks = torch.stack([raw[i] for i in order]).float()  # [2, T, h, w]
        t = frames.shape[0]
        label = int(self.options.label)
        logits = torch.full((t, 2, label + 2), -5.0)
        logits[:, :, label - 1] = 5.0  # category id `label` is logit index label - 1
        self.model(frames[:1])  # something for the FLOP counter
        return ClipResult(
            scores=torch.tensor([0.9, 0.9]),
            labels=torch.tensor([label, label]),
            masks=masks,
            frame_logits=logits,
            frame_embeddings=brightness[order][None, :, None].expand(t, 2, 1),
            state={"clips": state["clips"] + 1, "memory": brightness[order]},
        )

"""The result of a first-pass clip of a method that decides at the video's end
(`WholeVideoRefinement`): no predictions yet, what the video gathered so far as its state."""

from __future__ import annotations

from typing import Any

import torch

from vis_bench.api import ClipResult


def first_pass_result(state: Any) -> ClipResult:
    """A first-pass clip's result: the gathered video is its state; masks come later."""
    empty = torch.zeros(0)
    return ClipResult(scores=empty, labels=empty.long(), masks=empty, state=state)

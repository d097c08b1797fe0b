"""Sine position encoding against the official module's output stored in the golden fixture."""

from __future__ import annotations

import torch

from vis_bench.methods.common.backbone import resize_mask
from vis_bench.methods.common.position_encoding import PositionEmbeddingSine


def test_matches_official_positions_of_every_level(golden_dir):
    inputs = torch.load(golden_dir / "seqformer/public/inputs.pt", weights_only=True)
    pos = PositionEmbeddingSine(32, normalize=True)  # hidden 64 -> 32 features per axis
    masks = [inputs["feature_masks"][k] for k in ("res3", "res4", "res5")]
    masks.append(resize_mask(inputs["image_mask"], inputs["pos"]["level3"].shape[-2:]))
    for level, mask in enumerate(masks):
        expected = inputs["pos"][f"level{level}"]
        torch.testing.assert_close(pos(mask), expected, atol=1e-6, rtol=0)


def test_padding_does_not_shift_valid_positions():
    pos = PositionEmbeddingSine(8, normalize=True)
    full = torch.zeros(1, 4, 6, dtype=torch.bool)
    padded = torch.zeros(1, 4, 9, dtype=torch.bool)
    padded[:, :, 6:] = True
    # normalised by the valid extent, so the valid part is identical
    torch.testing.assert_close(pos(padded)[..., :6], pos(full))
    # y channels come first: they vary along rows only
    out = pos(full)
    assert torch.equal(out[:, :8, :, 0], out[:, :8, :, 5])

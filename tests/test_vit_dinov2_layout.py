"""The official DINOv2 layout of the shared ViT (methods/common/vit.py), as DVIS++'s ViT-Adapter
holds it: no registers, a mask token, and a position embedding with a cls entry, resampled by
the DINOv2 rule. VidEoMT's timm layout is checked by tests/test_videomt.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vis_bench.methods.common.vit import (
    VisionTransformer,
    ViTConfig,
    resample_position_embedding_dinov2,
)

DINOV2_SMALL = ViTConfig(
    embed_dim=32,
    depth=1,
    num_heads=2,
    img_size=64,
    num_registers=0,
    pos_embed_layout="dinov2",
    mask_token=True,
)


def _cubic_weights(size_in: int, size_out: int, scale: float) -> np.ndarray:
    """PyTorch's bicubic (A = -0.75, borders clamped) with the output-to-input map set by
    `scale`: source = (i + 0.5) / scale - 0.5."""
    a = -0.75

    def kernel(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return ((a + 2) * x - (a + 3)) * x * x + 1
        if x < 2:
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return 0.0

    weights = np.zeros((size_out, size_in))
    for i in range(size_out):
        source = (i + 0.5) / scale - 0.5
        base = int(np.floor(source))
        for j in range(base - 1, base + 3):
            weights[i, min(max(j, 0), size_in - 1)] += kernel(source - j)
    return weights


def test_dinov2_position_resampling_uses_the_offset_scale_factor():
    """6x6 -> 4x9, against the filter written out with scales (4 + 0.1) / 6 and (9 + 0.1) / 6."""
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 36, 5)
    got = resample_position_embedding_dinov2(pos, (4, 9), (6, 6))
    assert got.shape == (1, 1 + 36, 5) and torch.equal(got[:, 0], pos[:, 0])
    rows, cols = _cubic_weights(6, 4, 4.1 / 6), _cubic_weights(6, 9, 9.1 / 6)
    grid = pos[0, 1:].reshape(6, 6, 5).double().numpy()
    expected = np.einsum("ai,bj,ijc->abc", rows, cols, grid)
    np.testing.assert_allclose(got[0, 1:].reshape(4, 9, 5).numpy(), expected, atol=1e-5)
    assert resample_position_embedding_dinov2(pos, (6, 6), (6, 6)) is pos


def test_dinov2_layout_gives_the_cls_token_its_position_and_has_no_registers():
    torch.manual_seed(0)
    vit = VisionTransformer(DINOV2_SMALL)
    assert vit.reg_token is None and vit.num_prefix_tokens == 1
    assert [k for k, _ in vit.named_parameters()][:3] == ["cls_token", "pos_embed", "mask_token"]
    tokens, grid = vit.embed(torch.randn(2, 3, 64, 96))
    assert grid == (4, 6) and tokens.shape == (2, 1 + 24, 32)
    expected_cls = (vit.cls_token + vit.pos_embed[:, :1]).expand(2, -1, -1)
    torch.testing.assert_close(tokens[:, :1], expected_cls)


def test_the_timm_layout_keeps_its_keys_and_an_unknown_layout_is_refused():
    timm = VisionTransformer(ViTConfig(embed_dim=16, depth=1, num_heads=2, img_size=64))
    names = [k for k, _ in timm.named_parameters()]
    assert names[:3] == ["cls_token", "reg_token", "pos_embed"] and "mask_token" not in names
    assert timm.pos_embed.shape == (1, 16, 16)
    assert VisionTransformer(DINOV2_SMALL).pos_embed.shape == (1, 1 + 16, 32)
    with pytest.raises(ValueError, match="pos_embed_layout"):
        ViTConfig(embed_dim=16, depth=1, num_heads=2, pos_embed_layout="mae")

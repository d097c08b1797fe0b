"""The EoMT heads' patch map (methods/families/eomt/heads.py): with `channels_last` the upscale
blocks read the patch tokens with NHWC strides (the authors' reshape leaves a single image's map
to NCHW convolutions), the same values and masks either way."""

from __future__ import annotations

import pytest
import torch

from vis_bench.methods.common.fast_paths import FastPaths, prepare_for_inference
from vis_bench.methods.families.eomt.heads import mask_embedding, patch_map, upscale_blocks

pytestmark = pytest.mark.usefixtures("one_thread")

GRID = (4, 6)
DIM = 16


def _tokens() -> torch.Tensor:
    """[queries 3, prefix 2, patches], one image, as the ViT's final norm gives them."""
    torch.manual_seed(0)
    return torch.randn(1, 3 + 2 + GRID[0] * GRID[1], DIM)


def test_the_patch_map_is_an_nhwc_view_of_the_same_values_with_channels_last():
    patches = _tokens()[:, 5:]
    authors = patch_map(patches, GRID, FastPaths.all_off())
    nhwc = patch_map(patches, GRID, FastPaths.all_on())
    assert torch.equal(nhwc, authors)
    assert nhwc.data_ptr() == authors.data_ptr() == patches.data_ptr()  # views, no copy
    conv = torch.nn.ConvTranspose2d(DIM, DIM, kernel_size=2, stride=2)
    with torch.inference_mode():
        assert conv(nhwc).is_contiguous(memory_format=torch.channels_last)
        assert conv(authors).is_contiguous()  # the authors' view: NCHW, the slower layout


def test_the_upscale_gives_the_same_masks_in_either_layout():
    from vis_bench.methods.families.eomt.heads import query_predictions

    torch.manual_seed(0)
    upscale, head = upscale_blocks(DIM, 16).eval(), mask_embedding(DIM).eval()
    classes = torch.nn.Linear(DIM, 4).eval()
    x = _tokens()
    results = []
    with torch.inference_mode():
        for paths in (FastPaths.all_off(), FastPaths.all_on()):
            prepare_for_inference(upscale, paths)
            results.append(query_predictions(x, GRID, 3, 2, classes, head, upscale))
    (class_off, masks_off), (class_on, masks_on) = results
    assert masks_on.shape == (1, 3, 4 * GRID[0], 4 * GRID[1])
    torch.testing.assert_close(class_on, class_off, rtol=0, atol=0)
    torch.testing.assert_close(masks_on, masks_off, rtol=1e-5, atol=1e-5)

"""Mask2Former-VIS parity against fixtures made with the authors' code.

Layout and tolerances: tests/fixtures/golden/mask2former_vis/README.md. The network is built from
meta.json without a backbone and run on the stored backbone features. Compared: the pixel
decoder's outputs, the video decoder's predictions and its auxiliary predictions (forward.pt);
the padded input the preprocessing makes; the upsampling to the padded size; `inference_video`
on the authors' own inputs (exact: the same logits in, the same scores, labels and masks out);
and the whole chain from this network's outputs to the results, once through the authors'
procedure and once through the harness's path (`masks_to_video`, frame by frame). The top-10 is
unsorted (`topk(sorted=False)`), so results are compared as a set of (query, label) pairs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch.nn.functional as F

from vis_bench.methods.families.mask2former.fixtures import (
    RAW_TOLERANCE,
    check_forward,
    compare_results,
    compare_rle,
    selected_results,
)
from vis_bench.methods.families.mask2former.postprocess import (
    inference_video,
)
from vis_bench.parity import ParityReport, load_fixture_file, save_produced

ARCHITECTURE = "VideoMaskFormer"


def fixture_outputs(pixel: Any, out: Any) -> dict[str, Any]:
    """This network's outputs in the layout of the fixture's forward.pt."""
    return {
        "pixel_decoder": {
            "mask_features": pixel.mask_features,
            "transformer_encoder_features": pixel.encoder_features,
            "multi_scale_features": {str(i): m for i, m in enumerate(pixel.multi_scale)},
        },
        "pred_logits": out.logits,
        "pred_masks": out.masks,
        "aux_outputs": {
            str(i): {"pred_logits": logits, "pred_masks": masks}
            for i, (logits, masks) in enumerate(out.aux)
        },
    }


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, replay postprocess.pt."""
    fixture_dir = Path(fixture_dir)
    report = ParityReport(method="mask2former-vis", fixture=str(fixture_dir))
    run = check_forward(report, fixture_dir, ARCHITECTURE, True, fixture_outputs)
    sizes, present, out, produced = run.sizes, run.present, run.out, run.produced
    image = tuple(int(v) for v in sizes["image_size"])
    output = tuple(int(v) for v in sizes["orig_size"])
    padded = tuple(int(v) for v in sizes["padded_size"])
    if "postprocess.pt" in present:
        post = load_fixture_file(fixture_dir / "postprocess.pt")
        stored_in = post["inference_video_in"]
        upsampled = F.interpolate(out.masks[0], size=padded, mode="bilinear", align_corners=False)
        report.add_tensor(
            "inference_video_in.pred_masks", upsampled, stored_in["pred_masks"], RAW_TOLERANCE
        )
        replay = inference_video(stored_in["pred_cls"], stored_in["pred_masks"], image, output)
        compare_results(report, "inference_video", replay, post, exact_masks=True)
        compare_rle(report, post["pred_masks"], post["pred_masks_rle"])
        chain = selected_results(out.logits[0], out.masks[0], sizes, per_frame=False)
        compare_results(report, "end_to_end", chain, post, exact_masks=False)
        harness = selected_results(out.logits[0], out.masks[0], sizes, per_frame=True)
        compare_results(report, "harness_path", harness, post, False)
        produced["postprocess"] = {"end_to_end": chain}
    save_produced(produced, out_path)
    return report

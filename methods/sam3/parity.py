"""SAM 3 parity against the authors' fixtures: the text and image sides of the detector case.

`tokens` (the CLIP BPE ids of "person" and "red car", recorded by the authors' tokenizer) go
through this package's text encoder, and the preprocessed images through its ViT trunk and both
necks, with the fixture weights loaded strictly by name; the padding mask, token embeddings and
resized text features, the trunk's output, both necks' three levels and their position
encodings are compared with the authors' record.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vis_bench.methods.sam3.fixtures import (
    FP32_TOLERANCE,
    TEXT_PREFIX,
    VISION_PREFIX,
    d_model,
    load_gz,
    sub_state_dict,
    text_sizes,
    vit_sizes,
)
from vis_bench.methods.sam3.neck import VisionBackbone
from vis_bench.methods.sam3.text_encoder import TextEncoder


def _verdict(report: dict[str, float | bool]) -> dict[str, float | bool]:
    flags = [value for value in report.values() if isinstance(value, bool)]
    floats = [value for value in report.values() if isinstance(value, float)]
    report["passed"] = all(flags) and all(value <= FP32_TOLERANCE for value in floats)
    return report


def text_parity(fixture: Path) -> dict[str, float | bool]:
    """Largest absolute differences of the text side on the detector case, and the verdict."""
    weights = load_gz(fixture / "weights.pt.gz")
    record = load_gz(fixture / "det_case.pt.gz")["record"]
    encoder = TextEncoder(text_sizes(fixture)).eval()
    encoder.load_state_dict(sub_state_dict(weights, TEXT_PREFIX), strict=True)
    with torch.no_grad():
        out = encoder(record["tokens"])
    ref_mask, ref_features, ref_embeds = record["text_out"][0]
    report: dict[str, float | bool] = {
        "padding_mask_equal": bool(torch.equal(out.padding_mask, ref_mask)),
        "features": float((out.features - ref_features).abs().max()),
        "embeds": float((out.embeds - ref_embeds).abs().max()),
        "language_features": float((out.features - record["language_features"]).abs().max()),
    }
    return _verdict(report)


def vision_parity(fixture: Path) -> dict[str, float | bool]:
    """Largest absolute differences of the image side on the detector case, and the verdict."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / "det_case.pt.gz")
    record = case["record"]
    backbone = VisionBackbone(vit_sizes(fixture), d_model(fixture)).eval()
    backbone.load_state_dict(sub_state_dict(weights, VISION_PREFIX), strict=True)
    with torch.no_grad():
        trunk = backbone.trunk(case["images_preprocessed"])
        out = backbone(case["images_preprocessed"])
    report: dict[str, float | bool] = {
        "vit_out": float((trunk - record["vit_out"][0][0]).abs().max())
    }
    for name, got, ref in (
        ("backbone_fpn", out.detector, record["backbone_fpn"]),
        ("sam2_backbone_fpn", out.tracker, record["sam2_backbone_fpn"]),
        ("vision_pos_enc", out.positions, record["vision_pos_enc"]),
    ):
        report[f"{name}_levels_equal_in_number"] = len(got) == len(ref)
        for level, (a, b) in enumerate(zip(got, ref, strict=False)):
            report[f"{name}[{level}]"] = float((a - b).abs().max())
    return _verdict(report)

"""SAM 3 parity against the authors' fixtures: the text side of the detector case.

`tokens` (the CLIP BPE ids of "person" and "red car", recorded by the authors' tokenizer) go
through this package's text encoder with the fixture weights loaded strictly by name; its
padding mask, token embeddings and resized features are compared with the authors' `text_out`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vis_bench.methods.sam3.fixtures import (
    FP32_TOLERANCE,
    TEXT_PREFIX,
    load_gz,
    sub_state_dict,
    text_sizes,
)
from vis_bench.methods.sam3.text_encoder import TextEncoder


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
    report["passed"] = bool(report["padding_mask_equal"]) and all(
        value <= FP32_TOLERANCE for value in report.values() if isinstance(value, float)
    )
    return report

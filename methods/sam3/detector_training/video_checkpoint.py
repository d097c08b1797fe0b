"""A `sam3` video checkpoint from a trained tiny detector: the detector's `detector.*` weights
under SAM 3's layout, the tracker (and the tracker's neck, which the detector never reads) as
initialised for the sizes given. The video method's AP (`run_bench.py regress`) needs the whole
model in one file; how much of it the tracker's training adds is measured from this start.

    python -m vis_bench.methods.sam3.detector_training.video_checkpoint DETECTOR.pth OUT.pth
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import torch

from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import read_project_checkpoint, save_project_checkpoint
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.video_model import Sam3VideoModel

#: the tiny tracker's sizes beside the tiny detector's (the release: 64, 4, 2048)
TINY_TRACKER = {"mem_dim": 16, "tracker_layers": 1, "tracker_ffn": 128}
#: in the detector's file but shaped by its own width: CLIP's pooled projection, unused by SAM 3
UNUSED = "detector.backbone.language_backbone.encoder.text_projection"
#: the shape fields both option sets share (`detector_sizes_of` reads them)
SHAPE_FIELDS = (
    "image", "patch", "vit_dim", "vit_depth", "vit_heads", "vit_mlp_ratio", "window",
    "global_blocks", "text_width", "text_heads", "text_layers", "context", "d_model", "heads",
    "ffn", "geometry_layers", "encoder_layers", "decoder_layers", "queries",
)  # fmt: skip


def video_options(detector: dict[str, Any], tracker: dict[str, Any]) -> Sam3Options:
    """The `sam3` options of a tiny detector's (its shape, prompts and threshold; the position
    table at its input side, where it was trained) with the tracker's sizes."""
    shape = {k: detector[k] for k in SHAPE_FIELDS if k in detector}
    prompts = {
        "categories": "",
        "prompts": list(detector.get("prompts") or []),
        "category_ids": list(detector.get("category_ids") or []),
        "score_threshold_detection": float(detector.get("score_threshold", 0.5)),
    }
    return Sam3Options(**shape, pretrain_image=shape.get("image", 144), **prompts, **tracker)


def video_checkpoint(
    detector_file: str | Path, output: str | Path, tracker: dict[str, Any] | None = None
) -> Sam3Options:
    """Write `output` (method `sam3`, float16) from `detector_file` (the tiny detector's
    training output); the tracker is initialised with torch's seed 0."""
    contents = read_project_checkpoint(detector_file)
    if contents.method != "sam3-detector":
        raise InputError(
            f"holds method {contents.method!r}, not a SAM 3 detector: give the output of "
            "`run_bench.py train --config configs/tiny/sam3_detector.yaml`",
            path=str(detector_file),
            field="method",
        )
    options = video_options(dict(contents.config), dict(tracker or TINY_TRACKER))
    torch.manual_seed(0)
    model = Sam3VideoModel(options.detector_sizes(), options.tracker_sizes())
    weights = {k: v for k, v in contents.state_dict.items() if k != UNUSED}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    stray = [k for k in missing if k.startswith("detector.") and k != UNUSED]
    if unexpected or stray:
        raise InputError(
            f"does not fit SAM 3's layout: unexpected {unexpected[:3]}, missing {stray[:3]}",
            path=str(detector_file),
            field="state_dict",
        )
    record = {"detector": str(detector_file), "tracker": "initialised (seed 0), untrained"}
    save_project_checkpoint(
        model.state_dict(), output, "sam3", dataclasses.asdict(options), record, half=True
    )
    return options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector", help="the tiny detector's training output")
    parser.add_argument("output", help="where the sam3 checkpoint goes")
    args = parser.parse_args(argv)
    video_checkpoint(args.detector, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

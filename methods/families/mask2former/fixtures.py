"""Reading the Mask2Former family's parity fixtures (made by running the authors' code).

Each fixture's meta.json names the authors' meta-architecture and the config overrides of its
reduced model; `fixture_config` turns those overrides into a `Mask2FormerConfig` and refuses a
fixture of another family member or an override it does not know (a silently ignored override
would compare a different network). Layout: tests/fixtures/golden/mask2former_vis/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.api import InputError
from vis_bench.api.output import encode_rle
from vis_bench.methods.common.detectron2_input import PIXEL_MEAN, PIXEL_STD, pad_frames
from vis_bench.methods.common.fast_paths import prepare_for_inference
from vis_bench.methods.families.mask2former.model import (
    Mask2FormerConfig,
    Mask2FormerModel,
    build_model,
)
from vis_bench.methods.families.mask2former.postprocess import (
    frame_logits_to_video,
    masks_to_output,
    top_predictions,
)
from vis_bench.parity import ParityReport, compare_tree, load_fixture_file, load_fixture_weights

#: detectron2 config key -> (Mask2FormerConfig field, value transform)
OVERRIDES = {
    "MODEL.SEM_SEG_HEAD.NUM_CLASSES": ("num_classes", int),
    "MODEL.SEM_SEG_HEAD.CONVS_DIM": ("conv_dim", int),
    "MODEL.SEM_SEG_HEAD.MASK_DIM": ("mask_dim", int),
    "MODEL.SEM_SEG_HEAD.TRANSFORMER_ENC_LAYERS": ("enc_layers", int),
    "MODEL.MASK_FORMER.HIDDEN_DIM": ("hidden_dim", int),
    "MODEL.MASK_FORMER.NUM_OBJECT_QUERIES": ("num_queries", int),
    "MODEL.MASK_FORMER.DIM_FEEDFORWARD": ("dim_feedforward", int),
    "MODEL.MASK_FORMER.NHEADS": ("nheads", int),
    # the configs count the learnable queries' prediction as a layer
    "MODEL.MASK_FORMER.DEC_LAYERS": ("dec_layers", lambda v: int(v) - 1),
}
#: overrides that change nothing the network computes at inference
INERT_OVERRIDES = ("INPUT.SAMPLING_FRAME_NUM", "MODEL.MINVIS.WINDOW_SIZE")
BACKBONE_LEVELS = ("res2", "res3", "res4", "res5")
SCORE_TOLERANCE = 1e-5
#: mask pixels allowed to flip where a logit is within float noise of 0 (per result)
FLIPPED_PIXELS = 8


#: the fixture READMEs' tolerance for raw outputs and intermediates
RAW_TOLERANCE = 1e-4
#: what a family fixture set holds beside meta.json, state_dict.pt and features.pt
FORWARD_FILES = ("forward.pt", "postprocess.pt")


@dataclass
class ForwardCheck:
    """A fixture's network run on its stored backbone features, already compared with its
    forward.pt: what a member's parity goes on to check (linking, post-processing)."""

    model: Mask2FormerModel
    features: dict[str, torch.Tensor]
    sizes: dict[str, Any]
    present: set[str]
    pixel: Any
    out: Any
    produced: dict[str, Any]


def check_forward(
    report: ParityReport,
    fixture_dir: Path,
    architecture: str,
    temporal: bool,
    fixture_outputs: Callable[[Any, Any], dict[str, Any]],
) -> ForwardCheck:
    """Build the network from meta.json, load state_dict.pt (keys in order), run it on
    features.pt and compare its outputs (laid out by `fixture_outputs`) with forward.pt; the
    padded input's size is checked too."""
    model = build_model(fixture_config(fixture_dir, architecture), temporal=temporal)
    load_fixture_weights(report, model, fixture_dir / "state_dict.pt", check_order=True)
    prepare_for_inference(model)
    present = set(report.expect_files(fixture_dir, FORWARD_FILES))
    features, sizes = backbone_features(fixture_dir)
    with torch.no_grad():
        pixel, out = model.forward_features(features, keep_aux=True)
    produced = fixture_outputs(pixel, out)
    if "forward.pt" in present:
        expected = forward_tree(load_fixture_file(fixture_dir / "forward.pt"))
        compare_tree(report, "", produced, expected, lambda _path: RAW_TOLERANCE)
    check_preprocessing(report, sizes)
    return ForwardCheck(model, features, sizes, present, pixel, out, produced)


def read_meta(fixture_dir: Path, architecture: str) -> dict[str, Any]:
    """meta.json of a fixture made with `architecture` (the authors' meta-architecture)."""
    path = fixture_dir / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(fixture_dir))
    meta = json.loads(path.read_text())
    found = meta.get("meta_architecture")
    if found != architecture:
        raise InputError(
            f"a fixture of {found!r}, not {architecture!r}: point --fixture at a fixture made "
            "for this method",
            path=str(path),
            field="meta_architecture",
        )
    return meta


def fixture_config(fixture_dir: Path, architecture: str) -> Mask2FormerConfig:
    """The fixture's reduced network, without a backbone (the fixture stores its features)."""
    meta = read_meta(fixture_dir, architecture)
    values: dict[str, Any] = {"backbone": None}
    for key, value in (meta.get("overrides") or {}).items():
        if key in INERT_OVERRIDES:
            continue
        if key not in OVERRIDES:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps to its options",
                path=str(fixture_dir / "meta.json"),
                field=f"overrides.{key}",
            )
        name, convert = OVERRIDES[key]
        values[name] = convert(value)
    return Mask2FormerConfig(**values)


def backbone_features(fixture_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The stored backbone levels as float32 (what the authors' network consumed) and the
    rest of features.pt (sizes, frames)."""
    stored = load_fixture_file(fixture_dir / "features.pt")
    levels = {name: stored[name].float() for name in BACKBONE_LEVELS}
    return levels, {k: v for k, v in stored.items() if k not in BACKBONE_LEVELS}


def forward_tree(expected: dict[str, Any]) -> dict[str, Any]:
    """forward.pt with its lists keyed by position (the form `compare_tree` walks)."""
    pixel = dict(expected["pixel_decoder"])
    pixel["multi_scale_features"] = dict(enumerate(pixel["multi_scale_features"]))
    pixel["multi_scale_features"] = {str(k): v for k, v in pixel["multi_scale_features"].items()}
    tree = {k: v for k, v in expected.items() if k != "aux_outputs"}
    tree["pixel_decoder"] = pixel
    tree["aux_outputs"] = {str(i): layer for i, layer in enumerate(expected["aux_outputs"])}
    return tree


def _sorted_results(results: dict) -> list[tuple[int, float, torch.Tensor]]:
    """(label, score, masks) sorted by label then score: unsorted top-k orders compare alike."""
    triples = zip(
        results["pred_labels"], results["pred_scores"], results["pred_masks"], strict=True
    )
    return sorted(((int(lbl), float(s), m) for lbl, s, m in triples), key=lambda r: r[:2])


def compare_results(
    report: ParityReport,
    name: str,
    produced: dict,
    expected: dict,
    exact_masks: bool,
    score_tolerance: float = SCORE_TOLERANCE,
    flipped_pixels: int = FLIPPED_PIXELS,
) -> None:
    """Scores and labels as sets, masks per matched result (exact, or up to `flipped_pixels`
    pixels per result where a logit is within noise of 0)."""
    mine, theirs = _sorted_results(produced), _sorted_results(expected)
    labels = [r[0] for r in mine] == [r[0] for r in theirs]
    report.add_exact(f"{name}.pred_labels (as a set)", labels, f"{len(mine)} results")
    if not labels:
        return
    score_diff = max(abs(a[1] - b[1]) for a, b in zip(mine, theirs, strict=True))
    flips = max(int((a[2].bool() != b[2].bool()).sum()) for a, b in zip(mine, theirs, strict=True))
    report.add_exact(
        f"{name}.pred_scores",
        score_diff <= score_tolerance,
        f"max |diff| {score_diff:.1e} (tol {score_tolerance:.0e})",
    )
    allowed = 0 if exact_masks else flipped_pixels
    report.add_exact(
        f"{name}.pred_masks", flips <= allowed, f"at most {flips} pixels differ (allowed {allowed})"
    )


def compare_rle(report: ParityReport, produced: torch.Tensor, expected: list) -> None:
    """The authors' masks through the project's RLE encoder equal the fixture's RLEs."""
    same = all(
        encode_rle(np.asarray(frame))["counts"] == rle["counts"]
        for masks, rles in zip(produced, expected, strict=True)
        for frame, rle in zip(masks, rles, strict=True)
    )
    report.add_exact("inference_video.pred_masks_rle", same, "RLE of every result and frame")


def check_preprocessing(report: ParityReport, sizes: dict[str, Any]) -> None:
    if "frames_uint8" not in sizes or "normalized_input" not in sizes:
        return
    frames = sizes["frames_uint8"].float()
    mean = torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
    padded = pad_frames((frames - mean) / std)
    report.add_tensor("normalized_input (padded)", padded, sizes["normalized_input"], 1e-6)


def selected_results(
    logits: torch.Tensor, masks: torch.Tensor, sizes: dict[str, Any], per_frame: bool
) -> dict[str, torch.Tensor]:
    """The top-10 (query, class) pairs of logits [Q, K+1] with their masks [Q, T, h, w] at the
    video size: by the authors' chain over the whole video (`masks_to_output`) or frame by frame
    as the harness's `masks_to_video` resizes them (`per_frame`)."""
    image = tuple(int(v) for v in sizes["image_size"])
    output = tuple(int(v) for v in sizes["orig_size"])
    top = top_predictions(logits)
    kept = masks[top.queries]  # [k, T, h, w]
    if per_frame:
        frames = [
            torch.from_numpy(frame_logits_to_video(kept[:, t], image, *output))
            for t in range(kept.shape[1])
        ]
        video_masks = torch.stack(frames, 1).bool()
    else:
        padded = tuple(int(v) for v in sizes["padded_size"])
        video_masks = masks_to_output(kept, image, output, padded)
    return {"pred_scores": top.scores, "pred_labels": top.labels, "pred_masks": video_masks}

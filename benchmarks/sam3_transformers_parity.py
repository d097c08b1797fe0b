"""Does the Hugging Face Transformers SAM 3 reproduce the authors' fixtures? (route decision)

    python benchmarks/sam3_transformers_parity.py \
        --json benchmarks/results/sam3_transformers_parity.json

Builds `transformers.Sam3Model` with the reduced sizes of the public SAM 3 fixture set
(`$VIS_BENCH_SHARED/golden/sam3/public`, or the vendored copy under tests/fixtures), loads the
fixture weights (authors' key layout) through the renaming of `methods/sam3/hf_layout.py`
(Transformers' converter's, which is not in its wheel), runs the detector case (2 images x 2
prompts) from the recorded tokens and preprocessed images, and reports the largest absolute
difference of every recorded tensor it can map. Two runs: Transformers' own forward ("as_is"),
and the same modules driven with the geometry encoder's CLS token appended to the prompt as the
authors' detector does for a text-only prompt ("with_geometry_cls"). It also reports which of
the authors' video heuristics (../NOTES.md section 5) appear in Transformers' SAM 3 video code.
Exits 0 with a message when transformers is not installed.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import torch

from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.methods.sam3.hf_layout import to_transformers

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-4  # the fixture README's fp32 tolerance
AUTHORS_LAYER_NORM_EPS = 1e-5


def fixture_dir() -> Path:
    """The public fixture set: the shared folder first, then the vendored copy."""
    shared = os.environ.get("VIS_BENCH_SHARED")
    candidates = [Path(shared) / "golden/sam3/public"] if shared else []
    candidates.append(REPO / "tests/fixtures/golden/sam3/public")
    for path in candidates:
        if (path / "weights.pt.gz").is_file():
            return path
    sys.exit("SAM 3 fixtures not found: set VIS_BENCH_SHARED to the team's shared folder")


def load_gz(path: Path) -> Any:
    with gzip.open(path, "rb") as handle:
        return torch.load(io.BytesIO(handle.read()), weights_only=True)


def hf_config(cfg: dict[str, Any]) -> Any:
    """A `Sam3Config` with the fixture's reduced sizes (config.json `cfg`)."""
    from transformers import Sam3Config

    d, heads, ffn = cfg["d"], cfg["heads"], cfg["ffn"]
    grid = cfg["img"] // cfg["patch"]
    return Sam3Config(
        vision_config={
            "backbone_config": {
                "model_type": "sam3_vit_model",
                "hidden_size": cfg["vit_dim"],
                "intermediate_size": int(cfg["vit_dim"] * cfg["vit_mlp_ratio"]),
                "num_hidden_layers": cfg["vit_depth"],
                "num_attention_heads": cfg["vit_heads"],
                "image_size": cfg["img"],
                "patch_size": cfg["patch"],
                "window_size": cfg["vit_window"],
                "global_attn_indexes": cfg["vit_global"],
                "pretrain_image_size": cfg["pretrain_img"],
            },
            "fpn_hidden_size": d,
            "backbone_feature_sizes": [[grid * 4] * 2, [grid * 2] * 2, [grid] * 2],
        },
        text_config={
            "model_type": "clip_text_model",
            "vocab_size": 49408,
            "hidden_size": cfg["txt_width"],
            "intermediate_size": cfg["txt_width"] * 4,
            "projection_dim": cfg["txt_width"],
            "num_hidden_layers": cfg["txt_layers"],
            "num_attention_heads": cfg["txt_heads"],
            "max_position_embeddings": cfg["ctx"],
            "hidden_act": "gelu",
        },
        geometry_encoder_config={
            "hidden_size": d,
            "num_layers": cfg["geo_layers"],
            "num_attention_heads": heads,
            "intermediate_size": ffn,
        },
        detr_encoder_config={
            "hidden_size": d,
            "num_layers": cfg["enc_layers"],
            "num_attention_heads": heads,
            "intermediate_size": ffn,
        },
        detr_decoder_config={
            "hidden_size": d,
            "num_layers": cfg["dec_layers"],
            "num_queries": cfg["queries"],
            "num_attention_heads": heads,
            "intermediate_size": ffn,
        },
        mask_decoder_config={"hidden_size": d, "num_attention_heads": heads},
    )


# Authors' detector keys Transformers' `Sam3Model` does not hold, and why.
_UNMAPPED = {
    r"\.attn\.freqs_cis$": "RoPE table (a buffer; Transformers computes its own)",
    r"geometry_encoder\.points_": "point prompts (Transformers' geometry encoder takes boxes only)",
    r"vision_backbone\.sam2_convs\.": "the tracker's neck (Sam3VideoModel.tracker_neck)",
}
DETECTOR, HF_DETECTOR = "detector.", "detector_model."


def rename_detector(
    authors: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Authors' `detector.*` state dict -> Transformers `Sam3Model` names (the video model's
    layout, `methods/sam3/hf_layout.py`, without its `detector_model.` prefix); unmapped keys
    with why."""
    detector = {k: v for k, v in authors.items() if k.startswith(DETECTOR)}
    out = {
        k[len(HF_DETECTOR) :]: v
        for k, v in to_transformers(detector).items()
        if k.startswith(HF_DETECTOR)
    }
    skipped = {
        k[len(DETECTOR) :]: why
        for k in detector
        for pattern, why in _UNMAPPED.items()
        if re.search(pattern, k)
    }
    return out, skipped


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


def _with_geometry_cls(
    model: Any, prompt: torch.Tensor, mask: torch.Tensor, feats: list, pos: list, got: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompt with the geometry encoder's CLS token appended, as the authors always do."""
    b = prompt.shape[0]
    # No boxes: skip the box pooling (it needs torchvision's roi_align even for 0 boxes).
    model.geometry_encoder._encode_boxes = lambda boxes, mask, labels, feats: (
        boxes.new_zeros(boxes.shape[0], 0, model.config.geometry_encoder_config.hidden_size),
        mask,
    )
    geo = model.geometry_encoder(
        box_embeddings=torch.zeros(b, 0, 4),
        box_mask=torch.zeros(b, 0, dtype=torch.bool),
        box_labels=torch.zeros(b, 0, dtype=torch.long),
        img_feats=feats,
        img_pos_embeds=pos,
    )
    got["geometry_out"] = geo.last_hidden_state
    prompt = torch.cat([prompt, geo.last_hidden_state], dim=1)
    return prompt, torch.cat([mask, geo.attention_mask.bool()], dim=1)


def run_detector(
    model: Any,
    images: torch.Tensor,
    tokens: torch.Tensor,
    pairs: tuple[torch.Tensor, torch.Tensor],
    with_cls: bool,
) -> dict[str, Any]:
    """Drive Transformers' detector modules on (image, prompt) pairs, one query batch each."""
    from transformers.models.sam3.modeling_sam3 import box_cxcywh_to_xyxy, inverse_sigmoid

    img_idx, prm_idx = pairs
    got: dict[str, Any] = {}
    with torch.no_grad():
        vis = model.get_vision_features(pixel_values=images)
        got["vit_out"] = vis.last_hidden_state
        got["backbone_fpn"] = list(vis.fpn_hidden_states[:-1])
        got["vision_pos_enc"] = list(vis.fpn_position_encoding[:-1])
        attn = (tokens != 0).long()
        text = model.get_text_features(input_ids=tokens, attention_mask=attn)
        got["language_features"] = text.pooler_output
        feats = [f[img_idx] for f in vis.fpn_hidden_states[:-1]]
        pos = [p[img_idx] for p in vis.fpn_position_encoding[:-1]]
        prompt = text.pooler_output[prm_idx]
        mask = attn.bool()[prm_idx]
        if with_cls:
            prompt, mask = _with_geometry_cls(model, prompt, mask, feats, pos, got)
        enc = model.detr_encoder(
            vision_features=[feats[-1]],
            text_features=prompt,
            vision_pos_embeds=[pos[-1]],
            text_mask=mask,
        )
        got["encoder_memory"] = enc.last_hidden_state
        dec = model.detr_decoder(
            vision_features=enc.last_hidden_state,
            text_features=enc.text_features,
            vision_pos_encoding=enc.pos_embeds_flattened,
            text_mask=mask,
            spatial_shapes=enc.spatial_shapes,
        )
        got["decoder_hs"] = dec.intermediate_hidden_states
        got["decoder_ref_boxes"] = dec.reference_boxes
        got["presence_logits"] = dec.presence_logits
        offsets = model.detr_decoder.box_head(dec.intermediate_hidden_states)
        boxes = (inverse_sigmoid(dec.reference_boxes) + offsets).sigmoid()
        logits = model.dot_product_scoring(
            decoder_hidden_states=dec.intermediate_hidden_states,
            text_features=enc.text_features,
            text_mask=mask,
        )
        got["class_logits"] = logits
        seg = model.mask_decoder(
            decoder_queries=dec.intermediate_hidden_states[-1],
            backbone_features=feats,
            encoder_hidden_states=enc.last_hidden_state,
            prompt_features=prompt,
            prompt_mask=mask,
        )
        presence = dec.presence_logits[-1]
        joint = logits[-1].sigmoid() * presence.sigmoid().unsqueeze(1)
        got["joint_probs"] = joint.squeeze(-1)  # what Sam3VideoModel.run_detection scores with
        got["pred_logits"] = torch.logit(joint).clamp(-10, 10)
        got["pred_boxes"] = boxes[-1]
        got["pred_boxes_xyxy"] = box_cxcywh_to_xyxy(boxes[-1])
        got["pred_masks"] = seg.pred_masks
        got["semantic_seg"] = seg.semantic_seg
    return got


def compare_vit(vit_out: torch.Tensor, rec: dict[str, Any]) -> float:
    """Transformers' ViT tokens (B, HW, C) against the authors' map (B, C, H, W)."""
    ref = rec["vit_out"][0][0]
    return max_abs(vit_out.transpose(1, 2).reshape(ref.shape), ref)


def compare(got: dict[str, torch.Tensor], rec: dict[str, Any]) -> dict[str, Any]:
    """Largest |difference| per recorded tensor, in the authors' layouts."""
    text_mask = rec["tokens"] != 0
    valid = text_mask.t().unsqueeze(-1)  # (32, prompts, 1), authors' seq-first layout
    lang_ref = rec["language_features"]
    got_lang = got["language_features"].transpose(0, 1)
    out: dict[str, Any] = {
        "vit_out": compare_vit(got["vit_out"], rec),
        "backbone_fpn": [
            max_abs(a, b) for a, b in zip(got["backbone_fpn"], rec["backbone_fpn"], strict=True)
        ],
        "vision_pos_enc": [
            max_abs(a, b) for a, b in zip(got["vision_pos_enc"], rec["vision_pos_enc"], strict=True)
        ],
        "language_features_valid_tokens": max_abs(got_lang * valid, lang_ref * valid),
        "language_features_all_tokens": max_abs(got_lang, lang_ref),
    }
    fin = rec["final"]
    enc_ref = rec["encoder_out"][0]["memory"].transpose(0, 1)  # (B, HW, d)
    if got["encoder_memory"].shape == enc_ref.shape:
        out["encoder_memory"] = max_abs(got["encoder_memory"], enc_ref)
    hs_ref = rec["decoder_out"][0][0].transpose(1, 2)  # (L, B, Q, d)
    out["decoder_hs"] = max_abs(got["decoder_hs"], hs_ref)
    out["presence_logits"] = max_abs(
        got["presence_logits"], rec["decoder_out"][0][2].transpose(1, 2)
    )
    out["class_logits"] = max_abs(got["class_logits"], rec["dot_prod_scores"][0])
    if "geometry_out" in got:
        out["geometry_out"] = max_abs(
            got["geometry_out"], rec["geometry_out"][0][0].transpose(0, 1)
        )
    out["pred_logits"] = max_abs(got["pred_logits"], fin["pred_logits"])
    out["pred_boxes"] = max_abs(got["pred_boxes"], fin["pred_boxes"])
    out["pred_boxes_xyxy"] = max_abs(got["pred_boxes_xyxy"], fin["pred_boxes_xyxy"])
    out["pred_masks"] = max_abs(got["pred_masks"], fin["pred_masks"])
    out["semantic_seg"] = max_abs(got["semantic_seg"], rec["seg_head_out"][0]["semantic_seg"])
    keep = torch.sigmoid(got["pred_logits"].squeeze(-1)) > 0.5
    out["kept_queries_equal"] = bool(torch.equal(keep, fin["keep_prob_gt_0.5"]))
    return out


def greedy_mask_nms(probs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The authors' detection filter: prob > 0.5, greedy by score, drop mask IoU > 0.1."""
    keep = torch.zeros_like(probs, dtype=torch.bool)
    binary = masks > 0
    kept: list[int] = []
    for i in torch.argsort(probs, descending=True, stable=True).tolist():
        if probs[i] <= 0.5:
            break
        ious = [
            float((binary[i] & binary[j]).sum()) / max(float((binary[i] | binary[j]).sum()), 1.0)
            for j in kept
        ]
        if all(iou <= 0.1 for iou in ious):
            kept.append(i)
            keep[i] = True
    return keep


def video_detections(model: Any, vcase: dict[str, Any], det_tokens: torch.Tensor) -> dict[str, Any]:
    """Per (prompt, frame) detections of the video case: Transformers vs the recorded `det`."""
    from transformers.models.sam3_video.modeling_sam3_video import nms_masks

    rec = vcase["record"]
    frames = rec["frames_preprocessed_fp16"].float()
    n_frames, n_prompts = frames.shape[0], det_tokens.shape[0]
    pairs = (
        torch.arange(n_frames).repeat(n_prompts),
        torch.arange(n_prompts).repeat_interleave(n_frames),
    )
    out: dict[str, Any] = {}
    for variant, with_cls, nms in (
        ("as_is_transformers_nms", False, "transformers"),
        ("with_geometry_cls_transformers_nms", True, "transformers"),
        ("with_geometry_cls_greedy_nms", True, "greedy"),
    ):
        got = run_detector(model, frames, det_tokens, pairs, with_cls)
        probs, masks, boxes = got["joint_probs"], got["pred_masks"], got["pred_boxes_xyxy"]
        equal_counts, diffs = 0, {"scores": 0.0, "mask_logits": 0.0, "bbox": 0.0}
        for q in range(probs.shape[0]):
            prompt, frame = int(pairs[1][q]), int(pairs[0][q])
            ref = rec["steps"][prompt * (n_frames + 1) + 1 + frame]["det"]
            if nms == "transformers":
                keep = nms_masks(probs[q], masks[q], prob_threshold=0.5, iou_threshold=0.1)
            else:
                keep = greedy_mask_nms(probs[q], masks[q])
            keep = keep & (probs[q] > 0.5)
            if int(keep.sum()) != ref["scores"].numel():
                continue
            equal_counts += 1
            if keep.any():
                diffs["scores"] = max(diffs["scores"], max_abs(probs[q][keep], ref["scores"]))
                diffs["mask_logits"] = max(
                    diffs["mask_logits"], max_abs(masks[q][keep], ref["mask"])
                )
                diffs["bbox"] = max(diffs["bbox"], max_abs(boxes[q][keep], ref["bbox"]))
        out[variant] = {
            "frame_prompt_pairs": int(probs.shape[0]),
            "detection_count_equal": equal_counts,
            "max_abs_diff_where_counts_equal": diffs,
        }
    return out


def within(figures: dict[str, Any]) -> bool:
    """All figures within the tolerance, except padded text positions (no later stage reads
    them: every attention and pooling over the prompt masks them out)."""
    values: list[float] = []
    for name, value in figures.items():
        if name.endswith("_all_tokens"):
            continue
        if isinstance(value, list):
            values.extend(value)
        elif isinstance(value, float):
            values.append(value)
    return all(v <= TOLERANCE for v in values)


# NOTES.md section 5 -> a pattern that names it in Transformers' SAM 3 video sources.
_VIDEO_FEATURES = {
    "mask NMS of detections": r"def nms_masks",
    "NMS / hole filling need a kernel fetched from the Hub": r"get_kernel\(",
    "hotstart removal": r"hotstart_unmatch_thresh",
    "reconditioning": r"recondition_every_nth_frame",
    "occlusion-based suppression": r"suppress_overlapping_based_on_recent_occlusion",
    "keep-alive counters": r"trk_keep_alive",
    "hole filling / sprinkle removal": r"def fill_holes_in_mask_scores",
    "memory selection (use_memory_selection, mf_threshold)": r"memory_selection|mf_threshold",
    "memory features rounded to bfloat16": r"maskmem_features\.to\(torch\.bfloat16\)",
    "any bfloat16 cast in the video loop (tracker backbone features)": r"sam3_video:.*bfloat16",
    "masklet score = birth detection probability": r"obj_id_to_score",
}
_VIDEO_MODULES = (
    "transformers.models.sam3_video.modeling_sam3_video",
    "transformers.models.sam3_video.configuration_sam3_video",
    "transformers.models.sam3_tracker_video.modeling_sam3_tracker_video",
    "transformers.models.sam3_tracker_video.configuration_sam3_tracker_video",
)


def video_coverage() -> dict[str, int]:
    """How often each heuristic's name occurs in Transformers' SAM 3 video sources (0 = absent).

    Lines are prefixed with their package (`sam3_video:` / `sam3_tracker_video:`) so a pattern
    can ask for one of them."""
    lines: list[str] = []
    for module in _VIDEO_MODULES:
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        package = module.split(".")[2]
        text = Path(spec.origin).read_text(encoding="utf-8")
        lines.extend(f"{package}: {line}" for line in text.splitlines())
    return {
        name: sum(1 for line in lines if re.search(pattern, line))
        for name, pattern in _VIDEO_FEATURES.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if importlib.util.find_spec("transformers") is None:
        print("transformers is not installed: nothing to measure (pip install transformers)")
        return
    import transformers
    from transformers import Sam3Model

    provenance = start_provenance()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    root = fixture_dir()
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    weights = load_gz(root / "weights.pt.gz")
    case = load_gz(root / "det_case.pt.gz")
    vcase = load_gz(root / "video_case.pt.gz")
    hf_cfg = hf_config(config["cfg"])
    default_eps = hf_cfg.vision_config.backbone_config.layer_norm_eps
    model = Sam3Model(hf_cfg).eval()
    renamed, skipped = rename_detector(weights)
    result = model.load_state_dict(renamed, strict=False)
    load = {
        "authors_detector_keys": sum(1 for k in weights if k.startswith("detector.")),
        "loaded": len(renamed),
        "hf_missing": sorted(result.missing_keys),
        "hf_unexpected": sorted(result.unexpected_keys),
        "authors_unmapped": skipped,
    }
    runs: dict[str, Any] = {}
    tokens = case["record"]["tokens"]
    one_pair = (
        torch.arange(case["images_preprocessed"].shape[0]),
        torch.zeros(2, dtype=torch.long),
    )
    vit_default = run_detector(model, case["images_preprocessed"], tokens, one_pair, False)
    runs["vit_out_with_transformers_default_eps"] = {
        "layer_norm_eps": default_eps,
        "max_abs_diff": compare_vit(vit_default["vit_out"], case["record"]),
    }
    # The authors' ViT LayerNorms are torch's default eps (1e-5); set it, then everything else.
    for layer in model.vision_encoder.backbone.modules():
        if isinstance(layer, torch.nn.LayerNorm):
            layer.eps = AUTHORS_LAYER_NORM_EPS
    for name, with_cls in (("as_is", False), ("with_geometry_cls", True)):
        n_img, n_prompt = case["images_preprocessed"].shape[0], tokens.shape[0]
        pairs = (
            torch.arange(n_img).repeat_interleave(n_prompt),
            torch.arange(n_prompt).repeat(n_img),
        )
        got = run_detector(model, case["images_preprocessed"], tokens, pairs, with_cls)
        figures = compare(got, case["record"])
        runs[name] = {"max_abs_diff": figures, "within_1e-4": within(figures)}
    report = {
        "what": "Transformers SAM 3 vs the authors' fixtures: det_case tensors, video_case detections",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "fixture": str(root.relative_to(root.parents[2])),
        "tolerance_fp32": TOLERANCE,
        "load": load,
        "detector": runs,
        "video_case_detections": video_detections(model, vcase, tokens),
        "video_heuristics_source_hits": video_coverage(),
    }
    print(json.dumps(report, indent=2))
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()

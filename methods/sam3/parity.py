"""SAM 3 parity against the authors' fixtures: the detector case, part by part and end to end.

The prompts ("person", "red car") are tokenized here (equal to the recorded `tokens`) and go
through this package's text encoder, and the preprocessed images through its ViT trunk and both
necks, with the fixture weights loaded strictly by name; the padding mask, token embeddings and
resized text features, the trunk's output, both necks' three levels and their position
encodings are compared with the authors' record; then, for the four (image, prompt) queries
(`q = image * 2 + prompt`), the geometry encoder's CLS token, the prompt the encoder reads (text
tokens then the CLS token) and the DETR encoder's memory. The scoring and the segmentation head
are replayed on the authors' decoder states, prompt, presence logits, backbone levels and
encoder memory: class logits per decoder layer, the joint logits and probabilities, which
queries pass 0.5, mask logits and the semantic map; so is the DETR decoder (every layer's
states, reference boxes and presence logits). Finally the whole detector runs from the images
and tokens, its weights loaded strictly from every `detector.*` entry, against the final outputs.
On the video case: the frame preprocessing from the stored uint8 frames, and every
`_det_track_one_frame` step's detections (after mask NMS and the 0.5 threshold), the prompts
tokenized by this package's tokenizer; and, on
both video cases, every step's association of the recorded detections with the recorded track
masks (new detections, unmatched tracks, matches, reconditioning pairs), and the hotstart
bookkeeping fed with the recorded plans (removals, first frames, unmatched frames, keep-alive),
each step's masks at video size from the recorded track masks and new detections, and the
masklet ids and scores (births, the object limit, removals) and the last-occluded frames of the
occlusion-based suppression.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vis_bench.methods.sam3.association import associate
from vis_bench.methods.sam3.decoder import DetrDecoder, box_cxcywh_to_xyxy
from vis_bench.methods.sam3.detector import Detector
from vis_bench.methods.sam3.fixtures import (
    DECODER_PREFIX,
    DETECTOR_PREFIX,
    ENCODER_PREFIX,
    FP32_TOLERANCE,
    GEOMETRY_PREFIX,
    SCORING_PREFIX,
    SEGMENTATION_PREFIX,
    TEXT_PREFIX,
    VISION_PREFIX,
    d_model,
    detector_sizes,
    ffn,
    fusion_sizes,
    heads,
    load_gz,
    loaded,
    text_sizes,
    vit_sizes,
)
from vis_bench.methods.sam3.frame_masks import frame_masks
from vis_bench.methods.sam3.fusion import DetrEncoder, GeometryEncoder
from vis_bench.methods.sam3.hotstart import HotstartSettings, HotstartState
from vis_bench.methods.sam3.masklets import Masklets
from vis_bench.methods.sam3.neck import VisionBackbone
from vis_bench.methods.sam3.occlusion import suppress_recently_occluded
from vis_bench.methods.sam3.scoring import DotProductScoring, joint_logits
from vis_bench.methods.sam3.segmentation import SegmentationHead
from vis_bench.methods.sam3.text_encoder import TextEncoder
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_detections import frame_detections, preprocess_video_frames


def _verdict(report: dict[str, float | bool]) -> dict[str, float | bool]:
    flags = [value for value in report.values() if isinstance(value, bool)]
    floats = [value for value in report.values() if isinstance(value, float)]
    report["passed"] = all(flags) and all(value <= FP32_TOLERANCE for value in floats)
    return report


def text_parity(fixture: Path) -> dict[str, float | bool]:
    """Largest absolute differences of the text side on the detector case, and the verdict:
    the prompts tokenized here must give the recorded tokens exactly."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / "det_case.pt.gz")
    record = case["record"]
    tokens = Tokenizer(text_sizes(fixture).context)(case["prompts"])
    encoder = loaded(TextEncoder(text_sizes(fixture)), weights, TEXT_PREFIX)
    with torch.no_grad():
        out = encoder(tokens)
    ref_mask, ref_features, ref_embeds = record["text_out"][0]
    report: dict[str, float | bool] = {
        "tokens_equal": bool(torch.equal(tokens, record["tokens"])),
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
    backbone = loaded(VisionBackbone(vit_sizes(fixture), d_model(fixture)), weights, VISION_PREFIX)
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


def _seq_first(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(0, 1)


def encoder_parity(fixture: Path) -> dict[str, float | bool]:
    """Largest absolute differences of the geometry CLS token, the fused prompt and the DETR
    encoder's memory on the detector case's four queries, and the verdict."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / "det_case.pt.gz")
    record, images = case["record"], case["images_preprocessed"]
    backbone = loaded(VisionBackbone(vit_sizes(fixture), d_model(fixture)), weights, VISION_PREFIX)
    text = loaded(TextEncoder(text_sizes(fixture)), weights, TEXT_PREFIX)
    geometry = loaded(GeometryEncoder(fusion_sizes(fixture)), weights, GEOMETRY_PREFIX)
    encoder = loaded(DetrEncoder(fusion_sizes(fixture)), weights, ENCODER_PREFIX)
    n_prompts = record["tokens"].shape[0]
    image_of = torch.arange(images.shape[0]).repeat_interleave(n_prompts)
    prompt_of = torch.arange(n_prompts).repeat(images.shape[0])
    with torch.no_grad():
        vision = backbone(images)
        words = text(record["tokens"])
        tokens = vision.detector[-1].flatten(2).transpose(1, 2)[image_of]
        pos = vision.positions[-1].flatten(2).transpose(1, 2)[image_of]
        cls = geometry.text_only(tokens, pos)
        prompt = torch.cat([_seq_first(words.features)[prompt_of], cls], dim=1)
        padding = torch.cat(
            [words.padding_mask[prompt_of], torch.zeros_like(cls[..., 0], dtype=torch.bool)],
            dim=1,
        )
        memory = encoder(tokens, pos, prompt, padding)
    ref = record["encoder_out"][0]
    ref_cls, ref_cls_mask = record["geometry_out"][0]
    report: dict[str, float | bool] = {
        "geometry_cls": float((_seq_first(cls) - ref_cls).abs().max()),
        "geometry_cls_padding_equal": bool(torch.equal(ref_cls_mask, padding[:, -1:])),
        "memory_text": float((_seq_first(prompt) - ref["memory_text"]).abs().max()),
        "encoder_pos": float((_seq_first(pos) - ref["pos_embed"]).abs().max()),
        "encoder_memory": float((_seq_first(memory) - ref["memory"]).abs().max()),
    }
    return _verdict(report)


def _recorded_prompt(record: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The authors' fused prompt per query (B, P, d) and its padding (text padding, then the
    geometry CLS token's)."""
    n_queries = record["final"]["pred_logits"].shape[0]
    n_prompts = record["tokens"].shape[0]
    prompt_of = torch.arange(n_prompts).repeat(n_queries // n_prompts)
    prompt = _seq_first(record["encoder_out"][0]["memory_text"])
    padding = torch.cat([record["language_mask"][prompt_of], record["geometry_out"][0][1]], dim=1)
    return prompt, padding


def scoring_parity(fixture: Path) -> dict[str, float | bool]:
    """The dot-product scoring and joint logits replayed on the authors' decoder outputs."""
    weights = load_gz(fixture / "weights.pt.gz")
    record = load_gz(fixture / "det_case.pt.gz")["record"]
    scoring = loaded(DotProductScoring(d_model(fixture), ffn(fixture)), weights, SCORING_PREFIX)
    prompt, padding = _recorded_prompt(record)
    states = record["decoder_out"][0][0].permute(0, 2, 1, 3)  # (layers, B, Q, d)
    with torch.no_grad():
        logits = scoring(states, prompt, padding)
        joint = joint_logits(logits[-1], record["final"]["presence_logit_dec"])
    final = record["final"]
    probs = joint.sigmoid().squeeze(-1)
    report: dict[str, float | bool] = {
        "class_logits_per_layer": float((logits - record["dot_prod_scores"][0]).abs().max()),
        "pred_logits": float((joint - final["pred_logits"]).abs().max()),
        "probs": float((probs - final["probs"]).abs().max()),
        "kept_queries_equal": bool(torch.equal(probs > 0.5, final["keep_prob_gt_0.5"])),
    }
    return _verdict(report)


def segmentation_parity(fixture: Path) -> dict[str, float | bool]:
    """The segmentation head replayed on the authors' decoder, encoder and backbone outputs."""
    weights = load_gz(fixture / "weights.pt.gz")
    record = load_gz(fixture / "det_case.pt.gz")["record"]
    head = loaded(SegmentationHead(d_model(fixture), heads(fixture)), weights, SEGMENTATION_PREFIX)
    prompt, padding = _recorded_prompt(record)
    n_images = record["backbone_fpn"][0].shape[0]
    image_of = torch.arange(n_images).repeat_interleave(prompt.shape[0] // n_images)
    levels = [level[image_of] for level in record["backbone_fpn"]]
    queries = record["decoder_out"][0][0][-1].transpose(0, 1)  # last layer, (B, Q, d)
    memory = _seq_first(record["encoder_out"][0]["memory"])
    with torch.no_grad():
        out = head(queries, levels, memory, prompt, padding)
    ref = record["seg_head_out"][0]
    report: dict[str, float | bool] = {
        "pred_masks": float((out.pred_masks - ref["pred_masks"]).abs().max()),
        "final_pred_masks": float((out.pred_masks - record["final"]["pred_masks"]).abs().max()),
        "semantic_seg": float((out.semantic_seg - ref["semantic_seg"]).abs().max()),
    }
    return _verdict(report)


def decoder_parity(fixture: Path) -> dict[str, float | bool]:
    """The DETR decoder replayed on the authors' encoder memory, positions and prompt."""
    weights = load_gz(fixture / "weights.pt.gz")
    record = load_gz(fixture / "det_case.pt.gz")["record"]
    sizes = detector_sizes(fixture)
    decoder = loaded(
        DetrDecoder(sizes.fusion, sizes.queries, sizes.decoder_layers), weights, DECODER_PREFIX
    )
    prompt, padding = _recorded_prompt(record)
    encoded = record["encoder_out"][0]
    h, w = (int(v) for v in encoded["spatial_shapes"][0])
    memory, pos = _seq_first(encoded["memory"]), _seq_first(encoded["pos_embed"])
    with torch.no_grad():
        out = decoder(memory, pos, (h, w), prompt, padding)
    states, ref_boxes, presence, _ = record["decoder_out"][0]
    report: dict[str, float | bool] = {
        "states_per_layer": float((out.states - states.permute(0, 2, 1, 3)).abs().max()),
        "reference_boxes_per_layer": float(
            (out.reference_boxes - ref_boxes.permute(0, 2, 1, 3)).abs().max()
        ),
        "presence_logits_per_layer": float(
            (out.presence_logits - presence.permute(0, 2, 1)).abs().max()
        ),
        "final_boxes": float((out.boxes[-1] - record["final"]["pred_boxes"]).abs().max()),
    }
    return _verdict(report)


def detector_parity(fixture: Path) -> dict[str, float | bool]:
    """The whole detector from the preprocessed images and the tokens, against `final`."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / "det_case.pt.gz")
    record = case["record"]
    detector = loaded(Detector(detector_sizes(fixture)), weights, DETECTOR_PREFIX)
    with torch.no_grad():
        out = detector(case["images_preprocessed"], record["tokens"])
    final = record["final"]
    probs = out.pred_logits.sigmoid().squeeze(-1)
    report: dict[str, float | bool] = {
        "pred_logits": float((out.pred_logits - final["pred_logits"]).abs().max()),
        "probs": float((probs - final["probs"]).abs().max()),
        "class_logits": float((out.class_logits - final["class_logits_last"]).abs().max()),
        "presence_logits": float((out.presence_logits - final["presence_logit_dec"]).abs().max()),
        "pred_boxes": float((out.pred_boxes - final["pred_boxes"]).abs().max()),
        "pred_boxes_xyxy": float(
            (box_cxcywh_to_xyxy(out.pred_boxes) - final["pred_boxes_xyxy"]).abs().max()
        ),
        "pred_masks": float((out.pred_masks - final["pred_masks"]).abs().max()),
        "kept_queries_equal": bool(torch.equal(probs > 0.5, final["keep_prob_gt_0.5"])),
    }
    return _verdict(report)


def video_detection_parity(fixture: Path) -> dict[str, float | bool]:
    """Preprocessed frames (exact) and per-step detections of the video case."""
    weights = load_gz(fixture / "weights.pt.gz")
    case = load_gz(fixture / "video_case.pt.gz")
    tokens = Tokenizer(detector_sizes(fixture).text.context)(case["prompts"])
    record = case["record"]
    frames = preprocess_video_frames(
        case["frames_uint8"].numpy(), detector_sizes(fixture).vit.image
    )
    detector = loaded(Detector(detector_sizes(fixture)), weights, DETECTOR_PREFIX)
    with torch.no_grad():
        out = detector(record["frames_preprocessed_fp16"].float(), tokens)
    n_prompts, n_frames = tokens.shape[0], frames.shape[0]
    counts_equal = 0
    worst = {"scores": 0.0, "masks": 0.0, "boxes": 0.0}
    for index, step in enumerate(record["steps"]):
        query = step["frame_idx"] * n_prompts + index // (n_frames + 1)  # frame 0 runs twice
        found = frame_detections(
            out.pred_logits[query], out.pred_boxes_xyxy[query], out.pred_masks[query]
        )
        ref = step["det"]
        if found.scores.numel() != ref["scores"].numel():
            continue
        counts_equal += 1
        for name, got, want in (
            ("scores", found.scores, ref["scores"]),
            ("masks", found.masks, ref["mask"]),
            ("boxes", found.boxes, ref["bbox"]),
        ):
            if got.numel():
                worst[name] = max(worst[name], float((got - want).abs().max()))
    report: dict[str, float | bool] = {
        "frames_preprocessed_equal": bool(torch.equal(frames, record["frames_preprocessed_fp16"])),
        "every_step_same_detection_count": counts_equal == len(record["steps"]),
        **{f"detection_{name}": value for name, value in worst.items()},
    }
    return _verdict(report)


VIDEO_CASES = ("video_case", "video_case_scaled")


def association_parity(fixture: Path) -> dict[str, float | bool]:
    """Every step's association decisions, replayed on the recorded detections and tracks."""
    report: dict[str, float | bool] = {}
    for name in VIDEO_CASES:
        steps = load_gz(fixture / f"{name}.pt.gz")["record"]["steps"]
        equal = 0
        for step in steps:
            found = associate(
                step["det"]["mask"],
                step["det"]["scores"],
                step["trk_low_res_masks"],
                [int(t) for t in step["trk_obj_ids_prev"]],
            )
            plan = step["plan"]
            want = (
                [int(d) for d in plan["new_det_fa_inds"]],
                [int(t) for t in plan["unmatched_trk_obj_ids"]],
                {
                    int(d): [int(t) for t in ids]
                    for d, ids in plan["det_to_matched_trk_obj_ids"].items()
                },
                {int(t): int(d) for t, d in plan["trk_id_to_max_iou_high_conf_det"].items()},
            )
            got = (
                found.new_detections,
                found.unmatched_tracks,
                found.matched_tracks,
                found.reconditioning,
            )
            equal += got == want
        report[f"{name}_every_step_equal"] = equal == len(steps)
    return _verdict(report)


def _settings(override: dict | None) -> HotstartSettings:
    return HotstartSettings.named_in(override or {})


def hotstart_parity(fixture: Path) -> dict[str, float | bool]:
    """Every step's hotstart decisions and bookkeeping on both video cases; each prompt's pass
    (first step: `add_prompt` on frame 0) starts from a fresh state, as `reset_state` does."""
    report: dict[str, float | bool] = {}
    for name in VIDEO_CASES:
        case = load_gz(fixture / f"{name}.pt.gz")
        settings = _settings(case["heuristics_override"])
        steps = case["record"]["steps"]
        n_frames = case["frames_uint8"].shape[0]
        equal = 0
        state = HotstartState(settings)
        for index, step in enumerate(steps):
            if index % (n_frames + 1) == 0:
                state = HotstartState(settings)
            plan, meta = step["plan"], step["meta"]
            empty = associate(
                step["det"]["mask"],
                step["det"]["scores"],
                step["trk_low_res_masks"],
                [int(t) for t in step["trk_obj_ids_prev"]],
            ).empty_tracks
            matched = {
                int(d): [int(t) for t in ids]
                for d, ids in plan["det_to_matched_trk_obj_ids"].items()
            }
            removed = state.update(
                int(step["frame_idx"]),
                [int(t) for t in plan["new_det_obj_ids"]],
                matched,
                [int(t) for t in plan["unmatched_trk_obj_ids"]],
                empty,
            )
            got = (
                sorted(removed),
                state.first_frame,
                {k: list(v) for k, v in state.unmatched_frames.items()},
                state.keep_alive,
                sorted(state.removed),
            )
            want = (
                sorted(int(t) for t in plan["obj_ids_newly_removed"]),
                meta["obj_first_frame_idx"],
                {k: list(v) for k, v in meta["unmatched_frame_inds"].items()},
                meta["trk_keep_alive"],
                sorted(int(t) for t in meta["removed_obj_ids"]),
            )
            equal += got == want
        report[f"{name}_every_step_equal"] = equal == len(steps)
    return _verdict(report)


def frame_masks_parity(fixture: Path) -> dict[str, float | bool]:
    """Every step's `obj_id_to_mask` (ids and pixels) on both video cases."""
    report: dict[str, float | bool] = {}
    for name in VIDEO_CASES:
        case = load_gz(fixture / f"{name}.pt.gz")
        size = tuple(case["frames_uint8"].shape[1:3])
        equal = 0
        worst = 0
        for step in case["record"]["steps"]:
            plan = step["plan"]
            got = frame_masks(
                size,
                [int(t) for t in step["trk_obj_ids_prev"]],
                step["trk_low_res_masks"],
                [int(t) for t in plan["new_det_obj_ids"]],
                step["det"]["mask"][plan["new_det_fa_inds"]],
            )
            want = {int(k): v[0] for k, v in step["obj_id_to_mask"].items()}
            if set(got) != set(want):
                continue
            diff = max((int((got[k] ^ want[k]).sum()) for k in got), default=0)
            worst = max(worst, diff)
            equal += diff == 0
        report[f"{name}_every_step_equal"] = equal == len(case["record"]["steps"])
        report[f"{name}_max_pixels_differing"] = float(worst)
    report["passed"] = all(v for k, v in report.items() if k.endswith("_equal"))
    return report


def masklets_parity(fixture: Path) -> dict[str, float | bool]:
    """Every step's new ids, live ids, highest id and scores on both video cases, fed the
    recorded new detections and removals."""
    report: dict[str, float | bool] = {}
    for name in VIDEO_CASES:
        case = load_gz(fixture / f"{name}.pt.gz")
        n_frames = case["frames_uint8"].shape[0]
        equal = 0
        masklets = Masklets()
        for index, step in enumerate(case["record"]["steps"]):
            if index % (n_frames + 1) == 0:
                masklets = Masklets()
            plan, meta = step["plan"], step["meta"]
            scores = step["det"]["scores"].tolist()
            kept, ids = masklets.admit([int(d) for d in plan["new_det_fa_inds"]], scores)
            masklets.commit(ids, [scores[d] for d in kept], set(plan["obj_ids_newly_removed"]))
            want_scores = meta["obj_id_to_score"]
            equal += (
                ids == [int(t) for t in plan["new_det_obj_ids"]]
                and masklets.ids == [int(t) for t in meta["obj_ids_all_gpu"]]
                and masklets.max_id == meta["max_obj_id"]
                and set(masklets.scores) == set(want_scores)
                and all(abs(masklets.scores[k] - want_scores[k]) <= 1e-6 for k in want_scores)
            )
        report[f"{name}_every_step_equal"] = equal == len(case["record"]["steps"])
    return _verdict(report)


def occlusion_parity(fixture: Path) -> dict[str, float | bool]:
    """Every step's last-occluded frames on both video cases, from the recorded track masks."""
    report: dict[str, float | bool] = {}
    for name in VIDEO_CASES:
        case = load_gz(fixture / f"{name}.pt.gz")
        n_frames = case["frames_uint8"].shape[0]
        equal = 0
        last: dict[int, int] = {}
        for index, step in enumerate(case["record"]["steps"]):
            if index % (n_frames + 1) == 0:
                last = {}
            _, last = suppress_recently_occluded(
                int(step["frame_idx"]),
                step["trk_low_res_masks"],
                [int(t) for t in step["trk_obj_ids_prev"]],
                last,
                {int(t) for t in step["plan"]["obj_ids_newly_removed"]},
            )
            want = {int(k): int(v) for k, v in step["meta"]["obj_id_to_last_occluded"].items()}
            equal += last == want
        report[f"{name}_every_step_equal"] = equal == len(case["record"]["steps"])
    return _verdict(report)

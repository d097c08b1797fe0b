"""IFC parity against the golden fixtures (tests/fixtures/golden/ifc/README.md for layout/tolerances).

Three stages: the post-backbone forward on stored features (outputs and intermediates), every
post-processing / matching case replayed from its stored per-clip raw outputs, and for the
`model_*` cases the end-to-end clip loop with this network's own per-clip outputs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.eval.rle import decode
from vis_bench.methods.common.fast_paths import prepare_for_inference
from vis_bench.methods.ifc.model import IFCConfig, IFCModel, new_trace
from vis_bench.methods.ifc.video import (
    clip_schedule,
    object_queries,
    run_video_loop,
    video_results,
)
from vis_bench.parity import ParityReport

ATOL_OUT = 1e-4
ATOL_SIOU = 1e-5
ATOL_SCORE = 1e-5
MIN_FRAME_IOU = 0.995
MAX_FLIPPED_FRACTION = 1e-4
FEATURE_KEYS = ("res3", "res4", "res5")


def _load(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True)


def build_from_meta(meta: dict[str, Any], path: Path) -> IFCModel:
    """The reduced model of the fixture (no backbone: the fixture stores backbone features)."""
    rc = meta.get("reduced_config")
    if not isinstance(rc, dict):
        raise InputError(
            "not an IFC parity fixture (no 'reduced_config' in meta.json): point --fixture at "
            "a fixture made for this method",
            path=str(path),
            field="reduced_config",
        )
    cfg = IFCConfig(
        num_classes=rc["NUM_CLASSES"],
        hidden_dim=rc["HIDDEN_DIM"],
        nheads=rc["NHEADS"],
        dim_feedforward=rc["DIM_FEEDFORWARD"],
        enc_layers=rc["ENC_LAYERS"],
        dec_layers=rc["DEC_LAYERS"],
        num_memory_bus=rc["NUM_MEMORY_BUS"],
        num_queries=rc["NUM_OBJECT_QUERIES"],
        dropout=rc.get("DROPOUT", 0.1),
    )
    return IFCModel(cfg, with_backbone=False).eval()


def _add_nan_tensor(report: ParityReport, name: str, got: torch.Tensor, exp: torch.Tensor):
    if tuple(got.shape) != tuple(exp.shape):
        report.add_tensor(name, got, exp, ATOL_OUT)
        return
    same_nan = bool(torch.equal(torch.isnan(got), torch.isnan(exp)))
    report.add_exact(f"{name} NaN pattern", same_nan)
    report.add_tensor(
        name, torch.nan_to_num(got, nan=0.0), torch.nan_to_num(exp, nan=0.0), ATOL_OUT
    )


def compare_results(report: ParityReport, name: str, got: list[dict], exp: list[dict]) -> None:
    """Same entries in the same order; scores within 1e-5; masks equal up to a few pixels."""
    report.add_exact(f"{name} results count", len(got) == len(exp), f"{len(got)} vs {len(exp)}")
    if len(got) != len(exp):
        return
    ids_ok = all(
        a["video_id"] == b["video_id"] and a["category_id"] == b["category_id"]
        for a, b in zip(got, exp, strict=False)
    )
    report.add_exact(f"{name} results video_id/category_id", ids_ok)
    if got:
        report.add_tensor(
            f"{name} results score",
            torch.tensor([a["score"] for a in got], dtype=torch.float64),
            torch.tensor([b["score"] for b in exp], dtype=torch.float64),
            ATOL_SCORE,
        )
    flipped = total = 0
    worst_iou = 1.0
    emptiness_ok = len_ok = True
    for a, b in zip(got, exp, strict=False):
        if len(a["segmentations"]) != len(b["segmentations"]):
            len_ok = False
            continue
        for ra, rb in zip(a["segmentations"], b["segmentations"], strict=False):
            ma, mb = decode(ra).astype(bool), decode(rb).astype(bool)
            if ma.shape != mb.shape:
                len_ok = False
                continue
            total += ma.size
            flipped += int((ma ^ mb).sum())
            union = int((ma | mb).sum())
            if (ma.sum() == 0) != (mb.sum() == 0):
                emptiness_ok = False
            if union:
                worst_iou = min(worst_iou, float((ma & mb).sum()) / union)
    frac = flipped / total if total else 0.0
    masks_ok = (
        len_ok and emptiness_ok and worst_iou >= MIN_FRAME_IOU and frac <= MAX_FLIPPED_FRACTION
    )
    report.add_exact(
        f"{name} results masks",
        masks_ok,
        f"flipped {flipped}/{total} px, worst frame IoU {worst_iou:.4f}",
    )


def run_case(report: ParityReport, name: str, case: dict[str, Any], clip_fn=None) -> dict[str, Any]:
    """Replay one post-processing/matching case; compare whatever expected values it holds."""
    length, window, stride = case["video_length"], case["window"], case["stride"]
    num_classes = case["clips"][0]["pred_logits"].shape[-1] - 1
    stored = {tuple(c["frame_idx"]): c for c in case["clips"]}
    schedule = clip_schedule(length, window, stride)
    report.add_exact(
        f"{name} clip schedule",
        [list(k) for k in stored] == schedule,
        f"{schedule}",
    )

    def from_fixture(idx: list[int]) -> dict[str, torch.Tensor]:
        c = stored[tuple(idx)]
        return {"pred_logits": c["pred_logits"], "pred_masks": c["pred_masks"]}

    tracks, log = run_video_loop(
        clip_fn or from_fixture,
        length,
        window,
        stride,
        tuple(case["interim_size"]),
        num_classes,
        case.get("match_threshold", 0.05),
    )
    produced_clips = []
    for i, ((inst, rec), exp) in enumerate(zip(log, case["clips"], strict=False)):
        tag = f"{name} clip{i}"
        produced_clips.append(
            {
                "frame_idx": rec.frame_idx,
                "kept_query_idx": inst.query_idx,
                "kept_scores": inst.scores,
                "kept_labels": inst.labels,
                "siou": rec.siou,
                "lsa_rows": rec.lsa_rows,
                "lsa_cols": rec.lsa_cols,
                "num_inst_before": rec.num_inst_before,
                "num_inst_after": rec.num_inst_after,
                "assigned_slot": rec.assigned_slot,
            }
        )
        if "kept_query_idx" in exp:
            report.add_exact(
                f"{tag} kept queries", inst.query_idx.tolist() == exp["kept_query_idx"].tolist()
            )
            if inst.query_idx.tolist() == exp["kept_query_idx"].tolist():
                report.add_tensor(f"{tag} kept scores", inst.scores, exp["kept_scores"], ATOL_SCORE)
                report.add_exact(
                    f"{tag} kept labels", inst.labels.tolist() == exp["kept_labels"].tolist()
                )
        if "siou" in exp:
            report.add_tensor(f"{tag} siou", rec.siou, exp["siou"], ATOL_SIOU)
        if "assigned_slot" in exp:
            same = (
                rec.assigned_slot == list(exp["assigned_slot"])
                and rec.lsa_rows == list(exp["lsa_rows"])
                and rec.lsa_cols == list(exp["lsa_cols"])
                and rec.num_inst_before == exp["num_inst_before"]
                and rec.num_inst_after == exp["num_inst_after"]
            )
            report.add_exact(f"{tag} track assignment", same, f"slots {rec.assigned_slot}")
    expected_results = case.get("results")
    video_id = case.get("video_id", expected_results[0]["video_id"] if expected_results else 1)
    results, scores, labels = video_results(
        tracks,
        tuple(case["orig_size"]),
        video_id,
        case.get("apply_cls_thres", 0.01),
    )
    interim = tracks.interim_mask_logits()
    if "video_interim_mask_logits" in case:
        _add_nan_tensor(
            report, f"{name} video_interim_mask_logits", interim, case["video_interim_mask_logits"]
        )
    if "pred_labels" in case:
        report.add_exact(f"{name} pred_labels", labels == list(case["pred_labels"]))
        if len(scores) == len(case["pred_scores"]):
            report.add_tensor(
                f"{name} pred_scores",
                torch.tensor(scores, dtype=torch.float64),
                torch.tensor(case["pred_scores"], dtype=torch.float64),
                ATOL_SCORE,
            )
    if expected_results is not None:
        compare_results(report, name, results, expected_results)
    return {
        "window": window,
        "stride": stride,
        "video_length": length,
        "clips": produced_clips,
        "video_interim_mask_logits": interim,
        "pred_scores": scores,
        "pred_labels": labels,
        "results": results,
    }


def _atomic_save(obj: Any, path: Path) -> None:
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)


@torch.no_grad()
def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, run forward + every case, compare, optionally write what was made."""
    meta = json.loads((fixture_dir / "meta.json").read_text())
    report = ParityReport("ifc", str(fixture_dir))
    model = build_from_meta(meta, fixture_dir / "meta.json")
    state = _load(fixture_dir / "state_dict.pt")
    load = model.load_state_dict(state, strict=False)
    report.add_exact(
        "state_dict keys",
        not load.missing_keys and not load.unexpected_keys,
        f"missing {load.missing_keys} unexpected {load.unexpected_keys}"
        if load.missing_keys or load.unexpected_keys
        else "",
        structural=True,
    )
    # parity holds with the inference fast paths of this process (all on by default)
    paths = prepare_for_inference(model)
    net = model.detr
    produced: dict[str, Any] = {}

    feats_file = _load(fixture_dir / "features.pt")
    feats = {k: feats_file[k].float() for k in FEATURE_KEYS}
    mask = feats_file.get("padding_mask_res5")
    forward = _load(fixture_dir / "forward.pt") if (fixture_dir / "forward.pt").is_file() else {}

    trace = new_trace()
    out = net.forward_post_backbone(feats, mask, trace=trace)
    out_train = net.forward_post_backbone(feats, mask, return_aux=True)
    produced["outputs_eval"] = out
    produced["outputs_is_train_true"] = out_train
    inter = {
        "pos_res5": trace["pos_res5"][0],
        "src_proj": trace["src_proj"][0],
        "enc_layer_out": trace["enc_layer_out"],
        "bus_layer_out": trace["bus_layer_out"],
        "encoder_frame_tokens": trace["encoder_frame_tokens"][0],
        "encoder_memory_tokens": trace["encoder_memory_tokens"][0],
        "dec_layer_out": trace["dec_layer_out"],
        "clip_hs": trace["clip_hs"][0].transpose(1, 2),  # [1, Q, 1, C] as the fixture
        "encoded_src": trace["encoded_src"][0],
        "mask_feat": trace["mask_feat"][0],
        "dyn_weights": trace["dyn_weights"][0],
    }
    produced["intermediates"] = inter

    def compare_outputs(tag: str, got: dict, exp: dict) -> None:
        report.add_tensor(f"{tag} pred_logits", got["pred_logits"], exp["pred_logits"], ATOL_OUT)
        report.add_tensor(f"{tag} pred_masks", got["pred_masks"], exp["pred_masks"], ATOL_OUT)
        n_got, n_exp = len(got["aux_outputs"]), len(exp.get("aux_outputs", []))
        report.add_exact(f"{tag} aux_outputs count", n_got == n_exp, f"{n_got} vs {n_exp}")
        for i, (a, b) in enumerate(
            zip(got["aux_outputs"], exp.get("aux_outputs", []), strict=False)
        ):
            report.add_tensor(
                f"{tag} aux{i} pred_logits", a["pred_logits"], b["pred_logits"], ATOL_OUT
            )
            report.add_tensor(
                f"{tag} aux{i} pred_masks", a["pred_masks"], b["pred_masks"], ATOL_OUT
            )

    if "outputs_eval" in forward:
        compare_outputs("forward", out, forward["outputs_eval"])
    else:
        report.produced_only.append("outputs_eval")
    if "outputs_is_train_true" in forward:
        compare_outputs("forward(train path)", out_train, forward["outputs_is_train_true"])
    for key, expected in forward.get("intermediates", {}).items():
        got = inter.get(key)
        if got is None:
            report.produced_only.append(f"(fixture only) {key}")
            continue
        if isinstance(expected, list):
            for i, (g, e) in enumerate(zip(got, expected, strict=False)):
                report.add_tensor(f"intermediate {key}[{i}]", g, e, ATOL_OUT)
        else:
            report.add_tensor(f"intermediate {key}", got, expected, ATOL_OUT)

    for file in ("postprocess.pt", "matching.pt"):
        if not (fixture_dir / file).is_file():
            continue
        cases = _load(fixture_dir / file)
        produced[file.removesuffix(".pt")] = file_out = {}
        for name, case in cases.items():
            file_out[name] = run_case(report, name, case)
            if name.startswith("model_"):
                # end to end: this network's own per-clip outputs through the same loop
                def clip_fn(idx, case=case, name=name):
                    o = net.forward_post_backbone({k: v[idx] for k, v in feats.items()})
                    exp = {tuple(c["frame_idx"]): c for c in case["clips"]}.get(tuple(idx))
                    if exp is not None:
                        report.add_tensor(
                            f"{name}(e2e) clip{idx} pred_logits",
                            o["pred_logits"],
                            exp["pred_logits"],
                            ATOL_OUT,
                        )
                        report.add_tensor(
                            f"{name}(e2e) clip{idx} pred_masks",
                            o["pred_masks"],
                            exp["pred_masks"],
                            ATOL_OUT,
                        )
                    return o

                file_out[f"{name}(e2e)"] = run_case(report, f"{name}(e2e)", case, clip_fn)
                if paths.query_masks:
                    # what infer_video runs: masks only for the queries the clip keeps
                    select = functools.partial(object_queries, num_classes=net.cfg.num_classes)

                    def kept_fn(idx, select=select):
                        features = {k: v[idx] for k, v in feats.items()}
                        return net.forward_post_backbone(features, mask_queries=select)

                    run_case(report, f"{name}(e2e, query masks)", case, kept_fn)

    if out_path is not None:
        _atomic_save(produced, Path(out_path))
    return report


def decode_all(results: list[dict]) -> list[np.ndarray]:
    """Masks of every result as `[L, H, W]` uint8 arrays (debugging helper)."""
    return [np.stack([decode(r) for r in res["segmentations"]]) for res in results]

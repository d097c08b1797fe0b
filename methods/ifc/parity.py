"""IFC parity against the golden fixtures (tests/fixtures/golden/ifc/README.md for layout/tolerances).

Three stages: the post-backbone forward on stored features (outputs, and intermediates captured
with forward hooks), every post-processing / matching case replayed from its stored per-clip raw
outputs through the authors' loop (authors_loop.py: the harness's schedule and stitcher with the
authors' arithmetic), and for the `model_*` cases the same loop on this network's own per-clip
outputs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.api.output import decode_rle as decode
from vis_bench.methods.common.config_fields import from_config
from vis_bench.methods.common.fast_paths import prepare_for_inference
from vis_bench.methods.ifc.authors_loop import (
    ClipOutputs,
    LoopOutput,
    LoopSettings,
    run_authors_loop,
)
from vis_bench.methods.ifc.model import IFCConfig, IFCModel, IFCNet
from vis_bench.methods.ifc.postprocess import object_queries
from vis_bench.parity import (
    ParityReport,
    captured_outputs,
    clip_windows,
    load_fixture_file,
    load_fixture_weights,
    save_produced,
)

ATOL_OUT = 1e-4
ATOL_SIOU = 1e-5
ATOL_SCORE = 1e-5
MIN_FRAME_IOU = 0.995
MAX_FLIPPED_FRACTION = 1e-4
FEATURE_KEYS = ("res3", "res4", "res5")
CASE_FILES = ("postprocess.pt", "matching.pt")
#: the network's options -> the keys of the fixture's `reduced_config`: the option's name in
#: upper case, but for the query count's
UPPER_CASE_OPTIONS = (
    "num_classes",
    "hidden_dim",
    "nheads",
    "dim_feedforward",
    "enc_layers",
    "dec_layers",
    "num_memory_bus",
)
REDUCED_CONFIG_KEYS = {
    **{name: name.upper() for name in UPPER_CASE_OPTIONS},
    "num_queries": "NUM_OBJECT_QUERIES",
}


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
    cfg = from_config(IFCConfig, rc, REDUCED_CONFIG_KEYS, dropout=rc.get("DROPOUT", 0.1))
    return IFCModel(cfg, with_backbone=False).eval()


# -- forward and intermediates ------------------------------------------------------------------


#: hook labels -> sub-modules whose first input the fixture stores (the projected res5 enters
#: the transformer; with the fused paths the projection is not a call of `input_proj`)
INTERMEDIATE_INPUTS = {"src_proj": "transformer"}


def intermediate_modules(net: IFCNet) -> dict[str, str]:
    """Hook labels -> sub-module paths of the IFC network whose outputs the fixture stores."""
    encoder = net.transformer.encoder
    modules = {
        "pos_res5": "position",
        "encoder": "transformer.encoder",
        "transformer": "transformer",
        "mask_feat": "mask_head.out_lay",
        "dyn_weights": "mask_head.convert_to_weight",
    }
    for layer in range(len(encoder.enc_layers)):
        modules[f"enc_layer_out.{layer}"] = f"transformer.encoder.enc_layers.{layer}"
        if hasattr(encoder, "bus_layers"):
            modules[f"bus_layer_out.{layer}"] = f"transformer.encoder.bus_layers.{layer}"
    for layer in range(len(net.transformer.clip_decoder.layers)):
        modules[f"dec_layer_out.{layer}"] = f"transformer.clip_decoder.layers.{layer}"
    return modules


def _intermediates(captured: dict[str, list[Any]]) -> dict[str, Any]:
    """The captured outputs of one forward in the fixture's layout."""

    def layers(prefix: str) -> list[torch.Tensor]:
        keys = sorted((k for k in captured if k.startswith(prefix + ".")), key=_layer_index)
        return [captured[k][0] for k in keys]

    frame_tokens, memory_tokens = captured["encoder"][0]
    hs, encoded = captured["transformer"][0]
    out = {
        "pos_res5": captured["pos_res5"][0],
        "src_proj": captured["src_proj"][0],
        "enc_layer_out": layers("enc_layer_out"),
        "bus_layer_out": layers("bus_layer_out"),
        "encoder_frame_tokens": frame_tokens,
        "dec_layer_out": layers("dec_layer_out"),
        "clip_hs": hs,  # [1, Q, 1, C] as the fixture
        "encoded_src": encoded,
        "mask_feat": captured["mask_feat"][0],
        "dyn_weights": captured["dyn_weights"][0],
    }
    if memory_tokens is not None:
        out["encoder_memory_tokens"] = memory_tokens
    return out


def _layer_index(key: str) -> int:
    return int(key.rsplit(".", 1)[1])


def _compare_outputs(report: ParityReport, tag: str, got: dict, exp: dict) -> None:
    report.add_tensor(f"{tag} pred_logits", got["pred_logits"], exp["pred_logits"], ATOL_OUT)
    report.add_tensor(f"{tag} pred_masks", got["pred_masks"], exp["pred_masks"], ATOL_OUT)
    n_got, n_exp = len(got["aux_outputs"]), len(exp.get("aux_outputs", []))
    report.add_exact(f"{tag} aux_outputs count", n_got == n_exp, f"{n_got} vs {n_exp}")
    for i, (a, b) in enumerate(zip(got["aux_outputs"], exp.get("aux_outputs", []), strict=False)):
        report.add_tensor(f"{tag} aux{i} pred_logits", a["pred_logits"], b["pred_logits"], ATOL_OUT)
        report.add_tensor(f"{tag} aux{i} pred_masks", a["pred_masks"], b["pred_masks"], ATOL_OUT)


def _forward_checks(
    report: ParityReport, net: IFCNet, feats: dict[str, torch.Tensor], mask: Any, fixture_dir: Path
) -> dict[str, Any]:
    """The eval and training-path forwards and the intermediates, compared with forward.pt."""
    forward_path = fixture_dir / "forward.pt"
    forward = load_fixture_file(forward_path) if forward_path.is_file() else {}
    with captured_outputs(net, intermediate_modules(net), INTERMEDIATE_INPUTS) as captured:
        out = net.forward_post_backbone(feats, mask)
    out_train = net.forward_post_backbone(feats, mask, return_aux=True)
    inter = _intermediates(captured)
    if "outputs_eval" in forward:
        _compare_outputs(report, "forward", out, forward["outputs_eval"])
    else:
        report.produced_only.append("outputs_eval")
    if "outputs_is_train_true" in forward:
        _compare_outputs(report, "forward(train path)", out_train, forward["outputs_is_train_true"])
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
    return {"outputs_eval": out, "outputs_is_train_true": out_train, "intermediates": inter}


# -- post-processing and matching cases ---------------------------------------------------------


def _add_nan_tensor(report: ParityReport, name: str, got: torch.Tensor, exp: torch.Tensor):
    if tuple(got.shape) != tuple(exp.shape):
        report.add_tensor(name, got, exp, ATOL_OUT)
        return
    same_nan = bool(torch.equal(torch.isnan(got), torch.isnan(exp)))
    report.add_exact(f"{name} NaN pattern", same_nan)
    report.add_tensor(
        name, torch.nan_to_num(got, nan=0.0), torch.nan_to_num(exp, nan=0.0), ATOL_OUT
    )


def _compare_masks(report: ParityReport, name: str, got: list[dict], exp: list[dict]) -> None:
    """Per frame: identical emptiness, IoU >= 0.995, at most 0.01 % of the pixels flipped."""
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
    _compare_masks(report, name, got, exp)


def _compare_clips(report: ParityReport, name: str, output: LoopOutput, case: dict) -> list:
    """Per clip: kept queries, their scores and labels, soft IoU and track assignment."""
    produced = []
    for i, ((inst, match), exp) in enumerate(zip(output.clips, case["clips"], strict=False)):
        tag = f"{name} clip{i}"
        produced.append(
            {
                "frame_idx": match.frames,
                "kept_query_idx": inst.query_idx,
                "kept_scores": inst.scores,
                "kept_labels": inst.labels,
                "siou": match.siou,
                "lsa_rows": match.rows,
                "lsa_cols": match.cols,
                "num_inst_before": match.tracks_before,
                "num_inst_after": match.tracks_after,
                "assigned_slot": match.track_ids,
            }
        )
        kept = inst.query_idx.tolist()
        if "kept_query_idx" in exp:
            report.add_exact(f"{tag} kept queries", kept == exp["kept_query_idx"].tolist())
            if kept == exp["kept_query_idx"].tolist():
                report.add_tensor(f"{tag} kept scores", inst.scores, exp["kept_scores"], ATOL_SCORE)
                report.add_exact(
                    f"{tag} kept labels", inst.labels.tolist() == exp["kept_labels"].tolist()
                )
        if "siou" in exp:
            report.add_tensor(f"{tag} siou", match.siou, exp["siou"], ATOL_SIOU)
        if "assigned_slot" in exp:
            same = (
                match.track_ids == list(exp["assigned_slot"])
                and match.rows == list(exp["lsa_rows"])
                and match.cols == list(exp["lsa_cols"])
                and match.tracks_before == exp["num_inst_before"]
                and match.tracks_after == exp["num_inst_after"]
            )
            report.add_exact(f"{tag} track assignment", same, f"slots {match.track_ids}")
    return produced


def _compare_video(report: ParityReport, name: str, output: LoopOutput, case: dict) -> None:
    """The video-level outputs: mean mask logits, predicted labels and scores, results."""
    scores = [r["score"] for r in output.results]
    labels = [r["category_id"] - 1 for r in output.results]
    if "video_interim_mask_logits" in case:
        _add_nan_tensor(
            report,
            f"{name} video_interim_mask_logits",
            output.interim_mask_logits,
            case["video_interim_mask_logits"],
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
    if case.get("results") is not None:
        compare_results(report, name, output.results, case["results"])


def run_case(
    report: ParityReport, name: str, case: dict[str, Any], clip_fn: ClipOutputs | None = None
) -> dict[str, Any]:
    """Replay one post-processing/matching case; compare whatever expected values it holds."""
    length, window, stride = case["video_length"], case["window"], case["stride"]
    stored = {tuple(c["frame_idx"]): c for c in case["clips"]}
    schedule = [list(w) for w in clip_windows(length, window, stride)]
    report.add_exact(f"{name} clip schedule", [list(k) for k in stored] == schedule, f"{schedule}")

    def from_fixture(idx: list[int]) -> dict[str, torch.Tensor]:
        c = stored[tuple(idx)]
        return {"pred_logits": c["pred_logits"], "pred_masks": c["pred_masks"]}

    expected_results = case.get("results")
    settings = LoopSettings(
        window=window,
        stride=stride,
        num_classes=case["clips"][0]["pred_logits"].shape[-1] - 1,
        match_threshold=case.get("match_threshold", 0.05),
        apply_cls_thres=case.get("apply_cls_thres", 0.01),
    )
    output = run_authors_loop(
        clip_fn or from_fixture,
        length,
        settings,
        tuple(case["interim_size"]),
        tuple(case["orig_size"]),
        case.get("video_id", expected_results[0]["video_id"] if expected_results else 1),
    )
    produced_clips = _compare_clips(report, name, output, case)
    _compare_video(report, name, output, case)
    return {
        "window": window,
        "stride": stride,
        "video_length": length,
        "clips": produced_clips,
        "video_interim_mask_logits": output.interim_mask_logits,
        "pred_scores": [r["score"] for r in output.results],
        "pred_labels": [r["category_id"] - 1 for r in output.results],
        "results": output.results,
    }


def _network_clips(
    report: ParityReport, net: IFCNet, feats: dict[str, torch.Tensor], name: str, case: dict
) -> ClipOutputs:
    """This network's own per-clip outputs, each compared with the case's stored ones."""
    stored = {tuple(c["frame_idx"]): c for c in case["clips"]}

    def clip_fn(idx: list[int]) -> dict[str, Any]:
        out = net.forward_post_backbone({k: v[idx] for k, v in feats.items()})
        exp = stored.get(tuple(idx))
        if exp is not None:
            for key in ("pred_logits", "pred_masks"):
                report.add_tensor(f"{name}(e2e) clip{idx} {key}", out[key], exp[key], ATOL_OUT)
        return out

    return clip_fn


def _kept_query_clips(net: IFCNet, feats: dict[str, torch.Tensor]) -> ClipOutputs:
    """This network's per-clip outputs with masks only for the queries the clip keeps."""
    select = functools.partial(object_queries, num_classes=net.cfg.num_classes)

    def clip_fn(idx: list[int]) -> dict[str, Any]:
        features = {k: v[idx] for k, v in feats.items()}
        return net.forward_post_backbone(features, mask_queries=select)

    return clip_fn


# -- the whole parity run -----------------------------------------------------------------------


def _load_model(report: ParityReport, fixture_dir: Path) -> IFCNet:
    meta = json.loads((fixture_dir / "meta.json").read_text())
    model = build_from_meta(meta, fixture_dir / "meta.json")
    load_fixture_weights(report, model, fixture_dir / "state_dict.pt")
    return model.detr


@torch.no_grad()
def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, run forward + every case, compare, optionally write what was made."""
    fixture_dir = Path(fixture_dir)
    report = ParityReport("ifc", str(fixture_dir))
    net = _load_model(report, fixture_dir)
    # parity holds with the inference fast paths of this process (all on by default)
    paths = prepare_for_inference(net)
    feats_file = load_fixture_file(fixture_dir / "features.pt")
    feats = {k: feats_file[k].float() for k in FEATURE_KEYS}
    produced = _forward_checks(report, net, feats, feats_file.get("padding_mask_res5"), fixture_dir)
    for file in CASE_FILES:
        if not (fixture_dir / file).is_file():
            continue
        produced[file.removesuffix(".pt")] = file_out = {}
        for name, case in load_fixture_file(fixture_dir / file).items():
            file_out[name] = run_case(report, name, case)
            if name.startswith("model_"):  # end to end: this network's own per-clip outputs
                clip_fn = _network_clips(report, net, feats, name, case)
                file_out[f"{name}(e2e)"] = run_case(report, f"{name}(e2e)", case, clip_fn)
                if paths.query_masks:  # what infer_clip runs: masks of the kept queries only
                    kept_fn = _kept_query_clips(net, feats)
                    run_case(report, f"{name}(e2e, query masks)", case, kept_fn)
    save_produced(produced, out_path)
    return report

"""SeqFormer parity against fixtures made with the authors' code (and the MS-STS release's).

Layout and tolerances: tests/fixtures/golden/seqformer/README.md. The model is built from the
fixture's meta.json without a backbone and runs the post-backbone forward on the stored
features; forward hooks (`captured_outputs`) read the intermediates, and the heads of the
earlier decoder layers (computed, not returned, by the official `inference()`) are computed
from the captured decoder outputs with the model's own `layer_heads`/`query_masks`.
inference.py's post-processing replays the stored cases. `build_model` lets a variant of the architecture (the MS-STS release) reuse the
whole procedure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.common.fast_paths import prepare_for_inference
from vis_bench.methods.families.seqformer.model import SeqFormer, SeqFormerConfig, build
from vis_bench.methods.families.seqformer.postprocess import top_queries, video_results
from vis_bench.parity import (
    ParityReport,
    captured_outputs,
    compare_tree,
    load_fixture_file,
    load_fixture_weights,
    save_produced,
)

#: absolute tolerances of the fixture README; intermediates get INTERMEDIATE_TOLERANCE
TOLERANCES = {"pred_logits": 1e-4, "pred_boxes": 1e-5, "pred_masks": 1e-3}
INTERMEDIATE_TOLERANCE = 1e-4
SCORE_TOLERANCE = 1e-7
#: meta.json config entries that describe how the fixture was made, not the network
FIXTURE_ONLY_KEYS = ("eval_mode",)
EXPECTED_FILES = ("outputs.pt", "postprocess_expected.json")
INPUT_FILES = ("meta.json", "state_dict.pt", "inputs.pt")


def tolerance(path: str) -> float:
    """Top-level outputs by name; anything under `intermediate.` at the intermediate tolerance."""
    leaf = path.rsplit(".", 1)[-1]
    return TOLERANCES.get(leaf, INTERMEDIATE_TOLERANCE) if "." in path else TOLERANCES[leaf]


def fixture_config(fixture_dir: Path) -> SeqFormerConfig:
    """The reduced network of the fixture (no backbone: the fixture stores its features)."""
    meta_path = fixture_dir / "meta.json"
    meta = json.loads(meta_path.read_text())
    config = meta.get("config")
    if not isinstance(config, dict) or "hidden_dim" not in config:
        raise InputError(
            "not a SeqFormer-family parity fixture (no SeqFormer 'config' in meta.json): "
            "point --fixture at a fixture made for this method",
            path=str(meta_path),
            field="config",
        )
    network = {k: v for k, v in config.items() if k not in FIXTURE_ONLY_KEYS}
    return SeqFormerConfig.from_dict({**network, "backbone": None}, source=str(meta_path))


#: hook labels -> sub-modules whose output the fixture stores (the last decoder layer's heads:
#: the forward runs the heads for that layer only)
HOOKED_OUTPUTS = {
    "memory": "detr.transformer.encoder",
    "decoder": "detr.transformer.decoder",
    "mask_feats": "mask_head",
    "dynamic_params": "controller",
    "mask_reference_points_px": "reference_pixels",
}
#: hook labels -> (sub-module, positional argument) the fixture stores as they enter the decoder
HOOKED_INPUTS = {
    "init_reference": ("detr.transformer.decoder", 1),
    "valid_ratios": ("detr.transformer.decoder", 5),
}
HEAD_KEYS = ("pred_logits", "pred_boxes", "pred_masks")


def _earlier_layers(
    model: SeqFormer, captured: dict[str, list[Any]], orig_size: tuple[int, int]
) -> list[dict[str, torch.Tensor]]:
    """Heads and masks of every decoder layer but the last, from the captured decoder outputs."""
    hs, hs_box, inter_references = captured["decoder"][0]
    out = {
        "hs": hs,
        "hs_box": hs_box,
        "init_reference": captured["init_reference"][0],
        "inter_references": inter_references,
    }
    layers = []
    for lvl in range(hs.shape[0] - 1):
        heads = model.layer_heads(out, lvl, orig_size)
        masks = model.query_masks(
            captured["mask_feats"][0],
            heads["mask_reference_points_px"][0],
            heads["dynamic_params"][0],
        )
        layers.append({**heads, "pred_masks": masks[None]})
    return layers


def fixture_outputs(
    out: dict[str, Any], captured: dict[str, list[Any]], earlier: list[dict[str, torch.Tensor]]
) -> dict[str, Any]:
    """The forward's outputs and hooked intermediates in the fixture's layout (batch dropped)."""
    hs, hs_box, inter_references = captured["decoder"][0]

    def per_layer(key: str) -> torch.Tensor:
        return torch.stack([layer[key] for layer in earlier] + [captured[key][0]])[:, 0]

    result: dict[str, Any] = {k: out[k] for k in HEAD_KEYS}
    result["intermediate"] = {
        "memory": captured["memory"][0][0],
        "valid_ratios": captured["valid_ratios"][0][0],
        "init_reference": captured["init_reference"][0][0],
        "inter_references": inter_references[:, 0],
        "hs": hs[:, 0],
        "hs_box": hs_box[:, 0],
        "mask_feats": captured["mask_feats"][0],
        "aux_layers": {k: torch.cat([layer[k] for layer in earlier]) for k in HEAD_KEYS},
        "mask_reference_points_px": per_layer("mask_reference_points_px"),
        "dynamic_params": per_layer("dynamic_params"),
    }
    return result


def _compare_results(
    report: ParityReport, case: str, produced: list[dict], expected: list[dict]
) -> None:
    problems = []
    if len(produced) != len(expected):
        problems.append(f"{len(produced)} results, expected {len(expected)}")
    max_score = 0.0
    for i, (p, e) in enumerate(zip(produced, expected, strict=False)):
        max_score = max(max_score, abs(p["score"] - e["score"]))
        for key in ("video_id", "video_name", "category_id", "segmentations"):
            if p[key] != e[key]:
                problems.append(f"result {i}: {key} differs")
        if abs(p["score"] - e["score"]) > SCORE_TOLERANCE:
            problems.append(f"result {i}: score {p['score']} != {e['score']}")
    detail = "; ".join(problems[:3]) or f"{len(expected)} results, max |score diff| {max_score:.1e}"
    report.add_exact(f"postprocess.{case}", not problems, detail)


def _forward(
    model: SeqFormer, fixture_dir: Path, mask_queries: Callable[..., torch.Tensor] | None = None
) -> dict[str, Any]:
    """The post-backbone forward on the stored features, in the fixture's layout with its
    intermediates; with `mask_queries` the raw outputs, masks of the selected queries only (what
    `infer_clip` runs)."""
    inputs = load_fixture_file(fixture_dir / "inputs.pt")
    meta = json.loads((fixture_dir / "meta.json").read_text())
    features = {k: v.float() for k, v in inputs["features"].items()}
    call = meta.get("inference_call") or {}
    valid_h, valid_w = (int(v) for v in inputs["valid_hw"])
    orig_size = (int(call.get("orig_w", valid_w)), int(call.get("orig_h", valid_h)))
    args = (features, inputs["feature_masks"], inputs["image_mask"], orig_size)
    with torch.no_grad():
        if mask_queries is not None:
            return model.forward_features(*args, mask_queries=mask_queries)
        with captured_outputs(model, HOOKED_OUTPUTS, HOOKED_INPUTS) as captured:
            out = model.forward_features(*args)
        return fixture_outputs(out, captured, _earlier_layers(model, captured, orig_size))


def _compare_query_masks(
    report: ParityReport, model: SeqFormer, fixture_dir: Path, expected: dict[str, Any]
) -> None:
    """`infer_clip`'s forward (masks of the top-k queries only) against the fixture's rows."""
    if "pred_masks" not in expected:
        return
    out = _forward(model, fixture_dir, top_queries)
    kept = out["mask_queries"]
    report.add_tensor(
        "pred_masks of the top-k queries (query_masks)",
        out["pred_masks"][0],
        expected["pred_masks"][0][kept],
        TOLERANCES["pred_masks"],
    )


def _postprocess(report: ParityReport, fixture_dir: Path) -> dict[str, list[dict]]:
    produced: dict[str, list[dict]] = {}
    cases_path = fixture_dir / "postprocess_inputs.pt"
    if not cases_path.is_file():
        return produced
    for case in load_fixture_file(cases_path)["cases"]:
        produced[case["name"]] = video_results(
            case["pred_logits"][0], case["pred_masks"][0], case["video"]
        )
    expected_path = fixture_dir / "postprocess_expected.json"
    wanted = json.loads(expected_path.read_text()) if expected_path.is_file() else {}
    for name, results in produced.items():
        if name in wanted:
            _compare_results(report, name, results, wanted[name])
        else:
            report.produced_only.append(f"postprocess.{name}")
    return produced


def run_parity(
    fixture_dir: Path,
    out_path: Path | None = None,
    method: str = "seqformer",
    build_model: Callable[[SeqFormerConfig], SeqFormer] = build,
) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run inputs.pt and postprocess_inputs.pt.

    Without expected files (outputs.pt, postprocess_expected.json) the report cannot pass: it
    says what is missing; the produced outputs are still written to `out_path`.
    """
    fixture_dir = Path(fixture_dir)
    report = ParityReport(method=method, fixture=str(fixture_dir))
    config = fixture_config(fixture_dir)
    missing_inputs = [n for n in INPUT_FILES if not (fixture_dir / n).is_file()]
    if missing_inputs:
        raise InputError(
            f"not a complete parity fixture: {', '.join(missing_inputs)} missing",
            path=str(fixture_dir),
        )
    model = build_model(config)
    load_fixture_weights(report, model, fixture_dir / "state_dict.pt")
    # parity holds with the inference fast paths of this process (all on by default)
    paths = prepare_for_inference(model)
    report.expect_files(fixture_dir, EXPECTED_FILES)
    produced = _forward(model, fixture_dir)
    expected_path = fixture_dir / "outputs.pt"
    expected = load_fixture_file(expected_path) if expected_path.is_file() else {}
    compare_tree(report, "", produced, expected, tolerance)
    if paths.query_masks:
        _compare_query_masks(report, model, fixture_dir, expected)
    produced["postprocess"] = _postprocess(report, fixture_dir)
    save_produced(produced, out_path)
    return report

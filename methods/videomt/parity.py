"""VidEoMT parity against fixtures made with the authors' code (tue-mps/videomt).

Layout and tolerances: tests/fixtures/golden/videomt/README.md. The reduced network is built from
meta.json (the `timm.create_model` call for the ViT, the config overrides for classes, queries
and query blocks), the fixture's weights loaded strictly, and the stored frames run through the
plugin's own preprocessing and per-frame loop. Every recorded intermediate is captured with
forward hooks and compared: the patch embedding, the resampled position embedding, the embedded
tokens, the tokens before the query blocks, the queries entering the query blocks, each query
block's output, the propagated queries, the final norm, the mask embeddings, the upscaled map of
frame 0, and the class and mask logits per frame; then `inference_video_vis`'s input (time-mean
logits), the authors' post-processing replayed on their own outputs (identical results), the
same on this network's outputs, and the harness's clip-to-clip path under three clip schedules.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vis_bench.api import InputError
from vis_bench.api.output import encode_rle
from vis_bench.methods.common.vit import ViTConfig
from vis_bench.methods.families.mask2former.postprocess import masks_to_output, top_predictions
from vis_bench.methods.videomt.harness_path import harness_checks
from vis_bench.methods.videomt.model import VidEoMTConfig, VidEoMTModel
from vis_bench.methods.videomt.options import VidEoMTOptions
from vis_bench.methods.videomt.preprocessing import pad_frames
from vis_bench.parity import (
    ParityReport,
    captured_outputs,
    compare_results,
    load_fixture_file,
    load_fixture_weights,
    save_produced,
)

ARCHITECTURE = "videomt_online"
RAW_TOLERANCE = 1e-4
#: mask logits are compared relative to their largest magnitude
MASK_RELATIVE_TOLERANCE = 1e-3
EXPECTED_FILES = ("forward.pt", "postprocess.pt")
#: config override -> VidEoMTConfig field and value transform
OVERRIDES = {
    "MODEL.BACKBONE.NUM_CLASSES": ("num_classes", int),
    "MODEL.BACKBONE.NUM_OBJECT_QUERIES": ("num_queries", int),
    "MODEL.BACKBONE.SEGMENTER_BLOCKS": (
        "query_blocks",
        lambda v: tuple(int(b) for b in (ast.literal_eval(v) if isinstance(v, str) else v)),
    ),
    "MODEL.BACKBONE.IMG_SIZE": ("img_size", int),
}
#: timm's DINOv2 definitions the authors name: (embed_dim, depth, num_heads)
TIMM_SIZES = {
    "vit_small_patch14_reg4_dinov2": (384, 12, 6),
    "vit_base_patch14_reg4_dinov2": (768, 12, 12),
    "vit_large_patch14_reg4_dinov2": (1024, 24, 16),
}


def read_meta(fixture_dir: Path) -> dict[str, Any]:
    path = fixture_dir / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(fixture_dir))
    meta = json.loads(path.read_text())
    if meta.get("meta_architecture") != ARCHITECTURE:
        raise InputError(
            f"a fixture of {meta.get('meta_architecture')!r}, not {ARCHITECTURE!r}: point "
            "--fixture at a fixture made for this method",
            path=str(path),
            field="meta_architecture",
        )
    return meta


def fixture_config(fixture_dir: Path) -> VidEoMTConfig:
    """The fixture's reduced network: the ViT of its `timm.create_model` call, classes,
    queries and query blocks of its overrides (an override not mapped here is refused: a
    silently ignored one would compare another network)."""
    meta = read_meta(fixture_dir)
    path = str(fixture_dir / "meta.json")
    call = meta.get("timm_create_model_call") or {}
    if call.get("name") not in TIMM_SIZES:
        raise InputError("unknown ViT", path=path, field="timm_create_model_call.name")
    dim, depth, heads = TIMM_SIZES[call["name"]]
    dim, depth = int(call.get("embed_dim", dim)), int(call.get("depth", depth))
    values: dict[str, Any] = {"img_size": int(call.get("img_size", 640))}
    for key, value in (meta.get("overrides") or {}).items():
        if key not in OVERRIDES:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps",
                path=path,
                field=f"overrides.{key}",
            )
        name, convert = OVERRIDES[key]
        values[name] = convert(value)
    vit = ViTConfig(
        embed_dim=dim,
        depth=depth,
        num_heads=int(call.get("num_heads", heads)),
        mlp_ratio=int(meta.get("mlp_hidden", 4 * dim)) / dim,
        patch_size=int(call.get("patch_size", 16)),
        img_size=values.pop("img_size"),
    )
    return VidEoMTConfig(vit=vit, **values)


def _hooked_modules(config: VidEoMTConfig) -> tuple[dict[str, str], dict[str, str]]:
    """Outputs and inputs to capture (labels -> module paths)."""
    vit = "backbone.encoder.backbone"
    first, stop = config.first_query_block, config.query_blocks_stop
    outputs = {
        "patch_embed_out": f"{vit}.patch_embed",
        "pos_embed_resampled": f"{vit}.pos_resample",
        "embedded_tokens": f"{vit}.prefix",
        "final_norm_out": f"{vit}.norm",
        "mask_embed": "backbone.mask_head",
        "upscale_out": "backbone.upscale",
    }
    if first > 0:
        outputs["tokens_before_query_blocks"] = f"{vit}.blocks.{first - 1}"
    for block in range(first, stop):
        outputs[f"query_block.{block}"] = f"{vit}.blocks.{block}"
    return outputs, {"query_block_in": f"{vit}.blocks.{first}"}


def run_network(plugin: Any, frames: torch.Tensor) -> tuple[dict[str, torch.Tensor], Any]:
    """The plugin's per-frame loop over a whole video with every intermediate captured, in
    the layout of the fixture's forward.pt; also returns the clip result."""
    config = plugin.model.config
    outputs, inputs = _hooked_modules(config)
    q = config.num_queries
    with captured_outputs(plugin.model, outputs, inputs) as seen:
        result = plugin.infer_clip(frames)
    cat = torch.cat
    before = seen.get("tokens_before_query_blocks") or seen["embedded_tokens"]
    blocks = range(config.first_query_block, config.query_blocks_stop)
    produced = {
        "patch_embed_out": cat(seen["patch_embed_out"]),
        "pos_embed_resampled": seen["pos_embed_resampled"][0].detach(),
        "embedded_tokens": cat(seen["embedded_tokens"]),
        "tokens_before_query_blocks": cat(before),
        "query_block_out": torch.stack([cat(seen[f"query_block.{b}"]) for b in blocks], 1),
        # the queries made after frame t: those entering frame t+1, and the carried ones
        "propagated_queries": cat([*result.state.entering[1:], result.state.next]),
        "final_norm_out": cat(seen["final_norm_out"]),
        "mask_embed": cat(seen["mask_embed"]),
        "upscale_out_frame0": seen["upscale_out"][0][0],
        "pred_logits": result.frame_logits[None],
        "pred_masks": result.mask_logits[None],
        "queries_in": cat([block_in[:, :q] for block_in in seen["query_block_in"]]),
    }
    return produced, result


def _forward_checks(
    report: ParityReport, produced: dict, expected: dict, q_weight: torch.Tensor
) -> None:
    """Every recorded tensor of forward.pt; the queries entering frame t are `q.weight` for
    t = 0 and the propagated queries of frame t-1 after."""
    expected = dict(expected)
    expected["queries_in"] = torch.cat([q_weight[None], expected["propagated_queries"][:-1]])
    for name, value in produced.items():
        if name not in expected:
            report.produced_only.append(name)
            continue
        target = expected[name]
        tolerance = RAW_TOLERANCE
        if name == "pred_masks":
            tolerance = MASK_RELATIVE_TOLERANCE * max(1.0, float(target.abs().max()))
        report.add_tensor(name, value.detach().float(), target.float(), tolerance)
    stored = [k for k, v in expected.items() if isinstance(v, torch.Tensor)]
    for name in stored:
        if name not in produced:
            report.add_exact(name, False, "expected in the fixture, not produced by the model")


def _replay_authors(report: ParityReport, post: dict, stored_masks: torch.Tensor) -> None:
    """`inference_video_vis` on the authors' own inputs: scores, labels, ids and RLEs identical."""
    given = post["inference_video_vis_in"]
    results = final_results(
        given["pred_cls"],
        stored_masks,
        tuple(given["img_size"]),
        (int(given["output_height"]), int(given["output_width"])),
        tuple(given["first_resize_size"]),
    )
    compare_results(
        report, "inference_video_vis (replayed)", results, post, exact=True, ordered=True
    )


def final_results(
    pred_cls: torch.Tensor,
    pred_masks: torch.Tensor,
    image_size: tuple[int, int],
    output_size: tuple[int, int],
    padded_size: tuple[int, int],
    top_k: int = 10,
) -> dict[str, Any]:
    """`inference_video_vis`: pred_cls [Q, K+1] (time-mean logits), stride-4 masks [Q, T, h, w]
    -> scores, labels (0-based), ids (queries) and per-result, per-frame RLEs."""
    top = top_predictions(pred_cls, top_k)
    masks = masks_to_output(pred_masks[top.queries], image_size, output_size, padded_size)
    rles = [[encode_rle(np.asarray(frame, np.uint8)) for frame in result] for result in masks]
    return {
        "pred_scores": top.scores,
        "pred_labels": top.labels,
        "pred_ids": top.queries,
        "pred_masks_rle": rles,
    }


def _postprocess_checks(
    report: ParityReport, produced: dict, post: dict, sizes: dict, stored_masks: torch.Tensor
) -> None:
    given = post["inference_video_vis_in"]
    pred_cls = torch.mean(produced["pred_logits"][0], dim=0)
    report.add_tensor("inference_video_vis_in.pred_cls", pred_cls, given["pred_cls"], RAW_TOLERANCE)
    queries = torch.arange(pred_cls.shape[0])
    report.add_exact("inference_video_vis_in.pred_id", torch.equal(given["pred_id"], queries))
    _replay_authors(report, post, stored_masks)
    results = final_results(
        pred_cls,
        produced["pred_masks"][0],
        tuple(sizes["image_size"]),
        tuple(sizes["orig_size"]),
        tuple(sizes["padded_size"]),
    )
    compare_results(report, "final results", results, post, ordered=True)


def build_plugin(fixture_dir: Path) -> Any:
    """The plugin around the fixture's reduced network (weights not loaded yet); imported
    here because the plugin's spec names this module's `run_parity`."""
    from vis_bench.methods.videomt.plugin import VidEoMTPlugin

    return VidEoMTPlugin(VidEoMTModel(fixture_config(fixture_dir)).eval(), VidEoMTOptions())


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run inputs.pt, compare forward.pt and
    postprocess.pt."""
    fixture_dir = Path(fixture_dir)
    report = ParityReport(method="videomt", fixture=str(fixture_dir))
    plugin = build_plugin(fixture_dir)
    weights = load_fixture_weights(
        report, plugin.model, fixture_dir / "state_dict.pt", check_order=True
    )
    present = report.expect_files(fixture_dir, EXPECTED_FILES)
    sizes = load_fixture_file(fixture_dir / "inputs.pt")
    frames = plugin.preprocessing(sizes["frames_uint8"], min(sizes["image_size"]))
    report.add_tensor("normalized_input", pad_frames(frames), sizes["normalized_input"], 1e-6)
    with torch.inference_mode():
        produced, _ = run_network(plugin, frames)
    if "forward.pt" in present:
        expected = load_fixture_file(fixture_dir / "forward.pt")
        _forward_checks(report, produced, expected, weights["backbone.q.weight"])
        if "postprocess.pt" in present:
            post = load_fixture_file(fixture_dir / "postprocess.pt")
            _postprocess_checks(report, produced, post, sizes, expected["pred_masks"][0])
            harness_checks(report, plugin, frames, sizes, post)
    save_produced(produced, out_path)
    return report

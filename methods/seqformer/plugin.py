"""The `seqformer` method plugin: preprocessing, clip inference, checkpoints and parity.

Everything a user needs to run SeqFormer the authors' way is declared here: frames resized so the
shorter side is 360 (torchvision-0.8 `Resize(360)`, no max-size cap), ImageNet normalisation,
the whole clip in one forward, and the top-10 (query, class) post-processing of inference.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from vis_bench.methods.common.backbone_registry import (
    BACKBONES,
    detect_backbone,
    is_frozen_bn_resnet,
)
from vis_bench.methods.common.checkpoint import LoadReport
from vis_bench.methods.seqformer.checkpoint import (
    complete_box_head_aliases,
    load_seqformer_checkpoint,
)
from vis_bench.methods.seqformer.model import TINY_BACKBONE, SeqFormer, SeqFormerConfig, build
from vis_bench.methods.seqformer.postprocess import (
    MASK_THRESHOLD,
    MIN_SCORE_FOR_MASKS,
    TOP_K,
    clip_instances,
    video_results,
)
from vis_bench.methods.seqformer.training import seqformer_losses

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.parity import ParityReport
from vis_bench.plugin import ClipResult, MethodPlugin, TrainingRecipe
from vis_bench.registry import register_method

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SHORTER_SIDE = 360

#: main.py + configs/r50_seqformer.sh: AdamW 2e-4 (backbone 2e-5), weight decay 1e-4, gradient
#: norm clipped at 0.1, 12 epochs with the rate x0.1 after epochs 4 and 10, 5-frame clips
TRAINING_RECIPE = TrainingRecipe(
    lr=2e-4,
    weight_decay=1e-4,
    clip_max_norm=0.1,
    lr_drops=(4 / 12, 10 / 12),
    backbone_lr_mult=0.1,
    frame_sampling="seqformer",
)
#: learning rate x0.1 for the modules that place sampling points (lr_linear_proj_names)
LINEAR_PROJ_NAMES = ("reference_points", "sampling_offsets")
LINEAR_PROJ_MULT = 0.1
#: a ResNet's stem and layer1 are frozen (only layer2-4 train, models/backbone.py); Swin trains
#: whole (frozen_stages -1)
FROZEN_RESNET_PREFIXES = (
    "detr.backbone.0.body.conv1",
    "detr.backbone.0.body.bn1",
    "detr.backbone.0.body.layer1",
)

# parity tolerances (absolute), from tests/fixtures/golden/seqformer/README.md
TOLERANCES = {"pred_logits": 1e-4, "pred_boxes": 1e-5, "pred_masks": 1e-3}
INTERMEDIATE_TOLERANCE = 1e-4
SCORE_TOLERANCE = 1e-7


def resize_shorter_side(frames: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [T, 3, H, W] -> uint8 with the shorter side `size`, as torchvision 0.8 on PIL does.

    The longer side becomes int(size * long / short); bilinear with antialiasing approximates
    PIL's filter, and the result is rounded back to uint8 like a PIL image.
    """
    h, w = frames.shape[-2:]
    if min(h, w) == size:
        return frames
    if w < h:
        out_h, out_w = int(size * h / w), size
    else:
        out_h, out_w = size, int(size * w / h)
    resized = F.interpolate(
        frames.float(), size=(out_h, out_w), mode="bilinear", align_corners=False, antialias=True
    )
    return resized.round().clamp(0, 255).to(torch.uint8)


@register_method("seqformer")
class SeqFormerPlugin(MethodPlugin):
    name = "seqformer"
    notes = ""
    #: inference.py drops a query whose masks are empty in every frame (at the video size)
    drop_empty_tracks = True
    #: options of the plugin itself; all other options are SeqFormerConfig fields
    PLUGIN_OPTIONS = ("shorter_side", "top_k")
    #: values of the `backbone` option (methods/common/backbone_registry.py, and the tiny body)
    backbones = (*BACKBONES, TINY_BACKBONE)

    def __init__(self, model: SeqFormer, config: SeqFormerConfig, options: dict[str, Any]):
        self.model = model
        self.config = config
        self.shorter_side = int(options.get("shorter_side", SHORTER_SIDE))
        self.top_k = int(options.get("top_k", TOP_K))
        self.load_report: LoadReport | None = None

    @classmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> SeqFormerPlugin:
        cfg = dict(cfg or {})
        options = {k: cfg.pop(k) for k in cls.PLUGIN_OPTIONS if k in cfg}
        config = SeqFormerConfig.from_dict(cfg, source="methods[seqformer].options")
        return cls(build(config), config, options)

    def load_checkpoint(self, path: str, strict: bool = True) -> LoadReport:
        """Release `.pth` (weights under "model") or the project's format; strict by default."""
        self.load_report = load_seqformer_checkpoint(
            self.model, path, strict=strict, method=self.name
        )
        return self.load_report

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Options that build the model a state dict was saved from: its backbone, read from
        key names and shapes (`check-checkpoint`)."""
        name = detect_backbone(state_dict).name
        return {"backbone": name} if name else {}

    @staticmethod
    def checkpoint_tensors(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The entries `load_checkpoint` loads: a file's box heads under either name count."""
        return complete_box_head_aliases(dict(state_dict))

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        frames = resize_shorter_side(frames, int(shorter_side or self.shorter_side))
        x = frames.float() / 255
        mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std

    @torch.no_grad()
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """The whole clip in one forward (no padding: all frames share a size).

        Masks are returned at the model's mask resolution (stride 4 of the input), so the
        harness's single bilinear resize to the video size mirrors inference.py (which resizes
        logits rather than probabilities).
        """
        h, w = frames.shape[-2:]
        out = self.model(frames, orig_size=(w, h))
        # queries with empty masks are dropped per track at the video size, as inference.py does
        inst = clip_instances(
            out["pred_logits"][0], out["pred_masks"][0], self.top_k, drop_empty=False
        )
        hs = out["intermediate"]["hs"][-1, 0]  # [Nq, C]
        return ClipResult(
            scores=inst.scores,
            labels=inst.labels,
            masks=inst.masks,
            mask_logits=inst.mask_logits,
            extra={
                "queries": inst.queries,
                "query_embeddings": hs[inst.queries],
                "null_segmentations": inst.null_segmentations,
                "mask_stride": self.config.mask_out_stride,
            },
        )

    def track_predictions(self, track: Any) -> list[tuple]:
        """One prediction per track; below score 0.001 its segmentations are `None`."""
        score = float(track.score)
        return [(int(track.label), score, score >= MIN_SCORE_FOR_MASKS)]

    def masks_to_video(self, masks: torch.Tensor, height: int, width: int, threshold: float):
        """inference.py: bilinear resize of the mask logits straight to the frame size, then
        sigmoid > 0.5 (not logit > 0: they differ for |logit| below float resolution)."""
        resized = F.interpolate(
            masks.float()[:, None], size=(height, width), mode="bilinear", align_corners=False
        )[:, 0]
        if threshold == 0.0:  # logits
            return (resized.sigmoid() > MASK_THRESHOLD).to(torch.uint8).numpy()
        return (resized > threshold).to(torch.uint8).numpy()

    def training_recipe(self) -> TrainingRecipe:
        return TRAINING_RECIPE

    def backbone_module(self) -> torch.nn.Module:
        if self.model.detr.backbone is None:
            raise InputError("built without a backbone", field="backbone")
        return self.model.detr.backbone[0].body

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """main.py's three groups: backbone, sampling-point projections, everything else."""
        groups: dict[str, list[torch.nn.Parameter]] = {
            "backbone": [],
            "linear_proj": [],
            "rest": [],
        }
        freeze = is_frozen_bn_resnet(self.config.backbone)
        for name, param in self.model.named_parameters():
            if freeze and name.startswith(FROZEN_RESNET_PREFIXES):
                param.requires_grad_(False)
            if not param.requires_grad:
                continue
            if "backbone.0" in name:
                groups["backbone"].append(param)
            elif any(key in name for key in LINEAR_PROJ_NAMES):
                groups["linear_proj"].append(param)
            else:
                groups["rest"].append(param)
        rates = {
            "backbone": lr * backbone_lr_mult,
            "linear_proj": lr * LINEAR_PROJ_MULT,
            "rest": lr,
        }
        return [{"params": p, "lr": rates[k], "name": k} for k, p in groups.items() if p]

    def training_losses(
        self, frames: torch.Tensor, targets: Any, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        return seqformer_losses(self.model, frames, targets, num_instances)

    def flops_modules(self) -> list[str]:
        return [
            "detr.backbone",
            "detr.input_proj",
            "detr.transformer.encoder",
            "detr.transformer.decoder",
            "detr.class_embed",
            "detr.bbox_embed",
            "controller",
            "mask_head",
        ]

    @classmethod
    def run_parity(cls, fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
        """Reproduce a golden fixture: post-backbone forward and post-processing."""
        return run_parity(Path(fixture_dir), None if out_path is None else Path(out_path))


def _load(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True)


def _fixture_outputs(out: dict[str, Any]) -> dict[str, Any]:
    """Model outputs in the fixture's layout (batch dimension dropped from intermediates)."""
    inter = out["intermediate"]
    result: dict[str, Any] = {k: out[k] for k in ("pred_logits", "pred_boxes", "pred_masks")}
    result["intermediate"] = {
        "memory": inter["memory"][0],
        "valid_ratios": inter["valid_ratios"][0],
        "init_reference": inter["init_reference"][0],
        "inter_references": inter["inter_references"][:, 0],
        "hs": inter["hs"][:, 0],
        "hs_box": inter["hs_box"][:, 0],
        "mask_feats": inter["mask_feats"],
        "aux_layers": {
            k: torch.cat([layer[k] for layer in out["aux_outputs"]])
            for k in ("pred_logits", "pred_boxes", "pred_masks")
        },
        "mask_reference_points_px": inter["mask_reference_points_px"][:, 0],
        "dynamic_params": inter["dynamic_params"][:, 0],
    }
    return result


def _compare_tree(report: ParityReport, name: str, produced: Any, expected: Any) -> None:
    """Compare every tensor of `produced` with the same path in `expected`, if it has one."""
    if isinstance(produced, dict):
        for key, value in produced.items():
            child = f"{name}.{key}" if name else key
            if isinstance(expected, dict) and key in expected:
                _compare_tree(report, child, value, expected[key])
            else:
                report.produced_only.append(child)
        return
    leaf = name.rsplit(".", 1)[-1]
    atol = TOLERANCES.get(leaf, INTERMEDIATE_TOLERANCE) if "." in name else TOLERANCES[leaf]
    report.add_tensor(name, produced.detach().float(), expected.float(), atol)


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


def run_parity(
    fixture_dir: Path,
    out_path: Path | None = None,
    method: str = "seqformer",
    build_model: Callable[[SeqFormerConfig], SeqFormer] = build,
) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run inputs.pt and postprocess_inputs.pt.

    Expected files (outputs.pt, postprocess_expected.json) are optional: without them the
    outputs are only produced (and written to `out_path`). `build_model` lets a variant of the
    architecture (the MS-STS release) reuse the whole procedure.
    """
    meta_path = fixture_dir / "meta.json"
    meta = json.loads(meta_path.read_text())
    report = ParityReport(method=method, fixture=str(fixture_dir))
    if "config" not in meta:
        raise InputError("no 'config' in the fixture", path=str(meta_path), field="config")
    config = SeqFormerConfig.from_dict({**meta["config"], "backbone": None}, source=str(meta_path))
    model = build_model(config)
    state_dict = {k: v.float() for k, v in _load(fixture_dir / "state_dict.pt").items()}
    load = model.load_state_dict(state_dict, strict=False)
    report.add_exact(
        "state_dict keys",
        not load.missing_keys and not load.unexpected_keys,
        f"missing {load.missing_keys[:5]}, unexpected {load.unexpected_keys[:5]}"
        if (load.missing_keys or load.unexpected_keys)
        else "",
    )

    inputs = _load(fixture_dir / "inputs.pt")
    features = {k: v.float() for k, v in inputs["features"].items()}
    call = meta.get("inference_call") or {}
    valid_h, valid_w = (int(v) for v in inputs["valid_hw"])
    orig_size = (int(call.get("orig_w", valid_w)), int(call.get("orig_h", valid_h)))
    with torch.no_grad():
        out = model.forward_features(
            features, inputs["feature_masks"], inputs["image_mask"], orig_size, all_layers=True
        )
    produced = _fixture_outputs(out)

    expected_path = fixture_dir / "outputs.pt"
    expected = _load(expected_path) if expected_path.is_file() else {}
    _compare_tree(report, "", produced, expected)

    postprocess: dict[str, list[dict]] = {}
    cases_path = fixture_dir / "postprocess_inputs.pt"
    if cases_path.is_file():
        for case in _load(cases_path)["cases"]:
            postprocess[case["name"]] = video_results(
                case["pred_logits"][0], case["pred_masks"][0], case["video"]
            )
        expected_json = fixture_dir / "postprocess_expected.json"
        wanted = json.loads(expected_json.read_text()) if expected_json.is_file() else {}
        for name, results in postprocess.items():
            if name in wanted:
                _compare_results(report, name, results, wanted[name])
            else:
                report.produced_only.append(f"postprocess.{name}")
    produced["postprocess"] = postprocess

    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(out_path) as tmp:
            torch.save(produced, tmp)
    return report


__all__ = ["SeqFormerPlugin", "resize_shorter_side", "run_parity"]

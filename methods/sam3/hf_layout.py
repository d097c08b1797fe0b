"""SAM 3 files in Hugging Face Transformers' layout (`Sam3VideoModel`: a `model.safetensors`
beside a `config.json`, as the Hub's facebook/sam3 holds it in Transformers format), read back
into the authors' keys, which `sam3.pt` and this method use.

Transformers' conversion (`convert_sam3_video_to_hf.py`, in its repository, not its wheel)
renames every key (`detector.` -> `detector_model.`, `tracker.` -> `tracker_model.`, the
tracker's neck to `tracker_neck.`), splits each fused q/k/v projection into `q_proj`, `k_proj`,
`v_proj`, drops the class-token row of the ViT's position table, transposes CLIP's
`text_projection`, stacks the four point embeddings into one table and stores the prompt
encoder's Gaussian matrix twice (`shared_image_embedding`). Its model has no RoPE tables
(computed at run time) and no point-prompt layers in the geometry encoder.

`hf_names.RULES` pairs the two names of every tensor; it is read both ways: `to_authors` (the
loader) and `to_transformers` (the benchmark and the tests). Read back, a file lacks:

* the RoPE tables `*.attn.freqs_cis` (buffers; the model recomputes them from its sizes:
  `CHECKPOINT_CONSTANTS`);
* the class-token row of `pos_embed` and the geometry encoder's `points_*` projections, which
  no text prompt reads: filled with zeros, and the conversion's note says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import torch

from vis_bench.api.checkpoints import CheckpointContents, CheckpointError
from vis_bench.methods.sam3.hf_names import (
    AUTHORS,
    CLS_ROW,
    QKV,
    ROWS,
    TRANSFORMERS,
    TRANSPOSE,
    fill,
    match,
)

FORMAT = "transformers"
#: keys every Transformers SAM 3 video file has
HF_SIGNATURE = (
    "detector_model.vision_encoder.backbone.embeddings.patch_embeddings.projection.weight",
    "tracker_model.mask_decoder.iou_token.weight",
)
#: keys of Transformers' image-only `Sam3Model`: no tracker, so no video model
HF_IMAGE_SIGNATURE = "vision_encoder.backbone.embeddings.patch_embeddings.projection.weight"
#: buffers a Transformers file lacks and the model computes from its sizes
CHECKPOINT_CONSTANTS = (r"\.attn\.freqs_cis$",)
#: the prompt encoder's Gaussian matrix, stored a second time by the conversion
HF_DUPLICATE = (
    "tracker_model.shared_image_embedding.positional_embedding",
    "tracker_model.prompt_encoder.shared_embedding.positional_embedding",
)


def to_transformers(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An authors' state dict in Transformers' `Sam3VideoModel` layout, as its conversion
    writes it; the tensors Transformers does not store are left out."""
    out: dict[str, torch.Tensor] = {}
    rows: dict[str, dict[int, torch.Tensor]] = {}
    for key, value in weights.items():
        found = match(key, AUTHORS)
        if found is None:
            continue
        rule, values, rest = found
        if rule.kind == QKV:
            for part, chunk in zip("qkv", value.chunk(3, dim=0), strict=True):
                out[fill(rule.transformers, {**values, "p": part}) + rest] = chunk
        elif rule.kind == ROWS:
            rows.setdefault(fill(rule.transformers, values) + rest, {})[int(values["n"])] = value
        else:
            out[fill(rule.transformers, values) + rest] = _forward_value(rule.kind, value)
    for name, parts in rows.items():
        out[name] = torch.cat([parts[i] for i in sorted(parts)], dim=0)
    if HF_DUPLICATE[1] in out:
        out[HF_DUPLICATE[0]] = out[HF_DUPLICATE[1]]
    return out


def _forward_value(kind: str, value: torch.Tensor) -> torch.Tensor:
    if kind == TRANSPOSE:
        return value.t()
    if kind == CLS_ROW:
        return value[:, 1:]
    return value


def to_authors(weights: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """A Transformers `Sam3VideoModel` state dict in the authors' keys, and what was filled:
    q/k/v concatenated, the position table's class-token row and the point-prompt layers as
    zeros (never read by a text prompt); a key no rule knows keeps its name, so the strict load
    lists it as unexpected."""
    out: dict[str, torch.Tensor] = {}
    fused: dict[str, dict[str, torch.Tensor]] = {}
    filled: list[str] = []
    for key, value in weights.items():
        if _is_duplicate(key, value, weights):
            continue
        found = match(key, TRANSFORMERS)
        if found is None:
            out[key] = value
            continue
        rule, values, rest = found
        if rule.kind == ROWS:
            for i in range(value.shape[0]):
                out[fill(rule.authors, {**values, "n": str(i)}) + rest] = value[i : i + 1]
            continue
        name = fill(rule.authors, values) + rest
        if rule.kind == QKV:
            fused.setdefault(name, {})[values["p"]] = value
        elif rule.kind == CLS_ROW:
            out[name] = torch.cat([value.new_zeros(value.shape[0], 1, value.shape[2]), value], 1)
            filled.append(f"{name} (its class-token row)")
        elif rule.kind == TRANSPOSE:
            out[name] = value.t().contiguous()
        else:
            out[name] = value
    for name, parts in fused.items():
        out[name] = torch.cat([parts[p] for p in "qkv"], dim=0)
    out = _level_zero_deconvolutions(out)
    filled += _unread_point_layers(out)
    return out, filled


def _is_duplicate(key: str, value: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> bool:
    """The second copy of the prompt encoder's Gaussian matrix (a differing one is kept, and
    the strict load then reports it)."""
    twin = weights.get(HF_DUPLICATE[1])
    if key != HF_DUPLICATE[0] or twin is None or twin.shape != value.shape:
        return False
    return value.is_meta or torch.equal(value, twin)


def _level_zero_deconvolutions(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A neck level with two deconvolutions names its first `dconv_2x2_0` (the authors' name);
    Transformers calls both levels' first one `scale_layers.0`."""
    renamed = {}
    for key, value in weights.items():
        base, sep, rest = key.partition(".dconv_2x2.")
        if sep and f"{base}.dconv_2x2_1.weight" in weights:
            key = f"{base}.dconv_2x2_0.{rest}"
        renamed[key] = value
    return renamed


def _unread_point_layers(weights: dict[str, torch.Tensor]) -> list[str]:
    """The geometry encoder's point projections, which Transformers' model lacks, as zeros of
    the detector's width (read only by point prompts, which this method never gives)."""
    proj = weights.get("detector.geometry_encoder.final_proj.weight")
    if proj is None:
        return []
    d = proj.shape[0]
    shapes = {"points_direct_project": (d, 2), "points_pool_project": (d, d)}
    shapes["points_pos_enc_project"] = (d, d)
    names = []
    for layer, shape in shapes.items():
        for part, size in (("weight", shape), ("bias", shape[:1])):
            name = f"detector.geometry_encoder.{layer}.{part}"
            if name not in weights:
                weights[name] = proj.new_zeros(size)
                names.append(name)
    return names


def is_transformers_layout(keys: Iterable[str]) -> bool:
    keys = set(keys)
    return all(k in keys for k in HF_SIGNATURE)


def convert(contents: CheckpointContents) -> CheckpointContents | None:
    """A Transformers SAM 3 video file as contents in the authors' keys, None when the file is
    not in Transformers' layout; an image-only `Sam3Model` file is refused (no tracker)."""
    keys = contents.state_dict
    if HF_IMAGE_SIGNATURE in keys and not any(k.startswith("tracker") for k in keys):
        raise CheckpointError(
            "a Transformers Sam3Model (image) file: it has no tracker, which the sam3 video "
            "method needs; give the Sam3VideoModel folder (facebook/sam3) or sam3.pt",
            path=contents.path,
        )
    if not is_transformers_layout(keys):
        return None
    state_dict, filled = to_authors(keys)
    note = (
        "converted from Hugging Face Transformers' Sam3VideoModel layout: q/k/v concatenated, "
        "CLIP's text projection transposed, the point embeddings unstacked; the RoPE tables "
        "recomputed from the sizes; zeros (read by no text prompt) for " + ", ".join(filled)
    )
    return replace(
        contents,
        format=FORMAT,
        state_dict=state_dict,
        notes=[*contents.notes, note],
        converted_from=FORMAT,
    )

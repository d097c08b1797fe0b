"""VidEoMT files from Hugging Face Transformers (`VideomtForUniversalSegmentation`), converted back.

Transformers publishes the authors' DINOv2 releases converted to its own model (e.g.
`tue-mps/videomt-dinov2-small-ytvis2019`): a `model.safetensors` beside a `config.json`. Its
conversion (`convert_videomt_to_hf.py`) renames every key, splits each block's fused `attn.qkv`
into `q_proj`/`k_proj`/`v_proj`, squeezes the position table's batch dimension, adds the
masked-modelling `embeddings.mask_token` and leaves out `criterion.empty_weight`. `convert` is
its inverse: the same tensors under this project's (the authors') names, the q/k/v rows
concatenated again, the batch dimension restored, `mask_token` dropped (no inference reads it),
and the options read from `config.json`, so the file runs under the authors' protocol (shorter
side 448, the position table interpolated to each frame's grid) rather than Transformers'
pipeline (docs/methods/videomt.md says why the numbers differ).

DINOv3 VidEoMT files (RoPE positions, no position table) are recognised and refused by the keys
that show it: this project's ViT is DINOv2's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import torch

from vis_bench.api.checkpoints import CheckpointContents, CheckpointError
from vis_bench.methods.common.vit import VIT_SIZES

FORMAT = "transformers"
PREFIX = "backbone."
VIT = "backbone.encoder.backbone."
#: keys every Transformers VidEoMT file has
HF_SIGNATURE = ("embeddings.cls_token", "query_updater.weight", "class_predictor.weight")
#: whole-key renames (Transformers' name -> the authors')
HF_NAMES = {
    "attn_mask_probs": PREFIX + "attn_mask_probs",
    "embeddings.cls_token": VIT + "cls_token",
    "embeddings.register_tokens": VIT + "reg_token",
    "embeddings.patch_embeddings.projection.weight": VIT + "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": VIT + "patch_embed.proj.bias",
    "layernorm.weight": VIT + "norm.weight",
    "layernorm.bias": VIT + "norm.bias",
    "query.weight": PREFIX + "q.weight",
    "query_updater.weight": PREFIX + "query_updater.weight",
    "query_updater.bias": PREFIX + "query_updater.bias",
    "class_predictor.weight": PREFIX + "class_head.weight",
    "class_predictor.bias": PREFIX + "class_head.bias",
}
#: pattern renames (Transformers' name -> the authors'), in order
HF_PATTERNS = (
    (r"^mask_head\.fc1\.", PREFIX + "mask_head.0."),
    (r"^mask_head\.fc2\.", PREFIX + "mask_head.2."),
    (r"^mask_head\.fc3\.", PREFIX + "mask_head.4."),
    (r"^upscale_block\.block\.(\d+)\.layernorm2d\.", PREFIX + r"upscale.\1.norm."),
    (r"^upscale_block\.block\.(\d+)\.(conv[12])\.", PREFIX + r"upscale.\1.\2."),
    (r"^layers\.(\d+)\.attention\.out_proj\.", VIT + r"blocks.\1.attn.proj."),
    (r"^layers\.(\d+)\.layer_scale([12])\.lambda1$", VIT + r"blocks.\1.ls\2.gamma"),
    (r"^layers\.(\d+)\.(norm[12]|mlp\.fc[12])\.", VIT + r"blocks.\1.\2."),
)
POSITION = "embeddings.position_embeddings.weight"
QKV = re.compile(r"^layers\.(\d+)\.attention\.q_proj\.(weight|bias)$")
#: what only Transformers' model holds: the masked-modelling token no inference reads, and the
#: patch indices its embedding looks the position table up with (where a file stores them)
DROPPED = ("embeddings.mask_token", "embeddings.position_ids")
#: key parts that show a DINOv3 backbone (RoPE, SwiGLU, timm EVA's layer scale and q/v biases)
DINOV3_SIGNS = re.compile(r"rope|gate_proj|fc1_g|\.gamma_[12]$|\.[qkv]_bias$|storage_tokens")
#: the ViT this project builds has DINOv2's 4 registers and an MLP 4x as wide
REGISTERS = 4
MLP_RATIO = 4


def is_transformers_layout(keys: Iterable[str]) -> bool:
    keys = set(keys)
    return all(k in keys for k in HF_SIGNATURE)


def refuse_dinov3(contents: CheckpointContents) -> None:
    """A DINOv3 VidEoMT file (either layout) is an error naming the keys that show it."""
    keys = list(contents.state_dict)
    hf = is_transformers_layout(keys)
    if not hf and PREFIX + "query_updater.weight" not in keys:
        return  # not a VidEoMT file at all: the strict load says what it is
    shown = [k for k in keys if DINOV3_SIGNS.search(k)]
    position = POSITION if hf else VIT + "pos_embed"
    model_type = str((contents.hf_config or {}).get("model_type", ""))
    if not shown and position in keys and "dinov3" not in model_type:
        return
    signs = shown[:5] + ([f"no position table ({position})"] if position not in keys else [])
    if "dinov3" in model_type:
        signs.append(f"config.json model_type {model_type!r}")
    raise CheckpointError(
        "a DINOv3 VidEoMT checkpoint: not supported yet (vis-bench builds VidEoMT on DINOv2, "
        f"with a learned position table); the file shows it by {', '.join(signs)}",
        path=contents.path,
    )


def convert(contents: CheckpointContents) -> CheckpointContents | None:
    """A Transformers VidEoMT file as contents in the authors' keys with its options, or None
    when the file is not in Transformers' layout."""
    refuse_dinov3(contents)
    if not is_transformers_layout(contents.state_dict):
        return None
    state_dict = convert_state_dict(contents.state_dict)
    options = options_from_config(contents.hf_config, contents.state_dict, contents.path)
    dropped = [k for k in DROPPED if k in contents.state_dict]
    note = (
        "converted from Hugging Face Transformers' VideomtForUniversalSegmentation layout: "
        "q/k/v rows concatenated, the position table given its batch dimension"
        + (f", {', '.join(dropped)} dropped (no inference reads them)" if dropped else "")
        + ("; options from config.json" if contents.hf_config else "; no config.json beside it")
    )
    return replace(
        contents,
        format=FORMAT,
        state_dict=state_dict,
        config=options,
        notes=[*contents.notes, note],
        converted_from=FORMAT,
    )


def convert_state_dict(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Transformers' keys -> the authors'; a key it does not know keeps its name (the strict
    load then lists it as unexpected)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in weights.items():
        if key in DROPPED or re.match(r"^layers\.\d+\.attention\.[kv]_proj\.", key):
            continue
        qkv = QKV.match(key)
        if qkv:
            layer, kind = qkv.groups()
            parts = [weights[f"layers.{layer}.attention.{p}_proj.{kind}"] for p in "qkv"]
            out[f"{VIT}blocks.{layer}.attn.qkv.{kind}"] = torch.cat(parts, dim=0)
        elif key == POSITION:
            out[VIT + "pos_embed"] = value.unsqueeze(0)
        elif key in HF_NAMES:
            out[HF_NAMES[key]] = value
        else:
            out[_renamed(key)] = value
    return out


def _renamed(key: str) -> str:
    for pattern, replacement in HF_PATTERNS:
        if re.search(pattern, key):
            return re.sub(pattern, replacement, key, count=1)
    return key


def options_from_config(
    config: Mapping[str, Any] | None, weights: Mapping[str, torch.Tensor], path: str
) -> dict[str, Any]:
    """VidEoMT options from a Transformers config.json (width, depth, heads, query blocks,
    queries, classes, stored grid, patch size); widths and counts the tensors also give are
    read from them when the config lacks them."""
    config = dict(config or {})
    cls_token = weights["embeddings.cls_token"]
    width = int(config.get("hidden_size", cls_token.shape[-1]))
    depth = int(
        config.get(
            "num_hidden_layers", len({k.split(".")[1] for k in weights if k.startswith("layers.")})
        )
    )
    if "num_attention_heads" not in config:
        raise CheckpointError(
            "a Transformers VidEoMT file needs its config.json (num_attention_heads): keep the "
            "model folder together, or give the folder",
            path=path,
        )
    heads = int(config["num_attention_heads"])
    registers = int(config.get("num_register_tokens", REGISTERS))
    if config.get("use_swiglu_ffn"):
        raise CheckpointError(
            "config.json sets use_swiglu_ffn: vis-bench's VidEoMT ViT has DINOv2's GELU MLP",
            path=path,
        )
    if registers != REGISTERS or float(config.get("mlp_ratio", MLP_RATIO)) != MLP_RATIO:
        raise CheckpointError(
            f"config.json gives {registers} register tokens and an MLP ratio of "
            f"{config.get('mlp_ratio', MLP_RATIO)}: vis-bench's VidEoMT ViT has DINOv2's "
            f"{REGISTERS} registers and ratio {MLP_RATIO}",
            path=path,
        )
    blocks = int(config.get("num_blocks", weights["attn_mask_probs"].shape[0]))
    labels = config.get("id2label")
    classes = int(
        config.get(
            "num_labels", len(labels) if labels else weights["class_predictor.weight"].shape[0] - 1
        )
    )
    options: dict[str, Any] = {
        "num_classes": classes,
        "num_queries": int(weights["query.weight"].shape[0]),
        "query_blocks": list(range(depth - blocks, depth)),
        "patch_size": int(config.get("patch_size", 16)),
        "img_size": int(config.get("image_size", 640)),
    }
    named = [n for n, size in VIT_SIZES.items() if size == (width, depth, heads)]
    if named:
        options["backbone"] = named[0]
    else:
        options.update(backbone="vit_s", embed_dim=width, depth=depth, num_heads=heads)
    return options

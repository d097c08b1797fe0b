"""Checkpoint files written the way the authors' (and the hosts') tooling writes them.

Made from a golden fixture's state dict, never downloaded: detectron2's model-zoo pickle
(`pickle.dump` of numpy arrays, as numpy 1 named them, in a given protocol), a full training
file (the weights beside an optimizer's and a scheduler's state, as detectron2's
`Checkpointer.save` writes it), a state dict re-saved from a `DistributedDataParallel`-wrapped
model (`module.` on every key, with its `_metadata`), a float16 copy, and Hugging Face
Transformers' VidEoMT folder (`save_pretrained`: model.safetensors and config.json, with the key
names, split q/k/v, squeezed position table and added `mask_token` of its conversion script).
"""

from __future__ import annotations

import io
import json
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

#: numpy's array reconstruction, which numpy 1 pickles under `numpy.core.multiarray`
_RECONSTRUCT = (getattr(np, "_core", None) or np.core).multiarray._reconstruct


class _Numpy1Pickler(pickle._Pickler):
    """The pure-Python pickler, naming numpy's array reconstruction as numpy 1 did."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is not _RECONSTRUCT:
            return super().save_global(obj, name)
        if self.proto >= 4:
            self.save("numpy.core.multiarray")
            self.save("_reconstruct")
            self.write(pickle.STACK_GLOBAL)
        else:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
        self.memoize(obj)


def write_model_zoo_pickle(
    state: dict[str, torch.Tensor], path: Path, protocol: int, static_query: bool = False
) -> Path:
    """detectron2's model-zoo format: `{"model": {name: numpy array}, "__author__": ...}`;
    `static_query`: the decoder's queries under their old name, as older files hold them."""
    weights = {}
    for key, value in state.items():
        if static_query:
            key = key.replace(".query_feat.", ".static_query.")
        weights[key] = value.detach().cpu().numpy()
    buffer = io.BytesIO()
    _Numpy1Pickler(buffer, protocol=protocol).dump(
        {"model": weights, "__author__": "Detectron2 model zoo"}
    )
    path.write_bytes(buffer.getvalue())
    return path


def write_training_file(state: dict[str, torch.Tensor], path: Path) -> Path:
    """The weights with a real AdamW's and MultiStepLR's state, as a training run saves them."""
    params = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2, 2))]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[4000])
    sum(p.sum() for p in params).backward()
    optimizer.step()
    scheduler.step()
    torch.save(
        {
            "model": OrderedDict(state),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "iteration": 5999,
        },
        path,
    )
    return path


class _Holder(nn.Module):
    """A module whose state dict is `state` (a stand-in for the trained model)."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self._state = state

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "", **kwargs: Any):
        out = OrderedDict() if destination is None else destination
        metadata = getattr(out, "_metadata", None)
        if metadata is None:
            out._metadata = metadata = OrderedDict()
        metadata[prefix[:-1]] = {"version": 1}
        for key, value in self._state.items():
            out[prefix + key] = value
        return out


class _DataParallelLike(nn.Module):
    """How DistributedDataParallel holds the model: under `module`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.module = model


def write_ddp_resave(state: dict[str, torch.Tensor], path: Path) -> Path:
    """`torch.save(ddp_model.state_dict())`: every key under `module.`, with `_metadata`."""
    saved = _DataParallelLike(_Holder(state)).state_dict()
    assert all(k.startswith("module.") for k in saved)
    torch.save(saved, path)
    return path


def write_float16(state: dict[str, torch.Tensor], path: Path) -> Path:
    """A float16 copy (floating tensors halved, the others as they are) under "model"."""
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save({"model": half}, path)
    return path


# -- Hugging Face Transformers' VidEoMT --------------------------------------------------------

_VIT = "backbone.encoder.backbone."


def transformers_videomt_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' VidEoMT keys as Transformers' conversion names them."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key == "criterion.empty_weight":
            continue  # Transformers' model does not keep it
        if key.startswith(_VIT + "blocks."):
            layer, rest = key[len(_VIT + "blocks.") :].split(".", 1)
            base = f"layers.{layer}."
            if rest.startswith("attn.qkv."):
                kind = rest.rsplit(".", 1)[1]
                for name, part in zip("qkv", value.chunk(3, dim=0), strict=True):
                    out[f"{base}attention.{name}_proj.{kind}"] = part.clone()
                continue
            rest = (
                rest.replace("attn.proj.", "attention.out_proj.")
                .replace("ls1.gamma", "layer_scale1.lambda1")
                .replace("ls2.gamma", "layer_scale2.lambda1")
            )
            out[base + rest] = value
            continue
        names = {
            "backbone.attn_mask_probs": "attn_mask_probs",
            _VIT + "cls_token": "embeddings.cls_token",
            _VIT + "reg_token": "embeddings.register_tokens",
            _VIT + "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
            _VIT + "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
            _VIT + "norm.weight": "layernorm.weight",
            _VIT + "norm.bias": "layernorm.bias",
            "backbone.q.weight": "query.weight",
            "backbone.class_head.weight": "class_predictor.weight",
            "backbone.class_head.bias": "class_predictor.bias",
        }
        if key == _VIT + "pos_embed":
            out["embeddings.position_embeddings.weight"] = value.squeeze(0)
        elif key in names:
            out[names[key]] = value
        elif key.startswith("backbone.query_updater."):
            out[key[len("backbone.") :]] = value
        elif key.startswith("backbone.mask_head."):
            index, kind = key[len("backbone.mask_head.") :].split(".")
            out[f"mask_head.fc{int(index) // 2 + 1}.{kind}"] = value
        elif key.startswith("backbone.upscale."):
            index, rest = key[len("backbone.upscale.") :].split(".", 1)
            rest = rest.replace("norm.", "layernorm2d.")
            out[f"upscale_block.block.{index}.{rest}"] = value
        else:
            raise KeyError(f"no Transformers name for {key}")
    width = state[_VIT + "cls_token"].shape[-1]
    out["embeddings.mask_token"] = torch.zeros(1, 1, width)
    return out


def write_transformers_videomt(
    state: dict[str, torch.Tensor], folder: Path, config: dict[str, Any]
) -> Path:
    """A `save_pretrained` folder: model.safetensors (float32) and config.json."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.float().contiguous() for k, v in transformers_videomt_state(state).items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder

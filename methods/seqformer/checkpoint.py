"""Loading SeqFormer weights: the authors' release `.pth` files and the project's own format.

The model uses the official module names, so no key conversion is needed. The one wrinkle is the
box heads, which the official state dict lists twice (`detr.bbox_embed.*` and the alias
`detr.transformer.decoder.bbox_embed.*`); a file carrying only one copy is completed here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vis_bench.methods.common.checkpoint import (
    LoadReport,
    extract_state_dict,
    load_state_dict_checked,
    read_checkpoint,
)

BOX_HEAD = "detr.bbox_embed."
BOX_HEAD_ALIAS = "detr.transformer.decoder.bbox_embed."


def complete_box_head_aliases(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Fill whichever of the two box-head key sets is absent from the other (same tensors)."""
    out = dict(state_dict)
    for src, dst in ((BOX_HEAD, BOX_HEAD_ALIAS), (BOX_HEAD_ALIAS, BOX_HEAD)):
        for key, value in state_dict.items():
            if key.startswith(src):
                out.setdefault(dst + key[len(src) :], value)
    return out


def load_seqformer_checkpoint(
    model: nn.Module, path: str | Path, strict: bool = True, method: str = "seqformer"
) -> LoadReport:
    """Load a release or project checkpoint into a SeqFormer-family model (`method` is the
    registry name a project-format file must carry); see LoadReport for the result."""
    state_dict, fmt = extract_state_dict(read_checkpoint(path), path, method=method)
    state_dict = complete_box_head_aliases(state_dict)
    return load_state_dict_checked(model, state_dict, path, fmt=fmt, strict=strict)

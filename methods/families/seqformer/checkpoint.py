"""The one conversion SeqFormer-family checkpoints need before a strict load.

The model uses the official module names, so no key conversion is needed except for the box
heads, which the official state dict lists twice (`detr.bbox_embed.*` and the alias
`detr.transformer.decoder.bbox_embed.*`); a file carrying only one copy is completed here.
"""

from __future__ import annotations

import torch

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

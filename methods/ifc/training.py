"""IFC's training forward (Ifc.forward with `self.training` in ifc/ifc.py).

The clip runs through the backbone and the network with deep supervision (every decoder layer's
output through the shared final norm); each layer is matched to the ground truth on its own.
Dataset category ids map to IFC's contiguous labels as id - 1, like `infer_clip` maps back.
"""

from __future__ import annotations

import torch

from vis_bench.api.training import ClipTargets
from vis_bench.methods.ifc.criterion import IFCLossWeights, layer_losses, stride_targets
from vis_bench.methods.ifc.model import IFCModel


def ifc_losses(
    model: IFCModel,
    frames: torch.Tensor,
    targets: ClipTargets,
    num_instances: float,
    num_clips: int = 1,
    weights: IFCLossWeights | None = None,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one clip: the last layer's under their names, layer i's with `_i`."""
    weights = weights or IFCLossWeights(no_object=model.cfg.no_object_weight)
    net = model.detr
    features = net.forward_pre_backbone(frames)
    out = net.forward_post_backbone(
        {k: features[k] for k in ("res3", "res4", "res5")}, return_aux=True
    )
    labels = (targets.labels - 1).to(frames.device)
    target_masks = stride_targets(targets.masks.to(frames), weights.mask_stride)
    num_queries = out["pred_logits"].shape[1]
    # the batch's sum of cross-entropy weights: matched queries weigh 1, the others no_object
    class_weight_total = (
        num_instances + (num_clips * num_queries - num_instances) * weights.no_object
    )
    layers = [
        *out["aux_outputs"],
        {"pred_logits": out["pred_logits"], "pred_masks": out["pred_masks"]},
    ]
    losses: dict[str, torch.Tensor] = {}
    for lvl, layer in enumerate(layers):
        values = layer_losses(
            layer["pred_logits"][0],
            layer["pred_masks"][0],
            labels,
            target_masks,
            num_instances,
            class_weight_total,
            weights,
        )
        suffix = "" if lvl == len(layers) - 1 else f"_{lvl}"
        losses.update({f"{name}{suffix}": value for name, value in values.items()})
    return losses

"""The detector's forward pass as training needs it: every decoder layer's class logits,
presence logits and boxes (deep supervision), the last layer's masks and the semantic map. The
same modules and order of operations as `Detector.forward`, which keeps only the last layer."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.methods.sam3.detector import Detector


@dataclass(frozen=True)
class LayerOutputs:
    """Per decoder layer L and (image, prompt) pair B (image-major), Q queries."""

    #: (L, B, Q) the dot-product class logits (before the presence token)
    class_logits: torch.Tensor
    #: (L, B) the presence token's logits
    presence_logits: torch.Tensor
    #: (L, B, Q, 4) normalised cxcywh
    boxes: torch.Tensor
    #: (B, Q, h, w) the last layer's mask logits at the finest level
    masks: torch.Tensor
    #: (B, 1, h, w) the segmentation head's semantic map of each pair's prompt
    semantic: torch.Tensor


def detector_outputs(
    detector: Detector, images: torch.Tensor, tokens: torch.Tensor
) -> LayerOutputs:
    """Images (N, 3, S, S) in [-1, 1] and prompt tokens (P, context) -> every layer's outputs
    for the N x P pairs, pair `n * P + p`."""
    n_prompts = tokens.shape[0]
    image_of = torch.arange(images.shape[0], device=images.device).repeat_interleave(n_prompts)
    prompt_of = torch.arange(n_prompts, device=images.device).repeat(images.shape[0])
    vision = detector.backbone.vision_backbone(images)
    words = detector.backbone.language_backbone(tokens)
    coarsest = vision.detector[-1]
    h, w = coarsest.shape[-2:]
    image = coarsest.flatten(2).transpose(1, 2)[image_of]
    pos = vision.positions[-1].flatten(2).transpose(1, 2)[image_of]
    cls = detector.geometry_encoder.text_only(image, pos)
    prompt = torch.cat([words.features.transpose(0, 1)[prompt_of], cls], dim=1)
    padding = torch.cat(
        [words.padding_mask[prompt_of], torch.zeros_like(cls[..., 0], dtype=torch.bool)], dim=1
    )
    memory = detector.transformer.encoder(image, pos, prompt, padding)
    decoded = detector.transformer.decoder(memory, pos, (h, w), prompt, padding)
    class_logits = detector.dot_prod_scoring(decoded.states, prompt, padding).squeeze(-1)
    levels = [level[image_of] for level in vision.detector]
    masks = detector.segmentation_head(decoded.states[-1], levels, memory, prompt, padding)
    return LayerOutputs(
        class_logits=class_logits,
        presence_logits=decoded.presence_logits.squeeze(-1),
        boxes=decoded.boxes,
        masks=masks.pred_masks,
        semantic=masks.semantic_seg,
    )

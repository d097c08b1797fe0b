"""SAM 3's image-level detector assembled from its parts, named as the checkpoint's `detector.*`
entries so the whole detector loads strictly by name: images and prompt tokens -> per (image,
prompt) query the joint logits, boxes and mask logits."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vis_bench.methods.sam3.decoder import DetrDecoder, box_cxcywh_to_xyxy
from vis_bench.methods.sam3.fusion import DetrEncoder, FusionSizes, GeometryEncoder
from vis_bench.methods.sam3.neck import VisionBackbone, VisionFeatures
from vis_bench.methods.sam3.scoring import DotProductScoring, joint_logits
from vis_bench.methods.sam3.segmentation import SegmentationHead
from vis_bench.methods.sam3.text_encoder import TextEncoder, TextEncoderSizes, TextFeatures
from vis_bench.methods.sam3.vit import VitSizes


@dataclass(frozen=True)
class DetectorSizes:
    """The detector's sizes, from the options (`detector_sizes_of`; `Sam3Options`' defaults are the released model's)."""

    vit: VitSizes
    text: TextEncoderSizes
    fusion: FusionSizes
    queries: int
    decoder_layers: int


@dataclass(frozen=True)
class Detections:
    """Per query (B = images x prompts, image-major), the last decoder layer's outputs."""

    #: (B, Q, 1) logit(sigmoid(class) x sigmoid(presence)), clamped to +-10
    pred_logits: torch.Tensor
    #: (B, Q, 4) normalised cxcywh and xyxy
    pred_boxes: torch.Tensor
    pred_boxes_xyxy: torch.Tensor
    #: (B, Q, h, w) mask logits at the finest backbone level
    pred_masks: torch.Tensor
    #: (B, Q, 1) class logits and (B, 1) presence logits
    class_logits: torch.Tensor
    presence_logits: torch.Tensor


class _Backbone(nn.Module):
    def __init__(self, sizes: DetectorSizes) -> None:
        super().__init__()
        self.vision_backbone = VisionBackbone(sizes.vit, sizes.fusion.d_model)
        self.language_backbone = TextEncoder(sizes.text)


class _Transformer(nn.Module):
    def __init__(self, sizes: DetectorSizes) -> None:
        super().__init__()
        self.encoder = DetrEncoder(sizes.fusion)
        self.decoder = DetrDecoder(sizes.fusion, sizes.queries, sizes.decoder_layers)


class Detector(nn.Module):
    """Images (N, 3, H, W) in [-1, 1] and tokens (P, context) -> `Detections` for all N x P
    (image, prompt) pairs, query `n * P + p`."""

    def __init__(self, sizes: DetectorSizes) -> None:
        super().__init__()
        d = sizes.fusion.d_model
        self.backbone = _Backbone(sizes)
        self.geometry_encoder = GeometryEncoder(sizes.fusion)
        self.transformer = _Transformer(sizes)
        self.segmentation_head = SegmentationHead(d, sizes.fusion.heads)
        self.dot_prod_scoring = DotProductScoring(d, sizes.fusion.ffn)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> Detections:
        vision = self.backbone.vision_backbone(images)
        return self.detect(vision, self.backbone.language_backbone(tokens))

    def detect(self, vision: VisionFeatures, words: TextFeatures) -> Detections:
        """The detections from already computed vision and text features (the tracker reads
        the same backbone run; a video's prompts are encoded once)."""
        n_images = vision.detector[0].shape[0]
        device = vision.detector[0].device
        n_prompts = words.padding_mask.shape[0]
        image_of = torch.arange(n_images, device=device).repeat_interleave(n_prompts)
        prompt_of = torch.arange(n_prompts, device=device).repeat(n_images)
        coarsest = vision.detector[-1]
        h, w = coarsest.shape[-2:]
        tokens = coarsest.flatten(2).transpose(1, 2)
        positions = vision.positions[-1].flatten(2).transpose(1, 2)
        # the CLS token depends on the image alone: computed once per image, not per prompt
        cls = self.geometry_encoder.text_only(tokens, positions)[image_of]
        image, pos = tokens[image_of], positions[image_of]
        prompt = torch.cat([words.features.transpose(0, 1)[prompt_of], cls], dim=1)
        padding = torch.cat(
            [words.padding_mask[prompt_of], torch.zeros_like(cls[..., 0], dtype=torch.bool)],
            dim=1,
        )
        memory = self.transformer.encoder(image, pos, prompt, padding)
        decoded = self.transformer.decoder(memory, pos, (h, w), prompt, padding)
        class_logits = self.dot_prod_scoring(decoded.states[-1], prompt, padding)
        presence = decoded.presence_logits[-1]
        levels = [level[image_of] for level in vision.detector]
        masks = self.segmentation_head(decoded.states[-1], levels, memory, prompt, padding)
        boxes = decoded.boxes[-1]
        return Detections(
            pred_logits=joint_logits(class_logits, presence),
            pred_boxes=boxes,
            pred_boxes_xyxy=box_cxcywh_to_xyxy(boxes),
            pred_masks=masks.pred_masks,
            class_logits=class_logits,
            presence_logits=presence,
        )

"""SAM 3's detector as a trainable method plugin: what the project's trainer needs (its recipe,
parameter groups, per-frame losses with one prompt per category name) and a per-frame
inference, before SAM 3 is registered as a whole (detector and tracker). Not registered: a
training config names it by import path (`configs/tiny/sam3_detector.yaml`); its weights are the
`detector.*` entries of SAM 3's checkpoint layout, which the full model loads by name.

Inference here is the detector alone, frame by frame, all prompts at once, with the release's
mask NMS and score threshold: each detection is an instance of one frame (no tracker links
them), so its video AP is a lower bound of what SAM 3's video model makes of the same weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api import ClipResult, MethodPlugin, MethodSpec, Preprocessing
from vis_bench.api.training import ClipTargets, TrainingRecipe
from vis_bench.methods.sam3.detector import Detector
from vis_bench.methods.sam3.detector_training.forward import detector_outputs
from vis_bench.methods.sam3.detector_training.losses import detector_losses
from vis_bench.methods.sam3.detector_training.options import Sam3DetectorOptions
from vis_bench.methods.sam3.detector_training.targets import pair_targets
from vis_bench.methods.sam3.detector_training.trunk_map import TrunkFeatureMap
from vis_bench.methods.sam3.scoring import joint_logits
from vis_bench.methods.sam3.tokenizer import Tokenizer
from vis_bench.methods.sam3.video_detections import nms_logits

#: the authors' frame normalisation: x / 255, then (x - 0.5) / 0.5
PIXEL_MEAN = (0.5, 0.5, 0.5)
PIXEL_STD = (0.5, 0.5, 0.5)
#: the vision backbone's and the language backbone's rates relative to the rest (the released
#: training configs: 2.5e-4 and 5e-5 against 8e-4 for the transformer and heads)
VISION_RATE = 2.5e-4 / 8e-4
LANGUAGE_RATE = 5e-5 / 8e-4


def independent_frames(
    rng: np.random.Generator, length: int, num_frames: int, reference: int
) -> list[int]:
    """Frames for an image detector: the reference frame and others drawn without repeats
    (each frame is a separate image to the detector), sorted."""
    others = [t for t in range(length) if t != reference]
    extra = rng.choice(len(others), min(num_frames - 1, len(others)), replace=False)
    return sorted([reference, *(others[int(i)] for i in extra)])


#: the released training configs' optimiser (AdamW, weight decay 0.1 but none on biases and
#: LayerNorms, gradients clipped at total norm 0.1, layer decay 0.9 over the ViT's blocks);
#: their inverse-square-root schedule with cooldown is approximated by one x0.1 drop at 80 %
TRAINING_RECIPE = TrainingRecipe(
    lr=8e-4,
    weight_decay=0.1,
    clip_max_norm=0.1,
    lr_drops=(0.8,),
    frame_sampler=independent_frames,
    backbone_lr_mult=VISION_RATE,
    layer_decay=0.9,
)


class Sam3DetectorModel(nn.Module):
    """The detector under the checkpoint's `detector.` prefix."""

    def __init__(self, options: Sam3DetectorOptions) -> None:
        super().__init__()
        self.detector = Detector(options.sizes())


class Sam3DetectorTraining(MethodPlugin):
    """SAM 3's image detector with one text prompt per category name."""

    spec = MethodSpec(
        name="sam3-detector",
        summary="SAM 3's detector per frame, one text prompt per category name (no tracker)",
        options=Sam3DetectorOptions,
        preprocessing=Preprocessing(shorter_side=144, mean=PIXEL_MEAN, std=PIXEL_STD),
        reference="facebookresearch/sam3 (sam3/model, sam3/train/loss, sam3/train/matcher.py)",
        notes="detector only: each detection is a one-frame instance",
        checkpoint_signature=(r"^detector\.transformer\.decoder\.presence_token\.weight$",),
        training=TRAINING_RECIPE,
    )

    def __init__(self, model: Sam3DetectorModel, options: Sam3DetectorOptions) -> None:
        self.model = model
        self.options = options
        self.load_report = None
        self.tokens = Tokenizer(context=options.context)(list(options.prompts))

    @classmethod
    def create(cls, options: Sam3DetectorOptions) -> Sam3DetectorTraining:
        return cls(Sam3DetectorModel(options), options)

    @property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing(shorter_side=self.options.image, mean=PIXEL_MEAN, std=PIXEL_STD)

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        """uint8 frames [T, 3, H, W] -> [T, 3, S, S] in [-1, 1]: SAM 3 squeezes every frame to
        its square input (the ViT's RoPE grid is fixed), whatever `shorter_side` says."""
        side = self.options.image
        x = F.interpolate(
            frames.float(), size=(side, side), mode="bilinear", align_corners=False, antialias=True
        )
        return self.preprocessing.normalise(x.round().clamp(0, 255))

    def _tokens(self, device: torch.device) -> torch.Tensor:
        return self.tokens.to(device)

    def training_losses(
        self, frames: torch.Tensor, targets: ClipTargets, num_instances: float, num_clips: int = 1
    ) -> dict[str, torch.Tensor]:
        """Every frame of the clip against every prompt; the per-box terms normalised by the
        batch's visible (instance, frame) count, estimated from this clip's share."""
        outputs = detector_outputs(self.model.detector, frames, self._tokens(frames.device))
        pairs = pair_targets(targets, self.options.category_ids)
        per_instance = pairs.num_boxes / max(1, len(targets))
        num_boxes = max(1.0, num_instances * per_instance)
        return detector_losses(outputs, pairs, num_boxes, num_clips)

    def backbone_module(self) -> nn.Module:
        """The ViT trunk with its map as one feature level (`run_bench.py pretrain` trains it;
        `backbone_init` fills it)."""
        return TrunkFeatureMap(self.model.detector.backbone.vision_backbone.trunk)

    def parameter_groups(self, lr: float, backbone_lr_mult: float) -> list[dict[str, Any]]:
        """The released optimiser's groups: the vision backbone at lr x backbone_lr_mult with
        layer decay over the ViT's blocks (the position embedding exempt), the language
        backbone at the released share of that (or at lr x `text_lr_mult`), the rest at lr;
        biases and LayerNorms without weight decay. Without `train_trunk` the trunk is in no
        group and needs no gradient."""
        depth = self.options.vit_depth
        if not self.options.train_trunk:
            self.model.detector.backbone.vision_backbone.trunk.requires_grad_(False)
        groups: dict[tuple[str, int, bool], list[nn.Parameter]] = {}
        for module_name, module in self.model.named_modules():
            for name, param in module.named_parameters(recurse=False):
                if not param.requires_grad:
                    continue
                full = f"{module_name}.{name}"
                part, exponent = _part_of(full, depth)
                decay = not (name.endswith("bias") or isinstance(module, nn.LayerNorm))
                groups.setdefault((part, exponent, decay), []).append(param)
        text_mult = self.options.text_lr_mult
        rates = {
            "vision": lr * backbone_lr_mult,
            "language": lr
            * (backbone_lr_mult * LANGUAGE_RATE / VISION_RATE if text_mult is None else text_mult),
            "rest": lr,
        }
        out = []
        for (part, exponent, decay), params in groups.items():
            group: dict[str, Any] = {
                "params": params,
                "lr": rates[part],
                "name": part,
                "backbone": part != "rest",
                "layer_decay_exponent": exponent,
            }
            if not decay:
                group["weight_decay"] = 0.0
            out.append(group)
        return out

    @torch.no_grad()
    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        """Each frame's detections over all prompts (mask NMS per prompt, joint probability
        above `score_threshold`), each an instance of its frame alone."""
        self.model.eval()
        tokens = self._tokens(frames.device)
        n_prompts = tokens.shape[0]
        scores, labels, masks = [], [], []
        frame_count = frames.shape[0]
        for t in range(frame_count):
            out = self.model.detector(frames[t : t + 1], tokens)
            logits = joint_logits(out.class_logits, out.presence_logits)
            for p in range(n_prompts):
                kept = nms_logits(logits[p, :, 0], out.pred_masks[p]).sigmoid()
                keep = kept > self.options.score_threshold
                for q in torch.nonzero(keep).flatten().tolist():
                    track = torch.zeros(frame_count, *out.pred_masks.shape[-2:])
                    track[t] = out.pred_masks[p, q].sigmoid()
                    scores.append(float(kept[q]))
                    labels.append(int(self.options.category_ids[p]))
                    masks.append(track)
        size = frames.shape[-2:] if not masks else masks[0].shape[-2:]
        return ClipResult(
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.tensor(labels, dtype=torch.long),
            masks=torch.stack(masks) if masks else torch.zeros(0, frame_count, *size),
        )


def _part_of(name: str, depth: int) -> tuple[str, int]:
    """Which rate group a parameter belongs to, and its layer-decay exponent (the released
    modifier: the patch embedding and `ln_pre` as layer 0, block i as layer i + 1, scaled by
    decay^(depth + 1 - layer); the position embedding is exempt)."""
    trunk = "detector.backbone.vision_backbone.trunk."
    if name.startswith("detector.backbone.language_backbone."):
        return "language", 0
    if not name.startswith("detector.backbone.vision_backbone."):
        return "rest", 0
    if not name.startswith(trunk) or name == f"{trunk}pos_embed":
        return "vision", 0
    rest = name.removeprefix(trunk)
    layer = int(rest.split(".")[1]) + 1 if rest.startswith("blocks.") else 0
    return "vision", depth + 1 - layer

"""VidEoMT's training: the clip forward with deep supervision, the criterion and the optimiser.

As tue-mps/videomt @ 39411e94 trains (`VidEoMT_CLASS.segmenter` in training mode,
`videomt.forward` / `frame_decoder_loss_reshape` in videomt/videomt.py, criterion_videomt.py,
modeling/matcher.py, train_net_video.py, configs/ytvis19/Base_R50.yaml and the DINOv2 configs):

- A clip's frames go through the ViT's first blocks together; then the query blocks run frame
  by frame, the first frame from `q.weight`, each next one from the previous frame's propagated
  queries, with gradients flowing through the propagation (nothing is detached).
- Deep supervision: before each query block the heads also predict from the tokens as they are,
  WITHOUT the final norm (`NORM_QUERIES` is False in every DINOv2 config); the final prediction
  reads the final norm, as at inference. The criterion's weight_dict has
  `len(SEGMENTER_BLOCKS) - 1` auxiliary entries, so the prediction made before the last query
  block is computed by the authors and dropped; it is not computed here.
- Every frame is its own image for the loss (MinVIS's reshape, the family's `frame_level`),
  but the clip has ONE assignment of queries to instances (`videomt_online` builds
  `VideoHungarianMatcher_Consistent`; matcher.py): point-sampled BCE + Dice (12544 points,
  importance sampling 0.75 of 3x oversampling), class 2 / mask 5 / dice 5, no-object 0.1.
- Masked attention: none. The released code registers `attn_mask_probs` and config keys for
  annealing (`ATTN_MASK_ANNEALING_ENABLED`, `START_STEPS`, `END_STEPS`) but no code reads them,
  and `segmenter` passes `attn_mask = None` to every query block (docs/methods/videomt.md, Training).
- Class targets: the authors' loader gives an instance absent from the clip's last frame a dummy
  annotation of category `MODEL.SEM_SEG_HEAD.NUM_CLASSES`, which the VidEoMT configs leave at
  detectron2's 54; the matcher clamps it to K (no object), the loss to K - 1 (`VidEoMTCriterion`).

The optimiser follows `Trainer.build_optimizer` and `TwoStageWarmupPolySchedule`: AdamW at
1e-4, weight decay 0.05 on every parameter, no gradient clipping; the ViT's blocks at
`LLRD ** (depth - 1 - i)` (LLRD 0.6), its embeddings as block 0, its final norm undecayed; the
non-ViT parameters warm up over 500 steps, the ViT waits those 500 and warms up over 1000; then
poly decay (power 0.9) to the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.api.training import ClipTargets, TrainingRecipe
from vis_bench.methods.common.frame_sampling import WindowFrameSampler
from vis_bench.methods.families.mask2former.criterion import (
    Mask2FormerLossConfig,
    VideoSetCriterion,
    build_video_criterion,
    clip_losses,
)
from vis_bench.methods.families.mask2former.matcher import VideoTargets
from vis_bench.methods.videomt.matcher import ClipConsistentMatcher
from vis_bench.methods.videomt.model import (
    NO_OBJECT_WEIGHT,
    FrameOutput,
    VidEoMTModel,
    VidEoMTNetwork,
)
from vis_bench.methods.videomt.preprocessing import pad_frames

#: INPUT.SAMPLING_FRAME_RANGE of the DINOv2 configs (with SAMPLING_FRAME_NUM 5)
SAMPLING_FRAME_RANGE = 2
#: SOLVER.LLRD of the DINOv2 configs (config.py's default, 0.8, is overridden)
LAYER_DECAY = 0.6
#: EoMT's `poly_power` (its masks' annealing follows the learning rate's power)
MASK_POLY_POWER = 0.9
#: SOLVER.WARMUP_STEPS: the non-ViT parameters' warm-up, then the ViT's
WARMUP_STEPS = (500, 1000)
VIT_PREFIX = "backbone.encoder.backbone."


def loss_config(query_blocks: int) -> Mask2FormerLossConfig:
    """MODEL.BACKBONE's loss settings of configs/ytvis19/Base_R50.yaml (which the DINOv2 configs
    inherit); the auxiliary weights follow len(SEGMENTER_BLOCKS)."""
    return Mask2FormerLossConfig(
        class_weight=2.0,
        mask_weight=5.0,
        dice_weight=5.0,
        no_object_weight=NO_OBJECT_WEIGHT,
        num_points=12544,
        oversample_ratio=3.0,
        importance_sample_ratio=0.75,
        deep_supervision=True,
        dec_layers=query_blocks,
    )


class VidEoMTCriterion(VideoSetCriterion):
    """The family's criterion with the release's class targets: an instance labelled K (absent
    from the clip's last frame) is matched as "no object" but trained towards class K - 1, as
    the authors' matcher and loss clamp their loader's out-of-range dummy category."""

    def loss_labels(
        self,
        outputs: Any,
        targets: Any,
        indices: Any,
        other_weight: float = 0.0,
    ) -> dict[str, torch.Tensor]:
        clamped = [VideoTargets(t.labels.clamp(max=self.num_classes - 1), t.masks) for t in targets]
        return super().loss_labels(outputs, clamped, indices, other_weight)


def build_criterion(model: VidEoMTModel) -> VidEoMTCriterion:
    """The criterion `videomt_online.from_config` builds: the clip-consistent matcher, its
    costs equal to the loss weights."""
    config = loss_config(len(model.config.query_blocks))
    criterion = build_video_criterion(
        model.config.num_classes, config, ClipConsistentMatcher, VidEoMTCriterion
    )
    return cast(VidEoMTCriterion, criterion)


@contextmanager
def block_inputs(blocks: list[nn.Module]) -> Iterator[list[list[torch.Tensor]]]:
    """Record each block's input, call after call: `captured[i]` lists what `blocks[i]` read."""
    captured: list[list[torch.Tensor]] = [[] for _ in blocks]
    handles = [
        block.register_forward_pre_hook(lambda _, args, store=store: store.append(args[0]))
        for block, store in zip(blocks, captured, strict=True)
    ]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def supervised_blocks(net: VidEoMTNetwork) -> list[nn.Module]:
    """The query blocks whose inputs the heads read for deep supervision: the first
    len(query_blocks) - 1 of them (the authors' weight_dict keeps no more)."""
    config = net.config
    first = config.first_query_block
    return list(net.vit.blocks[first : first + len(config.query_blocks) - 1])


def clip_outputs(
    net: VidEoMTNetwork, frames: torch.Tensor, masked_attention: bool = False
) -> dict[str, Any]:
    """Padded frames [T, 3, H, W] of one clip -> pred_logits [1, T, Q, K+1], pred_masks
    [1, Q, T, h, w] and aux_outputs (the same, per supervised query block), as the authors'
    `segmenter` returns them in training; with `masked_attention`, EoMT's masked attention while
    `attn_mask_probs` has a block above 0 (`masked_frame`)."""
    tokens, grid = net.frame_tokens(frames)  # every frame through the first blocks at once
    queries = net.initial_queries()
    num_queries = queries.shape[1]
    if masked_attention and bool((net.attn_mask_probs > 0).any()):
        finals, before = [], []
        for t in range(frames.shape[0]):
            out, predictions = masked_frame(net, tokens[t : t + 1], grid, queries)
            finals.append((out.class_logits, out.mask_logits))
            before.append(predictions[: len(net.config.query_blocks) - 1])
            queries = out.next_queries
        aux = [
            tuple(torch.cat(parts) for parts in zip(*block, strict=True))
            for block in zip(*before, strict=True)
        ]
    else:
        finals = []
        with block_inputs(supervised_blocks(net)) as inputs:
            for t in range(frames.shape[0]):
                out = net.frame(tokens[t : t + 1], grid, queries)
                finals.append((out.class_logits, out.mask_logits))
                queries = out.next_queries
        aux = [net.predict(torch.cat(per_frame), grid, num_queries) for per_frame in inputs]
    logits, masks = (torch.cat(parts) for parts in zip(*finals, strict=True))
    return {
        **_as_clip(logits, masks),
        "aux_outputs": [_as_clip(*prediction) for prediction in aux],
    }


def masked_frame(
    net: VidEoMTNetwork, tokens: torch.Tensor, grid: tuple[int, int], queries: torch.Tensor
) -> tuple[FrameOutput, list[tuple[torch.Tensor, torch.Tensor]]]:
    """One frame's query blocks with EoMT's masked attention: before each block the heads
    predict from the tokens as they are (the deep-supervision prediction), and each query may
    attend only to the patches inside its predicted mask, unless a draw with probability
    1 - `attn_mask_probs[block]` frees it. Returns the frame's output and the predictions
    made before each query block."""
    num_queries = queries.shape[1]
    x = torch.cat([queries, tokens], dim=1)
    config = net.config
    before = []
    prefix = net.vit.num_prefix_tokens
    blocks = net.vit.blocks[config.first_query_block : config.query_blocks_stop]
    for block, prob in zip(blocks, net.attn_mask_probs.tolist(), strict=False):
        class_logits, mask_logits = net.predict(x, grid, num_queries)
        before.append((class_logits, mask_logits))
        x = block(x, query_attention_mask(mask_logits, grid, x.shape[1], prefix, prob))
    class_logits, mask_logits = net.predict(net.vit.norm(x), grid, num_queries)
    return FrameOutput(class_logits, mask_logits, net.propagate(x[:, :num_queries])), before


def query_attention_mask(
    mask_logits: torch.Tensor, grid: tuple[int, int], tokens: int, prefix: int, prob: float
) -> torch.Tensor | None:
    """EoMT's `_attn_mask`: boolean [B, 1, N, N] over `tokens` = queries, `prefix` register
    and class tokens, then the patches; a query's row over the patches set where its
    mask logits resized (bilinear) to the token grid are above 0, every other entry True; each
    query's row freed with probability 1 - `prob`. None when `prob` is 0 (nothing masked)."""
    if prob <= 0:
        return None
    batch, num_queries = mask_logits.shape[:2]
    start = num_queries + prefix
    allowed = torch.ones(batch, tokens, tokens, dtype=torch.bool, device=mask_logits.device)
    inside = F.interpolate(mask_logits.detach(), grid, mode="bilinear") > 0
    allowed[:, :num_queries, start:] = inside.flatten(2)
    if prob < 1:
        freed = torch.rand(batch, num_queries, device=mask_logits.device) > prob
        allowed[:, :num_queries, start:][freed] = True
    return allowed[:, None]


def mask_probabilities(
    windows: list[list[float]], iteration: int, iterations: int, power: float = MASK_POLY_POWER
) -> list[float]:
    """EoMT's `mask_annealing` per query block: 1 before the block's start, then
    (1 - progress) ** power, 0 from its end; windows are fractions of `iterations`."""
    probs = []
    for start, end in windows:
        first, last = start * iterations, end * iterations
        if iteration < first:
            probs.append(1.0)
        elif iteration >= last:
            probs.append(0.0)
        else:
            probs.append((1.0 - (iteration - first) / (last - first)) ** power)
    return probs


def _as_clip(logits: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """The frames' class logits [T, Q, K+1] and masks [T, Q, h, w] -> the clip's
    [1, T, Q, K+1] and [1, Q, T, h, w]."""
    return {"pred_logits": logits[None], "pred_masks": masks.transpose(0, 1)[None]}


def videomt_losses(
    model: VidEoMTModel,
    criterion: VidEoMTCriterion,
    frames: torch.Tensor,
    targets: ClipTargets,
    num_instances: float,
    num_clips: int = 1,
    absent_last_frame: str = "release",
    masked_attention: bool = False,
) -> dict[str, torch.Tensor]:
    """Weighted losses of one preprocessed clip [T, 3, H, W], every frame supervised as an image,
    normalised over the trainer's whole batch. `absent_last_frame` "release" labels an instance
    missing from the clip's last frame as the authors' loader does (the dummy category,
    `VidEoMTCriterion`); "own_category" keeps its category. `masked_attention`: see
    `clip_outputs`."""
    padded = pad_frames(frames)
    outputs = clip_outputs(model.backbone, padded, masked_attention)
    release = absent_last_frame == "release"
    batch = (num_instances, num_clips)
    options = {"frame_level": True, "absent_last_frame_is_no_object": release}
    return clip_losses(outputs, targets, criterion, padded, batch, **options)


def parameter_groups(model: VidEoMTModel, lr: float, vit_lr_mult: float) -> list[dict[str, Any]]:
    """`Trainer.build_optimizer`'s rates, one group per rate: ViT block i marked with exponent
    depth - 1 - i for the layer-wise decay, the ViT's embeddings with block 0's, its final norm
    with none; every ViT group marked `backbone` (the second warm-up stage)."""
    depth = model.config.vit.depth
    groups: dict[str, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith(VIT_PREFIX):
            part = name[len(VIT_PREFIX) :].split(".")
            if part[0] == "blocks":
                exponent = depth - 1 - int(part[1])
            else:
                exponent = 0 if part[0] == "norm" else depth - 1
            key = f"vit (decay exponent {exponent})"
            group = {"lr": lr * vit_lr_mult, "backbone": True, "layer_decay_exponent": exponent}
        else:
            key, group = "rest", {"lr": lr}
        groups.setdefault(key, {"name": key, "params": [], **group})["params"].append(param)
    return list(groups.values())


@dataclass(frozen=True)
class ClipFrameSampler:
    """The authors' YTVISDatasetMapper.select_frames. With SAMPLING_FRAME_NUM = 2 x range + 1
    (5 and 2 in the DINOv2 configs) a clip is `num_frames` consecutive frames starting at
    `randrange(length - num_frames)` (so never the video's last window), or 0 when the video is
    exactly that long; a shorter video gives all its frames then random repeats, appended
    unsorted (their `sorted(...)` result is discarded). Other clip lengths take the reference
    frame plus frames drawn within +-range of it (the Mask2Former-family window)."""

    sampling_range: int = SAMPLING_FRAME_RANGE

    def __call__(
        self, rng: np.random.Generator, length: int, num_frames: int, reference: int
    ) -> list[int]:
        if num_frames != 2 * self.sampling_range + 1:
            return WindowFrameSampler(self.sampling_range)(rng, length, num_frames, reference)
        if num_frames > length:
            extra = rng.choice(length, num_frames - length).tolist()
            return [*range(length), *(int(t) for t in extra)]
        start = 0 if length == num_frames else int(rng.integers(length - num_frames))
        return list(range(start, start + num_frames))


TRAINING_RECIPE = TrainingRecipe(
    lr=1e-4,
    weight_decay=0.05,
    clip_max_norm=0.0,  # their build_optimizer skips detectron2's gradient clipping
    lr_drops=(),
    frame_sampler=ClipFrameSampler(),
    videos_by_length=False,
    backbone_lr_mult=1.0,  # SOLVER.BACKBONE_MULTIPLIER is not read by their optimiser
    warmup_iters=WARMUP_STEPS[0],
    backbone_warmup_iters=WARMUP_STEPS[1],
    poly_power=0.9,
    layer_decay=LAYER_DECAY,
)

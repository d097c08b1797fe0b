"""SAM 3's tracker network (the SAM 2-style part of the video model): the SAM prompt encoder and
mask decoder, the memory encoder, the memory attention, object pointers and the learned
no-memory / no-object vectors. Names follow the checkpoint below `tracker.`. The per-frame steps
here are stateless; `tracker_state.py` keeps the memories."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vis_bench.methods.common.mlp import MLP
from vis_bench.methods.sam3.mask_decoder import MaskDecoder
from vis_bench.methods.sam3.memory_attention import MemoryAttention
from vis_bench.methods.sam3.memory_encoder import MemoryEncoder
from vis_bench.methods.sam3.prompt_encoder import PromptEncoder

#: mask logit of a pixel of an object judged absent
NO_OBJECT_SCORE = -1024.0
#: a binary mask becomes logits +-10; the memory encoder reads sigmoid(x) * 20 - 10
MASK_LOGIT_SCALE, MASK_LOGIT_BIAS = 20.0, -10.0


@dataclass(frozen=True)
class TrackerSizes:
    """The tracker's sizes, from the options (`tracker_sizes_of`; `Sam3Options`' defaults are the released model's)."""

    d_model: int
    mem_dim: int
    image: int
    stride: int
    num_maskmem: int
    attention_layers: int
    attention_ffn: int
    max_object_pointers: int = 16
    max_cond_frames: int = 4
    #: memory selection: a frame is remembered when its score exceeds this
    memory_score_threshold: float = 0.01

    @property
    def grid(self) -> int:
        return self.image // self.stride

    @property
    def low_res(self) -> int:
        """Side of the mask logits the tracker outputs (4x the grid)."""
        return self.grid * 4

    @property
    def input_mask(self) -> int:
        """Side of the masks the tracker takes in and encodes (4x the low-res side)."""
        return self.low_res * 4


@dataclass(frozen=True)
class FrameFeatures:
    """The tracker's view of one frame: the top level (B, d, h, w) with its positions and the
    two finer levels already projected by the mask decoder's conv_s0 / conv_s1."""

    top: torch.Tensor
    top_pos: torch.Tensor
    high_res: list[torch.Tensor]

    def expand(self, n: int) -> FrameFeatures:
        return FrameFeatures(
            top=self.top.expand(n, -1, -1, -1),
            top_pos=self.top_pos.expand(n, -1, -1, -1),
            high_res=[x.expand(n, -1, -1, -1) for x in self.high_res],
        )


@dataclass(frozen=True)
class HeadOutput:
    """What the SAM heads give per object: the chosen low-res mask logits (B, 1, h, w), the
    IoU estimates of the candidate masks (B, M), the object pointer (B, d) and the
    object-score logit (B, 1)."""

    masks: torch.Tensor
    ious: torch.Tensor
    obj_ptr: torch.Tensor
    object_score_logits: torch.Tensor

    def split(self, counts: list[int], start: int = 0) -> list[HeadOutput]:
        """Consecutive row blocks of `counts` rows from `start`: a batch's objects given back
        to the states they came from."""
        parts = []
        for count in counts:
            rows = slice(start, start + count)
            parts.append(
                HeadOutput(
                    self.masks[rows],
                    self.ious[rows],
                    self.obj_ptr[rows],
                    self.object_score_logits[rows],
                )
            )
            start += count
        return parts


def sine_1d(positions: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """(P,) -> (P, dim): sines of all frequencies, then cosines."""
    half = dim // 2
    steps = torch.arange(half, dtype=torch.float32, device=positions.device)
    scale = temperature ** (2 * torch.div(steps, 2, rounding_mode="floor") / half)
    angles = positions[:, None] / scale
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class _Transformer(nn.Module):
    def __init__(self, sizes: TrackerSizes) -> None:
        super().__init__()
        self.encoder = MemoryAttention(
            sizes.d_model, sizes.mem_dim, sizes.attention_layers, sizes.attention_ffn
        )


class Tracker(nn.Module):
    """The tracker's weights and its per-frame computations."""

    def __init__(self, sizes: TrackerSizes) -> None:
        super().__init__()
        self.sizes = sizes
        d, mem = sizes.d_model, sizes.mem_dim
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(sizes.num_maskmem, 1, 1, mem))
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, d))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, d))
        self.no_obj_ptr = nn.Parameter(torch.zeros(1, d))
        self.no_obj_embed_spatial = nn.Parameter(torch.zeros(1, mem))
        self.mask_downsample = nn.Conv2d(1, 1, 4, stride=4)
        self.transformer = _Transformer(sizes)
        self.maskmem_backbone = MemoryEncoder(d, mem, sizes.input_mask)
        self.sam_prompt_encoder = PromptEncoder(d, sizes.grid, sizes.image)
        self.sam_mask_decoder = MaskDecoder(d)
        self.obj_ptr_proj = MLP(d, d, d, 3)
        self.obj_ptr_tpos_proj = nn.Linear(d, mem)

    def frame_features(
        self, levels: list[torch.Tensor], positions: list[torch.Tensor]
    ) -> FrameFeatures:
        """The tracker neck's three levels (finest first) and their positions -> the features
        the tracker reads. The levels are rounded to bfloat16 as the authors store them, then
        computed on in fp32."""
        rounded = [x.to(torch.bfloat16).float() for x in levels]
        decoder = self.sam_mask_decoder
        return FrameFeatures(
            top=rounded[2],
            top_pos=positions[2],
            high_res=[decoder.conv_s0(rounded[0]), decoder.conv_s1(rounded[1])],
        )

    def sam_heads(
        self,
        image: torch.Tensor,
        high_res: list[torch.Tensor],
        mask_prompt: torch.Tensor | None,
        multimask: bool,
    ) -> HeadOutput:
        """SAM's heads on an image embedding (B, d, h, w) with no clicks: the best candidate
        mask (by estimated IoU) and its pointer; an absent object gets `NO_OBJECT_SCORE` masks
        and the learned no-object pointer."""
        b = image.shape[0]
        size = self.sam_prompt_encoder.mask_input_size
        if mask_prompt is not None and tuple(mask_prompt.shape[-2:]) != size:
            mask_prompt = F.interpolate(
                mask_prompt.float(), size=size, mode="bilinear", align_corners=False, antialias=True
            )
        coords, labels = self.sam_prompt_encoder.empty_points(b, image.device)
        sparse, dense = self.sam_prompt_encoder(coords, labels, mask_prompt)
        pe = self.sam_prompt_encoder.dense_positions()
        decoded = self.sam_mask_decoder(image, pe, sparse, dense, high_res, multimask)
        appearing = decoded.object_score_logits > 0
        masks = torch.where(
            appearing[:, None, None], decoded.masks, torch.full_like(decoded.masks, NO_OBJECT_SCORE)
        ).float()
        token = decoded.tokens[:, 0]
        if multimask:
            best = decoded.ious.argmax(-1)
            rows = torch.arange(b, device=image.device)
            masks = masks[rows, best][:, None]
            token = decoded.tokens[rows, best]
        present = appearing.float()
        obj_ptr = present * self.obj_ptr_proj(token) + (1 - present) * self.no_obj_ptr
        return HeadOutput(masks, decoded.ious, obj_ptr, decoded.object_score_logits)

    def mask_as_output(self, features: FrameFeatures, masks: torch.Tensor) -> HeadOutput:
        """A given binary mask (B, 1, S, S) at the input-mask size used as the output: logits
        +-10, object score +-10 by emptiness, and a pointer from SAM's heads prompted with the
        (downsampled) mask on the frame's own features."""
        masks = masks.float()
        logits = masks * MASK_LOGIT_SCALE + MASK_LOGIT_BIAS
        low_res = F.interpolate(
            logits,
            size=(
                logits.shape[-2] // self.sizes.stride * 4,
                logits.shape[-1] // self.sizes.stride * 4,
            ),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )
        heads = self.sam_heads(
            features.top, features.high_res, self.mask_downsample(masks), multimask=False
        )
        present = masks.flatten(1).gt(0).any(dim=1, keepdim=True).float()
        obj_ptr = present * heads.obj_ptr + (1 - present) * self.no_obj_ptr
        scores = MASK_LOGIT_SCALE * present + MASK_LOGIT_BIAS
        return HeadOutput(low_res, masks.new_ones(masks.shape[0], 1), obj_ptr, scores)

    def condition_on_memory(
        self,
        features: FrameFeatures,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        pointers: int,
    ) -> torch.Tensor:
        """The top level (B, d, h, w) after attending to the memory tokens (B, M, mem_dim)."""
        b, d, h, w = features.top.shape
        tokens = features.top.flatten(2).transpose(1, 2)
        pos = features.top_pos.flatten(2).transpose(1, 2)
        out = self.transformer.encoder(tokens, pos, memory, memory_pos, pointers)
        return out.transpose(1, 2).reshape(b, d, h, w)

    def encode_memory(
        self,
        features: FrameFeatures,
        mask_logits: torch.Tensor,
        object_score_logits: torch.Tensor,
        binarize: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits (B, 1, S, S) on a frame -> its memory, rounded to bfloat16 as the authors
        store it, and the memory's positions. Binarized masks are used as they are, others
        through a sigmoid; absent objects get the learned no-object vector added."""
        mask = (mask_logits > 0).float() if binarize else torch.sigmoid(mask_logits)
        mask = mask * MASK_LOGIT_SCALE + MASK_LOGIT_BIAS
        memory, pos = self.maskmem_backbone(features.top, mask)
        absent = 1 - (object_score_logits > 0).float()
        memory = memory + absent[..., None, None] * self.no_obj_embed_spatial[..., None, None]
        return memory.to(torch.bfloat16), pos

    def pointer_positions(self, distances: list[int], max_distance: int) -> torch.Tensor:
        """Temporal encodings (P, mem_dim) of object pointers `distances` frames away."""
        device = self.no_obj_ptr.device
        rel = torch.tensor(distances, dtype=torch.float32, device=device) / (max_distance - 1)
        return self.obj_ptr_tpos_proj(sine_1d(rel, self.sizes.d_model))

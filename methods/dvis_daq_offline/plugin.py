"""The `dvis-daq-offline` method: DVIS-DAQ online's segmenter and tracker, then the temporal
refiner over the video's best sequences and a naive link of the segmenter.

As the authors run it (`DVIS_DAQ_offline.run_window_inference`): the segmenter on windows of 5
frames, the tracker frame by frame (OVIS's configs: the slot branch also decides whether a track
is kept), then N = NUM_NEW_INS instances gathered (instances.py) and refined over the whole video
at once; the video's scores come from the refiner's class logits alone (one per instance, an
activation-weighted mean over time), the top 20 (instance, class) pairs by `topk(sorted=False)`,
masks from the refiner (its normed outputs' mask embeddings dotted with the raw mask features),
resized to the padded input, cropped and resized to the video.

The harness runs it as a `WholeVideoRefinement`: the clips carry the video's sequences and each
frame's segmenter embeddings and logits (Q x C and Q x (K+1) per frame); at the video's end the
refiner decides, and the chosen instances' masks are made in a second pass over the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vis_bench.api import InputError, register_method
from vis_bench.api.refinement import VideoRefinement
from vis_bench.methods.common.fast_paths import ensure_prepared, inference_context
from vis_bench.methods.dvis_daq_offline.instances import (
    GatheredVideo,
    RefinerInputs,
    refiner_inputs,
)
from vis_bench.methods.dvis_daq_offline.training import refiner_losses
from vis_bench.methods.dvis_daq_offline.variants import VARIANTS
from vis_bench.methods.families.dvis.postprocess import video_predictions
from vis_bench.methods.families.dvis.segmenter import FrameQueries
from vis_bench.methods.families.dvis.training import StageLossConfig
from vis_bench.methods.families.dvis_daq.base_plugin import (
    DAQBase,
    DAQOptions,
    daq_member_spec,
    track_features,
)
from vis_bench.methods.families.dvis_daq.model import DAQModel, build_model
from vis_bench.methods.families.dvis_daq.timing import AUTHORS_TIMING

SUMMARY = "DVIS-DAQ offline: DVIS-DAQ online's sequences refined by a temporal refiner"
REFERENCE = "zhang-tao-whu/DVIS_Plus @ c0eb2495 (DVIS_DAQ/dvis_daq/: DVIS_DAQ_offline)"


@dataclass
class DAQOfflineOptions(DAQOptions):
    """The OVIS R50 config (ovis/DAQ_Offline_R50.yaml) by default: the only R50 offline
    release (there is no YouTube-VIS R50 offline config)."""

    num_classes: int = 25
    select_threshold: float = 0.05
    slot_decides: bool = True
    #: MODEL.REFINER.DECODER_LAYERS
    refiner_layers: int = 6
    #: MODEL.VIDEO_HEAD.USE_LOCAL_ATTN (the refiner's temporal convolution; OVIS ViT-L only)
    local_attention: bool = False
    #: MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM: tracked sequences the refiner reads at most
    offline_top_k: int = 40
    #: the offline model trains its refiner (the tracker is DAQ online's)
    train_stage: str = "refiner"
    #: OVIS offline's TRAINING_SELECT_THRESHOLD (read by no training of the refiner)
    training_select_threshold: float = 0.1

    def __post_init__(self) -> None:
        if int(self.refiner_layers) < 1:
            raise InputError("refiner_layers must be at least 1", field="refiner_layers")
        if int(self.offline_top_k) < 0:
            raise InputError("offline_top_k must not be negative", field="offline_top_k")
        super().__post_init__()


@dataclass
class RefinedInstances:
    """The chosen instances' normed refiner outputs [T, S, C] (the second pass's masks)."""

    normed: torch.Tensor


@dataclass
class RefinerRun:
    """The refiner over a gathered video: its inputs, the last layer's outputs [T, N, C], their
    `decoder_norm` [T, N, C] and one class logit vector per instance [N, K+1]."""

    inputs: RefinerInputs
    output: torch.Tensor
    normed: torch.Tensor
    logits: torch.Tensor


def refine(model: DAQModel, video: GatheredVideo, options: DAQOfflineOptions) -> RefinerRun:
    """N = the segmenter's query count instances gathered (instances.py), refined."""
    inputs = refiner_inputs(
        video, int(model.cfg.num_queries), int(options.offline_top_k), int(options.noise_frames)
    )
    refiner = model.refiner
    output = refiner(inputs.instance_embeds, video.frame_embeds())[-1]
    normed = refiner.decoder_norm(output)
    return RefinerRun(inputs, output, normed, refiner.class_logits(normed[None])[0])


@register_method("dvis-daq-offline")
class DAQOfflinePlugin(DAQBase):
    """DVIS-DAQ offline: DVIS-DAQ online's sequences refined over the whole video."""

    spec = daq_member_spec(
        __package__, SUMMARY, DAQOfflineOptions, REFERENCE, VARIANTS, AUTHORS_TIMING
    )
    options: DAQOfflineOptions
    training_stages = ("refiner",)

    @classmethod
    def create(cls, options: DAQOfflineOptions) -> DAQOfflinePlugin:
        cls.check_stage(options)
        model = build_model(
            options.network(), int(options.refiner_layers), bool(options.local_attention)
        )
        return cls(model, options)

    def flops_modules(self) -> list[str]:
        return [*super().flops_modules(), "refiner"]

    def stage_losses(self, frames: torch.Tensor, targets: Any) -> dict[str, torch.Tensor]:
        """The refiner stage (training.py): the frozen online model over the clip as at
        inference, then the refiner supervised as one video."""
        if self.options.slot_decides:
            # forward_offline_mode keeps a track by the mean of its slot's and its own logits
            # (OVIS_INFER), which inference does not: that decision is not implemented
            raise InputError(
                "training the refiner with slot_decides (OVIS_INFER) is not supported: "
                "set slot_decides: false",
                field="slot_decides",
            )
        config = StageLossConfig(num_points=int(self.options.train_num_points))
        return refiner_losses(self.model, config, frames, targets, self._gather, self.guided)

    def _gather(self, queries: FrameQueries) -> tuple[GatheredVideo, RefinerInputs]:
        """The tracker over a clip's segmenter outputs, the refiner's instances gathered."""
        video = GatheredVideo()
        self.gather(queries, video)
        instances = int(self.model.cfg.num_queries)
        options = self.options
        inputs = refiner_inputs(
            video, instances, int(options.offline_top_k), int(options.noise_frames)
        )
        return video, inputs

    def new_video(self) -> GatheredVideo:
        return GatheredVideo()

    def gather(self, queries: FrameQueries, state: GatheredVideo) -> None:
        """The tracker over the clip's frames; each frame's segmenter embeddings and logits
        kept for the refiner."""
        track_features(self.model, queries, state.hub, self.options.decisions())
        state.embeds += list(queries.embeds)
        state.logits += list(queries.logits)

    def refine_video(self, state: GatheredVideo | None) -> VideoRefinement:
        """The refiner over the whole video; the top-k pairs of its class logits; the chosen
        instances' normed outputs for the second pass."""
        video = state if state is not None else GatheredVideo()
        if not video.embeds:
            return VideoRefinement([], None)
        paths = ensure_prepared(self.model)
        with inference_context(paths):
            run = refine(self.model, video, self.options)
        predictions = video_predictions(run.logits, None, int(self.options.top_k))
        refinement = VideoRefinement(predictions)
        refinement.data = RefinedInstances(run.normed[:, refinement.slots])
        return refinement

    def chosen_masks(
        self, mask_features: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The refinement's instances' masks (the refiner reads the raw mask features, not the
        tracker's projection)."""
        normed = refinement.data.normed[frame_indices]
        return self.model.refiner.mask_logits(normed, mask_features).transpose(0, 1)

"""The `dvis-daq-online` method: the DVIS family's segmenter and DVIS-DAQ's dynamic-anchor
tracker, online.

As the authors run it (`DVIS_DAQ_online.run_window_inference`): every frame through the
backbone, the pixel decoder and the decoder (windows of 5 frames in one batch), then the
tracker frame by frame, its sequences kept from window to window; at the video's end the
sequences shorter than NOISE_FRAME_NUM frames that do not reach the last frame are dropped, the
rest scored by the softmax of their time-mean logits, the top 20 (sequence, class) pairs by
`topk(sorted=False)`, masks resized to the padded input, cropped and resized to the video.

The harness runs it as a `WholeVideoRefinement`: sequences are born and dropped as the video
goes, and which are kept is known at its end only. The clips carry the video's sequences (per
sequence and frame a C-vector and the class logits); at the end the results are chosen, and the
chosen sequences' masks are made in a second pass over the frames from their stored outputs
(the authors keep every sequence's per-frame mask instead). Any clip schedule gives the same
sequences: the tracker never sees a clip boundary (T = 5 is the authors' window).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vis_bench.api import register_method
from vis_bench.api.refinement import VideoRefinement
from vis_bench.methods.dvis_daq_online.variants import VARIANTS
from vis_bench.methods.families.dvis.postprocess import video_predictions
from vis_bench.methods.families.dvis_daq.base_plugin import (
    DAQBase,
    DAQOptions,
    daq_member_spec,
)
from vis_bench.methods.families.dvis_daq.sequences import InstanceSequence, SequenceHub
from vis_bench.methods.families.dvis_daq.timing import AUTHORS_TIMING
from vis_bench.methods.families.dvis_daq.video import kept_sequences, mean_logits, sequence_masks

SUMMARY = "DVIS-DAQ online: per-frame Mask2Former, tracker with dynamic anchor queries"
REFERENCE = "zhang-tao-whu/DVIS_Plus @ c0eb2495 (DVIS_DAQ/dvis_daq/: DVIS_DAQ_online)"


@dataclass
class DAQOnlineOptions(DAQOptions):
    """The YouTube-VIS 2019 R50 config (ytvis19/DAQ_Online_R50.yaml) by default; OVIS's has
    25 classes, select_threshold 0.1 and slot_decides True."""


@register_method("dvis-daq-online")
class DAQOnlinePlugin(DAQBase):
    """DVIS-DAQ online: Mask2Former per frame, a tracker whose anchor queries start objects."""

    spec = daq_member_spec(
        __package__, SUMMARY, DAQOnlineOptions, REFERENCE, VARIANTS, AUTHORS_TIMING
    )

    def refine_video(self, state: SequenceHub | None) -> VideoRefinement:
        """The video's kept sequences, the top-k (sequence, class) pairs of their time-mean
        logits; the chosen sequences are what the second pass makes masks of."""
        hub = state if state is not None else SequenceHub()
        sequences = kept_sequences(hub, int(self.options.noise_frames))
        if not sequences:
            return VideoRefinement([], [])
        predictions = video_predictions(mean_logits(sequences), None, int(self.options.top_k))
        refinement = VideoRefinement(predictions)
        refinement.data = [sequences[slot] for slot in refinement.slots]
        return refinement

    def chosen_masks(
        self, mask_features: torch.Tensor, refinement: VideoRefinement, frame_indices: list[int]
    ) -> torch.Tensor:
        """The refinement's sequences' masks (-1e4 where one does not exist), through the
        tracker's projection of the mask features."""
        sequences: list[InstanceSequence] = refinement.data
        projected = self.model.tracker.project(mask_features)
        return sequence_masks(self.model.tracker, sequences, frame_indices, projected)

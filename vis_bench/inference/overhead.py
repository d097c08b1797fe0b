"""The stages of the one timed pass, and how much the stitcher holds.

The end-to-end time of a pass is split as it runs into stages, each timed inside it:

- data: waiting for decoded frames (decoding runs in a background thread one window ahead, so
  only the wait is on the critical path) and the method's preprocessing (resize, normalise, the
  copy to the device);
- model: every call into the method (`infer_clip`, its per-frame stages, a whole-video
  refinement and its second-pass masks), the compiler's seconds left out;
- linking: stitching clips or linking query tracks;
- post-processing and encoding: final masks resized to the video size, thresholded and
  RLE-encoded;
- other: the rest of the pass (loop bookkeeping, the device's synchronisation).

The stages are disjoint parts of one region, so their sum never exceeds the end-to-end time and
the model's share is at most 1. The decoding threads' own seconds are reported beside the
stages (`decode_s`, and the input workers' `input_resize_s`): they overlap the model's, and the
overhead share counts them as if they did not, so that share is an upper bound. On a GPU the
model stage is the device's time between events around each call (model_events.py), which the
host's stages overlap: there the stages' sum can exceed the pass by `stage_overlap_s`. So can it
where windows are linked on the linking thread (linking_thread.py): the linking and
post-processing stages are then that thread's seconds, beside the model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vis_bench.engine.finalise import FinaliseTimes
from vis_bench.inference.frame_stream import DecodeTimes

if TYPE_CHECKING:
    from vis_bench.inference.input_workers import InputTimes
    from vis_bench.inference.model_events import ModelEvents

_MIB = 1024 * 1024


@dataclass
class HarnessTimes:
    """Accumulated over a run (every video of a cell)."""

    decode: DecodeTimes = field(default_factory=DecodeTimes)
    #: the input workers' threads (0: one thread decodes, the main thread resizes) and, with
    #: workers, their resize seconds (summed over workers, beside `decode.decode_s`)
    input_workers: int = 0
    input: InputTimes | None = None
    #: freed host memory stayed in the process (vis_bench/api/host_memory.py) during the pass
    freed_memory_kept: bool = False
    #: each window linked on its own thread while the next one's model ran (linking_thread.py)
    linking_thread: bool = False
    #: the model stage timed by device events read at each video's end (a GPU), or None
    events: ModelEvents | None = field(default=None, repr=False, compare=False)
    finalise: FinaliseTimes = field(default_factory=FinaliseTimes)
    decode_wait_s: float = 0.0
    preprocess_s: float = 0.0
    model_s: float = 0.0
    stitch_s: float = 0.0
    #: the largest (number, bytes) of float tensors a video's stitcher held at once
    stitch_peak_tensors: int = 0
    stitch_peak_bytes: int = 0
    #: a running count of seconds charged to no stage (the compiler's), or None
    exclude: Callable[[], float] | None = field(default=None, repr=False, compare=False)

    def left_out(self) -> float:
        """The running count of seconds charged to no stage (0 without a compiler)."""
        return self.exclude() if self.exclude is not None else 0.0

    def add_model(self, start: float, left_out_at_start: float, preprocess_s: float) -> None:
        """A call into the method that began at `start`: its preprocessing to the data stage,
        the rest, less the compiler's seconds in between, to the model stage."""
        elapsed = time.perf_counter() - start - (self.left_out() - left_out_at_start)
        self.preprocess_s += preprocess_s
        self.model_s += max(0.0, elapsed - preprocess_s)

    def stages(self, seconds_end_to_end: float) -> dict[str, float]:
        """The timed pass by stage, in seconds (`other`: what no stage accounts for)."""
        parts = {
            "data": self.decode_wait_s + self.preprocess_s,
            "model": self.model_s,
            "linking": self.stitch_s,
            "postprocess": self.finalise.resize_s + self.finalise.rle_s,
        }
        return {**parts, "other": max(0.0, seconds_end_to_end - sum(parts.values()))}

    def note_stitcher(self, tensors: int, nbytes: int) -> None:
        self.stitch_peak_tensors = max(self.stitch_peak_tensors, tensors)
        self.stitch_peak_bytes = max(self.stitch_peak_bytes, nbytes)

    @property
    def overhead_s(self) -> float:
        """Decode + stitching + mask resize + RLE (the encoding thread's too), in seconds."""
        finalise = self.finalise.resize_s + self.finalise.rle_s + self.finalise.thread_s
        return self.decode.decode_s + self.stitch_s + finalise

    def as_record(self, seconds_end_to_end: float, num_frames: int) -> dict[str, Any]:
        """The record's `harness` entry: seconds per part, overhead per frame and its share."""
        serial = seconds_end_to_end - self.decode_wait_s + self.decode.decode_s
        return {
            "input_workers": self.input_workers,
            "freed_memory_kept": self.freed_memory_kept,
            "linking_thread": self.linking_thread,
            "decode_s": self.decode.decode_s,
            "input_resize_s": self.input.resize_s if self.input is not None else 0.0,
            "frames_decoded": self.decode.frames_decoded,
            "decode_wait_s": self.decode_wait_s,
            "preprocess_s": self.preprocess_s,
            "model_s": self.model_s,
            "stitch_s": self.stitch_s,
            "resize_s": self.finalise.resize_s,
            "rle_s": self.finalise.rle_s,
            # the encoding thread's own seconds (the compiled pass on a CPU, a GPU's strings)
            "encode_thread_s": self.finalise.thread_s,
            "overhead_s": self.overhead_s,
            "overhead_s_per_frame": self.overhead_s / num_frames if num_frames else None,
            "overhead_share": self.overhead_s / serial if serial > 0 else None,
            # the model stage timed on the device overlaps the host's stages by this much
            "stage_overlap_s": max(0.0, sum(self.stages(0.0).values()) - seconds_end_to_end),
            "stitch_state_peak_tensors": self.stitch_peak_tensors,
            "stitch_state_peak_mb": self.stitch_peak_bytes / _MIB,
        }

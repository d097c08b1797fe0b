"""Where the runner's time goes besides the model, and how much the stitcher holds.

The harness's own work is decoding frames, stitching clips (matching and averaging), resizing
final masks to the video size (with the threshold) and RLE-encoding them. Decoding runs in a
background thread ahead of the model and is not part of the end-to-end time; the overhead share
counts it anyway, as if it were not overlapped, so the share is an upper bound. Preprocessing the
frames (the method's declared resize and normalisation) is reported beside it, not in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vis_bench.engine.finalise import FinaliseTimes
from vis_bench.inference.frame_stream import DecodeTimes

_MIB = 1024 * 1024


@dataclass
class HarnessTimes:
    """Accumulated over a run (every video of a cell)."""

    decode: DecodeTimes = field(default_factory=DecodeTimes)
    finalise: FinaliseTimes = field(default_factory=FinaliseTimes)
    decode_wait_s: float = 0.0
    preprocess_s: float = 0.0
    model_s: float = 0.0
    stitch_s: float = 0.0
    #: the largest (number, bytes) of float tensors a video's stitcher held at once
    stitch_peak_tensors: int = 0
    stitch_peak_bytes: int = 0

    def note_stitcher(self, tensors: int, nbytes: int) -> None:
        self.stitch_peak_tensors = max(self.stitch_peak_tensors, tensors)
        self.stitch_peak_bytes = max(self.stitch_peak_bytes, nbytes)

    @property
    def overhead_s(self) -> float:
        """Decode + stitching + mask resize + RLE, in seconds."""
        return self.decode.decode_s + self.stitch_s + self.finalise.resize_s + self.finalise.rle_s

    def as_record(self, seconds_end_to_end: float, num_frames: int) -> dict[str, Any]:
        """The record's `harness` entry: seconds per part, overhead per frame and its share."""
        serial = seconds_end_to_end + self.decode.decode_s
        return {
            "decode_s": self.decode.decode_s,
            "frames_decoded": self.decode.frames_decoded,
            "decode_wait_s": self.decode_wait_s,
            "preprocess_s": self.preprocess_s,
            "model_s": self.model_s,
            "stitch_s": self.stitch_s,
            "resize_s": self.finalise.resize_s,
            "rle_s": self.finalise.rle_s,
            "overhead_s": self.overhead_s,
            "overhead_s_per_frame": self.overhead_s / num_frames if num_frames else None,
            "overhead_share": self.overhead_s / serial if serial > 0 else None,
            "stitch_state_peak_tensors": self.stitch_peak_tensors,
            "stitch_state_peak_mb": self.stitch_peak_bytes / _MIB,
        }

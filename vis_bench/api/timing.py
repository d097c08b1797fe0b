"""What a published FPS timed, declared as data: a timing protocol.

No two VIS papers' FPS mean the same thing. One times the network call of each frame under fp16
and a compiler, another the whole forward of a video with its post-processing, a third publishes
no timing code at all. A number without its definition cannot be compared with another, so a
protocol names what is inside the timer (`timed`, from `STAGES`), the precision and the compiler
it ran under, how many frames one timed call takes, the warm-up and how the mean is taken, and
where all of this was read (`source`: file and line of the authors' code, or "not stated").

A method declares the protocol its authors used in its spec (`MethodSpec.timing_protocol`); the
harness runs it beside its own (end to end, its model stage, a single clip) when a sweep asks for it
(`measure.protocols`) and keeps each result with its declaration, so a record copied out still
says what was timed. `region` is what the harness can reproduce of the declaration:

- `video_forward`: each video's clips, their linking and the final masks at the video size,
  with decoding, resizing and RLE left outside the timer (detectron2's evaluator times this);
- `frame_forward`: one frame per call, the per-video state carried, and nothing before or after
  the network call (a per-frame benchmark loop);
- `end_to_end`, `model_stage` and `clip_forward`: the harness's own protocols
  (measure/protocols.py);
- None: the authors published no timing code, so there is nothing to reproduce.

`detectron2_protocol` is the declaration every method evaluated with detectron2's
`inference_on_dataset` shares, so such a method declares its protocol in one line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: what a timer can hold, in the order a frame meets them
STAGES = (
    "decode",  # reading and decoding the frame files
    "resize",  # resizing frames to the test resolution
    "normalise",  # mean/std normalisation (and the channel order)
    "pad",  # padding to the network's size divisibility
    "transfer",  # host to device copy of the frames
    "backbone",  # the image backbone (and a pixel decoder)
    "heads",  # transformer decoder, class and mask heads
    "linking",  # clips or frames joined into tracks (matching, carried queries, stitching)
    "post_processing",  # top-k over (query, class), scores, thresholds
    "upsampling",  # masks resized to the video size
    "copy_to_host",  # final masks copied from the device
    "rle",  # masks RLE-encoded
    "json",  # results written
)
PRECISIONS = ("fp32", "fp16", "bf16")
#: what the harness reproduces of a protocol (see the module docstring)
REGIONS = ("end_to_end", "model_stage", "clip_forward", "video_forward", "frame_forward")
#: how the seconds become one number
MEANS = {
    "frames_over_time": "timed frames / timed seconds (a frame-weighted mean)",
    "median_of_rounds": "timed frames / timed seconds of each interleaved round, the median of "
    "the rounds",
    "median_of_repeats": "frames of the clip / median seconds of the repeated calls",
}
WARMUP_UNITS = ("videos", "clips", "frames")
#: torch.compile's modes
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
NOT_STATED = "not stated"
#: the protocols a sweep measures (`measure.protocols`; the harness's measure/protocols.py)
PROTOCOL_NAMES = ("end_to_end", "model", "authors", "single_clip")


@dataclass(frozen=True)
class CompileSetting:
    """torch.compile as a protocol (or `measure.compile`) asks for it.

    `dynamic` is torch.compile's flag (None: static first, dynamic after a shape changes);
    `suppress_errors` lets a part that fails to compile run eagerly (some authors set it).
    """

    mode: str = "default"
    dynamic: bool | None = None
    fullgraph: bool = False
    suppress_errors: bool = False

    def __post_init__(self) -> None:
        if self.mode not in COMPILE_MODES:
            raise ValueError(f"compile mode must be one of {COMPILE_MODES}, got {self.mode!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TimingProtocol:
    """One definition of FPS (see the module docstring); `precision` None is the cell's dtype."""

    name: str
    region: str | None
    timed: tuple[str, ...] = ()
    precision: str | None = "fp32"
    #: torch.set_float32_matmul_precision during the timing ("medium", "high"), None: untouched
    matmul_precision: str | None = None
    compile: CompileSetting | None = None
    #: what one timed call takes: "1 frame", "the cell's clip", "the whole video"
    frames_per_call: str = "the cell's clip"
    warmup: int = 0
    warmup_unit: str = "videos"
    mean: str = "frames_over_time"
    #: how the seconds are read (host clock, device events) and where the device is synchronised
    clock: str = "host clock, device synchronised after each timed call"
    #: where the declaration was read: file:line of the authors' code, or "not stated"
    source: str = NOT_STATED
    #: the FPS the authors published with it, where they published one (and where)
    published: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        unknown = [stage for stage in self.timed if stage not in STAGES]
        if unknown:
            raise ValueError(f"protocol {self.name!r}: unknown stages {unknown}; use {STAGES}")
        if self.region is not None and self.region not in REGIONS:
            raise ValueError(f"protocol {self.name!r}: region must be one of {REGIONS} or None")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(f"protocol {self.name!r}: precision must be one of {PRECISIONS}")
        if self.mean not in MEANS:
            raise ValueError(f"protocol {self.name!r}: mean must be one of {sorted(MEANS)}")
        if self.warmup_unit not in WARMUP_UNITS or self.warmup < 0:
            raise ValueError(f"protocol {self.name!r}: warm-up is a count >= 0 of {WARMUP_UNITS}")

    @property
    def stated(self) -> bool:
        """Whether there is a timing procedure to reproduce (False: the authors never said)."""
        return self.region is not None

    @property
    def excluded(self) -> tuple[str, ...]:
        """The stages left outside the timer."""
        return tuple(stage for stage in STAGES if stage not in self.timed)

    def as_dict(self) -> dict[str, Any]:
        """The declaration as plain data (what a record keeps beside the FPS it gave); a protocol
        never stated keeps only where that was looked for."""
        if not self.stated:
            keep = ("name", "region", "source", "published", "notes")
            return {"stated": False, **{key: getattr(self, key) for key in keep}}
        data = {"stated": True, **dataclasses.asdict(self)}
        data["timed"] = list(self.timed)
        data["excluded"] = list(self.excluded)
        data["mean"] = f"{self.mean}: {MEANS[self.mean]}"
        data["compile"] = self.compile.as_dict() if self.compile is not None else None
        return data


#: detectron2's evaluator (evaluation/evaluator.py, v0.6 d1e04565): the first 5 iterations (one
#: video each in the VIS loaders) are warm-up, then `perf_counter()` around `model(inputs)` with
#: `torch.cuda.synchronize()` after it; data loading (decode, resize) and `evaluator.process`
#: (RLE) are outside; the log reports seconds per video
DETECTRON2_SOURCE = (
    "detectron2 evaluation/evaluator.py inference_on_dataset (v0.6 d1e04565): L138 num_warmup = "
    "min(5, total - 1), L151-155 accumulators reset after warm-up, L157-161 perf_counter around "
    "model(inputs) then torch.cuda.synchronize(), L163-165 evaluator.process (RLE) timed apart, "
    "L189-202 seconds per iteration (one video)"
)
#: detectron2's timer holds `model(inputs)`: from normalisation to masks on the host
DETECTRON2_TIMED = STAGES[STAGES.index("normalise") : STAGES.index("copy_to_host") + 1]
#: the harness's end-to-end timer: from the frames (decoding runs a window ahead in a thread: its
#: waits are timed) to RLE
END_TO_END_TIMED = STAGES[STAGES.index("decode") : STAGES.index("rle") + 1]


def detectron2_protocol(
    precision: str, source: str, published: str = "", notes: str = ""
) -> TimingProtocol:
    """The protocol of a method evaluated with detectron2's `inference_on_dataset`.

    `precision` is what the method's own test script wraps the evaluator in ("fp16" for
    `with autocast(): inference_on_dataset(...)`, "fp32" without); `source` names that script's
    lines (the evaluator's are added). The evaluator reports seconds per video; how the authors
    turned that into frames per second is not stated anywhere, so the harness reports timed
    frames / timed seconds over the videos after warm-up, and the seconds per video beside it.
    """
    return TimingProtocol(
        name="detectron2 inference_on_dataset",
        region="video_forward",
        timed=DETECTRON2_TIMED,
        precision=precision,
        frames_per_call="the whole video (the cell's clips inside one timed call)",
        warmup=5,
        warmup_unit="videos",
        mean="frames_over_time",
        clock="host clock around the model's forward of one video, device synchronised after it",
        source=f"{source}; {DETECTRON2_SOURCE}",
        published=published,
        notes=(
            "the evaluator logs seconds per video; their conversion to frames per second is not "
            "stated" + (f"; {notes}" if notes else "")
        ),
    )


def not_stated(source: str, published: str = "", notes: str = "") -> TimingProtocol:
    """The declaration of a method whose authors published no timing code (nothing to run)."""
    return TimingProtocol(
        name="not stated",
        region=None,
        precision=None,
        frames_per_call=NOT_STATED,
        clock=NOT_STATED,
        source=source,
        published=published,
        notes=notes,
    )

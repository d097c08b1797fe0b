"""The timing protocols a sweep measures (`measure.protocols`), and what each actually applied.

- `end_to_end` is the reference: every frame from the first clip to its RLE, as a user of the
  harness gets it, timed as one pass in interleaved rounds (inference/runner.py, sweep/rounds.py);
- `model` is the model stage of that same pass: every call into the method, timed inside it, so
  it never exceeds the whole;
- `single_clip` is the method's `infer_clip` alone on one clip, the median of repeats, a separate
  measurement that is never set against end to end as if it were the same pass;
- `authors` is the protocol the method's spec declares its authors used
  (`MethodSpec.timing_protocol`, api/timing.py), run by protocol_run.py.

A record keeps, per protocol, the FPS it gave, the declaration as data (what is inside the timer,
precision, compile, frames per call, warm-up, mean, source) and what this machine applied of it.
Nothing is silently swapped: where the machine cannot run what a protocol declares (fp16 autocast
on a CPU), the record says what ran instead and why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vis_bench.api.timing import END_TO_END_TIMED, PROTOCOL_NAMES, CompileSetting, TimingProtocol

#: the protocols `measure.protocols` may list
PROTOCOLS = PROTOCOL_NAMES
END_TO_END, MODEL, AUTHORS, SINGLE_CLIP = PROTOCOLS
RUNNER = "vis_bench/inference/runner.py"
ROUNDS = "vis_bench/sweep/rounds.py"
#: how the end-to-end and model figures are read
PASS_CLOCK = (
    "host clock around the whole pass (waits for decoded frames included), device synchronised "
    "at both ends; each stage timed inside the pass"
)


def end_to_end_protocol(warmup: int, compile_setting: CompileSetting | None) -> TimingProtocol:
    """The harness's own FPS: the frames of a timed round / the wall time of its one pass."""
    return TimingProtocol(
        name="vis-bench end to end",
        region="end_to_end",
        timed=END_TO_END_TIMED,
        precision=None,
        compile=compile_setting,
        frames_per_call="the cell's clip",
        warmup=1 if warmup > 0 else 0,
        warmup_unit="clips",
        mean="median_of_rounds",
        clock=PASS_CLOCK,
        source=f"{RUNNER} run_method, {ROUNDS}",
        notes="the reference every other protocol is set beside; rounds of all cells are "
        "interleaved, and the machine's reference speed is read before and after each round",
    )


def model_protocol(warmup: int, compile_setting: CompileSetting | None) -> TimingProtocol:
    """The model stage of the end-to-end pass: every call into the method, timed inside it
    (the same pass, so everything but what is timed and where is end to end's)."""
    return dataclasses.replace(
        end_to_end_protocol(warmup, compile_setting),
        name="vis-bench model stage",
        region="model_stage",
        timed=("pad", "backbone", "heads", "post_processing"),
        source=f"{RUNNER} predict_clip (the same pass as end to end)",
        notes="the frames of the round / the seconds spent inside the method's calls; at most "
        "the end-to-end time by construction",
    )


def single_clip_protocol(
    warmup: int, repeats: int, compile_setting: CompileSetting | None
) -> TimingProtocol:
    """The method's `infer_clip` alone on the first clip of the first video."""
    return TimingProtocol(
        name="vis-bench single clip",
        region="clip_forward",
        timed=("pad", "backbone", "heads", "post_processing"),
        precision=None,
        compile=compile_setting,
        frames_per_call="the first clip of the first video",
        warmup=warmup,
        warmup_unit="clips",
        mean="median_of_repeats",
        clock="host clock, device synchronised after each call",
        source="vis_bench/inference/untimed_calls.py time_single_clip",
        notes=f"{repeats} repeats after the accuracy pass, in its worker; a separate "
        "measurement, not part of the end-to-end pass",
    )


@dataclass
class Applied:
    """What this machine ran of a protocol's declaration, and why it differs where it does."""

    precision: str
    matmul_precision: str | None = None
    compile: CompileSetting | None = None
    warmup: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "matmul_precision": self.matmul_precision,
            "compile": self.compile.as_dict() if self.compile is not None else None,
            "warmup": self.warmup,
            "notes": list(self.notes),
        }


def applied_settings(
    protocol: TimingProtocol, device: str, cell_dtype: str, videos: int
) -> Applied:
    """The declaration as this device runs it: fp16 autocast and a matmul precision are GPU
    settings (the CPU runs fp32 and says so), and the warm-up leaves at least one video timed."""
    declared = protocol.precision or cell_dtype
    on_gpu = device.startswith("cuda")
    applied = Applied(precision=declared, compile=protocol.compile)
    if declared == "fp16" and not on_gpu and protocol.precision is not None:
        applied.precision = "fp32"
        applied.notes.append(
            "fp32: the protocol's fp16 autocast runs on a GPU; fp16 on this CPU would time "
            "kernels the authors never ran (bf16 would be another precision again)"
        )
    if protocol.matmul_precision is not None:
        if on_gpu:
            applied.matmul_precision = protocol.matmul_precision
        else:
            applied.notes.append(
                f"float32 matmul precision {protocol.matmul_precision!r} not set: on a CPU it "
                "can move fp32 products to bf16, which the authors' GPU run did not do"
            )
    applied.warmup = min(protocol.warmup, max(0, videos - 1))
    if applied.warmup < protocol.warmup:
        applied.notes.append(
            f"warm-up {applied.warmup} of the declared {protocol.warmup} {protocol.warmup_unit}: "
            f"the dataset has {videos}, and at least one must be timed"
        )
    return applied


def protocol_result(
    protocol: TimingProtocol,
    fps: float | None,
    applied: Applied | None = None,
    reason: str | None = None,
    **numbers: Any,
) -> dict[str, Any]:
    """One protocol's entry of a record: its FPS, the declaration, what ran, why not measured."""
    entry: dict[str, Any] = {"fps": fps, **numbers, "protocol": protocol.as_dict()}
    if applied is not None:
        entry["applied"] = applied.as_dict()
    if reason is not None:
        entry["not_measured"] = reason
    return entry

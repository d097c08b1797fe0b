"""How fast the harness alone runs, and whether its stages overlap a model that waits on a GPU.

    python benchmarks/bench_harness_ceiling.py [--videos 6] [--frames 36 | 24-30] [--rounds 3]
        [--workers 2] [--json benchmarks/results/harness_ceiling.json]

No GPU is needed. Frames are synthetic 720x1280 JPEGs (written once under `$VIS_BENCH_CACHE`
or /tmp/vis_bench_cache), read with the datasets' own decoder (`vis_bench.data.frames`), and
every pass goes through the real runner (`run_method`: decoding, SeqFormer's preprocessing
rule to 360 px, stitching, final masks resized to 720x1280 and RLE-encoded, all timed).

* null: a method that returns canned `ClipResult`s of a real method's shapes (10 or 100
  tracks, mask probabilities at a quarter of the 360x640 input, i.e. 90x160) and computes
  nothing: the frames per second the harness alone sustains.
* sleep: the same results after waiting, without using the CPU (as a process waits for a GPU),
  as long per frame as SeqFormer R50 (T=all) and IFC R50 (T=5 S=1) took on one H100 in the
  committed `results/gpu_table` records: a pass whose stages overlap takes about the larger of
  the model's seconds and the host's CPU seconds spread over its cores, not their sum.
* balanced: the same, waiting as long per frame as the null method's pass (10 tracks, T=all, the
  pass as it is now) took in the same round: a model exactly as fast as the harness, where
  stages that add up would take twice the time of either.

Each workload runs as the pass was before the input workers (`input_workers` 0: one thread
decodes ahead, the main thread resizes, normalises, stitches and encodes; freed memory unmapped
by glibc as it is by default), with `--workers` input workers alone (frames decoded and resized
ahead in parallel, freed memory still unmapped), with freed memory kept in the process as well
(vis_bench/api/host_memory.py), linking on the main thread, and as the pass runs now with a model
on an accelerator (each window linked on its own thread while the next one's model runs:
vis_bench/inference/linking_thread.py); within a round every variant runs once, in turn, so all
see the same load; the report gives per-round values and medians.
CPU seconds are the process's (every thread) and the main thread's over the timed pass; the
machine's load average is read before and after each pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from methods.families.seqformer.base_plugin import PREPROCESSING
from vis_bench.api import ClipResult, MethodPlugin, MethodSpec
from vis_bench.api.host_memory import reuse_freed_memory
from vis_bench.data.frames import read_frame
from vis_bench.inference.runner import run_method
from vis_bench.measure.load import read_load
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

HEIGHT, WIDTH = 720, 1280
#: SeqFormer's rule (antialiased resize of the shorter side to 360 px): the model input 360x640
SHORTER_SIDE = 360
MASK_SIZE = (SHORTER_SIDE // 4, SHORTER_SIDE * WIDTH // HEIGHT // 4)
GPU_RECORDS = Path(__file__).resolve().parents[1] / "results" / "gpu_table"
#: (method's gpu_table folder, T, S): the cells whose model seconds the sleeping method waits
SLEEP_CELLS = {"seqformer": ("seqformer", "all", None), "ifc": ("ifc", 5, 1)}
#: the balanced workload sleeps as long per frame as this workload's pass now took in its round
BALANCED, BALANCED_FROM = "null pass", "null, 10 tracks, T=all"


@dataclass
class _Video:
    id: int
    height: int
    width: int
    length: int


class JpegFrames:
    """Synthetic 720x1280 JPEG videos on disk, read as a dataset reads its frames."""

    def __init__(self, root: Path, videos: int, frames: tuple[int, int]) -> None:
        self.root = root
        lengths = video_lengths(videos, *frames)
        self._videos = [_Video(v + 1, HEIGHT, WIDTH, n) for v, n in enumerate(lengths)]
        for video in self._videos:
            for t in range(video.length):
                path = self.path(video, t)
                if not path.exists():
                    _write_frame(path, video.id, t)

    def path(self, video: _Video, t: int) -> Path:
        return self.root / f"{video.id:03d}" / f"{t:05d}.jpg"

    def videos(self) -> list[_Video]:
        return list(self._videos)

    def read_frames(self, video: _Video, indices: list[int]) -> np.ndarray:
        frames = [read_frame(self.path(video, t), HEIGHT, WIDTH) for t in indices]
        return np.stack(frames) if frames else np.zeros((0, HEIGHT, WIDTH, 3), np.uint8)


def video_lengths(videos: int, shortest: int, longest: int) -> list[int]:
    """Lengths spread evenly from `shortest` to `longest` (all equal when they are)."""
    return [int(n) for n in np.linspace(shortest, longest, videos).round()]


def frame_range(text: str) -> tuple[int, int]:
    """`--frames`: `36` (every video), or `24-30` (lengths spread over the videos)."""
    shortest, _, longest = text.partition("-")
    low, high = int(shortest), int(longest or shortest)
    if not 0 < low <= high:
        raise argparse.ArgumentTypeError(f"--frames {text}: give N or A-B with 0 < A <= B")
    return low, high


def _write_frame(path: Path, video: int, t: int) -> None:
    """A frame with smooth gradients, moving discs and sensor-like noise (a JPEG of a size
    like a real 720p frame's), written atomically."""
    rng = np.random.default_rng(video * 1000 + t)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    image = np.stack([x / WIDTH * 200, y / HEIGHT * 200, (x + y) / (WIDTH + HEIGHT) * 255], -1)
    for k in range(6):
        cy, cx = (150 + 80 * k + 7 * t) % HEIGHT, (200 + 170 * k + 11 * t) % WIDTH
        disc = (y - cy) ** 2 + (x - cx) ** 2 < (40 + 12 * k) ** 2
        image[disc] = (40 * k % 255, 255 - 30 * k, 90 + 20 * k)
    image += rng.normal(0, 6, image.shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".jpg", delete=False) as tmp:
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=90)
    os.replace(tmp.name, path)


@dataclass
class _Options:
    tracks: int = 10
    #: seconds waited per video frame the call adds (0: the null method)
    seconds_per_frame: float = 0.0
    #: new frames per call (the schedule's stride; T for one clip per video)
    new_frames: int | None = None


class CannedMethod(MethodPlugin):
    """Canned results of a real method's shapes; optionally a wait per frame, off the CPU."""

    spec = MethodSpec(
        name="harness-ceiling",
        summary="canned results (benchmarks/bench_harness_ceiling.py)",
        options=_Options,
        preprocessing=PREPROCESSING,
    )

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.model = torch.nn.Identity()
        self._canned: dict[int, ClipResult] = {}

    @classmethod
    def create(cls, options: _Options) -> CannedMethod:
        return cls(options)

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        length = int(frames.shape[0])
        if self.options.seconds_per_frame:
            new = self.options.new_frames or length
            time.sleep(self.options.seconds_per_frame * min(new, length))
        if length not in self._canned:
            self._canned[length] = _canned(self.options.tracks, length)
        return self._canned[length]


def _canned(tracks: int, length: int) -> ClipResult:
    """Soft elliptical masks that drift over the clip, one class each, scores above 0.5."""
    rng = np.random.default_rng(tracks * 100 + length)
    h, w = MASK_SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    masks = np.zeros((tracks, length, h, w), np.float32)
    for n in range(tracks):
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.05, 0.2) * h, rng.uniform(0.05, 0.2) * w
        for t in range(length):
            d = ((y - cy - 0.3 * t) / ry) ** 2 + ((x - cx + 0.5 * t) / rx) ** 2
            masks[n, t] = 1 / (1 + np.exp(np.minimum(4 * (d - 1), 50)))
    return ClipResult(
        scores=torch.from_numpy(rng.uniform(0.5, 1.0, tracks).astype(np.float32)),
        labels=torch.from_numpy(rng.integers(1, 41, tracks)),
        masks=torch.from_numpy(masks),
    )


def gpu_seconds_per_frame(method: str) -> float:
    """The model stage's seconds per video frame of a committed GPU-table cell."""
    folder, clip_length, stride = SLEEP_CELLS[method]
    for line in (GPU_RECORDS / folder / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("clip_length") == clip_length and record.get("stride") == stride:
            return record["harness"]["model_s"] / record["num_frames"]
    raise SystemExit(f"no {folder} T={clip_length} S={stride} record in {GPU_RECORDS}")


@dataclass(frozen=True)
class Workload:
    name: str
    tracks: int
    clip_length: int | str
    stride: int | None
    sleep_method: str | None = None


WORKLOADS = (
    Workload("null, 10 tracks, T=all", 10, "all", None),
    Workload("null, 100 tracks, T=all", 100, "all", None),
    Workload("null, 10 tracks, T=5 S=3", 10, 5, 3),
    Workload("sleep at SeqFormer R50 H100, 10 tracks, T=all", 10, "all", None, "seqformer"),
    Workload("sleep at IFC R50 H100, 10 tracks, T=5 S=1", 10, 5, 1, "ifc"),
    Workload("sleep as long as the null pass, 10 tracks, T=all", 10, "all", None, BALANCED),
)


@dataclass(frozen=True)
class Variant:
    workers: int
    #: freed memory stays in the process (the pass's default now) or is unmapped (glibc's)
    keep_freed: bool
    #: each window linked on a thread of its own, as on a GPU (or on the main thread)
    linking_thread: bool = False


def _pass(
    source: JpegFrames, work: Workload, variant: Variant, null_per_frame: float | None = None
) -> dict[str, Any]:
    # chosen before the pass, so the runner's default (keep) gives way to it
    reuse_freed_memory(variant.keep_freed)
    if work.sleep_method == BALANCED:
        assert null_per_frame is not None, "the null pass runs first in its round"
        per_frame = null_per_frame
    else:
        per_frame = gpu_seconds_per_frame(work.sleep_method) if work.sleep_method else 0.0
    new = None if work.clip_length == "all" else work.stride
    plugin = CannedMethod(_Options(work.tracks, per_frame, new))
    load = read_load().load1
    main_cpu = time.thread_time()
    outcome = run_method(
        plugin,
        source,
        clip_length=work.clip_length,
        stride=work.stride,
        resolution=None,
        input_workers=variant.workers,
        linking_thread=variant.linking_thread,
    )
    main_cpu = time.thread_time() - main_cpu
    frames = outcome.num_frames
    # the model's seconds: the waits of the timed pass (the warm-up clip is untimed)
    model_s = per_frame * frames
    cores = len(os.sched_getaffinity(0))
    host = outcome.cpu_seconds / cores
    stages = outcome.stages()
    harness = outcome.harness.as_record(outcome.seconds_end_to_end, frames)
    return {
        "input_workers": outcome.harness.input_workers,
        "freed_memory_kept": outcome.harness.freed_memory_kept,
        "linking_thread": variant.linking_thread,
        "frames": frames,
        "seconds": outcome.seconds_end_to_end,
        "fps": outcome.fps_end_to_end,
        "cpu_s": outcome.cpu_seconds,
        "main_thread_cpu_s_whole_call": main_cpu,
        "cpu_ms_per_frame": 1000 * outcome.cpu_seconds / frames,
        "model_wait_s": model_s,
        "bound_s": max(model_s, host),
        "seconds_over_bound": outcome.seconds_end_to_end / max(model_s, host),
        "stages_ms_per_frame": {k: 1000 * v / frames for k, v in stages.items()},
        "worker_ms_per_frame": {
            "decode": 1000 * harness["decode_s"] / frames,
            "input_resize": 1000 * harness["input_resize_s"] / frames,
        },
        "load1_before": load,
        "load1_after": read_load().load1,
        "predictions": len(outcome.results),
    }


def single_core_decode_ms(source: JpegFrames, repeats: int = 20) -> float:
    """Median milliseconds of one 720p frame's decode on the calling thread."""
    video = source.videos()[0]
    times = []
    for t in range(repeats):
        start = time.perf_counter()
        source.read_frames(video, [t % video.length])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 6 x 36 = 216 frames: the size of the GPU table's video set (results/gpu_table), so that
    # the pass's start (the first window read before the model can run) and end (the last
    # video's model and encoding, with nothing left to read) weigh in it as they do there
    parser.add_argument("--videos", type=int, default=6)
    # `--videos 8 --frames 24-30`: shorter videos of several lengths, where a pass's start and end
    # weigh more and each video's own work (its linking, its results) comes more often
    parser.add_argument("--frames", type=frame_range, default=(36, 36), metavar="N or A-B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--only", nargs="*", help="workload names to run (default: all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    cache = Path(os.environ.get("VIS_BENCH_CACHE", "/tmp/vis_bench_cache"))
    source = JpegFrames(cache / "harness_ceiling", args.videos, args.frames)
    workloads = [w for w in WORKLOADS if not args.only or w.name in args.only]
    names = [w.name for w in workloads]
    if any(w.sleep_method == BALANCED for w in workloads) and BALANCED_FROM not in names:
        raise SystemExit(f"the balanced workload sleeps as long as {BALANCED_FROM!r}: run both")
    variants = {
        "serial (input_workers 0, freed memory unmapped)": Variant(0, False),
        f"input_workers {args.workers}, freed memory unmapped": Variant(args.workers, False),
        f"input_workers {args.workers}, freed memory kept": Variant(args.workers, True),
        f"input_workers {args.workers}, freed memory kept, linking thread": Variant(
            args.workers, True, True
        ),
    }
    now = list(variants)[-1]  # the pass as it runs now: the balanced workload's measure
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {w.name: {} for w in workloads}
    decode_ms = []
    for round_index in range(args.rounds):
        null_per_frame = None
        decode_ms.append(single_core_decode_ms(source))
        for work in workloads:
            for label, variant in variants.items():
                result = _pass(source, work, variant, null_per_frame)
                if work.name == BALANCED_FROM and label == now:
                    null_per_frame = result["seconds"] / result["frames"]
                runs[work.name].setdefault(label, []).append(result)
                print(
                    f"round {round_index + 1} {work.name:48s} {label:47s} "
                    f"{result['fps']:7.1f} FPS  {result['seconds_over_bound']:.2f}x bound  "
                    f"load {result['load1_before']:.2f}",
                    flush=True,
                )
    report = _report(runs, variants, decode_ms, args)
    print(json.dumps(report["summary"], indent=1))
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


def _frames_text(frames: tuple[int, int]) -> str:
    low, high = frames
    return str(low) if low == high else f"{low}-{high}"


def _report(runs, variants, decode_ms, args) -> dict[str, Any]:
    """Per-round passes, medians per variant, and the ratios the issue's targets name."""
    serial, workers_alone, main_thread_linking, pooled = list(variants)
    summary: dict[str, Any] = {"single_core_decode_ms": statistics.median(decode_ms)}
    for name, by_variant in runs.items():
        entry: dict[str, Any] = {}
        for label, passes in by_variant.items():
            entry[label] = {
                key: statistics.median(p[key] for p in passes)
                for key in ("fps", "seconds", "cpu_s", "bound_s", "seconds_over_bound")
            }
        for key, label in (("pooled", pooled), ("workers_alone", workers_alone)):
            ratios = [
                b["fps"] / a["fps"]
                for a, b in zip(by_variant[serial], by_variant[label], strict=True)
            ]
            entry[f"fps_ratio_{key}_over_serial_per_round"] = ratios
            entry[f"fps_ratio_{key}_over_serial_median"] = statistics.median(ratios)
        # the same round's pass with and without the linking thread, seconds over seconds
        ratios = [
            b["seconds"] / a["seconds"]
            for a, b in zip(by_variant[main_thread_linking], by_variant[pooled], strict=True)
        ]
        entry["seconds_ratio_linking_thread_over_main_thread_per_round"] = ratios
        entry["seconds_ratio_linking_thread_over_main_thread_median"] = statistics.median(ratios)
        entry["pooled_frames_per_single_core_decode"] = (
            entry[pooled]["fps"] * summary["single_core_decode_ms"] / 1000
        )
        summary[name] = entry
    return {
        "setup": {
            "frames": f"{args.videos} videos x {_frames_text(args.frames)} frames, "
            f"{HEIGHT}x{WIDTH} JPEG (q 90)",
            "model_input": f"{SHORTER_SIDE}x{SHORTER_SIDE * WIDTH // HEIGHT} (SeqFormer's rule)",
            "mask_size": list(MASK_SIZE),
            "threads": args.threads,
            "cores": len(os.sched_getaffinity(0)),
            "rounds": args.rounds,
            "sleep_seconds_per_frame": {m: gpu_seconds_per_frame(m) for m in SLEEP_CELLS},
            "serial": "input_workers 0, freed memory unmapped: the pass as it was before the "
            "input workers and the harness's allocator setting",
            "pooled": "the pass as it runs now with a model on an accelerator: input workers, "
            "freed memory kept, each window linked on its own thread",
            "main_thread_linking": "the same, linked on the main thread (the pass before the "
            "linking thread, and a CPU model's now)",
        },
        "summary": summary,
        "runs": runs,
    }


if __name__ == "__main__":
    main()

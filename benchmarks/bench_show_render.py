"""How long `show` takes to draw a 36-frame 720p video on CPU, and the HTML report of a run.

    python benchmarks/bench_show_render.py [--repeat 3] [--methods 3] [--run RUN_DIR]
        [--json benchmarks/results/show_render.json]

The video is a synthetic one (`generate_dataset`: 36 frames of 720x1280, 3-4 objects, seeded);
its "methods" are its ground truth with the mistakes of real ones (each one drops a track, shifts
the masks a little and adds a false positive), so every mark and caption is drawn. Timed, each a
median of `--repeat` rounds: reading the split and the results, the scene (matching and
diagnosis), drawing the 36 animation frames (GT and one column per method side by side),
encoding them as GIF and as MP4, and the 6-frame contact sheet with its PNG; at the default panel
size (480 px, `show`'s) and at the video's own size (`--panel-size 0`, 1280x720 panels).
`--run RUN_DIR` also times the HTML report of that run (what `run` adds to a run) and gives its
size. Frame decoding is included in drawing (JPEG frames read as `show` reads them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from vis_bench.data.synthetic import generate_dataset
from vis_bench.formats import rle
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.report.overlays.inputs import from_files
from vis_bench.report.overlays.media import gif_bytes, png_bytes, write_mp4
from vis_bench.report.overlays.scene import video_scene
from vis_bench.report.overlays.sheets import SceneRenderer, evenly_spaced

FRAMES, HEIGHT, WIDTH = 36, 720, 1280


def make_case(folder: Path, methods: int) -> tuple[Path, Path, list[Path]]:
    """A 36-frame 720p split and `methods` results files made from its ground truth."""
    root = generate_dataset(
        folder / "data",
        videos=1,
        seed=11,
        min_frames=FRAMES,
        max_frames=FRAMES,
        sizes=[f"{HEIGHT}x{WIDTH}"],
        min_objects=3,
        max_objects=4,
    )
    gt = json.loads((root / "annotations.json").read_text())
    paths = []
    for m in range(methods):
        results = []
        for i, track in enumerate(gt["annotations"]):
            if i == m % len(gt["annotations"]):
                continue  # a missed track
            frames = []
            for segmentation in track["segmentations"]:
                if not segmentation:
                    frames.append(None)
                    continue
                mask = np.roll(rle.decode(segmentation), 4 * (m + 1), axis=1)
                frames.append(rle.to_json(rle.encode(mask)))
            results.append(
                {
                    "video_id": track["video_id"],
                    "category_id": track["category_id"],
                    "score": 0.9 - 0.1 * i,
                    "segmentations": frames,
                }
            )
        box = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        box[40:200, 60 + 100 * m : 300 + 100 * m] = 1
        results.append(
            {
                "video_id": 1,
                "category_id": 1,
                "score": 0.6,
                "segmentations": [rle.to_json(rle.encode(box))] * FRAMES,
            }
        )
        paths.append(folder / f"method{m}.json")
        paths[-1].write_text(json.dumps(results))
    return root / "annotations.json", root / "JPEGImages", paths


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def one_round(gt: Path, frames: Path, results: list[Path], panel_size: int | None, mp4: Path):
    """Seconds of each phase of one `show` at `panel_size`."""
    seconds = {}
    seconds["read inputs"], sources = _timed(lambda: from_files(gt, results, frames))
    video, info = sources.video("1")
    seconds["scene"], scene = _timed(lambda: video_scene(sources.gt, sources.methods, info))
    renderer = SceneRenderer(scene, sources.frame_reader(video), panel_size)
    seconds["draw animation"], rows = _timed(renderer.animation)
    seconds["encode GIF"], _ = _timed(lambda: gif_bytes(rows))
    seconds["encode MP4"], _ = _timed(lambda: write_mp4(mp4, rows))
    seconds["contact sheet"], _ = _timed(
        lambda: png_bytes(renderer.sheet(evenly_spaced(info.length, 6)))
    )
    shape = rows[0].shape
    return seconds, {
        "columns": len(renderer.columns),
        "row_height": shape[0],
        "row_width": shape[1],
    }


def measure(gt, frames, results, panel_size, repeat, folder) -> dict:
    rounds, shape = [], {}
    for _ in range(repeat):
        seconds, shape = one_round(gt, frames, results, panel_size, folder / "v.mp4")
        rounds.append(seconds)
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    total = sum(median.values())
    return {
        "panel_size": panel_size or "video",
        **shape,
        "median_seconds": median,
        "total_seconds": total,
        "draw_seconds_per_frame": median["draw animation"] / FRAMES,
        "rounds": rounds,
    }


def time_report(run_dir: Path, repeat: int) -> dict:
    from vis_bench.report.html_report import write_html_report
    from vis_bench.report.record_set import RecordSet

    record_set = RecordSet.read([run_dir])
    records = record_set.records
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            elapsed, path = _timed(lambda: write_html_report(record_set, out=Path(tmp) / "r.html"))
            seconds.append(elapsed)
            size = Path(path).stat().st_size
    return {
        "run_dir": str(run_dir),
        "median_seconds": statistics.median(seconds),
        "bytes": size,
        "cells": len(records),
        "videos": max((r.num_videos or 0 for r in records), default=0),
        # each cell's start to end, as the README's default-run block adds them up
        "cells_seconds": sum(
            (datetime.fromisoformat(r.finished) - datetime.fromisoformat(r.started)).total_seconds()
            for r in records
            if r.started and r.finished
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", type=int, default=3)
    parser.add_argument("--run", type=Path, default=None, help="also time this run's report")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    provenance = start_provenance()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gt, frames, results = make_case(folder, args.methods)
        sizes = [measure(gt, frames, results, s, args.repeat, folder) for s in (480, None)]
    for size in sizes:
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in size["median_seconds"].items())
        print(f"panels {size['panel_size']}: {size['total_seconds']:.2f} s ({phases})")
    report = {
        "video": {"frames": FRAMES, "height": HEIGHT, "width": WIDTH},
        "methods": args.methods,
        "repeat": args.repeat,
        "sizes": sizes,
    }
    if args.run is not None:
        report["run_report"] = time_report(args.run, args.repeat)
        print(f"report of {args.run}: {report['run_report']['median_seconds']:.2f} s")
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""The default run's cells with the input workers and without, in paired rounds.

    python benchmarks/bench_input_workers_default.py [--rounds 3] [--videos 4]
        [--json benchmarks/results/input_workers_default.json]

The question: is the default run (configs/default.yaml, the README's run on a CPU) slower with
the input stage as it is now (`measure.input_workers: auto`, on a CPU one worker thread per core
the model's threads leave free, at least 1) than with the serial path it replaced (`0`: one
thread decodes ahead, the main thread resizes)? Every cell of the default config is built once
(its method, checkpoint, options, schedule and resolution, as the sweep builds it); then, in each
round, every cell runs its pass over the first `--videos` videos of the default run's dataset
through the real runner (`run_method`, the settings of a timed round) once with each setting,
which goes first alternating from cell to cell and round to round, so both meet the same load.
Reported per cell: each setting's median FPS over the rounds and the median of the per-round
ratios (auto / serial, above 1: the workers faster), with whether both settings' predictions
were identical; and, over all cells, the median ratio and the summed seconds of each setting.
The machine's load average is read before and after each pass.
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the sweep's workers (measure.omp_wait_policy)

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from vis_bench.config import load_config  # noqa: E402
from vis_bench.inference.runner import run_method  # noqa: E402
from vis_bench.inference.sources import open_source  # noqa: E402
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance  # noqa: E402
from vis_bench.sweep import resolve_methods  # noqa: E402
from vis_bench.sweep.cells import expand_cells  # noqa: E402
from vis_bench.sweep.timed_round import WARMUP_FRAMES  # noqa: E402
from vis_bench.sweep.worker import build_plugin, cell_schedule  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SETTINGS = (0, "auto")


def _pass(plugin: Any, source: Any, cell: Any, measure: Any, setting: int | str) -> dict:
    load_before = os.getloadavg()[0]
    # the sweep's own arguments for the cell (a timed round's), with the setting compared
    job = SimpleNamespace(cell=cell, device=cell.device, measure=measure)
    schedule = cell_schedule(job, warmup_frames=WARMUP_FRAMES)
    schedule["input_workers"] = setting
    outcome = run_method(plugin, source, **schedule)
    return {
        "frames": outcome.num_frames,
        "seconds": outcome.seconds_end_to_end,
        "fps": outcome.num_frames / outcome.seconds_end_to_end,
        "input_workers": outcome.harness.input_workers,
        "load1_before": load_before,
        "load1_after": os.getloadavg()[0],
        "results": outcome.results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--videos", type=int, default=4, help="the first N of the default run's")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    provenance = start_provenance()
    overrides = [f"dataset.max_videos={args.videos}"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    measure = config.measure
    if measure.threads:
        torch.set_num_threads(measure.threads)
    source = open_source(config.dataset, config.source)
    cells = expand_cells(config, resolve_methods(config))
    plugins = [build_plugin(cell.method)[0] for cell in cells]
    runs: dict[str, dict[str, list[dict]]] = {}
    identical: dict[str, bool] = {}
    for round_index in range(args.rounds):
        for number, (cell, plugin) in enumerate(zip(cells, plugins, strict=True)):
            label = f"{cell.method.name} T={cell.clip_length}"
            order = SETTINGS if (round_index + number) % 2 == 0 else SETTINGS[::-1]
            passes = {setting: _pass(plugin, source, cell, measure, setting) for setting in order}
            same = passes[0]["results"] == passes["auto"]["results"]
            identical[label] = identical.get(label, True) and same
            for setting, result in passes.items():
                result.pop("results")
                runs.setdefault(label, {}).setdefault(str(setting), []).append(result)
            print(f"round {round_index + 1} {label}: serial {passes[0]['fps']:.1f} FPS, "
                  f"workers {passes['auto']['fps']:.1f} FPS", file=sys.stderr)  # fmt: skip
    summary: dict[str, Any] = {}
    ratios_all = []
    for label, by_setting in runs.items():
        ratios = [
            w["fps"] / s["fps"] for s, w in zip(by_setting["0"], by_setting["auto"], strict=True)
        ]
        ratios_all.append(statistics.median(ratios))
        summary[label] = {
            "serial_fps_median": statistics.median(r["fps"] for r in by_setting["0"]),
            "workers_fps_median": statistics.median(r["fps"] for r in by_setting["auto"]),
            "input_workers_auto": by_setting["auto"][0]["input_workers"],
            "ratio_workers_over_serial_per_round": ratios,
            "ratio_workers_over_serial_median": statistics.median(ratios),
            "predictions_identical": identical[label],
        }
    seconds = {
        setting: sum(r["seconds"] for cell in runs.values() for r in cell[setting])
        for setting in ("0", "auto")
    }
    payload = {
        "what": "the default run's cells, input_workers 0 (serial) against auto, paired rounds",
        "setup": {
            "config": "configs/default.yaml",
            "videos": args.videos,
            "rounds": args.rounds,
            "threads": torch.get_num_threads(),
            "cores": len(os.sched_getaffinity(0)),
            "warmup_frames": WARMUP_FRAMES,
        },
        "overall": {
            "cells": len(runs),
            "median_of_cell_ratios": statistics.median(ratios_all),
            "lowest_cell_ratio": min(ratios_all),
            "seconds_serial": seconds["0"],
            "seconds_workers": seconds["auto"],
            "every_prediction_identical": all(identical.values()),
        },
        "cells": summary,
        "runs": runs,
    }
    for label, cell in summary.items():
        print(f"{label:28s} workers/serial {cell['ratio_workers_over_serial_median']:.3f} "
              f"identical {cell['predictions_identical']}")  # fmt: skip
    print(f"overall: median ratio {payload['overall']['median_of_cell_ratios']:.3f}, "
          f"seconds serial {seconds['0']:.1f} workers {seconds['auto']:.1f}")  # fmt: skip
    if args.json is not None:
        write_json_with_provenance(args.json, payload, provenance)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""Where each side of a side-by-side row spends its timed pass: a `perf` profile of the authors'
process and vis-bench's on the same weights and the same video.

    python benchmarks/profile_side_by_side.py --authors-python /path/to/their/venv/bin/python \
        --detectron2 SRC/detectron2 --videomt SRC/videomt [--path SHIMS] \
        [--method videomt-fused] [--json benchmarks/results/side_by_side_profile.json]

CPU seconds (benchmarks/bench_authors_side_by_side.py) say how much each side spends, not on
what. Here each side's process runs once as that benchmark starts it (the authors' with
vis-bench's allocator setting, like for like), under `perf record -e cpu-clock`: a software
clock that samples a thread only while it runs, so a sample is a slice of CPU time wherever the
machine's load puts the process, and the two profiles compare on a loaded machine where wall
times do not. Sampling is switched on and off by the process itself around its timed pass
(`perf_control` in the benchmark: a `--control` fifo), so warm-up and model building are left
out. Reported per side: the pass's CPU seconds, system seconds and minor page faults, the samples
per shared object (the kernel, libtorch, oneDNN's generated code, pycocotools...) and the
costliest symbols, and across the sides the symbols whose samples differ most: what one process
runs that the other does not. oneDNN's generated kernels are one entry ("[JIT]"): their
addresses differ from process to process.

Each run is written under its vis-bench commit (`--merge` keeps the runs already in `--json`),
so a profile before a change and one after it sit side by side in one file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_authors_side_by_side as side_by_side  # noqa: E402

#: samples per CPU second of each thread (perf's -F)
FREQUENCY = 499
#: symbols listed per side, and differences listed across the sides
TOP_SYMBOLS = 25
TOP_DIFFERENCES = 15
#: the two processes profiled: the authors' with vis-bench's allocator setting, and vis-bench's
SIDES = {"authors_same_allocator": "authors", "vis_bench": "project"}


def perf_report(data: Path) -> Counter[tuple[str, str]]:
    """Samples per (shared object, symbol) of a `perf record` file; oneDNN's generated code is
    one entry."""
    done = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,sym", "-g", "none",
         "--stdio", "-F", "sample,dso,sym", "--field-separator", "\t"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    samples: Counter[tuple[str, str]] = Counter()
    for line in done.stdout.splitlines():
        fields = [f.strip() for f in line.split("\t")]
        if line.startswith("#") or len(fields) < 3 or not fields[0].isdigit():
            continue
        dso, symbol = fields[1], fields[2]
        if dso.startswith("[JIT]"):
            dso, symbol = "[JIT]", "oneDNN generated kernels"
        samples[(dso, symbol.removeprefix("[.] ").removeprefix("[k] "))] += int(fields[0])
    return samples


def seconds(samples: int) -> float:
    return round(samples / FREQUENCY, 3)


def side_profile(timed: dict[str, Any], samples: Counter[tuple[str, str]]) -> dict[str, Any]:
    """One side's pass: its own rusage figures, and its samples by object and by symbol."""
    by_object: Counter[str] = Counter()
    for (dso, _), count in samples.items():
        by_object[dso] += count
    return {
        "timed_pass": {k: round(v, 3) for k, v in timed.items()},
        "samples": sum(samples.values()),
        "sampled_cpu_s": seconds(sum(samples.values())),
        "by_object_s": {dso: seconds(n) for dso, n in by_object.most_common(10)},
        "costliest_s": {
            f"{dso}: {symbol}": seconds(n) for (dso, symbol), n in samples.most_common(TOP_SYMBOLS)
        },
    }


def differences(
    authors: Counter[tuple[str, str]], project: Counter[tuple[str, str]]
) -> dict[str, dict[str, float]]:
    """The symbols whose sampled seconds differ most between the sides (vis-bench's minus the
    authors'; above 0: vis-bench spends more there)."""
    keys = sorted(set(authors) | set(project), key=lambda k: -abs(project[k] - authors[k]))
    return {
        f"{dso}: {symbol}": {
            "authors_same_allocator_s": seconds(authors[(dso, symbol)]),
            "vis_bench_s": seconds(project[(dso, symbol)]),
            "difference_s": seconds(project[(dso, symbol)] - authors[(dso, symbol)]),
        }
        for dso, symbol in keys[:TOP_DIFFERENCES]
    }


def profiled_run(
    command: list[str], env: dict[str, str], work: Path, name: str
) -> tuple[dict[str, Any], Counter[tuple[str, str]]]:
    """One side's process under `perf record`, sampling its timed pass only."""
    fifo, data = work / f"{name}.control", work / f"{name}.perf"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(FREQUENCY), "-D", "-1",
            "--control", f"fifo:{fifo}", "-o", str(data), "--"]  # fmt: skip
    timed = side_by_side.run_side(
        [*perf, *command], {**env, side_by_side.PERF_CONTROL_ENV: str(fifo)}, f"{name} under perf"
    )
    return timed, perf_report(data)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors-python", help="an interpreter that imports the authors' code")
    parser.add_argument("--detectron2", default="", help="detectron2's source tree")
    parser.add_argument("--dvis-plus", default="", help="DVIS_Plus/DVIS_Plus (its code root)")
    parser.add_argument("--dvis-daq", default="", help="DVIS_Plus/DVIS_DAQ (its code root)")
    parser.add_argument("--videomt", default="", help="the videomt repository")
    parser.add_argument("--path", action="append", default=[], help="more on their import path")
    parser.add_argument("--method", choices=sorted(side_by_side.METHODS), default="videomt-fused")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--omp-wait-policy", default="passive")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--json", default="benchmarks/results/side_by_side_profile.json")
    parser.add_argument("--merge", action="store_true", help="keep the --json file's runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.methods, args.rounds = [args.method], side_by_side.MIN_ROUNDS
    # the sources' checks (the merge is this script's own: its file holds runs, not rows)
    side_by_side.check_sources(argparse.Namespace(**{**vars(args), "merge": False}))
    from vis_bench.measure.provenance import (
        finish_provenance,
        start_provenance,
        write_json_with_provenance,
    )

    provenance = start_provenance()
    envs = side_by_side.side_envs(args, args.method)
    with tempfile.TemporaryDirectory(prefix="side_profile_") as folder:
        work = args.work = Path(folder)
        rng = np.random.default_rng(0)
        shape = (args.frames, args.height, args.width, 3)
        np.save(work / "video.npy", rng.integers(0, 256, size=shape, dtype=np.uint8))
        authors = side_by_side.side_command(args, args.authors_python, "authors", args.method)
        side_by_side.run_side([*authors, "--make-weights"], envs["authors"], "the weights")
        runs = {}
        for name, side in SIDES.items():
            python = args.authors_python if side == "authors" else sys.executable
            command = side_by_side.side_command(args, python, side, args.method)
            runs[name] = profiled_run(command, envs[name], work, name)
    done = finish_provenance(provenance)
    run = {
        "method": args.method,
        "authors_env": {**side_by_side.METHODS[args.method].get("authors_env", {}),
                        **side_by_side.SAME_ALLOCATOR_ENV},
        "perf_frequency_hz": FREQUENCY,
        **{name: side_profile(*runs[name]) for name in SIDES},
        "vis_bench_minus_authors": differences(
            runs["authors_same_allocator"][1], runs["vis_bench"][1]
        ),
        "provenance": done,
    }  # fmt: skip
    previous = {}
    if args.merge and Path(args.json).exists():
        previous = json.loads(Path(args.json).read_text()).get("runs", {})
    key = f"{args.method} at {str(done.get('commit'))[:7]}"
    payload = {
        "what": "perf profiles of the authors' process and vis-bench's timed pass, same video",
        "video": {"frames": args.frames, "height": args.height, "width": args.width, "seed": 0},
        "threads": args.threads,
        "runs": {**previous, key: run},
    }
    write_json_with_provenance(args.json, payload, provenance)
    print(json.dumps(run["vis_bench_minus_authors"], indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

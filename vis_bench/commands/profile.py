"""`run_bench.py profile --method NAME`: operator-level profile of one method on random clips."""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

NAME = "profile"
HELP = "profile one method's infer_clip with torch.profiler: top operators, FLOP/s, Chrome trace"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, help="registered method name")
    parser.add_argument("--clip", type=int, default=5, help="frames per clip (default 5)")
    parser.add_argument(
        "--size", type=int, default=360, help="shorter side of the frames, in pixels (default 360)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--repeats", type=int, default=3, help="profiled clips (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="unprofiled clips first (default 1)")
    parser.add_argument("--top", type=int, default=15, help="operators listed (default 15)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--out-dir", type=Path, default=Path("results/profiles"), help="where trace and summary go"
    )


def _check(args: argparse.Namespace) -> None:
    import torch

    from vis_bench.errors import InputError

    for name in ("clip", "size", "repeats", "top"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        raise InputError(f"--warmup must be >= 0, got {args.warmup}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {args.device}: CUDA is not available here")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", args.device):
        raise InputError(f"--device must be cpu or cuda[:N], got {args.device!r}")


def run(args: argparse.Namespace) -> int:
    import torch

    from vis_bench.api.registration import get_method
    from vis_bench.atomic import check_output_folder, write_atomic
    from vis_bench.measure.profiler import export_trace_atomic, profile_method, summary_markdown

    check_output_folder(args.out_dir, "--out-dir")
    _check(args)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        plugin = get_method(args.method).build({})
        plugin.to(args.device)
        result = profile_method(
            plugin,
            method=args.method,
            clip=args.clip,
            shorter_side=args.size,
            device=args.device,
            repeats=args.repeats,
            warmup=args.warmup,
        )
    finally:
        torch.set_num_threads(threads)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    device_tag = args.device.replace(":", "")
    stem = f"{args.method.lower()}-{device_tag}-T{args.clip}-S{args.size}-{stamp}"
    trace_path = export_trace_atomic(result, args.out_dir / f"{stem}.trace.json")
    markdown = summary_markdown(result, args.top, trace_name=trace_path.name)
    summary_path = args.out_dir / f"{stem}.md"
    write_atomic(summary_path, markdown)
    print(markdown, end="")
    print(f"wrote {summary_path} and {trace_path}")
    return 0

"""`run_bench.py profile --method NAME [--config FILE] [--checkpoint FILE]`: operator-level
profile of one method on random clips.

The model profiled is the one the other model commands run: with `--config`, the config's entry
for the method (its options and checkpoint, as `run` and `predict` build it); `--checkpoint`
loads that file (into the config's entry, or the method's default options). With neither, the
method's default options with seeded random weights (said on the first line): an operator
profile depends on the architecture, not on the weights, except where a model's work depends on
its outputs (a method that keeps only the confident queries).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

HELP = "profile one method's infer_clip with torch.profiler: top operators, FLOP/s, Chrome trace"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, help="registered method name")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a sweep config whose entry for the method gives its options and checkpoint (e.g. "
        "configs/default.yaml: the tiny models)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="weights to load (default: the --config entry's; neither: random weights)",
    )
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


def _entry(args: argparse.Namespace) -> Any:
    """The method's checked entry: the --config's (an error when it has none), the checkpoint
    of --checkpoint; an error in a field the command line gave names the flag."""
    import dataclasses

    from vis_bench.api.registration import get_method
    from vis_bench.api.tables import UnknownMethodError
    from vis_bench.config import MethodConfig, parse_config
    from vis_bench.config_overrides import Origin, read_yaml_config, rebased
    from vis_bench.errors import InputError
    from vis_bench.sweep.methods import resolve_method

    try:
        name = get_method(args.method).name
    except UnknownMethodError as err:
        raise InputError(str(err), field="--method") from None
    entry, index, source = MethodConfig(name=name), 0, "--checkpoint"
    if args.config is not None:
        config = parse_config(read_yaml_config(args.config, []), str(args.config))
        found = [i for i, m in enumerate(config.methods) if m.name == name]
        if not found:
            listed = ", ".join(m.name for m in config.methods) or "none"
            raise InputError(
                f"has no entry for method {name!r} (it lists: {listed}); choose a config that "
                "runs it, or give its weights alone with --checkpoint",
                path=str(args.config),
                field="methods",
            )
        index, source = found[0], config.source
        entry = config.methods[index]
    if args.checkpoint is not None:
        entry = dataclasses.replace(entry, checkpoint=str(args.checkpoint))
    try:
        return resolve_method(entry, index, source)
    except InputError as err:
        origin = {f"methods[{index}].checkpoint": Origin(None, "--checkpoint")}
        raise rebased(err, origin if args.checkpoint is not None else {}) from None


def _plugin(args: argparse.Namespace) -> Any:
    """The model to profile (see the module docstring), with a line saying which weights."""
    if args.config is None and args.checkpoint is None:
        from vis_bench.api.registration import get_method

        print(f"{args.method}: default options, random weights (--config or --checkpoint: yours)")
        return get_method(args.method).build({})
    from vis_bench.sweep.worker import build_plugin

    entry = _entry(args)
    plugin, _ = build_plugin(entry)
    print(
        f"{entry.name}: {entry.checkpoint or 'random weights'} ({args.config or 'default options'})"
    )
    return plugin


def run(args: argparse.Namespace) -> int:
    import torch

    from vis_bench.atomic import check_output_folder, write_atomic
    from vis_bench.measure.profiler import export_trace_atomic, profile_method, summary_markdown

    check_output_folder(args.out_dir, "--out-dir")
    _check(args)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        plugin = _plugin(args)
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

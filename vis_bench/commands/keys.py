"""`run_bench.py keys --method M --backbone B [--out FILE]`: the state-dict layout vis-bench builds.

Writes the `[key, shape]` list (JSON, state-dict order, the golden key lists' format) of the model
the method builds with that backbone, constructed on the meta device so even Swin-L costs no
memory. Compare it with a checkpoint's keys, or with the authors' lists, before downloading.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vis_bench.commands._options import add_method_option_argument, method_options

HELP = "write the [key, shape] list of the model a method builds (meta device, no weights)"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--method", required=True, help="registered method name (`methods` lists them)"
    )
    parser.add_argument(
        "--backbone",
        default=None,
        help="backbone option (resnet50, resnet101, resnext101_32x8d, resnext101_64x4d, swin_l); "
        "default: the method's own",
    )
    add_method_option_argument(
        parser, "another method option, e.g. --set enc_layers=6 --set dec_layers=6 (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file, write_atomic

    if args.out is not None:
        check_output_file(args.out, "--out")
    from vis_bench.api.state_dict_keys import (
        format_key_list,
        key_list,
        meta_model,
    )

    options = method_options(args.options)
    if args.backbone is not None:
        options["backbone"] = args.backbone
    model = meta_model(args.method, options)
    state = model.state_dict()
    text = format_key_list(key_list(state))
    numbers = sum(value.numel() for value in state.values())
    summary = f"{args.method} {options}: {len(state)} entries, {numbers:,} numbers"
    if args.out is None:
        sys.stdout.write(text)
        print(summary, file=sys.stderr)
    else:
        write_atomic(args.out, text)
        print(f"{summary}; wrote {args.out}")
    return 0

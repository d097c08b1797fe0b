"""`run_bench.py check-checkpoint FILE --method M`: will this checkpoint load, and as what?

Reads the file memory-mapped (`torch.load(weights_only=True, mmap=True)`), names the backbone its
keys and shapes describe (ResNeXt groups from the grouped 3x3 conv, Swin size from its tables),
builds the method's model for that backbone on the meta device and lists every missing,
unexpected and mis-shaped key, i.e. everything a strict load would reject. Exit 0 when there is
nothing, 1 otherwise. No weights are read or allocated, whatever the model's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vis_bench.methods.common.backbone_registry import detect_backbone
from vis_bench.registry import get_method
from vis_bench.state_dict_keys import (
    checkpoint_state_dict,
    compare_with_model,
    load_mmap,
    meta_model,
    parse_options,
)

NAME = "check-checkpoint"
HELP = "name a checkpoint's backbone and list the keys a strict load would reject"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="release .pth or project checkpoint")
    parser.add_argument("--method", required=True, help="registered method name, e.g. seqformer")
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option overriding what is read from the file (repeatable)",
    )


def _build_options(plugin: Any, state_dict: dict, project_config: dict, user: dict) -> dict:
    """What the file says (keys, then its own config if it carries one), then the user's."""
    read_options = getattr(plugin, "checkpoint_options", None)
    detected = read_options(state_dict) if read_options is not None else {}
    return {**detected, **project_config, **user}


def run(args: argparse.Namespace) -> int:
    plugin = get_method(args.method)
    state_dict, fmt, project_config = checkpoint_state_dict(
        load_mmap(args.checkpoint), args.checkpoint, args.method
    )
    numbers = sum(value.numel() for value in state_dict.values())
    print(
        f"checkpoint {args.checkpoint} ({fmt} format): {len(state_dict)} tensors, {numbers:,} numbers"
    )
    print(f"backbone: {detect_backbone(state_dict).describe()}")
    options = _build_options(plugin, state_dict, project_config, parse_options(args.options))
    as_loaded = getattr(plugin, "checkpoint_tensors", None)
    if as_loaded is not None:
        state_dict = as_loaded(state_dict)
    comparison = compare_with_model(meta_model(args.method, options), state_dict)
    print(f"compared with {args.method} built with {options}:")
    for line in comparison.format_lines():
        print(f"  {line}")
    print("OK: loads strictly" if comparison.clean else "MISMATCH: a strict load would fail")
    return 0 if comparison.clean else 1

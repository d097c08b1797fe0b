"""`run_bench.py check-checkpoint FILE [--method M]`: will this checkpoint load, and as what?

Reads the file memory-mapped, names the method its keys belong to (when `--method` is not given),
the backbone its keys and shapes describe (ResNeXt groups from the grouped 3x3 conv, Swin size
from its tables), builds the method's model for that backbone on the meta device and compares the
two through the same loader every method uses: every missing, unexpected and mis-shaped key a
strict load would reject is listed. Then it says which released checkpoint (`method.variant`) the
file is: the variants whose architecture has exactly these keys and shapes, narrowed by the
file's checksum where the authors publish one. Exit 0 when a strict load would succeed, 1
otherwise. No weights are read or allocated, whatever the model's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "check-checkpoint"
HELP = "name a checkpoint's backbone and list the keys a strict load would reject"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="release .pth or project checkpoint")
    parser.add_argument(
        "--method",
        default=None,
        help="registered method name (`methods` lists them); default: the method whose "
        "checkpoint signature the file's keys match",
    )
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option overriding what is read from the file (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.api.checkpoints import (
        LoadReport,
        checkpoint_options,
        checkpoint_tensors,
        compare_and_load,
        describe_checkpoint,
    )
    from vis_bench.api.registration import get_method
    from vis_bench.formats.checkpoints import open_checkpoint
    from vis_bench.measure.state_dict_keys import meta_model, parse_options

    contents = open_checkpoint(args.checkpoint)
    method = args.method or _method_of(contents, args.checkpoint)
    plugin = get_method(method)
    contents.check_method(plugin.name)
    state_dict = contents.state_dict
    numbers = sum(value.numel() for value in state_dict.values())
    print(
        f"checkpoint {args.checkpoint} ({contents.format} format): {len(state_dict)} tensors, "
        f"{numbers:,} numbers"
    )
    for base in contents.bases:  # a stage stored as its changes: the files beneath it
        print(f"  over {base} (its tensors under this file's)")
    for line in describe_checkpoint(plugin, state_dict):
        print(line)
    # what the file says (keys, then its own config if it carries one), then the user's
    options = {
        **checkpoint_options(plugin, state_dict),
        **contents.config,
        **parse_options(args.options),
    }
    report = LoadReport(str(args.checkpoint), contents.format)
    compare_and_load(
        meta_model(method, options),
        checkpoint_tensors(plugin, state_dict),
        report,
        plugin.spec.ignored_checkpoint_keys,
        assign=True,
    )
    print(f"compared with {method} built with {options}:")
    for title, keys in (
        ("missing", report.missing),
        ("unexpected", report.unexpected),
        ("mis-shaped", report.mismatched),
    ):
        print(f"  {len(keys)} {title} key(s)" + (":" if keys else ""))
        for key in keys:
            print(f"    {key}")
    print("OK: loads strictly" if report.clean else "MISMATCH: a strict load would fail")
    from vis_bench.measure.release_match import describe_match, matching_variants

    for line in describe_match(matching_variants(plugin, state_dict, args.checkpoint)):
        print(line)
    return 0 if report.clean else 1


def _method_of(contents, path: Path) -> str:
    """The method a checkpoint was made for: the project format says it, a release's keys tell."""
    from vis_bench.api.tables import looks_like
    from vis_bench.errors import InputError

    method = contents.method or looks_like(contents.state_dict)
    if method is None:
        raise InputError(
            "no registered method's checkpoint signature matches these keys: give --method M "
            "(`run_bench.py methods` lists them)",
            path=str(path),
            field="--method",
        )
    print(f"method: {method} (from the file's {'format' if contents.method else 'keys'})")
    return method

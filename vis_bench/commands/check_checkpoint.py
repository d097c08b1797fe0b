"""`run_bench.py check-checkpoint FILE [--method M]`: will this checkpoint load, and as what?

FILE is found as `run --checkpoint` finds it (a shipped one by its bare name too). Reads it
memory-mapped whatever its container (torch.save zip or legacy pickle, detectron2 model-zoo
pickle, safetensors, a Hugging Face model folder; gzip-compressed, through a temporary file) and
says which it is and what reading did (which entry the weights came from, `model` or
`model_ema`; a training file's optimizer left aside, `module.` stripped, float16 tensors), converts a
file in another library's layout where the method can (Hugging Face Transformers'), names the
method its keys belong to (when `--method` is not given; methods whose checkpoints share their
key names are all named, the guess said to be one),
the backbone its keys and shapes describe (ResNeXt groups from the grouped 3x3 conv, Swin size
from its tables), builds the method's model for that backbone on the meta device and compares the
two through the same loader every method uses: the keys renamed as the authors' loading renames
them, the constants filled from the options, the dtypes cast, and every missing, unexpected and
mis-shaped key a strict load would reject are listed. Then it says which released checkpoint
(`method.variant`) the file is: the variants whose architecture has exactly these keys and
shapes, narrowed by the file's md5 or sha256 where the authors (or the host) publish one, with
the file's digest beside the published one. Exit 0 when a strict load would succeed, 1
otherwise. No weights are read or allocated, whatever the model's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vis_bench.commands._options import add_method_option_argument, method_options

HELP = "name a checkpoint's backbone and list the keys a strict load would reject"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        help="release .pth/.pkl/.safetensors (or gzip-compressed), a Hugging Face model folder, "
        "a project checkpoint, or a shipped one by its file name (NAME_tiny.pth, or NAME_tiny)",
    )
    parser.add_argument(
        "--method",
        default=None,
        help="registered method name (`methods` lists them); default: the method whose "
        "checkpoint signature the file's keys match",
    )
    add_method_option_argument(
        parser, "method option overriding what is read from the file (repeatable)"
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.api.checkpoints import (
        LoadReport,
        checkpoint_options,
        checkpoint_tensors,
        compare_and_load,
        describe_checkpoint,
        foreign_contents,
        spec_rules,
    )
    from vis_bench.api.registration import get_method
    from vis_bench.api.state_dict_keys import meta_model
    from vis_bench.config_paths import command_line_checkpoint
    from vis_bench.formats.checkpoints import open_checkpoint

    found = command_line_checkpoint(args.checkpoint, "checkpoint")
    if found.found == "shipped":
        print(f"{args.checkpoint}: the shipped file {found.path} (sha256 {found.sha256})")
    checkpoint = found.path
    contents = open_checkpoint(checkpoint)
    method = args.method or _method_of(contents, checkpoint)
    plugin = get_method(method)
    contents = foreign_contents(plugin, contents)
    contents.check_method(plugin.name)
    state_dict = contents.state_dict
    _print_file(checkpoint, contents)
    for line in describe_checkpoint(plugin, state_dict):
        print(line)
    # what the file says (keys, then its own config if it carries one), then the user's
    options = {
        **checkpoint_options(plugin, state_dict),
        **contents.config,
        **method_options(args.options),
    }
    report = LoadReport(str(checkpoint), contents.format)
    compare_and_load(
        meta_model(method, options),
        checkpoint_tensors(plugin, state_dict),
        report,
        **spec_rules(plugin.spec),
        versions=contents.versions,
        assign=True,
    )
    print(f"compared with {method} built with {options}:")
    _print_report(report)
    print("OK: loads strictly" if report.clean else "MISMATCH: a strict load would fail")
    from vis_bench.api.release_match import describe_match, matching_variants

    match = matching_variants(plugin, state_dict, contents.file or checkpoint, contents.versions)
    for line in describe_match(match):
        print(line)
    return 0 if report.clean else 1


def _print_file(checkpoint: Path, contents: Any) -> None:
    """What the file is: its tensors and numbers, container, dtypes, notes and the bases a
    stage stored as its changes stands on."""
    state_dict = contents.state_dict
    numbers = sum(value.numel() for value in state_dict.values())
    print(
        f"checkpoint {checkpoint} ({contents.format} format): {len(state_dict)} tensors, "
        f"{numbers:,} numbers"
    )
    print(
        f"  container: {contents.container or 'unknown'}; stored as {', '.join(contents.dtypes) or 'no floats'}"
    )
    for note in contents.notes:
        print(f"  {note}")
    for base in contents.bases:  # a stage stored as its changes: the files beneath it
        print(f"  over {base} (its tensors under this file's)")


def _print_report(report: Any) -> None:
    """The strict comparison's findings, one count and its keys per kind."""
    for title, keys in (
        ("key(s) renamed as the authors' loading does", report.renamed),
        ("constant(s) filled from the options (the file need not hold them)", report.filled),
        ("dtype cast(s)", report.cast),
        ("missing key(s)", report.missing),
        ("unexpected key(s)", report.unexpected),
        ("mis-shaped key(s)", report.mismatched),
    ):
        print(f"  {len(keys)} {title}" + (":" if keys else ""))
        for key in keys:
            print(f"    {key}")


def _method_of(contents, path: Path) -> str:
    """The method a checkpoint was made for: the project format says it, a release's keys tell
    (a tie between methods whose checkpoints have the same key names is said to be one)."""
    from vis_bench.api.tables import best_matches
    from vis_bench.errors import InputError

    matches = [] if contents.method else best_matches(contents.state_dict)
    if len(matches) > 1:
        names = " and ".join(matches)
        print(
            f"method: ambiguous: the file's keys match {names} alike (their checkpoints have "
            f"the same key names), so the keys cannot tell which it is; checked as {matches[0]}, "
            f"the first by name: give --method {matches[1]} (or another) to check it as that"
        )
        return matches[0]
    method = contents.method or (matches[0] if matches else _converting_method(contents))
    if method is None:
        raise InputError(
            "no registered method's checkpoint signature matches these keys: give --method M "
            "(`run_bench.py methods` lists them)",
            path=str(path),
            field="--method",
        )
    print(f"method: {method} (from the file's {'format' if contents.method else 'keys'})")
    return method


def _converting_method(contents) -> str | None:
    """The registered method whose `foreign_checkpoint` hook recognises the file (a Hugging Face
    Transformers layout), None if none does."""
    from vis_bench.api.checkpoints import foreign_contents
    from vis_bench.api.registration import available_methods, get_method

    for name in available_methods():
        plugin = get_method(name)
        if foreign_contents(plugin, contents) is not contents:
            return name
    return None

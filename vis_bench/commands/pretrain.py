"""`run_bench.py pretrain --config FILE`: pretrain a method's backbone on a training split.

The tiny models' stand-in for ImageNet / COCO weights (vis_bench/train/pretrain.py): per-pixel
object categories of frames (`task: segmentation`) or object-crop classification (`task:
crops`); `train` configs start from the result with `backbone_init`.
"""

from __future__ import annotations

import argparse

from vis_bench.commands._options import add_config_arguments

HELP = "pretrain a backbone on a training split (e.g. configs/tiny/backbone.yaml)"
GROUP = "data and training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(
        parser,
        "pretraining YAML config",
        "override a config key, e.g. --set iterations=200 (repeatable)",
        required=True,
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file
    from vis_bench.train.pretrain import load_pretrain_config, pretrain_backbone

    config = load_pretrain_config(args.config, args.overrides)
    check_output_file(config.output, "output")
    pretrain_backbone(config, progress=not args.no_progress)
    return 0

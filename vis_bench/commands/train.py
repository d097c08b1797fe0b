"""`run_bench.py train --config FILE [--set key=value]`: train a method from a YAML config.

The method's published recipe (optimiser, schedule shape, clipping, losses, frame sampling) is
used wherever the config leaves a value null. The run resumes from its work folder when stopped
and ends by writing the weights (project format) to the config's `output`.
"""

from __future__ import annotations

import argparse

from vis_bench.commands._options import add_config_arguments

HELP = "train a method on a YouTube-VIS-format dataset (e.g. a config of configs/tiny/)"
GROUP = "data and training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(
        parser,
        "training YAML config",
        "override a config key, e.g. --set optim.iterations=200 (repeatable)",
        required=True,
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="ignore (and replace) a saved training state instead of resuming from it",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file, check_output_folder
    from vis_bench.train.config import load_train_config
    from vis_bench.train.trainer import STATE_FILE, headline_losses, train

    config = load_train_config(args.config, args.overrides)
    check_output_file(config.output, "output")
    check_output_folder(config.state_dir, "work_dir")
    if args.restart:
        (config.state_dir / STATE_FILE).unlink(missing_ok=True)
    outcome = train(config, progress=not args.no_progress)
    losses = headline_losses(outcome.final_losses)
    print(
        f"done: {outcome.iterations} steps in {outcome.seconds / 60:.1f} min; last losses: {losses}"
    )
    return 0

"""A `sam3` video checkpoint from a trained tiny detector: the detector's `detector.*` weights
under SAM 3's layout, and the tracker with its neck (`sam2_convs`, which the detector never
reads) from a trained tracker file (configs/tiny/sam3_tracker.yaml's output) or, without one,
as initialised. The video method's AP (`run_bench.py regress`) needs the whole model in one
file.

    python -m tools.sam3_video_checkpoint DETECTOR.pth OUT.pth \
        [--tracker TRACKER.pth [--earlier-tracker EARLIER.pth ...]] [--score-threshold P]

`--score-threshold` sets the video model's detection threshold (default: the detector's
`score_threshold`, the release's 0.5): a small model whose scores stay low is given one chosen
on the tuning split, and the file records it. `--earlier-tracker` names the runs a tracker
continued from (oldest first): their steps and time count toward the joined model's.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import torch

from vis_bench.errors import InputError
from vis_bench.formats.checkpoints import read_project_checkpoint, save_project_checkpoint
from vis_bench.methods.sam3.detector_training.options import Sam3DetectorOptions
from vis_bench.methods.sam3.detector_training.tracker_plugin import (
    POOLED_PROJECTION,
    TRAINED,
    Sam3TrackerOptions,
)
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.video_model import Sam3VideoModel

#: the tiny tracker's sizes beside the tiny detector's (the release: 64, 4, 2048)
TINY_TRACKER = {"mem_dim": 16, "tracker_layers": 1, "tracker_ffn": 128}
#: the shape fields both option sets share (`detector_sizes_of` reads them)
SHAPE_FIELDS = (
    "image", "patch", "vit_dim", "vit_depth", "vit_heads", "vit_mlp_ratio", "window",
    "global_blocks", "text_width", "text_heads", "text_layers", "context", "d_model", "heads",
    "ffn", "geometry_layers", "encoder_layers", "decoder_layers", "queries",
)  # fmt: skip


def video_options(
    detector: dict[str, Any], tracker: dict[str, Any], score_threshold: float | None = None
) -> Sam3Options:
    """The `sam3` options of a tiny detector's (all its options: its shape, prompts and
    threshold, unless `score_threshold` replaces it; the position table at its input side,
    where it was trained) with the tracker's sizes."""
    shape = {k: detector[k] for k in SHAPE_FIELDS}
    threshold = detector["score_threshold"] if score_threshold is None else score_threshold
    prompts = {
        "categories": "",
        "prompts": list(detector["prompts"]),
        "category_ids": list(detector["category_ids"]),
        "score_threshold_detection": float(threshold),
    }
    return Sam3Options(**shape, pretrain_image=shape["image"], **prompts, **tracker)


def video_checkpoint(
    detector_file: str | Path,
    output: str | Path,
    tracker_file: str | Path | None = None,
    score_threshold: float | None = None,
    earlier_trackers: list[str | Path] | None = None,
) -> Sam3Options:
    """Write `output` (method `sam3`, float16) from `detector_file` (the tiny detector's
    training output) and `tracker_file` (the tracker's; None: initialised with seed 0), with
    the detector's threshold or `score_threshold`. `earlier_trackers`: the runs the tracker
    continued from, oldest first, each a tracker's training output or a `sam3` file (its
    tracker stage); only their training records are read."""
    if earlier_trackers and tracker_file is None:
        raise InputError(
            "names earlier tracker runs but no tracker: give the last run with --tracker",
            path=str(earlier_trackers[0]),
            field="earlier_trackers",
        )
    earlier = [_earlier_tracker_record(path) for path in earlier_trackers or []]
    contents = _read(detector_file, "sam3-detector", "configs/tiny/sam3_detector.yaml")
    # a training output records the options its config gave; the others are the defaults
    detector = dataclasses.asdict(Sam3DetectorOptions(**contents.config))
    tracker_sizes, tracker_weights = dict(TINY_TRACKER), {}
    if tracker_file is not None:
        trained = _read(tracker_file, "sam3-tracker", "configs/tiny/sam3_tracker.yaml")
        tracker_options = dataclasses.asdict(Sam3TrackerOptions(**trained.config))
        mismatched = [k for k in SHAPE_FIELDS if tracker_options[k] != detector[k]]
        if mismatched:
            raise InputError(
                f"was trained for another detector shape ({', '.join(mismatched)} differ from "
                f"{detector_file}'s): train the tracker with the detector's sizes",
                path=str(tracker_file),
                field="options",
            )
        tracker_sizes = {k: tracker_options[k] for k in (*TINY_TRACKER, "num_maskmem")}
        tracker_weights = {k: v for k, v in trained.state_dict.items() if k.startswith(TRAINED)}
    options = video_options(detector, tracker_sizes, score_threshold)
    torch.manual_seed(0)
    model = Sam3VideoModel(options.detector_sizes(), options.tracker_sizes())
    weights = {
        k: v
        for k, v in contents.state_dict.items()
        if k != POOLED_PROJECTION and not (tracker_weights and k.startswith(TRAINED))
    }
    missing, unexpected = model.load_state_dict({**weights, **tracker_weights}, strict=False)
    # without a tracker file the tracker stays as initialised: its entries are expected missing
    stray = [
        k
        for k in missing
        if k != POOLED_PROJECTION and (tracker_weights or not k.startswith("tracker."))
    ]
    if unexpected or stray:
        raise InputError(
            f"does not fit SAM 3's layout: unexpected {unexpected[:3]}, missing {stray[:3]}",
            path=str(tracker_file or detector_file),
            field="state_dict",
        )
    tracker = str(tracker_file) if tracker_file else "initialised (seed 0), untrained"
    record = {"detector": str(detector_file), "tracker": tracker}
    record.update(training_record(contents, trained if tracker_file is not None else None, earlier))
    save_project_checkpoint(
        model.state_dict(), output, "sam3", dataclasses.asdict(options), record, half=True
    )
    return options


#: what each stage's record keeps in the joined file (its loss history stays in its own file)
STAGE_FIELDS = ("config", "iterations", "seconds", "threads", "torch", "final_losses")


def training_record(
    detector: Any, tracker: Any | None, earlier_trackers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """How the joined model was made, from its parts' training records: each stage's config,
    steps, time and last losses (`tracker_1`, `tracker_2`, ...: the runs the tracker continued
    from, oldest first); the totals of steps and time; the detector's config (its
    `backbone_init` names the pretrained trunk) and the label space it learned."""
    stages = {"detector": detector.training or {}}
    for number, record in enumerate(earlier_trackers or [], start=1):
        stages[f"tracker_{number}"] = record
    if tracker is not None:
        stages["tracker"] = tracker.training or {}
    kept = {name: {k: r[k] for k in STAGE_FIELDS if k in r} for name, r in stages.items()}
    if not all("iterations" in r and "seconds" in r for r in kept.values()):
        return {"stages": kept}
    return {
        "iterations": sum(int(r["iterations"]) for r in kept.values()),
        "seconds": round(sum(float(r["seconds"]) for r in kept.values()), 1),
        "config": kept["detector"].get("config"),
        "categories": stages["detector"].get("categories"),
        "stages": kept,
    }


def _earlier_tracker_record(path: str | Path) -> dict[str, Any]:
    """The training record of a run a tracker continued from: a tracker's training output,
    or the tracker stage of a `sam3` file joined from one."""
    contents = read_project_checkpoint(path)
    if contents.method == "sam3-tracker" and contents.training:
        return contents.training
    stage = ((contents.training or {}).get("stages") or {}).get("tracker")
    if contents.method == "sam3" and stage:
        return stage
    raise InputError(
        f"holds no tracker's training record (method {contents.method!r}): give a tracker's "
        "training output or a sam3 file joined from one",
        path=str(path),
        field="training",
    )


def _read(path: str | Path, method: str, config: str) -> Any:
    contents = read_project_checkpoint(path)
    if contents.method != method:
        kind = "detector" if method == "sam3-detector" else "tracker"
        raise InputError(
            f"holds method {contents.method!r}, not a SAM 3 {kind}: give the output of "
            f"`run_bench.py train --config {config}`",
            path=str(path),
            field="method",
        )
    return contents


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("detector", help="the tiny detector's training output")
    parser.add_argument("output", help="where the sam3 checkpoint goes")
    parser.add_argument("--tracker", help="the tiny tracker's training output (default: none)")
    parser.add_argument(
        "--earlier-tracker",
        action="append",
        default=[],
        help="a run the tracker continued from, oldest first (repeat): its steps and time count",
    )
    parser.add_argument(
        "--score-threshold",
        type=float,
        default=None,
        help="the video model's detection threshold (default: the detector's)",
    )
    args = parser.parse_args(argv)
    try:
        video_checkpoint(
            args.detector, args.output, args.tracker, args.score_threshold, args.earlier_tracker
        )
    except InputError as err:  # a missing or wrong file: its message names it and the fix
        raise SystemExit(f"error: {err}") from None
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

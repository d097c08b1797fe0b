"""Does a pretrained backbone know the categories, or only the training split's instances?

A linear probe on each backbone's frozen features: every category's pixels in a frame crop give
one example (the features of all the backbone's levels, resampled to a quarter of the crop and
averaged over those pixels); a logistic regression is fitted on crops of the training videos
and scored on crops of videos the backbone never saw. The synthetic objects' colours are drawn
per instance, so a backbone can score high on its training videos by remembering instances; only
the unseen videos' score says what a detector built on it can learn to recognise.

    python benchmarks/probe_backbone_categories.py \
        --backbone configs/tiny/backbone.yaml --backbone configs/tiny/videomt_vit.yaml \
        --json benchmarks/results/backbone_category_probe.json

`--backbone CONFIG=CHECKPOINT` probes another file built from that pretraining config's options.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from vis_bench.api.registration import get_method
from vis_bench.api.training import backbone_module
from vis_bench.config import DatasetConfig, load_config
from vis_bench.formats.checkpoints import read_project_checkpoint
from vis_bench.inference.sources import open_source
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance
from vis_bench.train.pretrain import FrameSampler, load_pretrain_config

#: the tiny models' AP baseline: its dataset is the validation split no backbone was trained on
BASELINE = "configs/baseline_synthetic.yaml"
CROP = 128
#: a category needs this many pixels at the probe's resolution (a quarter of the crop's side)
MIN_PIXELS = 2


def object_features(
    backbone: torch.nn.Module, plugin: Any, sampler: FrameSampler, crops: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, C] features averaged over each category's pixels of `crops` random crops, [N] labels."""
    features, labels = [], []
    side = CROP // 4
    for _ in range(crops // 16):
        images, label_maps = sampler.draw(16)
        with torch.no_grad():
            levels = backbone(plugin.preprocess(images, CROP)).values()
            stacked = torch.cat(
                [F.interpolate(f, size=(side, side), mode="bilinear") for f in levels], 1
            )
        small = F.interpolate(label_maps[:, None].float(), size=(side, side), mode="nearest")
        small = small[:, 0].long()
        for i in range(len(images)):
            for category in small[i].unique().tolist():
                inside = small[i] == category
                if category == 0 or int(inside.sum()) < MIN_PIXELS:
                    continue
                features.append(stacked[i][:, inside].mean(1))
                labels.append(category - 1)
    return torch.stack(features), torch.tensor(labels)


def linear_probe(
    train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor], classes: int
) -> tuple[float, float]:
    """Accuracy of an L2-regularised logistic regression on its training examples and on `test`."""
    mean, std = train[0].mean(0), train[0].std(0) + 1e-6
    x_train, x_test = (train[0] - mean) / std, (test[0] - mean) / std
    torch.manual_seed(0)
    head = torch.nn.Linear(x_train.shape[1], classes)
    optimiser = torch.optim.LBFGS(head.parameters(), max_iter=300)

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = F.cross_entropy(head(x_train), train[1]) + 1e-3 * head.weight.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    with torch.no_grad():
        fit = float((head(x_train).argmax(1) == train[1]).float().mean())
        unseen = float((head(x_test).argmax(1) == test[1]).float().mean())
    return fit, unseen


def probe(
    config_path: str, checkpoint: str | None, crops: int, unseen_videos: DatasetConfig
) -> dict[str, Any]:
    config = load_pretrain_config(config_path)
    path = checkpoint or config.output
    plugin = get_method(config.method).build(dict(config.options))
    backbone = backbone_module(plugin)
    contents = read_project_checkpoint(path)
    backbone.load_state_dict({k: v.float() for k, v in contents.state_dict.items()})
    backbone.eval()
    seen = FrameSampler(open_source(config.dataset, config_path).dataset, CROP, seed=5)
    unseen = FrameSampler(open_source(unseen_videos, BASELINE).dataset, CROP, seed=6)
    train = object_features(backbone, plugin, seen, crops)
    test = object_features(backbone, plugin, unseen, max(16, crops // 3))
    fit, generalises = linear_probe(train, test, len(seen.categories))
    record = contents.training or {}
    return {
        "config": config_path,
        "checkpoint": path,
        "pretraining_steps": record.get("iterations"),
        "recoloured": bool((record.get("config") or {}).get("recolour", False)),
        "examples": {"training_videos": len(train[1]), "unseen_videos": len(test[1])},
        "accuracy_training_videos": fit,
        "accuracy_unseen_videos": generalises,
        "most_frequent_category_share_unseen": float(
            test[1].bincount().max() / max(1, len(test[1]))
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", action="append", required=True, metavar="CONFIG[=FILE]")
    parser.add_argument("--crops", type=int, default=1600, help="training-video crops (16s)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    provenance = start_provenance()
    unseen = load_config(BASELINE).dataset
    report: dict[str, Any] = {
        "setting": f"{CROP}x{CROP} frame crops; unseen videos: synthetic seed {unseen.seed}, "
        f"{unseen.videos} videos; features of every level averaged per category and crop",
        "loadavg_before": os.getloadavg(),
        "backbones": [],
    }
    for entry in args.backbone:
        config_path, _, checkpoint = entry.partition("=")
        result = probe(config_path, checkpoint or None, args.crops, unseen)
        report["backbones"].append(result)
        print(
            f"{result['checkpoint']}: {result['accuracy_training_videos']:.3f} on training "
            f"videos, {result['accuracy_unseen_videos']:.3f} on unseen videos "
            f"({result['examples']['unseen_videos']} objects; the most frequent category "
            f"{result['most_frequent_category_share_unseen']:.3f})"
        )
    report["loadavg_after"] = os.getloadavg()
    if args.json is not None:
        write_json_with_provenance(args.json, report, provenance, indent=2)


if __name__ == "__main__":
    main()

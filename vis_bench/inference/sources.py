"""Opening the dataset a config names: the embedded synthetic set or a real one given by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.config import DatasetConfig
from vis_bench.data.dataset import VideoDataset, load_dataset
from vis_bench.errors import InputError


@dataclass
class DatasetSource:
    """A dataset as the runner sees it, plus where its ground truth is (None: no GT)."""

    dataset: VideoDataset
    gt_path: Path | None
    dataset_id: str
    max_videos: int | None = None

    def videos(self) -> list[Any]:
        videos = list(self.dataset.videos)
        return videos[: self.max_videos] if self.max_videos else videos

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        return self.dataset.frames(video, indices)

    def describe(self) -> str:
        videos = self.videos()
        frames = sum(v.length for v in videos)
        gt = "with ground truth" if self.gt_path else "no ground truth (predictions only)"
        return f"dataset {self.dataset_id}: {len(videos)} videos, {frames} frames, {gt}"


def open_source(config: DatasetConfig, config_path: str = "<config>") -> DatasetSource:
    """Open (and, for synthetic data, generate on first use) the configured dataset."""
    if config.kind == "synthetic":
        from vis_bench.data.synthetic import ensure_synthetic_dataset, split_paths, synthetic_spec

        spec = synthetic_spec(
            videos=config.videos,
            seed=config.seed,
            min_frames=config.min_frames,
            max_frames=config.max_frames,
            enter_leave=config.enter_leave,
        )
        root = ensure_synthetic_dataset(config.cache_dir, spec)
        annotations, frames = split_paths(root)
        dataset_id = f"synthetic-{spec.digest()[:8]}"
    else:
        annotations = Path(config.annotations or "")
        frames = Path(config.frames or "")
        for key, path in (("dataset.annotations", annotations), ("dataset.frames", frames)):
            if not path.exists():
                raise InputError(
                    f"dataset not found at {path}: download {config.kind} and point the config "
                    f"at it (--set {key}=PATH)",
                    path=config_path,
                    field=key,
                )
        dataset_id = f"{config.kind}:{annotations.name}"
    dataset = load_dataset(annotations, frames)
    # test splits carry no annotations: then there is nothing to score against
    has_gt = dataset.has_annotations and any(v.annotations for v in dataset.videos)
    gt_path = annotations if has_gt else None
    return DatasetSource(dataset, gt_path, dataset_id, config.max_videos)

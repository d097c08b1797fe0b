"""Opening the dataset a config names: the embedded synthetic set or a real one given by path."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.config import DatasetConfig
from vis_bench.data.dataset import VideoDataset, load_dataset
from vis_bench.data.frames_digest import FramesManifest, frames_manifest
from vis_bench.data.ytvis_json import parse_annotation_data
from vis_bench.errors import InputError
from vis_bench.eval.benchmarks import KINDS
from vis_bench.eval.declared import resolve
from vis_bench.hashing import file_sha256


@dataclass
class DatasetSource:
    """A dataset as the runner sees it, plus where its ground truth is (None: no GT).

    `identity` says which data this is (kind, file or generator, how many videos; after
    `pin_frames`, the frames' digest): runs, records and reports keep it, so numbers of different
    datasets are never mixed or ranked together.
    """

    dataset: VideoDataset
    gt_path: Path | None
    identity: dict[str, Any]
    config: DatasetConfig
    config_path: str = "<config>"
    #: only these videos are run and scored (`narrowed`; None: every video the config keeps)
    only_videos: tuple[int, ...] | None = None

    @property
    def dataset_id(self) -> str:
        """A short stable name of the identity (part of every cell's key)."""
        return dataset_id(self.identity)

    def label(self) -> str:
        """The dataset as tables and plot titles name it."""
        return dataset_label(self.identity)

    def opener(self) -> DatasetOpener:
        """How a worker process opens the same dataset (small and picklable)."""
        return DatasetOpener(self.config, self.config_path, self.only_videos)

    def videos(self) -> list[Any]:
        videos = first_videos(self.dataset.videos, self.config.max_videos)
        if self.only_videos is not None:
            videos = [v for v in videos if int(v.id) in self.only_videos]
        return videos

    def narrowed(self, video_ids: list[int]) -> DatasetSource:
        """The same dataset, run and scored on `video_ids` alone: a recorded cell made again
        for the one video a picture shows (sweep/regenerate.py). The identity says so, so a
        record of it never passes for one of the whole dataset."""
        known = {int(v.id) for v in self.videos()}
        unknown = [v for v in video_ids if v not in known]
        if unknown or not video_ids:
            raise InputError(
                f"no video {unknown[0] if unknown else '(none given)'} among the dataset's "
                f"{len(known)} videos",
                path=self.config_path,
            )
        only = tuple(sorted(set(video_ids)))
        identity = {**self.identity, "only_videos": list(only)}
        return dataclasses.replace(self, identity=identity, only_videos=only)

    def pin_frames(self) -> FramesManifest | None:
        """The manifest of the frames this run reads (data/frames_digest.py), its summary added
        to the identity as `frames`. Only a run folder's owner calls it (a worker opening the
        dataset for one cell does not pay for it); not part of `dataset_id`, so the cell keys
        of folders written before frames were pinned stay the same."""
        if self.dataset.frame_root is None:
            return None
        manifest = frames_manifest(self.dataset.frame_root, self.videos(), self.config.cache_dir)
        self.identity["frames"] = manifest.summary()
        return manifest

    def frames_changed_since(self, recorded: Any) -> str | None:
        """How this dataset's frames differ from those a record's `dataset_identity` names,
        e.g. "frames digest 3f3f6a31 (6 files) -> ac3609cd (6 files)"; None where they are the
        same or the record names none (written before frames were pinned)."""
        then = recorded.get("frames") if isinstance(recorded, Mapping) else None
        if not isinstance(then, Mapping) or not then.get("digest"):
            return None
        if "frames" not in self.identity and self.pin_frames() is None:
            return None
        now = self.identity["frames"]
        if now["digest"] == then["digest"]:
            return None
        return (
            f"frames digest {then['digest']} ({then.get('files')} files) -> {now['digest']} "
            f"({now['files']} files)"
        )

    @property
    def scored_video_ids(self) -> list[int] | None:
        """The ids of the videos a cell predicts when `max_videos` keeps only some of them:
        its predictions are scored against those videos' ground truth alone (None: all)."""
        videos = self.videos()
        if len(videos) == len(self.dataset.videos):
            return None
        return [int(v.id) for v in videos]

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        return self.dataset.frames(video, indices)

    def describe(self) -> str:
        videos = self.videos()
        frames = sum(v.length for v in videos)
        gt = "with ground truth" if self.gt_path else "no ground truth (predictions only)"
        part = (
            f" (the first {len(videos)} of {len(self.dataset.videos)}: dataset.max_videos; "
            "scored against those videos' ground truth only)"
            if self.scored_video_ids is not None
            else ""
        )
        if self.only_videos is not None:
            ids = ", ".join(map(str, self.only_videos))
            part = f" (video id {ids} of {len(self.dataset.videos)}, scored alone)"
        return f"dataset {self.dataset_id}: {len(videos)} videos{part}, {frames} frames, {gt}"


def open_source(config: DatasetConfig, config_path: str = "<config>") -> DatasetSource:
    """Open (and, for synthetic data, generate on first use) the configured dataset."""
    if config.kind == "synthetic":
        from vis_bench.data.synthetic import ensure_synthetic_dataset, split_paths, synthetic_spec

        generator: dict[str, Any] = {}
        if config.sizes is not None:
            generator["sizes"] = tuple(config.sizes)
        if config.long_video:
            generator["long_video"] = True
        if config.novel_categories is not None:
            generator["novel_categories"] = config.novel_categories
        spec = synthetic_spec(
            videos=config.videos,
            seed=config.seed,
            min_frames=config.min_frames,
            max_frames=config.max_frames,
            enter_leave=config.enter_leave,
            occlusion=config.occlusion,
            **generator,
        )
        root = ensure_synthetic_dataset(config.cache_dir, spec)
        annotations, frames = split_paths(root)
        identity = {
            "kind": "synthetic",
            "spec": spec.digest()[:8],
            "seed": config.seed,
            "enter_leave": config.enter_leave,
        }
        if config.occlusion is not None:
            identity["occlusion"] = config.occlusion
        if config.long_video:
            identity["long_video"] = True
        if config.novel_categories is not None:
            identity["novel_categories"] = config.novel_categories
    else:
        annotations, identity = _real_annotations(config, config_path)
        frames = Path(config.frames or "")
        for key, path in (("dataset.annotations", annotations), ("dataset.frames", frames)):
            if not path.exists():
                get = (
                    "write it with `run_bench.py synth --out FOLDER`"
                    if config.kind == "synth"
                    else f"download {config.kind}"
                )
                raise InputError(
                    f"dataset not found at {path}: {get} and point the config at it "
                    f"(--set {key}=PATH)",
                    path=config_path,
                    field=key,
                )
        identity["sha256"] = file_sha256(annotations)[:16]
        identity.update(_conversion(config))
    dataset = _videos_of(config.kind, annotations, frames)
    if config.kind != "synthetic":
        _check_kind(dataset.info, config, annotations, config_path)
        if config.kind == BURST_KIND and synthetic_folder(dataset.info):
            identity["kind"] = SYNTH_BURST
    videos = first_videos(dataset.videos, config.max_videos)
    identity["videos"] = len(videos)
    if len(videos) < len(dataset.videos):  # say which part of the split every number is of
        identity["max_videos"] = config.max_videos
        identity["of_videos"] = len(dataset.videos)
        identity["video_ids"] = [int(v.id) for v in videos]
    # test splits carry no annotations: then there is nothing to score against
    has_gt = dataset.has_annotations and any(v.annotations for v in dataset.videos)
    gt_path = annotations if has_gt else None
    return DatasetSource(dataset, gt_path, identity, config, config_path)


def _videos_of(kind_name: str, annotations: Path, frames: Path) -> VideoDataset:
    """The videos a model runs on: the annotation file's, or for a declared kind of its own
    layout (BURST), the videos its declaration makes of the file (DatasetKind.videos)."""
    kind = KINDS[kind_name] if kind_name in KINDS else None
    if kind is None or kind.videos is None:
        return load_dataset(annotations, frames)
    view = resolve(kind.videos)(annotations)
    return VideoDataset.from_parsed(
        parse_annotation_data(view, annotations), frames, check_frames=True
    )


def _conversion(config: DatasetConfig) -> dict[str, Any]:
    """A burst dataset's conversion of a model's results (config.CONVERSION_KEYS), as every
    record's dataset identity and the tables' dataset label say it."""
    if config.kind != BURST_KIND:
        return {}
    return {
        "conversion": {
            "score_threshold": config.score_threshold,
            "remove_overlap": bool(config.remove_overlap),
        }
    }


def first_videos(videos: Any, max_videos: int | None) -> list[Any]:
    """The first `max_videos` videos in file order (all for None); the config refuses any
    other value than a positive integer, and so does this."""
    if max_videos is None:
        return list(videos)
    if isinstance(max_videos, bool) or not isinstance(max_videos, int) or max_videos < 1:
        raise InputError(
            f"must be a positive number of videos or null, got {max_videos!r}",
            field="dataset.max_videos",
        )
    return list(videos)[:max_videos]


#: what `synth` writes into its annotation files' `info` (vis_bench.data.synthetic)
SYNTH_GENERATOR = "vis_bench.data.synthetic"
#: the kind that reads BURST's layout, and the identity's kind of a synthetic folder in it: its
#: records are named synthetic, and no BURST published number matches them
BURST_KIND = "burst"
SYNTH_BURST = "synth-burst"


def _check_kind(info: Any, config: DatasetConfig, annotations: Path, config_path: str) -> None:
    """A folder `synth` wrote is kind `synth` (`burst` in BURST's layout) and nothing else is:
    titles, run folders and the published numbers a cell is compared with all go by the kind."""
    generated = synthetic_folder(info)
    expected = BURST_KIND if generated and info.get("layout") == BURST_KIND else "synth"
    if generated and config.kind != expected:
        raise InputError(
            f"{annotations} was written by `run_bench.py synth` (synthetic data), not "
            f"{config.kind}: set dataset.kind: {expected} (--set dataset.kind={expected}), so "
            f"that no title calls it {config.kind} and no {config.kind} published number is set "
            "beside it",
            path=config_path,
            field="dataset.kind",
        )
    if config.kind == "synth" and not generated:
        raise InputError(
            f"kind synth is a folder written by `run_bench.py synth`, and {annotations} was not; "
            "set dataset.kind to the dataset it is (ytvis2019, ytvis2021 or ovis)",
            path=config_path,
            field="dataset.kind",
        )


def synthetic_folder(info: Any) -> bool:
    """Whether a dataset's `info` says `synth` wrote it (either layout)."""
    return isinstance(info, dict) and info.get("generator") == SYNTH_GENERATOR


def _real_annotations(config: DatasetConfig, config_path: str) -> tuple[Path, dict[str, Any]]:
    """The annotation file of a real dataset and the start of its identity.

    A part of a split manifest is verified against the manifest (sha256) and named in the
    identity by the manifest's sha256 of that part, so runs on different splits never share a
    run folder, a table or a leaderboard.
    """
    if config.split is None:
        annotations = Path(config.annotations or "")
        return annotations, {"kind": config.kind, "annotations": annotations.name}
    from vis_bench.data.holdout import read_manifest, resolve_split

    try:
        annotations = resolve_split(config.split, config.split_part)
    except InputError as err:
        raise InputError(str(err), path=config_path, field="dataset.split") from None
    manifest = read_manifest(config.split)
    identity = {
        "kind": config.kind,
        "annotations": annotations.name,
        "split": manifest.data["outputs"][config.split_part]["sha256"],
        "split_part": config.split_part,
        "split_input": manifest.data["input"]["sha256"],
    }
    return annotations, identity


@dataclass(frozen=True)
class DatasetOpener:
    """A dataset config, to be opened again in a worker process."""

    config: DatasetConfig
    config_path: str
    only_videos: tuple[int, ...] | None = None

    def open(self) -> DatasetSource:
        source = open_source(self.config, self.config_path)
        return source if self.only_videos is None else source.narrowed(list(self.only_videos))


def dataset_id(identity: dict[str, Any]) -> str:
    """`synthetic-<spec>-<n>v` or `<kind>:<annotation file>:<sha>-<n>v`."""
    if identity.get("kind") == "synthetic":
        return f"synthetic-{identity['spec']}-{identity['videos']}v"
    return f"{identity['kind']}:{identity['annotations']}:{identity['sha256'][:8]}-{identity['videos']}v"


def dataset_label(identity: dict[str, Any]) -> str:
    """e.g. "synthetic (seed 0, 24 videos)" or "ytvis2019 valid.json (302 videos)"."""
    if identity.get("kind") == "synthetic":
        return f"synthetic (seed {identity.get('seed')}, {_videos_words(identity)})"
    split = f" of split {identity['split'][:12]}" if identity.get("split") else ""
    label = (
        f"{identity.get('kind')} {identity.get('annotations')}{split} ({_videos_words(identity)})"
    )
    conversion = identity.get("conversion")
    if conversion:
        threshold = conversion.get("score_threshold")
        label += (
            f" [results kept above score {threshold}" if threshold is not None else " [all results"
        ) + (", overlap removed]" if conversion.get("remove_overlap") else ", overlap kept]")
    return label


#: video ids a label lists before it says how many more there are
_LABEL_IDS = 8


def _videos_words(identity: dict[str, Any]) -> str:
    """ "24 videos", or for part of the split "the first 3 of 24 videos (ids 1, 2, 3;
    dataset.max_videos)": every title and table says which videos a number is of."""
    if "max_videos" not in identity:
        return f"{identity.get('videos')} videos"
    ids = list(identity.get("video_ids") or [])
    shown = ", ".join(map(str, ids[:_LABEL_IDS])) + (", ..." if len(ids) > _LABEL_IDS else "")
    return (
        f"the first {identity.get('videos')} of {identity.get('of_videos')} videos (ids "
        f"{shown}; dataset.max_videos)"
    )


def identity_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The fields in which two dataset identities differ, e.g. "videos 24 -> 3"."""
    keys = sorted(set(old) | set(new))
    return ", ".join(
        f"{k} {_short(old.get(k))} -> {_short(new.get(k))}"
        for k in keys
        if old.get(k) != new.get(k)
    )


def _short(value: Any) -> Any:
    """A field as a difference names it: the frames by their digest."""
    return value.get("digest") if isinstance(value, dict) and "digest" in value else value

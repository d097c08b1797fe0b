"""What a picture is made of: a dataset's frames, its ground truth and one or more results files,
given as files (`show --gt --results --frames`) or as cells of a run folder (`show --run`).

Everything is checked before anything is drawn, and each mistake is an `InputError` that names
the file and the fix: a missing frame folder or frame, a video id the split does not have,
results of another split, a cell key the run does not have, a cell whose predictions were not
kept. A run's dataset is opened from the config its records carry (the synthetic set is
generated again, identically, where it is not cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vis_bench.data.dataset import VideoDataset
from vis_bench.data.frames import find_missing
from vis_bench.data.videos import Video
from vis_bench.errors import InputError
from vis_bench.eval.metric.loading import (
    GroundTruth,
    Results,
    ground_truth_from_dict,
    load_ground_truth,
    load_results,
)
from vis_bench.eval.stats.video_matches import VideoMatches
from vis_bench.records import CellRecord
from vis_bench.report.overlays.scene import VideoInfo
from vis_bench.report.record_set import Missing, RecordSet

#: a cell's predictions in its folder, as sweep/run_dir.py writes them
RESULTS_FILE = "results.json"


@dataclass
class Sources:
    """A split's frames and ground truth, and the results to draw on it (label, results)."""

    dataset: VideoDataset
    gt: GroundTruth
    methods: list[tuple[str, Results]]

    @property
    def has_annotations(self) -> bool:
        return bool(self.dataset.has_annotations)

    def video(self, wanted: str | int) -> tuple[Video, VideoInfo]:
        """The video with this id or name (its frame folder), its frames checked to exist."""
        video = find_video(self.dataset, wanted)
        paths = [self.dataset.frame_path(video, t) for t in range(video.length)]
        missing = find_missing(paths)
        if missing:
            raise InputError(
                f"{len(missing)} of {len(paths)} frames of video {video.id} are missing; first "
                f"missing: {missing[0]}. Pass the folder holding the video folders (--frames)",
                path=str(self.dataset.frame_root),
            )
        return video, VideoInfo(video.id, video.name, video.height, video.width, video.length)

    def frame_reader(self, video: Video) -> Callable[[int], np.ndarray]:
        """`read(t)`: frame t of `video` as uint8 RGB [H, W, 3]."""
        return lambda t: self.dataset.frames(video, [t])[0]


def find_video(dataset: VideoDataset, wanted: str | int) -> Video:
    """A video by id (`12`) or by name (`synth_00012`, its frame folder)."""
    text = str(wanted).strip()
    if text.lstrip("-").isdigit() and int(text) in dataset:
        return dataset.video(int(text))
    for video in dataset.videos:
        if video.name == text:
            return video
    examples = ", ".join(f"{v.id} ({v.name})" for v in dataset.videos[:5])
    raise InputError(
        f"no video {text!r} in this split: it has {len(dataset)} videos, e.g. {examples}; pass "
        "one of its ids or frame-folder names (--video)",
        path=str(dataset.annotation_file),
        field="--video",
    )


def ground_truth_of(dataset: VideoDataset) -> GroundTruth:
    """The metric's GT of the split; a split without annotations becomes one without tracks."""
    if dataset.has_annotations:
        return load_ground_truth(dataset.annotation_file)
    header = {
        "videos": [
            {"id": v.id, "height": v.height, "width": v.width, "length": v.length}
            for v in dataset.videos
        ],
        "categories": [{"id": c.id, "name": c.name} for c in dataset.categories],
        "annotations": [],
    }
    return ground_truth_from_dict(header, str(dataset.annotation_file))


def results_label(path: Path, taken: set[str]) -> str:
    """A column title for a results file: its folder for `results.json`, else its stem."""
    label = path.parent.name if path.name == RESULTS_FILE and path.parent.name else path.stem
    base, n = label, 2
    while label in taken:
        label, n = f"{base} ({n})", n + 1
    taken.add(label)
    return label


def from_files(gt: Path, results: list[Path], frames: Path) -> Sources:
    """A split's annotation file and frame folder, and results files scored on it."""
    if not Path(gt).is_file():
        raise InputError("ground-truth file not found; pass the split's JSON (--gt)", path=str(gt))
    dataset = VideoDataset.from_files(gt, frames, check_frames=False)
    truth = ground_truth_of(dataset)
    taken: set[str] = set()
    methods = [(results_label(Path(p), taken), load_results(p, truth)) for p in results]
    return Sources(dataset, truth, methods)


# -- run folders ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunCell:
    """One finished cell of a run folder: its key, label, record and folder."""

    key: str
    label: str
    record: CellRecord
    folder: Path | None

    @property
    def results(self) -> Path:
        """The cell's predictions (results.json)."""
        if self.folder is not None:
            return self.folder / RESULTS_FILE
        return Path(self.record.results_path or RESULTS_FILE)


def run_cells(record_set: RecordSet) -> list[RunCell]:
    """Every finished cell of the run, in record order."""
    cells = []
    for record in record_set.ok:
        files = record_set.files(record)
        label = files.label or _record_label(record)
        cells.append(RunCell(str(record.key), label, record, files.folder))
    return cells


def _record_label(record: CellRecord) -> str:
    return f"{record.method} T={record.clip_length} S={record.stride}"


def pick_cell(cells: list[RunCell], wanted: str, run_dir: Path) -> RunCell:
    """A cell by key, unique key prefix, folder-style label or label."""
    text = wanted.strip()
    exact = [c for c in cells if text in (c.key, c.label)]
    found = exact or [c for c in cells if len(text) >= 4 and c.key.startswith(text)]
    if len(found) == 1:
        return found[0]
    listing = "; ".join(f"{c.key} ({c.label})" for c in cells) or "none finished"
    what = "matches several cells" if found else "is not a finished cell of this run"
    raise InputError(
        f"cell {text!r} {what}; pass one of these keys (--cell): {listing}",
        path=str(run_dir),
        field="--cell",
    )


def open_run_dataset(records: Iterable[CellRecord], run_dir: Path) -> tuple[VideoDataset, str]:
    """The run's dataset, opened from the config its records carry; (dataset, dataset id)."""
    from vis_bench.api.options import build_dataclass
    from vis_bench.config import DatasetConfig
    from vis_bench.inference.sources import open_source

    record = next((r for r in records if isinstance(r.config, Mapping)), None)
    if record is None:
        raise InputError(
            "the run's records carry no config, so its dataset cannot be opened; pass the "
            "split's files instead (--gt, --frames, --results)",
            path=str(run_dir),
        )
    source_name = str(run_dir / "records.jsonl")
    dataset = (record.config or {}).get("dataset")
    config = build_dataclass(DatasetConfig, dataset, "dataset", source_name)
    source = open_source(config, source_name)
    if record.dataset and source.dataset_id != record.dataset:
        raise InputError(
            f"the dataset the run's config names is now {source.dataset_id}, but the run was made "
            f"on {record.dataset}: its files changed; pass the split the run used (--gt, "
            "--frames, --results)",
            path=str(run_dir),
        )
    changed = source.frames_changed_since(record.dataset_identity)
    if changed:
        raise InputError(
            f"the frames the run's config names changed since the run ({changed}): the "
            "pictures would show other frames than were predicted; pass the frames the run used "
            "(--gt, --frames, --results)",
            path=str(run_dir),
        )
    return source.dataset, source.dataset_id


#: makes a recorded cell's predictions again when they were not kept: (record, the video ids
#: wanted and the cell's recorded matching, or None and None for every video) -> results.json
#: (given by the command layer, which may run a sweep; see sweep/regenerate.py)
Regenerate = Callable[[CellRecord, list[int] | None, VideoMatches | None], Path]


def load_cell_results(
    cell: RunCell,
    gt: GroundTruth,
    run_dir: Path,
    regenerate: Regenerate | None = None,
    only: tuple[list[int], RecordSet] | None = None,
) -> Results:
    """A cell's predictions; not kept, made again by `regenerate`: of the videos `only` names
    where the record set holds the cell's per-video matching to check them by, else all."""
    if not cell.results.is_file() and regenerate is not None:
        matches = record_matches(only[1], cell) if only is not None else None
        videos = only[0] if matches is not None and only is not None else None
        return load_results(regenerate(cell.record, videos, matches), gt)
    if not cell.results.is_file():
        raise InputError(
            f"the predictions of cell {cell.key} ({cell.label}) were not kept (no "
            f"{cell.results}); run the config again into a new folder (--run-dir) to draw them",
            path=str(run_dir),
        )
    return load_results(cell.results, gt)


def record_matches(record_set: RecordSet, cell: RunCell) -> VideoMatches | None:
    """The cell's recorded per-video matching, None where the run kept none."""
    matches = record_set.files(cell.record).matches
    return None if isinstance(matches, Missing) else matches


def from_run(
    record_set: RecordSet,
    wanted: list[str] | None,
    regenerate: Regenerate | None = None,
    video: str | int | None = None,
) -> Sources:
    """Cells of a run folder's record set (default: each method's leaderboard cell) on the
    run's dataset; with `video`, predictions made again are of that video only."""
    run_dir = Path(record_set.folder or ".")
    cells = run_cells(record_set)
    chosen = (
        [pick_cell(cells, w, run_dir) for w in wanted]
        if wanted
        else leaderboard_cells(cells, record_set)
    )
    dataset, _ = open_run_dataset(record_set, run_dir)
    truth = ground_truth_of(dataset)
    only = None if video is None else ([int(find_video(dataset, video).id)], record_set)
    methods = [
        (cell.label, load_cell_results(cell, truth, run_dir, regenerate, only)) for cell in chosen
    ]
    return Sources(dataset, truth, methods)


def leaderboard_cells(cells: list[RunCell], record_set: RecordSet) -> list[RunCell]:
    """Each (method, checkpoint)'s leaderboard cell (its best AP), in leaderboard order."""
    from vis_bench.report.leaderboard import leaderboard_frame

    by_key = {c.key: c for c in cells}
    frame = leaderboard_frame(record_set)
    keys = list(frame["key"]) if "key" in frame else []
    return [by_key[k] for k in keys if isinstance(k, str) and k in by_key]


def per_video_ap(cell: RunCell, record_set: RecordSet) -> dict[int, float | None]:
    """Video id -> the cell's AP on that video alone (eval/stats), {} without its matching."""
    from vis_bench.eval.stats.per_video import per_video_scores

    matches = record_set.files(cell.record).matches
    if isinstance(matches, Missing):
        return {}
    return {v: s["AP"] for v, s in per_video_scores(matches).items()}


def mean_ap(values: list[float | None]) -> float | None:
    """Mean of the defined values (None when none is)."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None

"""`VideoDataset`: a YouTube-VIS-layout annotation file plus its JPEG frame folders.

The harness iterates videos one at a time and asks for frames lazily (a clip at a time), so a
dataset object holds only the parsed JSON; frames are decoded when `frames()` is called.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vis_bench.data.frames import find_missing, read_frame, stack_frames, to_tensor_clip
from vis_bench.data.videos import Category, Video
from vis_bench.data.ytvis_json import AnnotationFile, load_annotation_file
from vis_bench.errors import InputError
from vis_bench.formats.categories import identify_dataset

if TYPE_CHECKING:
    import torch


class VideoDataset:
    """Videos of one annotation file, in file order, with lazy frame access.

    `frame_root` is the folder that `file_names` are relative to (`<frame_root>/<file_names[i]>`,
    the released `JPEGImages/` folder). Without one the dataset still serves annotations
    (enough for evaluation) but cannot read frames.
    """

    def __init__(self, parsed: AnnotationFile, frame_root: str | Path | None = None):
        self.annotation_file = parsed.path
        self.info: dict[str, Any] = parsed.info
        self.categories: tuple[Category, ...] = parsed.categories
        self.has_annotations = parsed.has_annotations
        self.frame_root = None if frame_root is None else Path(frame_root)
        self._videos = parsed.videos
        self._by_id = {v.id: v for v in parsed.videos}

    @classmethod
    def from_files(
        cls,
        annotation_file: str | Path,
        frame_root: str | Path | None = None,
        *,
        check_frames: bool = True,
    ) -> VideoDataset:
        """Load and validate `annotation_file`; with `check_frames`, verify every frame exists."""
        return cls.from_parsed(
            load_annotation_file(annotation_file), frame_root, check_frames=check_frames
        )

    @classmethod
    def from_parsed(
        cls, parsed: AnnotationFile, frame_root: str | Path | None = None, *, check_frames: bool
    ) -> VideoDataset:
        """The dataset of a validated file (`from_files`), its frame folder checked alike."""
        dataset = cls(parsed, frame_root)
        if frame_root is not None:
            if not dataset.frame_root.is_dir():
                raise InputError(
                    "frame folder not found; pass the folder holding the video folders "
                    "(the released JPEGImages/)",
                    path=str(frame_root),
                )
            if check_frames:
                dataset.check_frames_exist()
        return dataset

    # -- videos -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._videos)

    def __iter__(self) -> Iterator[Video]:
        return iter(self._videos)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._by_id

    @property
    def videos(self) -> tuple[Video, ...]:
        return self._videos

    @property
    def video_ids(self) -> list[int]:
        return [v.id for v in self._videos]

    def video(self, video_id: int) -> Video:
        """The video with this id; a KeyError names the file when it is absent."""
        try:
            return self._by_id[video_id]
        except KeyError:
            raise KeyError(f"video id {video_id} is not in {self.annotation_file}") from None

    @property
    def dataset_name(self) -> str | None:
        """`ytvis2019`, `ytvis2021`, `ovis`, `synthetic`, or None for another label space."""
        return identify_dataset((c.id, c.name) for c in self.categories)

    @property
    def has_occlusion_labels(self) -> bool:
        """True when tracks carry OVIS per-frame occlusion levels (the OVIS metric applies)."""
        return any(a.occlusion is not None for v in self._videos for a in v.annotations)

    @property
    def num_frames(self) -> int:
        return sum(v.length for v in self._videos)

    # -- frames -----------------------------------------------------------------------------

    def frame_path(self, video: Video, index: int) -> Path:
        if self.frame_root is None:
            raise InputError(
                "no frame folder given; pass frame_root to read frames",
                path=str(self.annotation_file),
            )
        return self.frame_root / video.file_names[index]

    def check_frames_exist(self) -> None:
        """Fail naming the first missing frame and how many are missing (cheap: no decoding)."""
        paths = [self.frame_path(v, t) for v in self._videos for t in range(v.length)]
        missing = find_missing(paths)
        if missing:
            raise InputError(
                f"{len(missing)} of {len(paths)} frame files listed in {self.annotation_file} "
                f"are missing; first missing: {missing[0]}{_other_suffix(missing[0])}. Check "
                "that the frames folder (a config's dataset.frames, a command's --frames) is "
                "the folder holding the video folders",
                path=str(self.frame_root),
                field="videos[].file_names",
            )

    def frames(self, video: Video | int, indices: Sequence[int] | None = None) -> np.ndarray:
        """Decode frames `indices` (default: all) of a video to uint8 RGB [T, H, W, 3]."""
        video = video if isinstance(video, Video) else self.video(video)
        indices = range(video.length) if indices is None else indices
        out = []
        for t in indices:
            if not -video.length <= t < video.length:
                raise IndexError(f"frame {t} out of range for video {video.id} ({video.length})")
            field = f"videos[id={video.id}].file_names[{t}]"
            out.append(
                read_frame(self.frame_path(video, t), video.height, video.width, field=field)
            )
        return stack_frames(out, video.height, video.width)

    def frames_tensor(
        self, video: Video | int, indices: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Like `frames` but a uint8 torch tensor [T, 3, H, W] (channels first, unscaled)."""
        return to_tensor_clip(self.frames(video, indices))


def load_dataset(
    annotation_file: str | Path,
    frame_root: str | Path | None = None,
    *,
    check_frames: bool = True,
) -> VideoDataset:
    """Shorthand for `VideoDataset.from_files`."""
    return VideoDataset.from_files(annotation_file, frame_root, check_frames=check_frames)


def _other_suffix(path: Path) -> str:
    """Where a missing frame exists under another suffix (frames converted to .png, .webp):
    say so, as the annotations' `file_names` then name the old one."""
    try:
        found = sorted(p.name for p in path.parent.glob(f"{glob.escape(path.stem)}.*"))
    except OSError:
        return ""
    if not found:
        return ""
    return (
        f" ({found[0]} is there: the annotations' file_names must name the files as they are "
        "on disk)"
    )

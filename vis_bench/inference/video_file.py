"""A user's own video as the runner's frame source: a video file (MP4, or anything ffmpeg reads)
or a folder of frame images.

`predict` runs a method on a video that belongs to no dataset, through the same runner a sweep
cell uses, so the frames must reach the runner exactly as a dataset's would: uint8 RGB
`[t, H, W, 3]`, decoded only when a clip window asks for them. A folder's frames are decoded by
the dataset's own reader (the same pixels a dataset with that folder gives); a video file is
decoded by imageio's ffmpeg (the `video` extra) in one forward pass, re-opened only when a frame
before the last one read is asked for (the runner's windows and the pictures both read forwards).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vis_bench.errors import InputError

#: what installs the video decoder
VIDEO_EXTRA = "pip install 'vis-bench[video]'"


@dataclass(frozen=True)
class VideoClip:
    """The one video a `VideoFile` holds, as the runner sees a dataset's video."""

    id: int
    name: str
    height: int
    width: int
    length: int


class _FolderFrames:
    """Frames as image files in one folder: every image in it (any format Pillow reads)."""

    def __init__(self, folder: Path):
        from vis_bench.data.frames import frame_files, oriented_size

        self.paths = frame_files(folder, field="--video")
        if not self.paths:
            raise InputError(
                "no frame images in this folder: pass a folder of a video's frames (.jpg, "
                ".png, .tif, ...) or a video file (--video)",
                path=str(folder),
                field="--video",
            )
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.paths[0]) as first:
                (self.width, self.height), _ = oriented_size(first)
        except (UnidentifiedImageError, OSError) as err:
            raise InputError(
                f"cannot decode image ({err}): a folder's frames must be images it can read",
                path=str(self.paths[0]),
                field="--video",
            ) from None

    @property
    def length(self) -> int:
        return len(self.paths)

    def read(self, indices: list[int]) -> list[np.ndarray]:
        from vis_bench.data.frames import read_frame

        first = f"the folder's first frame ({self.paths[0].name})"
        return [
            read_frame(self.paths[t], self.height, self.width, field="--video", size_from=first)
            for t in indices
        ]


def _imageio(path: Path) -> Any:
    """imageio's v2 API with its ffmpeg plugin, or an error naming the extra that installs it."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the ffmpeg binary imageio's plugin runs)
    except ImportError:
        raise InputError(
            f"reading a video file needs imageio and imageio-ffmpeg: {VIDEO_EXTRA} (or pass a "
            "folder of frame images)",
            path=str(path),
            field="--video",
        ) from None
    return imageio


#: lines of ffmpeg's banner (version, build, configuration, libraries): never the reason
_BANNER = re.compile(r"^(ffmpeg version |\s+built with |\s+configuration: |\s+lib\w+ )")


def ffmpeg_reason(err: BaseException) -> str:
    """The reason in an ffmpeg error, without its banner: the last line that is not part of the
    banner, the `[in#0 @ 0x...]` prefix left out."""
    lines = [line for line in str(err).splitlines() if line.strip() and not _BANNER.match(line)]
    if not lines:
        return type(err).__name__
    return re.sub(r"^\[[^\]]*\]\s*", "", lines[-1].strip()).rstrip(".")


class _FileFrames:
    """Frames decoded from a video file, forwards; re-opened to go back."""

    def __init__(self, path: Path):
        self.path = path
        self._imageio = _imageio(path)
        import imageio_ffmpeg

        self._reader: Any = None
        self._iterator: Any = None
        self._next = 0
        try:
            self.length = int(imageio_ffmpeg.count_frames_and_secs(str(path))[0])
            if self.length >= 1:
                self.height, self.width = self.read([0])[0].shape[:2]
        except InputError:
            raise
        except Exception as err:  # ffmpeg's and imageio's errors: not a video they can read
            raise InputError(
                f"not a video ffmpeg can read ({ffmpeg_reason(err)}): pass a video file (MP4, "
                "AVI, ...) or a folder of frame images",
                path=str(path),
                field="--video",
            ) from None
        if self.length < 1:
            raise InputError("the video has no frame", path=str(path), field="--video")

    def _open(self) -> None:
        self.close()
        self._reader = self._imageio.get_reader(self.path, format="FFMPEG")
        self._iterator = iter(self._reader)
        self._next = 0

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = self._iterator = None

    def read(self, indices: list[int]) -> list[np.ndarray]:
        wanted = sorted(set(indices))
        if self._reader is None or wanted[0] < self._next:
            self._open()
        found: dict[int, np.ndarray] = {}
        for t in wanted:
            frame = None
            while self._next <= t:
                frame = next(self._iterator, None)
                if frame is None:
                    raise InputError(
                        f"frame {t} of {self.length} could not be decoded", path=str(self.path)
                    )
                self._next += 1
            found[t] = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
        return [found[t] for t in indices]


class VideoFile:
    """One video from a file or a frame folder: the runner's `FrameSource` (`videos`,
    `read_frames`) and the pictures' frame reader (`frame`)."""

    def __init__(self, path: str | Path, video_id: int = 1):
        path = Path(path)
        if not path.exists():
            raise InputError("no such video file or frame folder", path=str(path), field="--video")
        self.path = path
        self._frames = _FolderFrames(path) if path.is_dir() else _FileFrames(path)
        frames = self._frames
        self.video = VideoClip(int(video_id), path.stem, frames.height, frames.width, frames.length)

    @property
    def parallel_reads(self) -> bool:
        """Whether frames may be read by several threads at once (a folder's images may; a
        video file is decoded forwards by one reader: one input worker reads it in order)."""
        return isinstance(self._frames, _FolderFrames)

    def videos(self) -> list[VideoClip]:
        return [self.video]

    def read_frames(self, video: VideoClip, indices: list[int]) -> np.ndarray:
        """uint8 RGB `[t, H, W, 3]` of the frames at `indices`."""
        if not indices:
            return np.zeros((0, video.height, video.width, 3), dtype=np.uint8)
        return np.stack(self._frames.read(list(indices)), axis=0)

    def frame(self, t: int) -> np.ndarray:
        """Frame t, uint8 RGB `[H, W, 3]`."""
        return self._frames.read([t])[0]

    def close(self) -> None:
        if isinstance(self._frames, _FileFrames):
            self._frames.close()

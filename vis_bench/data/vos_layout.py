"""The VOS folder layout that annotation tools and VOS benchmarks (DAVIS, YouTube-VOS, MOSE,
SA-V, LVOS) store a dataset in: `JPEGImages/<video>/<frame>.jpg` and
`Annotations/<video>/<frame>.png`, one PNG per frame whose pixel values are object indices (0
background, 1..255 the video's objects), plus, in the YouTube-VOS layout, a `meta.json` giving
each object's category: `{"videos": {"<video>": {"objects": {"<index>": {"category": "<name>",
"frames": ["<frame>", ...]}}}}}`.

The PNGs are written with the palette DAVIS and YouTube-VOS ship (each index's colour built
from its bits, index 0 black) and read as indices whatever their palette: palette (P) or
grayscale (L) images, never colour ones (an RGB image's colours are not indices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from vis_bench.data.frames import oriented_size
from vis_bench.errors import InputError

FRAMES_DIR = "JPEGImages"
MASKS_DIR = "Annotations"
META_FILE = "meta.json"
#: image modes whose pixel values are object indices
INDEX_MODES = ("P", "L")
#: objects one palette PNG can hold (index 0 is the background)
MAX_OBJECTS = 255


def palette() -> list[int]:
    """The 256-colour palette of DAVIS and YouTube-VOS annotations, flat [r0, g0, b0, r1, ...]:
    bit 3k (k = 0, 1, 2) of an index sets bit 7 - k of red, bit 3k + 1 of green, bit 3k + 2 of
    blue, so neighbouring indices get far-apart colours."""
    index = np.arange(256)
    colours = np.zeros((256, 3), dtype=np.int64)
    for k in range(3):
        for channel in range(3):
            colours[:, channel] |= ((index >> (3 * k + channel)) & 1) << (7 - k)
    return colours.ravel().tolist()


def write_index_png(path: Path, indices: np.ndarray) -> None:
    """A uint8 [H, W] array of object indices as a palette PNG."""
    image = Image.fromarray(np.asarray(indices, dtype=np.uint8), mode="P")
    image.putpalette(palette())
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=False)


def read_index_png(path: Path, size: tuple[int, int], where: str) -> np.ndarray:
    """A mask PNG's object indices, uint8 [H, W]; `size` is the frame's (width, height).

    Errors name the file, the video and frame (`where`), the field and the fix."""
    try:
        with Image.open(path) as image:
            if image.mode not in INDEX_MODES:
                raise InputError(
                    f"{where}: a {image.mode} image; masks must be palette (P) or grayscale (L) "
                    "PNGs whose values are object indices (0 background); save the "
                    "annotation tool's index masks, not coloured renderings",
                    path=str(path),
                    field="mode",
                )
            if image.size != size:
                raise InputError(
                    f"{where}: the mask is {image.size[0]}x{image.size[1]} but its frame is "
                    f"{size[0]}x{size[1]} (width x height); masks must have their frame's size",
                    path=str(path),
                    field="size",
                )
            return np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{where}: cannot read the mask: {err}", path=str(path)) from None


def frame_size(path: Path, where: str) -> tuple[int, int]:
    """A frame image's (width, height) as it is shown (after its EXIF orientation), read from
    its header."""
    try:
        with Image.open(path) as image:
            return oriented_size(image)[0]
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{where}: cannot read the frame: {err}", path=str(path)) from None


def video_name(file_names: list[str] | tuple[str, ...], video_id: int) -> str:
    """The folder a YouTube-VIS video's frames are in (its id when they are in none)."""
    folders = {str(Path(name).parent) for name in file_names}
    if len(folders) == 1 and (folder := folders.pop()) not in ("", "."):
        return folder.replace("/", "_")
    return str(video_id)


def frame_stem(file_name: str) -> str:
    """A frame's name without folder and extension: its mask is `<stem>.png`."""
    return Path(file_name).stem


def read_meta(root: Path) -> dict[str, dict[str, Any]] | None:
    """meta.json's videos (name -> {"objects": {index: {"category": name, ...}}}), checked; None
    without a meta.json (one category for every object)."""
    path = root / META_FILE
    if not path.is_file():
        return None
    from vis_bench.jsonio import read_json

    data = read_json(path, "VOS meta.json")
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise InputError(
            'needs {"videos": {"<video>": {"objects": {...}}}} (the YouTube-VOS layout)',
            path=str(path),
            field="videos",
        )
    for name, video in videos.items():
        objects = video.get("objects") if isinstance(video, dict) else None
        if not isinstance(objects, dict):
            raise InputError(
                "each video needs an 'objects' mapping", path=str(path), field=f"videos.{name}"
            )
        for index, entry in objects.items():
            field = f"videos.{name}.objects.{index}"
            if not str(index).isdigit() or not 1 <= int(index) <= MAX_OBJECTS:
                raise InputError(
                    f"object keys are mask indices 1..{MAX_OBJECTS}", path=str(path), field=field
                )
            if not isinstance(entry, dict) or not isinstance(entry.get("category"), str):
                raise InputError(
                    "each object needs a 'category' name", path=str(path), field=f"{field}.category"
                )
    return videos

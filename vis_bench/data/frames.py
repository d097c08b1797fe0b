"""Reading frames: existence checks up front, size checks when a frame is actually read.

Frames come back as uint8 RGB numpy arrays [H, W, 3] (channels last, Pillow's layout); a clip
stacks them to [T, H, W, 3]. `to_tensor_clip` gives the [T, 3, H, W] layout models consume.
Decoding is deferred to the moment a frame is asked for: checking that files exist is cheap,
decoding every image of a 3,000-video set to validate it is not.

Any image Pillow opens is a frame, whatever its mode: 16-bit greyscale is scaled to 8 bits (not
clamped, which turns it white), a palette is looked up, CMYK and YCbCr converted, an alpha channel
dropped (the colours as stored), 1-bit and float images mapped to 0..255; a mode with no faithful
conversion is refused naming the file. A frame's EXIF orientation is applied, as every viewer and
annotation tool shows it (a phone's portrait video is stored sideways), and counted
(`oriented_frames`) so the record can say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from vis_bench.errors import InputError

if TYPE_CHECKING:
    import torch


def find_missing(paths: Iterable[Path]) -> list[Path]:
    """The paths that are not existing files, in order."""
    return [p for p in paths if not p.is_file()]


def read_frame(
    path: Path, height: int, width: int, *, field: str | None = None, size_from: str | None = None
) -> np.ndarray:
    """Decode one frame to uint8 RGB [H, W, 3], failing if its size is not the declared one.

    The size (after the EXIF orientation) is read from the image header before decoding, so a
    wrong-size frame costs nothing. `size_from` names where the expected size comes from when
    it is not a dataset's video record (e.g. a folder's first frame).
    """
    try:
        with Image.open(path) as image:
            size, turned = oriented_size(image)
            if size != (width, height):
                given = f"image is {size[0]}x{size[1]} (width x height{turned})"
                raise InputError(
                    f"{given} but the video record says {width}x{height}; fix the record's "
                    "width/height or the frame"
                    if size_from is None
                    else f"{given} but {size_from} is {width}x{height}: a video's frames all "
                    "have one size; resize the frames to one size",
                    path=str(path),
                    field=field,
                )
            if getattr(image, "n_frames", 1) > 1:
                raise InputError(
                    f"the file holds {image.n_frames} images (an animation or a multi-page "
                    "file); a frame is one image: write each frame to its own file",
                    path=str(path),
                    field=field,
                )
            rgb = to_rgb8(image, path, field)
            if turned:
                _ORIENTED[0] += 1
                rgb = np.ascontiguousarray(_orient(rgb, _orientation(image)))
            return rgb
    except FileNotFoundError:
        raise InputError("frame file not found", path=str(path), field=field) from None
    except (UnidentifiedImageError, OSError) as err:
        if _is_empty(path):  # a copy or extraction that stopped before writing anything
            raise InputError(
                "the frame file is empty (0 bytes): extract or copy the frame again",
                path=str(path),
                field=field,
            ) from None
        raise InputError(f"cannot decode image: {err}", path=str(path), field=field) from None


def _is_empty(path: Path) -> bool:
    try:
        return Path(path).stat().st_size == 0
    except OSError:
        return False


#: frames this process decoded with an EXIF orientation applied (a one-item list: mutable)
_ORIENTED = [0]


def oriented_frames() -> int:
    """How many frames this process has turned upright by their EXIF orientation."""
    return _ORIENTED[0]


#: the EXIF Orientation tag, and its values that swap width and height (a quarter turn)
_ORIENTATION_TAG = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block: the pixels as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(image: Image.Image) -> tuple[tuple[int, int], str]:
    """(width, height) as the frame is shown (after its EXIF orientation), and words saying it
    was turned ("" when it is stored upright)."""
    orientation = _orientation(image)
    width, height = image.size
    if orientation in _QUARTER_TURNS:
        return (height, width), f", after its EXIF orientation {orientation}"
    return (width, height), f", after its EXIF orientation {orientation}" if orientation > 1 else ""


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """[H, W, 3] as EXIF orientation 2..8 says to show it (PIL.ImageOps.exif_transpose's
    transposes, on the array)."""
    turns = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    return turns[orientation](rgb) if orientation in turns else rgb


#: modes whose 8-bit RGB is Pillow's own conversion (alpha dropped: the colours as stored)
_PILLOW_TO_RGB = ("RGB", "RGBA", "RGBX", "RGBa", "L", "LA", "P", "PA", "CMYK", "YCbCr", "1")


def to_rgb8(image: Image.Image, path: Path | str, field: str | None = None) -> np.ndarray:
    """Any Pillow image as uint8 RGB [H, W, 3], or an InputError naming the file."""
    mode = image.mode
    if mode in _PILLOW_TO_RGB:
        if mode in ("P", "PA"):  # the palette's colours (its transparency is no colour)
            image = image.convert("RGBA")
        elif mode == "LA":
            image = image.getchannel("L")
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.int64)
        top = _integer_range(image, values, path, field)
        grey = (values * 255 + top // 2) // top
        return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(values).all()
        if not finite or values.min(initial=0.0) < 0.0 or values.max(initial=0.0) > 1.0:
            raise InputError(
                "a floating-point image whose values are not all in 0..1; save the frame as "
                "an 8- or 16-bit image",
                path=str(path),
                field=field,
            )
        grey = np.rint(values * 255.0).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    raise InputError(
        f"a {mode} image, which has no faithful 8-bit RGB; save the frame as RGB or greyscale "
        "(JPEG or PNG)",
        path=str(path),
        field=field,
    )


def _integer_range(
    image: Image.Image, values: np.ndarray, path: Path | str, field: str | None
) -> int:
    """The top of an integer image's range: 65535 for 16-bit data (Pillow's I;16 modes, and
    the 32-bit I mode it gives 16-bit PNGs and TIFFs), 2^bits - 1 for a TIFF that declares fewer
    bits per sample (8, or a 10- or 12-bit camera's); values beyond 16 bits (or negative) are
    refused."""
    bits = None
    tags = getattr(image, "tag_v2", None)
    if tags is not None:
        sample = tags.get(258)  # BitsPerSample
        bits = sample[0] if isinstance(sample, tuple) else sample
    if isinstance(bits, int) and 8 <= bits < 16 and (not values.size or values.max() < 2**bits):
        return 2**bits - 1
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise InputError(
            f"a {image.mode} image with values beyond 16 bits ({values.min()}..{values.max()}); "
            "save the frame as an 8- or 16-bit image",
            path=str(path),
            field=field,
        )
    return 65535


def stack_frames(frames: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """[H, W, 3] frames -> one uint8 array [T, H, W, 3] (T may be 0)."""
    if not frames:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    return np.stack(frames, axis=0)


def to_tensor_clip(clip: np.ndarray) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> uint8 torch tensor [T, 3, H, W] (contiguous, no scaling)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(clip.transpose(0, 3, 1, 2)))


def natural_key(name: str) -> list[Any]:
    """Sort key that orders `frame2` before `frame10` (digit runs compared as numbers), as the
    frame folders `predict` reads are ordered; zero-padded names sort as plain text does."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def image_suffixes() -> frozenset[str]:
    """The file suffixes of every image format Pillow opens (.jpg, .png, .tif, .bmp, .webp...)."""
    Image.init()
    return frozenset(s for s, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def frame_files(folder: Path, field: str | None = None) -> list[Path]:
    """Every frame image of a video's folder, in natural order of the names (`f2` before `f10`).

    A folder is one video's frames: a file in it that is no image Pillow opens (a .txt, an
    .mp4) is an error naming it, never left out unsaid, and so is a sub-folder beside the
    frames; hidden files and folders (`.DS_Store`) are skipped.
    """
    suffixes = image_suffixes()
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    others = sorted(p.name for p in files if p.suffix.lower() not in suffixes)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise InputError(
            f"{len(others)} file(s) here are not frame images: {shown}; a frame folder holds one "
            "video's frames only (any image format Pillow reads: .jpg, .png, .tif, .bmp, "
            ".webp, ...): move the other files out",
            path=str(folder),
            field=field,
        )
    folders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if files and folders:  # frames beside a sub-folder: its images would be left out unsaid
        shown = ", ".join(folders[:5]) + (
            f" and {len(folders) - 5} more" if len(folders) > 5 else ""
        )
        raise InputError(
            f"{len(folders)} sub-folder(s) beside the frames: {shown}; a frame folder holds one "
            "video's frames only, and its sub-folders are not read: move them out (or give "
            "the sub-folder that holds the frames)",
            path=str(folder),
            field=field,
        )
    return sorted((p for p in files), key=lambda p: natural_key(p.name))

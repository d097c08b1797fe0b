"""Writing pictures: an animation (GIF with Pillow, MP4 with imageio's ffmpeg), a PNG, a JPEG.

Every file is written whole or not at all (a temporary file renamed into place), so an error
half-way leaves no truncated picture behind. MP4 needs the ffmpeg binary that the
`imageio-ffmpeg` package ships (`pip install 'vis-bench[video]'`); GIF and PNG need only Pillow.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from vis_bench.atomic import atomic_file, write_atomic
from vis_bench.errors import InputError

#: the animation formats `show --out` writes, by suffix
ANIMATION_SUFFIXES = (".gif", ".mp4")
DEFAULT_FPS = 4.0


def check_animation_path(path: Path, field: str = "--out", instead: str = "write a .gif") -> None:
    """Refuse an output name whose format is not written (or whose writer is not installed),
    before any work is done; `field` and `instead` name the option and the way out."""
    if path.suffix.lower() not in ANIMATION_SUFFIXES:
        raise InputError(
            f"cannot write {path.suffix or 'a file without suffix'}: name the animation "
            f"{' or '.join(ANIMATION_SUFFIXES)}",
            path=str(path),
            field=field,
        )
    if path.suffix.lower() == ".mp4":
        _ffmpeg(field, instead)


def _ffmpeg(field: str = "--out", instead: str = "write a .gif"):
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError(
            f"MP4 needs the imageio-ffmpeg package: pip install 'vis-bench[video]' (or {instead})",
            field=field,
        ) from None
    return imageio_ffmpeg


def gif_bytes(frames: list[np.ndarray], fps: float = DEFAULT_FPS) -> bytes:
    """An endlessly looping GIF of `frames` (uint8 RGB, all the same size)."""
    images = [
        Image.fromarray(f).quantize(colors=255, method=Image.Quantize.FASTOCTREE) for f in frames
    ]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        disposal=1,
    )
    return buffer.getvalue()


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad to even height and width (H.264's 4:2:0 needs them)."""
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def write_mp4(path: Path, frames: list[np.ndarray], fps: float = DEFAULT_FPS) -> None:
    """An H.264 MP4 (yuv420p: plays in browsers and players) through imageio's ffmpeg."""
    import imageio.v2 as imageio

    _ffmpeg()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        partial = Path(tmp) / "video.mp4"
        writer = imageio.get_writer(
            partial,
            format="FFMPEG",
            fps=fps,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            # a fast preset at constant quality: drawn masks and text stay sharp, encoding a
            # 720p grid takes seconds instead of most of a minute
            ffmpeg_params=["-preset", "veryfast", "-crf", "23"],
            ffmpeg_log_level="error",
        )
        try:
            for frame in frames:
                writer.append_data(_even(frame))
        finally:
            writer.close()
        partial.replace(path)


def write_animation(path: Path, frames: list[np.ndarray], fps: float = DEFAULT_FPS) -> None:
    """GIF or MP4, by the suffix of `path`."""
    path = Path(path)
    check_animation_path(path)
    if path.suffix.lower() == ".mp4":
        write_mp4(path, frames, fps)
    else:
        write_atomic(path, gif_bytes(frames, fps))


def write_png(path: Path, image: np.ndarray) -> None:
    """A PNG of one uint8 RGB image."""
    with atomic_file(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG", compress_level=3)


def jpeg_bytes(image: np.ndarray, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    """`data:<mime>;base64,...`: an image inside an HTML page, no file beside it."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

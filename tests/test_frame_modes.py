"""Frames of every kind a user's files come in reach the model as the pixels a viewer shows, or
are refused naming the file: 16-bit images scaled (not clamped to white), palettes looked up,
CMYK converted, alpha dropped, EXIF orientation applied (and counted), and a folder's frames all
the images in it, whatever their format, with any other file named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from vis_bench.data.frames import oriented_frames, read_frame
from vis_bench.errors import InputError
from vis_bench.inference.video_file import VideoFile

H, W = 6, 8


def _gradient16() -> np.ndarray:
    return np.linspace(0, 65535, H * W).round().astype(np.uint16).reshape(H, W)


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def test_a_16_bit_png_is_scaled_to_8_bits_not_clamped_to_white(tmp_path):
    values = _gradient16()
    path = _save(Image.fromarray(values), tmp_path / "f.png")
    with Image.open(path) as image:
        assert image.mode.startswith("I")  # what Pillow opens: 16-bit, whose convert clamps
    frame = read_frame(path, H, W)
    expected = np.rint(values / 257.0).astype(np.uint8)
    assert frame.dtype == np.uint8 and frame.shape == (H, W, 3)
    assert np.abs(frame[..., 0].astype(int) - expected).max() <= 1
    assert (frame[..., 0] == frame[..., 1]).all() and (frame[..., 1] == frame[..., 2]).all()
    assert frame.min() == 0 and frame.max() == 255 and 100 < np.median(frame) < 155


def test_a_32_bit_integer_image_of_16_bit_values_is_scaled(tmp_path):
    values = _gradient16().astype(np.int32)
    path = _save(Image.fromarray(values, mode="I"), tmp_path / "f.tif")
    frame = read_frame(path, H, W)
    assert np.abs(frame[..., 0].astype(int) - np.rint(values / 257.0)).max() <= 1


def _rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_palette_alpha_greyscale_and_one_bit_frames_give_their_colours(tmp_path):
    rgb = _rgb()
    palette = Image.fromarray(rgb).quantize(colors=16)
    palette.info["transparency"] = 0
    cases = {
        "p.png": (palette, np.asarray(palette.convert("RGB"))),
        "rgba.png": (
            Image.fromarray(np.dstack([rgb, np.full((H, W), 7, np.uint8)]), "RGBA"),
            rgb,
        ),
        "la.png": (
            Image.fromarray(np.dstack([rgb[..., 0], rgb[..., 1]]), "LA"),
            np.repeat(rgb[..., :1], 3, axis=2),
        ),
        "l.png": (Image.fromarray(rgb[..., 0]), np.repeat(rgb[..., :1], 3, axis=2)),
        "one.png": (
            Image.fromarray(rgb[..., 0] > 127).convert("1"),
            np.repeat(np.where(rgb[..., :1] > 127, 255, 0), 3, axis=2),
        ),
    }
    for name, (image, expected) in cases.items():
        path = _save(image, tmp_path / name)
        assert (read_frame(path, H, W) == expected).all(), name


def test_a_cmyk_frame_is_converted(tmp_path):
    image = Image.fromarray(_rgb()).convert("CMYK")
    path = _save(image, tmp_path / "f.tif")
    expected = np.asarray(image.convert("RGB"))
    assert (read_frame(path, H, W) == expected).all()


def test_a_float_frame_in_0_1_is_scaled_and_other_floats_are_refused(tmp_path):
    values = np.linspace(0, 1, H * W, dtype=np.float32).reshape(H, W)
    path = _save(Image.fromarray(values, mode="F"), tmp_path / "f.tif")
    assert (read_frame(path, H, W)[..., 0] == np.rint(values * 255)).all()
    bad = _save(Image.fromarray(values * 1000, mode="F"), tmp_path / "g.tif")
    with pytest.raises(InputError) as err:
        read_frame(bad, H, W, field="file_names[0]")
    assert str(bad) in str(err.value) and "file_names[0]" in str(err.value)


def test_an_animation_is_not_taken_for_one_frame(tmp_path):
    frames = [Image.fromarray(_rgb()), Image.fromarray(255 - _rgb())]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(InputError, match="2 images"):
        read_frame(path, H, W)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_viewers_show_it(tmp_path, orientation):
    image = Image.fromarray(_rgb())
    exif = image.getexif()
    exif[0x0112] = orientation
    path = _save(image, tmp_path / "f.png", exif=exif)
    with Image.open(path) as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    height, width = expected.shape[:2]
    before = oriented_frames()
    assert (read_frame(path, height, width) == expected).all()
    assert oriented_frames() - before == (orientation > 1)
    if orientation in (5, 6, 7, 8):  # the size as shown is the one checked
        with pytest.raises(InputError, match="EXIF orientation"):
            read_frame(path, H, W)


def test_a_turned_phone_video_folder_reads_upright(tmp_path):
    folder = tmp_path / "video"
    folder.mkdir()
    for t in range(3):
        image = Image.fromarray(_rgb())
        exif = image.getexif()
        exif[0x0112] = 6  # stored sideways, shown rotated 90 degrees clockwise
        _save(image, folder / f"{t}.jpg", exif=exif)
    video = VideoFile(folder)
    assert (video.video.height, video.video.width) == (W, H)
    assert video.read_frames(video.video, [0, 2]).shape == (2, W, H, 3)


def test_a_folder_of_tif_frames_runs_every_frame(tmp_path):
    folder = tmp_path / "video"
    folder.mkdir()
    for t in range(18):
        suffix = ".tif" if t == 17 else (".tiff" if t % 2 else ".png")
        _save(Image.fromarray(_rgb()), folder / f"frame{t}{suffix}")
    (folder / ".DS_Store").write_bytes(b"\0")
    video = VideoFile(folder)
    assert video.video.length == 18
    assert video.read_frames(video.video, list(range(18))).shape == (18, H, W, 3)


def test_a_folder_holding_other_files_names_them(tmp_path):
    folder = tmp_path / "video"
    folder.mkdir()
    for t in range(2):
        _save(Image.fromarray(_rgb()), folder / f"{t}.webp")
    (folder / "notes.txt").write_text("shot on a phone")
    with pytest.raises(InputError) as err:
        VideoFile(folder)
    assert "notes.txt" in str(err.value) and str(folder) in str(err.value)


def test_a_dataset_reads_16_bit_frames_as_they_are(tmp_path):
    import json

    from vis_bench.data.dataset import load_dataset

    frames = tmp_path / "frames" / "v"
    frames.mkdir(parents=True)
    values = _gradient16()
    for t in range(2):
        _save(Image.fromarray(values), frames / f"{t}.png")
    gt = {
        "videos": [
            {"id": 1, "width": W, "height": H, "length": 2, "file_names": ["v/0.png", "v/1.png"]}
        ],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [],
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    clip = load_dataset(tmp_path / "gt.json", tmp_path / "frames").frames(1)
    assert clip.shape == (2, H, W, 3) and clip.max() == 255 and clip.min() == 0
    assert np.abs(clip[0, ..., 0].astype(int) - np.rint(values / 257.0)).max() <= 1


def test_a_mode_with_no_faithful_rgb_is_refused_naming_the_file(tmp_path):
    from vis_bench.data.frames import to_rgb8

    with pytest.raises(InputError) as err:
        to_rgb8(Image.new("LAB", (W, H)), tmp_path / "lab.tif", "file_names[3]")
    assert "lab.tif" in str(err.value) and "LAB" in str(err.value)


def test_a_12_bit_tiff_is_scaled_by_its_declared_bits(tmp_path):
    from vis_bench.data.frames import to_rgb8

    values = np.linspace(0, 4095, H * W).round().astype(np.uint16).reshape(H, W)
    image = Image.fromarray(values)
    image.tag_v2 = {258: (12,)}  # BitsPerSample, as a 12-bit camera's TIFF declares it
    frame = to_rgb8(image, tmp_path / "f.tif")
    assert frame.max() == 255 and np.abs(frame[..., 0] - np.rint(values / 4095 * 255)).max() <= 1

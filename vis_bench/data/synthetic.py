"""Deterministic synthetic dataset in the YouTube-VIS layout, for tests, CI and small training runs.

Each video shows 1-4 textured shapes moving over a textured, slowly panning, noisy background.
A category is a (shape, texture) pair chosen so that neither cue alone identifies it (see
`categories.SYNTHETIC`); colours are random per instance so they carry no label information.
Objects move smoothly (velocity plus slight acceleration), spin, grow or shrink, occlude each
other by depth order, and enter or leave the frame. Masks are the *visible* pixels only; a frame
where an instance is not visible (outside the frame or fully hidden) is `null`, as in the real
files. Output: `<out>/JPEGImages/<video>/00000.jpg ...` and one `<split>.json` per split.
With `occlusion` set, objects also pass in front of each other on purpose and every track gets
OVIS's per-frame occlusion labels (synthetic_occlusion.py). With `long_video` objects follow
waypoint paths that leave the frame and come back, for videos of hundreds of frames
(synthetic_long.py). With `novel_categories` N the categories carry LV-VIS's `partition`, the
last N novel, so `eval` scores the split with the LV-VIS metric (base and novel numbers).

Same spec and seed give byte-identical JSON and JPEG files (for one numpy/Pillow install): every
video draws from its own generator seeded by (seed, video index), and files carry no timestamps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vis_bench.atomic import atomic_directory
from vis_bench.data.raster import (
    MAX_EXTENT,
    ObjectLook,
    draw_appearance,
    draw_category,
    local_coords,
    shape_mask,
    smooth_noise,
    texture_mask,
)
from vis_bench.data.synthetic_long import plan_long_track
from vis_bench.data.synthetic_occlusion import add_crossings, crossing_rng, occlusion_label
from vis_bench.data.track_fields import frame_fields
from vis_bench.errors import InputError
from vis_bench.formats.categories import SYNTHETIC

# Bump when the generator's output changes for the same spec, so cached datasets are rebuilt.
GENERATOR_VERSION = 1
DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((128, 192), (144, 176), (120, 160))
SPEC_FILE = "spec.json"
FRAME_DIR = "JPEGImages"

# (shape, texture) of category id i + 1, in the order of `SYNTHETIC.names`.
CATEGORY_LOOKS: tuple[tuple[str, str], ...] = (
    ("disc", "stripes"),
    ("disc", "dots"),
    ("box", "checker"),
    ("box", "stripes"),
    ("triangle", "solid"),
    ("star", "dots"),
    ("ring", "checker"),
    ("cross", "solid"),
)

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines the generated files; its digest keys the dataset cache."""

    splits: tuple[tuple[str, int], ...] = (("annotations", 30),)
    seed: int = 0
    min_frames: int = 8
    max_frames: int = 20
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES
    min_objects: int = 1
    max_objects: int = 4
    # Share of tracks that enter (half) or leave (half) the frame during the video; the rest stay
    # in view throughout. A frame where a track is out of view is `null` in the annotations.
    enter_leave: float = 0.6
    # OVIS-style occlusion: None writes no occlusion labels (the YouTube-VIS layout); a share in
    # 0..1 writes per-frame labels and makes about that share of the tracks pass behind another
    # object (synthetic_occlusion.py). Left out of the digest when None, so earlier specs keep
    # their files.
    occlusion: float | None = None
    jpeg_quality: int = 90
    # Long videos: objects enter, leave and re-enter along waypoint paths (synthetic_long.py).
    # Left out of the digest when False, so earlier specs keep their files.
    long_video: bool = False
    # LV-VIS layout: None writes no `partition`; N marks the last N categories novel (partition
    # 2) and the others base (0). Left out of the digest when None, so earlier specs keep files.
    novel_categories: int | None = None

    def __post_init__(self) -> None:
        def bad(message: str, name: str) -> InputError:
            return InputError(message, field=name)

        # Normalise lists and "HxW" strings so equal specs compare (and hash) equal.
        object.__setattr__(self, "sizes", tuple(parse_size(s) for s in self.sizes))
        object.__setattr__(self, "splits", tuple((str(n), int(c)) for n, c in self.splits))
        if not self.splits:
            raise bad("give at least one split", "splits")
        names = [name for name, _ in self.splits]
        for name, count in self.splits:
            if not _SPLIT_NAME.match(name) or name == Path(SPEC_FILE).stem:
                raise bad(
                    f"split name {name!r} must be letters, digits, '_', '-' or '.' (and not "
                    f"{Path(SPEC_FILE).stem!r})",
                    "split",
                )
            if count < 1:
                raise bad(f"split {name!r} needs at least 1 video, got {count}", "videos")
        if len(set(names)) != len(names):
            raise bad(f"split names must be distinct, got {names}", "split")
        if self.min_frames < 1 or self.max_frames < self.min_frames:
            raise bad(
                f"need 1 <= min_frames <= max_frames, got {self.min_frames}, {self.max_frames}",
                "min_frames",
            )
        if not self.sizes or any(h < 16 or w < 16 for h, w in self.sizes):
            raise bad(f"frame sizes must be at least 16x16, got {list(self.sizes)}", "sizes")
        if self.min_objects < 1 or self.max_objects < self.min_objects:
            raise bad(
                f"need 1 <= min_objects <= max_objects, got {self.min_objects}, {self.max_objects}",
                "min_objects",
            )
        if not 0.0 <= self.enter_leave <= 1.0:
            raise bad(f"must be a share in 0..1, got {self.enter_leave}", "enter_leave")
        if self.occlusion is not None and not 0.0 <= self.occlusion <= 1.0:
            raise bad(f"must be a share in 0..1 or null, got {self.occlusion}", "occlusion")
        if not 1 <= self.jpeg_quality <= 100:
            raise bad(f"must be in 1..100, got {self.jpeg_quality}", "jpeg_quality")
        if self.long_video and self.occlusion is not None:
            raise bad("long_video does not combine with occlusion; set one of them", "long_video")
        k = len(SYNTHETIC.names)
        if self.novel_categories is not None and not 0 <= self.novel_categories <= k:
            raise bad(f"must be in 0..{k} or null, got {self.novel_categories}", "novel_categories")

    @property
    def total_videos(self) -> int:
        return sum(count for _, count in self.splits)

    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.splits)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["splits"] = {name: count for name, count in self.splits}
        data["sizes"] = [list(s) for s in self.sizes]
        if self.occlusion is None:
            del data["occlusion"]
        if not self.long_video:
            del data["long_video"]
        if self.novel_categories is None:
            del data["novel_categories"]
        return data

    def digest(self) -> str:
        """sha256 of the spec and the generator version: equal digests mean equal files."""
        payload = {"generator_version": GENERATOR_VERSION, **self.to_dict()}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SyntheticSpec:
        """Build from config-style data: `videos` + optional `split`, or `splits: {name: n}`.

        `sizes` entries may be `[h, w]` pairs or `"HxW"` strings.
        """
        data = dict(data)
        known = {f for f in cls.__dataclass_fields__} | {"videos", "split"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown keys {unknown}; known: {sorted(known)}", field="synthetic")
        splits = data.pop("splits", None)
        videos = data.pop("videos", None)
        split = data.pop("split", "annotations")
        if splits is None:
            splits = {split: 30 if videos is None else int(videos)}
        elif videos is not None:
            raise InputError("give either `videos` or `splits`, not both", field="synthetic")
        data["splits"] = tuple(dict(splits).items())
        return cls(**data)


def synthetic_spec(
    *, videos: int = 30, seed: int = 0, split: str = "annotations", **options: Any
) -> SyntheticSpec:
    """Keyword form of `SyntheticSpec` for one split (what configs and `generate_dataset` use)."""
    return SyntheticSpec(splits=((split, videos),), seed=seed, **options)


def parse_size(value: str | Sequence[int]) -> tuple[int, int]:
    """`"128x192"` or `[128, 192]` -> (height, width)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
        if not match:
            raise InputError(
                f"size {value!r} must look like HEIGHTxWIDTH, e.g. 128x192", field="sizes"
            )
        return int(match.group(1)), int(match.group(2))
    h, w = value
    return int(h), int(w)


# -- public entry points ----------------------------------------------------------------------


def generate_dataset(
    out_dir: str | Path,
    *,
    videos: int = 30,
    seed: int = 0,
    split: str = "annotations",
    splits: Mapping[str, int] | None = None,
    min_frames: int = 8,
    max_frames: int = 20,
    sizes: Sequence[tuple[int, int] | str] = DEFAULT_SIZES,
    min_objects: int = 1,
    max_objects: int = 4,
    enter_leave: float = 0.6,
    occlusion: float | None = None,
    long_video: bool = False,
    novel_categories: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic dataset to `out_dir` (atomically) and return its path.

    With `splits` (e.g. `{"train": 24, "valid": 8}`) one JSON per split is written, over disjoint
    videos sharing `JPEGImages/`; otherwise `<split>.json` holds `videos` videos.
    """
    spec = SyntheticSpec(
        splits=tuple(splits.items()) if splits else ((split, videos),),
        seed=seed,
        min_frames=min_frames,
        max_frames=max_frames,
        sizes=tuple(sizes),
        min_objects=min_objects,
        max_objects=max_objects,
        enter_leave=enter_leave,
        occlusion=occlusion,
        long_video=long_video,
        novel_categories=novel_categories,
    )
    return generate_from_spec(out_dir, spec, overwrite=overwrite)


def generate_from_spec(
    out_dir: str | Path, spec: SyntheticSpec, *, overwrite: bool = False
) -> Path:
    """Write the dataset described by `spec` to `out_dir` (atomically) and return its path."""
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        _write_dataset(tmp, spec)
    return out_dir


def ensure_synthetic_dataset(
    cache_dir: str | Path, spec: SyntheticSpec | Mapping[str, Any] | None = None
) -> Path:
    """Return a cached dataset for `spec`, generating it on first use.

    The folder is `<cache_dir>/synthetic-<digest>`, so a changed spec or generator version gets a
    new folder and a stale one is never reused. Concurrent first uses are safe: each process
    writes its own temporary folder and the first rename wins.
    """
    if spec is None:
        spec = SyntheticSpec()
    elif not isinstance(spec, SyntheticSpec):
        spec = SyntheticSpec.from_mapping(spec)
    target = Path(cache_dir) / f"synthetic-{spec.digest()[:16]}"
    if (target / SPEC_FILE).is_file():
        return target
    # A folder without the spec file (written last) is not one of ours in a usable state.
    stale = target.exists()
    try:
        generate_from_spec(target, spec, overwrite=stale)
    except (FileExistsError, InputError):
        if not (target / SPEC_FILE).is_file():
            raise
    return target


def split_paths(root: str | Path, split: str = "annotations") -> tuple[Path, Path]:
    """(annotation file, frame root) of one split of a generated dataset."""
    root = Path(root)
    return root / f"{split}.json", root / FRAME_DIR


# -- generation -------------------------------------------------------------------------------


@dataclass
class _Track(ObjectLook):
    """One object's appearance and motion; `pose(t)` gives where it is in frame t."""

    start: np.ndarray  # [2] (y, x) centre at t = 0
    velocity: np.ndarray  # [2] px / frame
    accel: np.ndarray  # [2] px / frame^2
    scale: float  # radius in px at t = 0
    growth: float  # log-scale change per frame
    angle: float
    spin: float  # rad / frame

    def pose(self, t: int) -> tuple[float, float, float, float]:
        cy, cx = self.start + self.velocity * t + 0.5 * self.accel * t * t
        return (
            float(cy),
            float(cx),
            self.scale * float(np.exp(self.growth * t)),
            self.angle + self.spin * t,
        )


@dataclass
class _VideoPlan:
    height: int
    width: int
    length: int
    tracks: list[Any]  # back to front: _Track, or synthetic_long.WaypointTrack
    background: np.ndarray  # float32 [H + 2m, W + 2m, 3]
    pan_start: np.ndarray  # [2] offset of the crop at t = 0
    pan_velocity: np.ndarray
    noise_sigma: float
    gains: np.ndarray  # [T] global brightness flicker
    margin: int = 16


def _write_dataset(root: Path, spec: SyntheticSpec) -> None:
    frame_root = root / FRAME_DIR
    frame_root.mkdir()
    index = 0  # global over splits, so splits hold disjoint videos with unique ids
    ann_id = 1
    for split, count in spec.splits:
        videos: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for _ in range(count):
            video, tracks = _write_video(frame_root, spec, index)
            videos.append(video)
            for track in tracks:
                annotations.append({"id": ann_id, "video_id": video["id"], **track})
                ann_id += 1
            index += 1
        document = {
            "info": _info(spec, split),
            "licenses": [{"id": 1, "name": "synthetic (generated by vis-bench)", "url": ""}],
            "videos": videos,
            "categories": _categories(spec),
            "annotations": annotations,
        }
        (root / f"{split}.json").write_text(json.dumps(document, separators=(",", ":")))
    meta = {"generator_version": GENERATOR_VERSION, "digest": spec.digest(), "spec": spec.to_dict()}
    (root / SPEC_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def _write_video(
    frame_root: Path, spec: SyntheticSpec, index: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Render video number `index` to JPEGs; return its `videos` entry and its tracks' fields.

    Masks are RLE-encoded frame by frame, so memory stays small even for 720p stress videos.
    """
    video_id = index + 1
    name = f"synth_{video_id:05d}"
    rng = np.random.default_rng([spec.seed, index])
    plan = _plan_video(rng, spec)
    labelled = spec.occlusion is not None
    if labelled:
        plan.tracks = add_crossings(
            plan.tracks, plan.length, spec.occlusion, CATEGORY_LOOKS, crossing_rng(spec.seed, index)
        )
    (frame_root / name).mkdir()
    file_names = [f"{name}/{t:05d}.jpg" for t in range(plan.length)]
    keys = ("segmentations", "areas", "bboxes") + (("occlusion",) if labelled else ())
    fields = [{key: [] for key in keys} for _ in plan.tracks]
    for t, (image, visible, full) in enumerate(_render(plan, rng)):
        _save_jpeg(image, frame_root / file_names[t], spec.jpeg_quality)
        for track_fields, mask, whole in zip(fields, visible, full, strict=True):
            segmentation, area, box = frame_fields(mask)
            track_fields["segmentations"].append(segmentation)
            track_fields["areas"].append(area)
            track_fields["bboxes"].append(box)
            if labelled:
                track_fields["occlusion"].append(occlusion_label(whole, mask))
    video = {
        "id": video_id,
        "width": plan.width,
        "height": plan.height,
        "length": plan.length,
        "file_names": file_names,
    }
    tracks = []
    for track, track_fields in zip(plan.tracks, fields, strict=True):
        if all(seg is None for seg in track_fields["segmentations"]):
            continue  # never visible: no instance to annotate
        tracks.append(
            {
                "category_id": track.category_id,
                "iscrowd": 0,
                **track_fields,
                "height": plan.height,
                "width": plan.width,
                "length": 1,
            }
        )
    return video, tracks


def _categories(spec: SyntheticSpec) -> list[dict[str, Any]]:
    """The `categories` list; in the LV-VIS layout each with its `partition` (module doc)."""
    categories = SYNTHETIC.as_json()
    if spec.novel_categories is not None:
        first_novel = len(categories) - spec.novel_categories
        for i, category in enumerate(categories):
            category["partition"] = 2 if i >= first_novel else 0
    return categories


def _info(spec: SyntheticSpec, split: str) -> dict[str, Any]:
    return {
        "description": "vis-bench synthetic YouTube-VIS-format dataset",
        "split": split,
        "generator": "vis_bench.data.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": spec.seed,
        "spec_digest": spec.digest(),
    }


def _plan_video(rng: np.random.Generator, spec: SyntheticSpec) -> _VideoPlan:
    height, width = spec.sizes[int(rng.integers(len(spec.sizes)))]
    length = int(rng.integers(spec.min_frames, spec.max_frames + 1))
    n_objects = int(rng.integers(spec.min_objects, spec.max_objects + 1))
    if spec.long_video:
        tracks: list[Any] = [
            plan_long_track(rng, height, width, length, CATEGORY_LOOKS, _colour_pair(rng))
            for _ in range(n_objects)
        ]
    else:
        tracks = [
            _plan_track(rng, height, width, length, spec.enter_leave) for _ in range(n_objects)
        ]
    margin = 16
    bg = smooth_noise(rng, height + 2 * margin, width + 2 * margin, int(rng.integers(3, 7)))
    bg = bg * rng.uniform(0.35, 0.75) + rng.uniform(20, 90)
    if rng.random() < 0.6:
        bg += _background_pattern(rng, bg.shape[0], bg.shape[1])
    return _VideoPlan(
        height=height,
        width=width,
        length=length,
        tracks=tracks,
        background=bg.astype(np.float32),
        pan_start=rng.uniform(0, 2 * margin, size=2),
        pan_velocity=rng.uniform(-0.8, 0.8, size=2),
        noise_sigma=float(rng.uniform(2.0, 7.0)),
        gains=(1 + rng.normal(0, 0.015, size=length)).astype(np.float32),
        margin=margin,
    )


def _background_pattern(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A faint stripe or checker pattern, so texture alone cannot separate object from ground."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = local_coords(ys, xs, 0.0, 0.0, float(rng.uniform(5, 14)), float(rng.uniform(0, np.pi)))
    texture = "stripes" if rng.random() < 0.5 else "checker"
    pattern = texture_mask(texture, u, v, 1.0, float(rng.uniform(0, 1)))
    amplitude = rng.uniform(6, 22, size=3).astype(np.float32)
    return np.where(pattern[..., None], amplitude, -amplitude)


def _plan_track(
    rng: np.random.Generator, height: int, width: int, length: int, enter_leave: float
) -> _Track:
    category_id, shape, texture = draw_category(rng, CATEGORY_LOOKS)
    short = min(height, width)
    scale = float(rng.uniform(0.10, 0.20) * short)
    size = np.array([height, width], dtype=np.float64)
    reach = MAX_EXTENT * scale + 2  # centre this far outside the frame => invisible

    def inner() -> np.ndarray:
        return rng.uniform(0.2, 0.8, size=2) * size

    def outer() -> np.ndarray:
        point = rng.uniform(0.1, 0.9, size=2) * size
        axis = int(rng.integers(2))
        point[axis] = -reach if rng.random() < 0.5 else size[axis] + reach
        return point

    # 0 stays inside, 1 enters, 2 leaves; one draw whatever the shares, so the rest of the video
    # (shapes, colours, paths) is the same for any `enter_leave`.
    mode = rng.choice(3, p=[1.0 - enter_leave, enter_leave / 2, enter_leave / 2])
    span = max(length - 1, 1)
    if mode == 1:
        start, target, fraction = outer(), inner(), rng.uniform(0.3, 0.8)
    elif mode == 2:
        start, target, fraction = inner(), outer(), rng.uniform(0.4, 0.9)
    else:
        start, target, fraction = inner(), inner(), rng.uniform(0.8, 2.0)
    velocity = (target - start) / (fraction * span)
    return _Track(
        category_id=category_id,
        shape=shape,
        texture=texture,
        **draw_appearance(rng, shape),
        colors=_colour_pair(rng),
        start=start,
        velocity=velocity,
        accel=rng.uniform(-1, 1, size=2) * 0.0008 * short,
        scale=scale,
        growth=float(rng.uniform(-0.025, 0.025)),
        angle=float(rng.uniform(0, 2 * np.pi)),
        spin=float(rng.uniform(-0.1, 0.1)),
    )


def _colour_pair(rng: np.random.Generator) -> np.ndarray:
    """Two random colours far enough apart that the texture is visible."""
    base = rng.uniform(20, 235, size=3)
    other = rng.uniform(20, 235, size=3)
    for _ in range(20):
        if np.abs(other - base).sum() > 180:
            break
        other = rng.uniform(20, 235, size=3)
    return np.stack([base, other]).astype(np.float32)


def _render(
    plan: _VideoPlan, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, list[np.ndarray | None], list[np.ndarray | None]]]:
    """Yield (uint8 frame [H, W, 3], visible mask or None per track, full in-frame mask or None
    per track) for each frame."""
    h, w = plan.height, plan.width
    limit = np.array([2 * plan.margin, 2 * plan.margin], dtype=np.float64)
    for t in range(plan.length):
        oy, ox = np.clip(plan.pan_start + plan.pan_velocity * t, 0, limit).astype(int)
        image = plan.background[oy : oy + h, ox : ox + w].copy()
        full: list[np.ndarray | None] = []
        for track in plan.tracks:  # back to front: later tracks paint over earlier ones
            full.append(_paint(image, track, t))
        visible: list[np.ndarray | None] = [None] * len(full)
        covered = np.zeros((h, w), dtype=bool)
        for i in range(len(full) - 1, -1, -1):  # front to back: what is left is visible
            mask = full[i]
            if mask is None:
                continue
            own = mask & ~covered
            covered |= mask
            visible[i] = own if own.any() else None
        image *= plan.gains[t]
        image += rng.standard_normal(image.shape, dtype=np.float32) * plan.noise_sigma
        yield np.clip(image, 0, 255).astype(np.uint8), visible, full


def _paint(image: np.ndarray, track: Any, t: int) -> np.ndarray | None:
    """Draw `track` at frame t into `image` (in place); return its full-frame mask or None."""
    h, w = image.shape[:2]
    cy, cx, scale, angle = track.pose(t)
    reach = MAX_EXTENT * scale
    y0, y1 = max(int(np.floor(cy - reach)), 0), min(int(np.ceil(cy + reach)) + 1, h)
    x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, w)
    if y0 >= y1 or x0 >= x1:
        return None
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u, v = local_coords(ys + 0.5, xs + 0.5, cy, cx, scale, angle)
    inside = shape_mask(track.shape, u, v, track.aspect)
    if not inside.any():
        return None
    pattern = texture_mask(track.texture, u, v, track.period, track.phase)
    colour = np.where(pattern[..., None], track.colors[1], track.colors[0])
    colour *= (1.0 + 0.12 * u)[..., None]  # soft shading across the object
    window = image[y0:y1, x0:x1]
    window[inside] = colour[inside]
    mask = np.zeros((h, w), dtype=bool)
    mask[y0:y1, x0:x1] = inside
    return mask


def _save_jpeg(image: np.ndarray, path: Path, quality: int) -> None:
    # Fixed quality and subsampling, no EXIF: the bytes depend on the pixels only.
    Image.fromarray(image).save(path, format="JPEG", quality=quality, subsampling=0, optimize=False)

"""Hash-pinned held-out splits of a YouTube-VIS/OVIS training set, for server-free evaluation.

A video goes to the held-out part when sha256("<seed>:<its first file name>"), read as a number
in [0, 1), is below the held-out fraction. The decision depends on that video alone, so it does
not change when the file's videos are reordered or other videos are added; two users with the same
annotation file, fraction and seed get byte-identical outputs. The manifest records the sha256 of
the input and of both outputs, so they can confirm they evaluate on the same videos; numbers are
comparable only between runs on the same manifest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError
from vis_bench.formats.ytvis_header import VideoHeader, parse_header

MANIFEST_FORMAT = "vis-bench-split"
MANIFEST_NAME = "split_manifest.json"
PARTS = ("train", "holdout")
RULE = "sha256('<seed>:' + videos[i].file_names[0]) as a fraction of 2**256 < holdout"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def video_fraction(first_file_name: str, seed: int) -> float:
    """Where a video falls in [0, 1): its hash, from its first file name and the seed."""
    digest = hashlib.sha256(f"{seed}:{first_file_name}".encode()).digest()
    return int.from_bytes(digest, "big") / 2**256


def _first_file_name(video: VideoHeader, path: str) -> str:
    names = video.file_names
    if not names or not isinstance(names[0], str):
        raise InputError(
            f"videos[{video.index}] needs a non-empty 'file_names' list: the split is decided by "
            "the first file name",
            path=path,
            field=f"videos[{video.index}].file_names",
        )
    return names[0]


def split_annotations(data: Any, holdout: float, seed: int, path: str = "<annotations>"):
    """(train dict, holdout dict, held-out first file names) from a parsed annotation file.

    Both outputs keep every top-level key of the input (info, licenses, categories, ...) and the
    input's order of videos and annotations.
    """
    if not 0 < holdout < 1:
        raise InputError(f"--holdout must be a fraction between 0 and 1, got {holdout}")
    header = parse_header(data, path, strict=False)
    held: set[Any] = set()
    held_names: list[str] = []
    seen: dict[str, int] = {}
    for video in header.videos:
        i = video.index
        name = _first_file_name(video, path)
        if name in seen:
            raise InputError(
                f"videos[{i}] and videos[{seen[name]}] share the first file name {name!r}",
                path=path,
                field=f"videos[{i}].file_names",
            )
        seen[name] = i
        if video_fraction(name, seed) < holdout:
            held.add(data["videos"][i].get("id"))
            held_names.append(name)
    annotations = data.get("annotations")
    parts = {}
    for part, keep in (("train", False), ("holdout", True)):
        out = {k: v for k, v in data.items() if k not in ("videos", "annotations")}
        out["videos"] = [v for v in data["videos"] if (v.get("id") in held) == keep]
        if isinstance(annotations, list):
            out["annotations"] = [
                a
                for a in annotations
                if (isinstance(a, dict) and a.get("video_id") in held) == keep
            ]
        parts[part] = out
    return parts["train"], parts["holdout"], held_names


def _dump(data: dict) -> bytes:
    """Compact, deterministic JSON (same input, same bytes, so the same sha256)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def write_split(annotations: str | Path, holdout: float, seed: int, out_dir: Path) -> dict:
    """Write train.json, holdout.json and the manifest into `out_dir` (a fresh folder)."""
    from vis_bench.atomic import atomic_directory
    from vis_bench.jsonio import read_json

    annotations = Path(annotations)
    data = read_json(annotations)
    train, held, held_names = split_annotations(data, holdout, seed, str(annotations))
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "rule": RULE,
        "holdout": holdout,
        "seed": seed,
        "input": {"file": annotations.name, "sha256": sha256_file(annotations)},
        "outputs": {},
        "holdout_first_file_names": sorted(held_names),
    }
    with atomic_directory(out_dir) as tmp:
        for part, content in (("train", train), ("holdout", held)):
            blob = _dump(content)
            (tmp / f"{part}.json").write_bytes(blob)
            manifest["outputs"][part] = {
                "file": f"{part}.json",
                "sha256": hashlib.sha256(blob).hexdigest(),
                "videos": len(content["videos"]),
                "annotations": len(content.get("annotations", [])),
            }
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


@dataclass(frozen=True)
class SplitManifest:
    path: Path
    data: dict[str, Any]

    def part_path(self, part: str) -> Path:
        return self.path.parent / self.data["outputs"][part]["file"]


def read_manifest(path: str | Path) -> SplitManifest:
    """Parse a split manifest; errors name the file and the field."""
    from vis_bench.jsonio import read_json

    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise InputError(
            f'not a split manifest (expected "format": "{MANIFEST_FORMAT}"); write one with '
            "`run_bench.py split`",
            path=str(path),
            field="format",
        )
    outputs = data.get("outputs")
    for part in PARTS:
        entry = outputs.get(part) if isinstance(outputs, dict) else None
        if not isinstance(entry, dict) or not {"file", "sha256"} <= set(entry):
            raise InputError(f"missing outputs.{part}.file/sha256", path=str(path), field="outputs")
    return SplitManifest(path, data)


def resolve_split(manifest: str | Path, part: str = "holdout") -> Path:
    """The annotation file of one part of a split, after checking it against the manifest.

    What a config naming a split by its manifest calls: raises InputError when the file is
    missing or its sha256 differs from the manifest's (then it is not the same split).
    """
    if part not in PARTS:
        raise InputError(f"split part must be one of {PARTS}, got {part!r}", field="split_part")
    found = read_manifest(manifest)
    target = found.part_path(part)
    if not target.is_file():
        raise InputError(
            f"the {part} file named by the manifest is missing", path=str(target), field=part
        )
    expected = found.data["outputs"][part]["sha256"]
    actual = sha256_file(target)
    if actual != expected:
        raise InputError(
            f"sha256 {actual[:12]}... differs from the manifest's {expected[:12]}...: this is not "
            f"the {part} part of the split {found.path}; recreate it with `run_bench.py split`",
            path=str(target),
            field="sha256",
        )
    return target

"""Hash-pinned held-out splits of a YouTube-VIS/OVIS training set, for server-free evaluation.

A video goes to the held-out part when sha256("<seed>:<its first file name>"), read as a number
in [0, 1), is below the held-out fraction. The decision depends on that video alone, so it does
not change when the file's videos are reordered or other videos are added; two users with the same
annotation file, fraction and seed get byte-identical outputs. The manifest records the sha256 of
the input and of both outputs, so they can confirm they evaluate on the same videos; numbers are
comparable only between runs on the same manifest.

That rule ignores categories: a small held-out part can miss a category, and its AP then averages
over fewer categories without saying so. `stratify=True` (opt-in, so existing splits keep their
bytes) assigns videos category by category instead (iterative stratification, `RULE_STRATIFIED`),
and every manifest reports which categories each part has (`coverage`) with a warning for each
absent one. An annotation whose video_id names no video is an error: it would belong to no part.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError
from vis_bench.formats.ytvis_header import CategoryHeader, Header, VideoHeader, parse_header, short
from vis_bench.hashing import file_sha256

MANIFEST_FORMAT = "vis-bench-split"
MANIFEST_NAME = "split_manifest.json"
#: 2 added `stratify`, `coverage` and `warnings`; version 1 manifests (without them) still load
MANIFEST_VERSION = 2
PARTS = ("train", "holdout")
RULE = "sha256('<seed>:' + videos[i].file_names[0]) as a fraction of 2**256 < holdout"
RULE_STRATIFIED = (
    "iterative stratification by category: categories in order of fewest videos; each one's "
    "unassigned videos, in order of sha256('<seed>:' + videos[i].file_names[0]), go to the part "
    "further below its share of that category (holdout's share: round(holdout * its videos), at "
    "least 1 and at most all but 1 when it has 2 or more); ties go to the part further below its "
    "share of videos (round(holdout * videos)), then by the unstratified rule; videos without "
    "tracks go by the share of videos"
)


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


def _video_keys(header: Header, path: str) -> list[tuple[int, str]]:
    """(video id, first file name) per video in file order; the names decide, so they are unique."""
    seen: dict[str, int] = {}
    keys = []
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
        keys.append((video.id, name))
    return keys


def _video_id_of(annotation: Any) -> Any:
    """An annotation's video_id if it can name a video (a number, not a bool), else None."""
    if not isinstance(annotation, dict):
        return None
    vid = annotation.get("video_id")
    return vid if isinstance(vid, (int, float)) and not isinstance(vid, bool) else None


def _check_annotations(annotations: Any, video_ids: set[int], path: str) -> None:
    """Every annotation must belong to a video of the file: an orphan would belong to no part
    (before, it went to train without a word)."""
    if not isinstance(annotations, list):
        return
    orphans = [i for i, a in enumerate(annotations) if _video_id_of(a) not in video_ids]
    if not orphans:
        return
    i = orphans[0]
    ann = annotations[i]
    got = (
        f"video_id {short(ann.get('video_id'))} is the id of no entry of 'videos'"
        if isinstance(ann, dict)
        else f"annotations[{i}] is a {type(ann).__name__}, not an object with a video_id"
    )
    raise InputError(
        f"{got} ({len(orphans)} of {len(annotations)} annotations belong to no video, so they "
        "would be in neither part); fix their video_id, add their videos to 'videos', or remove "
        "them",
        path=path,
        field=f"annotations[{i}].video_id",
    )


@dataclass(frozen=True)
class Split:
    """Both parts of a parsed file, the held-out first file names and the input's categories."""

    train: dict[str, Any]
    holdout: dict[str, Any]
    held_names: list[str]
    categories: tuple[CategoryHeader, ...]
    stratified: bool

    def coverage(self) -> dict[str, Any]:
        """Per part, the categories present (tracks, videos) and absent; see `coverage`."""
        return coverage(self.categories, {"train": self.train, "holdout": self.holdout})


def split_data(
    data: Any, holdout: float, seed: int, path: str = "<annotations>", *, stratify: bool = False
) -> Split:
    """Split a parsed annotation file (module docstring); `stratify` picks `RULE_STRATIFIED`.

    Both outputs keep every top-level key of the input (info, licenses, categories, ...) and the
    input's order of videos and annotations.
    """
    if not 0 < holdout < 1:
        raise InputError(f"--holdout must be a fraction between 0 and 1, got {holdout}")
    header = parse_header(data, path, strict=False)
    keys = _video_keys(header, path)
    annotations = data.get("annotations")
    _check_annotations(annotations, {vid for vid, _ in keys}, path)
    if stratify:
        held = stratified_holdout(keys, annotations, holdout, seed, header.categories)
        held_names = [name for vid, name in keys if vid in held]
    else:
        held_names = [name for _, name in keys if video_fraction(name, seed) < holdout]
        held = {vid for vid, name in keys if video_fraction(name, seed) < holdout}
    parts = {}
    for part, keep in (("train", False), ("holdout", True)):
        out = {k: v for k, v in data.items() if k not in ("videos", "annotations")}
        out["videos"] = [v for v in data["videos"] if (v.get("id") in held) == keep]
        if isinstance(annotations, list):
            out["annotations"] = [a for a in annotations if (a.get("video_id") in held) == keep]
        parts[part] = out
    return Split(parts["train"], parts["holdout"], held_names, header.categories, stratify)


def split_annotations(
    data: Any, holdout: float, seed: int, path: str = "<annotations>", *, stratify: bool = False
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(train dict, holdout dict, held-out first file names): `split_data` as a tuple."""
    split = split_data(data, holdout, seed, path, stratify=stratify)
    return split.train, split.holdout, split.held_names


def _share(fraction: float, count: int, at_least_one_each: bool) -> dict[str, int]:
    """How many of `count` items each part should get: holdout round(fraction * count), half up;
    with `at_least_one_each` and two or more items, at least one each."""
    held = int(fraction * count + 0.5)
    if at_least_one_each and count >= 2:
        held = min(max(held, 1), count - 1)
    return {"train": count - held, "holdout": held}


def stratified_holdout(
    keys: list[tuple[int, str]],
    annotations: Any,
    holdout: float,
    seed: int,
    categories: tuple[CategoryHeader, ...] = (),
) -> set[int]:
    """The held-out video ids by `RULE_STRATIFIED` (iterative stratification, rarest first).

    Rare categories are placed first because they have the fewest ways to reach both parts;
    videos go in hash order so the result depends on the seed, not on the file's order.
    """
    # a repeated video id (the compatible view allows it) is one unit, keyed by its first entry
    fraction = {vid: video_fraction(name, seed) for vid, name in reversed(keys)}
    order = sorted(fraction, key=lambda vid: fraction[vid])
    cats_of: dict[int, set[Any]] = {vid: set() for vid in order}
    for ann in annotations if isinstance(annotations, list) else []:
        cat = ann.get("category_id")
        if isinstance(cat, (int, float, str)):
            cats_of[ann["video_id"]].add(cat)
    videos_of: dict[Any, list[int]] = {}
    for vid in order:
        for cat in cats_of[vid]:
            videos_of.setdefault(cat, []).append(vid)
    rank = {c.id: i for i, c in enumerate(categories)}
    by_rarity = sorted(videos_of, key=lambda c: (len(videos_of[c]), rank.get(c, len(rank)), str(c)))
    need = _share(holdout, len(order), at_least_one_each=False)
    cat_need = {c: _share(holdout, len(videos_of[c]), at_least_one_each=True) for c in videos_of}
    part_of: dict[int, str] = {}

    def place(vid: int, lead: dict[str, int] | None) -> None:
        score = {p: ((lead[p] if lead else 0), need[p]) for p in PARTS}
        if score["train"] == score["holdout"]:
            part = "holdout" if fraction[vid] < holdout else "train"
        else:
            part = max(PARTS, key=lambda p: score[p])
        part_of[vid] = part
        need[part] -= 1
        for cat in cats_of[vid]:
            cat_need[cat][part] -= 1

    for cat in by_rarity:
        for vid in videos_of[cat]:
            if vid not in part_of:
                place(vid, cat_need[cat])
    for vid in order:
        if vid not in part_of:
            place(vid, None)
    return {vid for vid, part in part_of.items() if part == "holdout"}


def coverage(categories: tuple[CategoryHeader, ...], parts: dict[str, dict]) -> dict[str, Any]:
    """Per part: `present` (id, name, tracks, videos) and `absent` (id, name) categories.

    AP averages over the categories with ground truth, so a part without some category scores
    over fewer categories; this says which. A repeated category id counts once (its last entry).
    """
    declared = {c.id: c for c in categories}
    out: dict[str, Any] = {}
    for part, content in parts.items():
        tracks: Counter[Any] = Counter()
        videos: dict[Any, set[Any]] = {}
        for ann in content.get("annotations") or []:
            cat = ann.get("category_id")
            if isinstance(cat, (int, float, str)):
                tracks[cat] += 1
                videos.setdefault(cat, set()).add(ann.get("video_id"))
        present, absent = [], []
        for cid, cat in declared.items():
            if tracks[cid]:
                entry = {"id": cid, "name": cat.name, "tracks": tracks[cid]}
                present.append({**entry, "videos": len(videos[cid])})
            else:
                absent.append({"id": cid, "name": cat.name})
        out[part] = {"present": present, "absent": absent}
    return out


def coverage_warnings(cover: dict[str, Any], stratified: bool) -> list[str]:
    """One line per category absent from a part, with why and whether `--stratify` can help."""
    warnings = []
    present = {part: {c["id"]: c for c in cover[part]["present"]} for part in PARTS}
    for part in PARTS:
        other = PARTS[1 - PARTS.index(part)]
        for cat in cover[part]["absent"]:
            label = f"category {cat['name']!r} (id {cat['id']})"
            there = present[other].get(cat["id"])
            if there is None:
                if part == "train":  # absent from both: once, not per part
                    warnings.append(f"{label} has no tracks in the input, so in neither part")
                continue
            if there["videos"] == 1:
                why = "only one video has it, so no split puts it in both parts"
            elif stratified:
                why = "its videos also hold rarer categories, placed first; try another --seed"
            else:
                why = "--stratify would put some of its videos in each part"
            warnings.append(
                f"{label} has no tracks in {part}.json ({there['tracks']} in {other}.json): AP on "
                f"{part}.json averages over the other categories; {why}"
            )
    return warnings


def _dump(data: dict) -> bytes:
    """Compact, deterministic JSON (same input, same bytes, so the same sha256)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def write_split(
    annotations: str | Path, holdout: float, seed: int, out_dir: Path, *, stratify: bool = False
) -> dict:
    """Write train.json, holdout.json and the manifest into `out_dir` (a fresh folder).

    Without `stratify` the outputs are byte for byte those of every earlier version, so their
    sha256s (what configs pin) stay valid; the manifest gains `coverage` and `warnings`.
    """
    from vis_bench.atomic import atomic_directory
    from vis_bench.jsonio import read_json

    annotations = Path(annotations)
    data = read_json(annotations)
    split = split_data(data, holdout, seed, str(annotations), stratify=stratify)
    cover = split.coverage()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "rule": RULE_STRATIFIED if stratify else RULE,
        "stratify": stratify,
        "holdout": holdout,
        "seed": seed,
        "input": {"file": annotations.name, "sha256": file_sha256(annotations)},
        "outputs": {},
        "coverage": cover,
        "warnings": coverage_warnings(cover, stratify),
        "holdout_first_file_names": sorted(split.held_names),
    }
    with atomic_directory(out_dir) as tmp:
        for part, content in (("train", split.train), ("holdout", split.holdout)):
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
    from vis_bench.jsonio import read_format_json

    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    data = read_format_json(path, MANIFEST_FORMAT, "a split manifest", "`run_bench.py split`")
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
    actual = file_sha256(target)
    if actual != expected:
        raise InputError(
            f"sha256 {actual[:12]}... differs from the manifest's {expected[:12]}...: this is not "
            f"the {part} part of the split {found.path}; recreate it with `run_bench.py split`",
            path=str(target),
            field="sha256",
        )
    return target

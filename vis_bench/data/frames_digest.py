"""Which frames a dataset's numbers are of: every frame file's path and content digest.

The annotation file alone does not pin the data: frames re-encoded in place, or `dataset.frames`
pointed at another folder, give other numbers under the same annotations, so a run folder keeps
this manifest and refuses a run on other frames (sweep/run_dir.py). It covers every file (hidden
names aside) of each folder that holds a video's frames, so a frame added or removed counts too,
by its path relative to the frames folder and a digest of its bytes: the same frames copied to
another folder are the same data.

Hashing every frame on every run would cost seconds to minutes on a large split, so each file's
digest is cached, keyed by (size, mtime_ns, ctime_ns, inode): an unchanged file is only stat'ed.
A copy that keeps the mtime (`cp -p`, `rsync -t`) still sets a new ctime, so the content it
changed is hashed again; a file changed within the last `RACY_NS` is not cached at all (a second
write in the same clock tick would keep all four). The cache lives beside the data
(`<frames>/.vis_bench_frames_digest.json`) where that folder is writable, else under the project
cache (`<cache_dir>/frames_digest/<hash of the folder's path>.json`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import stat
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from vis_bench.atomic import write_atomic
from vis_bench.errors import InputError

CACHE_NAME = ".vis_bench_frames_digest.json"
CACHE_FORMAT = "vis_bench.frames_digest/1"
MANIFEST_FORMAT = "vis_bench.frames_manifest/1"
#: a referenced frame file that is not there
MISSING = "missing"
#: files changed this recently are hashed again next time (their stat may not show a next change)
RACY_NS = 2_000_000_000
#: how many changed folders a message names before it counts the rest
NAMED_FOLDERS = 3


@dataclass
class FramesManifest:
    """Per folder of the frames (relative, POSIX; "." is the frames folder itself): each file's
    name and content digest, and the ids of the videos whose frames the folder holds."""

    root: str
    folders: dict[str, dict[str, str]]
    videos: dict[str, list[int]] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return sum(len(names) for names in self.folders.values())

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of every (relative path, content digest): not of where the folder is."""
        lines = (
            f"{folder}/{name}\0{content}\n"
            for folder in sorted(self.folders)
            for name, content in sorted(self.folders[folder].items())
        )
        return hashlib.sha256("".join(lines).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """What the dataset's identity keeps (run.json, every record): small and comparable."""
        return {"digest": self.digest[:16], "files": self.files}

    def to_bytes(self) -> bytes:
        data = {"format": MANIFEST_FORMAT, "root": self.root, "digest": self.digest}
        data.update(folders=self.folders, videos=self.videos)
        blob = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        return gzip.compress(blob, compresslevel=1, mtime=0)

    @classmethod
    def from_bytes(cls, blob: bytes) -> FramesManifest | None:
        """The manifest a run folder kept; None where it is damaged or of another format."""
        try:
            data = orjson.loads(gzip.decompress(blob))
        except (OSError, EOFError, orjson.JSONDecodeError):
            return None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            return None
        return cls(str(data.get("root")), data.get("folders") or {}, data.get("videos") or {})


def frames_manifest(
    frame_root: str | Path, videos: Iterable[Any], cache_dir: str | Path
) -> FramesManifest:
    """The manifest of the folders holding `videos`' frames (`file_names` under `frame_root`)."""
    root = Path(frame_root)
    referenced: dict[str, set[str]] = defaultdict(set)
    holders: dict[str, set[int]] = defaultdict(set)
    for video in videos:
        for name in video.file_names:  # str ops, not PurePosixPath: a third of a warm run
            folder, _, base = name.replace("\\", "/").rpartition("/")
            referenced[folder or "."].add(base)
        for folder in {name.replace("\\", "/").rpartition("/")[0] for name in video.file_names}:
            holders[folder or "."].add(int(video.id))
    cache = _DigestCache(root, cache_dir)
    folders: dict[str, dict[str, str]] = {}
    to_hash: list[tuple[str, str, os.stat_result]] = []
    for folder in sorted(referenced):
        found = _scan(root / folder, referenced[folder])
        folders[folder] = {name: MISSING for name in referenced[folder] - found.keys()}
        for name, info in found.items():
            known = cache.lookup(_relative(folder, name), info)
            if known is None:
                to_hash.append((folder, name, info))
            else:
                folders[folder][name] = known
    paths = [root / folder / name for folder, name, _ in to_hash]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        digests = list(pool.map(_content_digest, paths))
    for (folder, name, info), content in zip(to_hash, digests, strict=True):
        folders[folder][name] = content
        if content != MISSING:
            cache.store(_relative(folder, name), info, content)
    cache.forget_others(folders)
    cache.save()
    videos_by_folder = {folder: sorted(ids) for folder, ids in holders.items()}
    return FramesManifest(str(root.resolve()), folders, videos_by_folder)


def _relative(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


def _scan(folder: Path, referenced: set[str]) -> dict[str, os.stat_result]:
    """The regular files of a folder (hidden names aside, a viewer's or this cache's, unless the
    annotations name them) with their stat; {} for a folder that is not there."""
    found = {}
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as err:
        raise _unreadable(folder, err) from None
    for entry in entries:
        if entry.name.startswith(".") and entry.name not in referenced:
            continue
        try:
            info = entry.stat()
        except OSError:  # a dangling link: no frame
            continue
        if stat.S_ISREG(info.st_mode):
            found[entry.name] = info
    return found


def _content_digest(path: Path) -> str:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except FileNotFoundError:  # removed since the folder was listed
        return MISSING
    except OSError as err:
        raise _unreadable(path, err) from None


def _unreadable(path: Path, err: OSError) -> InputError:
    return InputError(
        f"cannot read {path} to pin the run's frames ({err.strerror}): make the frames "
        "readable, or point dataset.frames at a readable copy",
        path=str(path),
    )


def _stat_key(info: os.stat_result) -> list[int]:
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


class _DigestCache:
    """Content digests by relative path and stat (module docstring), read from and written to
    beside the frames, or the project cache where that folder cannot be written."""

    def __init__(self, root: Path, cache_dir: str | Path) -> None:
        where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        self.places = [root / CACHE_NAME, Path(cache_dir) / "frames_digest" / f"{where}.json"]
        self.entries: dict[str, list[Any]] = {}
        for place in self.places:
            self.entries = _read_cache(place)
            if self.entries:
                break
        self.changed = False
        self.now_ns = time.time_ns()

    def lookup(self, rel: str, info: os.stat_result) -> str | None:
        entry = self.entries.get(rel)
        if entry is not None and entry[:4] == _stat_key(info):
            return entry[4]
        return None

    def store(self, rel: str, info: os.stat_result, content: str) -> None:
        if self.now_ns - max(info.st_mtime_ns, info.st_ctime_ns) < RACY_NS:
            return
        self.entries[rel] = [*_stat_key(info), content]
        self.changed = True

    def forget_others(self, folders: dict[str, dict[str, str]]) -> None:
        """Drop the entries of files no longer in the folders just listed (others stay: a run
        of the first few videos keeps the rest of the split's digests)."""
        for rel in list(self.entries):
            folder, _, name = rel.rpartition("/")
            names = folders.get(folder or ".")
            if names is not None and names.get(name, MISSING) == MISSING:
                del self.entries[rel]
                self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        blob = orjson.dumps({"format": CACHE_FORMAT, "entries": self.entries})
        for place in self.places:
            try:
                write_atomic(place, blob)
                return
            except OSError:  # a read-only dataset: the project cache instead
                continue


def _read_cache(path: Path) -> dict[str, list[Any]]:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def frames_change(old: FramesManifest, new: FramesManifest) -> str:
    """What differs between two manifests, folder by folder, e.g. "frames of video 3 (folder
    0065b171bc) changed: 12 files differ (first: 0065b171bc/00005.jpg)"."""
    said = []
    for folder in sorted(set(old.folders) | set(new.folders)):
        words = _folder_change(folder, old.folders.get(folder, {}), new.folders.get(folder, {}))
        if words:
            ids = new.videos.get(folder) or old.videos.get(folder) or []
            whose = _videos_words(ids)
            where = "the frames folder itself" if folder == "." else f"folder {folder}"
            said.append(f"frames of {whose} ({where}) changed: {words}")
    if len(said) > NAMED_FOLDERS:
        more = len(said) - NAMED_FOLDERS
        said = [*said[:NAMED_FOLDERS], f"and {more} more folder(s) changed"]
    if old.root != new.root:
        said.append(f"the frames folder was {old.root}, is now {new.root}")
    return "; ".join(said) or "the frames differ"


def _folder_change(folder: str, old: dict[str, str], new: dict[str, str]) -> str:
    differ = sorted(
        n for n in old.keys() & new.keys() if old[n] != new[n] and MISSING not in (old[n], new[n])
    )
    added = sorted(n for n in new if new[n] != MISSING and old.get(n, MISSING) == MISSING)
    removed = sorted(n for n in old if old[n] != MISSING and new.get(n, MISSING) == MISSING)
    parts = []
    for names, verb in ((differ, "differ"), (added, "added"), (removed, "removed")):
        if names:
            first = _relative(folder, names[0])
            first = f"first: {first}" if len(names) > 1 else first
            parts.append(f"{len(names)} file(s) {verb} ({first})")
    return ", ".join(parts)


def _videos_words(ids: list[int]) -> str:
    if not ids:
        return "no video"
    if len(ids) == 1:
        return f"video {ids[0]}"
    shown = ", ".join(map(str, ids[:5])) + (", ..." if len(ids) > 5 else "")
    return f"videos {shown}"

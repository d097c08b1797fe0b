"""The one reader of a YouTube-VIS/OVIS file's header: its `videos` and `categories`.

Training (data/ytvis_json.py), evaluation (eval/metric/loading.py), submission checks
(eval/submission/validate.py) and held-out splits (data/holdout.py) all read the same header, so
they read it here, with one of two views:

* strict (training): every field typed exactly, sizes and lengths positive, `length` equal to
  the number of `file_names`, ids unique; errors name the JSON path (`videos[3].length`);
* compatible (evaluation): what the official evaluators accept, so numbers stay theirs: ids and
  sizes may be integral floats (7.0), `length` falls back to the number of `file_names` (else
  None); errors name the entry and the field (`id`). A file that contradicts itself is refused
  all the same, naming the JSON path (`videos[3].length`): a `length` other than the number of
  `file_names`, a video id listed twice (the official code keeps the last entry). Every later
  check would otherwise blame the results file for the header's mistake.

Either way an InputError names the file, the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vis_bench.errors import InputError


@dataclass(frozen=True)
class VideoHeader:
    """One `videos` entry: `index` is its position in the list."""

    index: int
    id: int
    height: int
    width: int
    #: `length`, else len(file_names) (compatible view), else None
    length: int | None
    #: the frame paths; None when the entry has no list (compatible view only)
    file_names: tuple[str, ...] | None


@dataclass(frozen=True)
class CategoryHeader:
    """One `categories` entry."""

    id: int
    name: str
    supercategory: str = ""
    #: LV-VIS's base/novel code as in the file (compatible view); absent: `has_partition` False
    partition: Any = None
    has_partition: bool = False


@dataclass(frozen=True)
class Header:
    """A file's videos and categories in file order, and what else the callers need raw."""

    path: str
    videos: tuple[VideoHeader, ...]
    categories: tuple[CategoryHeader, ...]
    #: the `annotations` value as in the file (None when absent); the callers read it their way
    annotations: Any
    info: dict[str, Any]

    def video_sizes(self) -> dict[int, tuple[int, int]]:
        """Video id -> (height, width); a repeated id keeps its last entry (official rule)."""
        return {v.id: (v.height, v.width) for v in self.videos}

    def video_lengths(self) -> dict[int, int | None]:
        """Video id -> its number of frames (None when the file does not say)."""
        return {v.id: v.length for v in self.videos}

    def category_names(self) -> dict[int, str]:
        """Category id -> name."""
        return {c.id: c.name for c in self.categories}

    def category_partitions(self) -> dict[int, Any]:
        """Category id -> its LV-VIS `partition`, for the categories that carry one (a
        repeated id keeps its last entry, like the names)."""
        out: dict[int, Any] = {}
        for c in self.categories:
            if c.has_partition:
                out[c.id] = c.partition
            else:
                out.pop(c.id, None)
        return out


def parse_header(data: Any, path: str, *, strict: bool, what: str = "annotation file") -> Header:
    """Read the header of an already parsed file; `strict` picks the view (module docstring).

    `what` names the file in the errors of the compatible view ("ground truth", ...).
    """
    path = str(path)
    if not isinstance(data, dict):
        raise InputError(
            f"top level must be a JSON object with 'videos' and 'categories', got "
            f"{type(data).__name__}; is this a {what}?",
            path=path,
            field="$" if strict else None,
        )
    for key in ("videos", "categories"):
        if not isinstance(data.get(key), list):
            got = "missing" if key not in data else f"a {type(data[key]).__name__}"
            message = f"{what} needs a list {key!r}, got {got}"
            if strict and key not in data:
                message = "required top-level field is missing"
            raise InputError(message, path=path, field=key)
    reader = StrictReader(path) if strict else _Compatible(path, what)
    videos = reader.videos(data["videos"])
    categories = reader.categories(data["categories"])
    info = data.get("info")
    return Header(
        path, videos, categories, data.get("annotations"), info if isinstance(info, dict) else {}
    )


class StrictReader:
    """The training view: exact types, positive sizes, unique ids, length == len(file_names).

    Its field checks (`get`, `positive`) serve the strict annotation reader too
    (data/ytvis_json.py), so both halves of a training file fail the same way.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, message: str, field: str) -> InputError:
        """An InputError naming this file and the JSON path of the field."""
        return InputError(message, path=self.path, field=field)

    def get(self, obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
        """`obj[key]`, which must be present and of `kind` (a bool is not an int)."""
        if key not in obj:
            raise self.fail("required field is missing", f"{where}.{key}")
        value = obj[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(
                f"expected {names}, got {type(value).__name__} {short(value)}", f"{where}.{key}"
            )
        return value

    def positive(self, obj: dict[str, Any], key: str, where: str) -> int:
        """`obj[key]`, which must be a positive integer."""
        value = self.get(obj, key, where, int)
        if value <= 0:
            raise self.fail(f"must be a positive integer, got {value}", f"{where}.{key}")
        return value

    def entries(self, items: list[Any], section: str) -> Iterator[tuple[int, str, dict, int]]:
        """Each entry of the list `section` (videos, categories, annotations): its index, its
        JSON path, the object and its integer `id`, failing at the first that is no object."""
        for i, item in enumerate(items):
            where = f"{section}[{i}]"
            if not isinstance(item, dict):
                raise self.fail("must be an object", where)
            yield i, where, item, self.get(item, "id", where, int)

    def videos(self, items: list[Any]) -> tuple[VideoHeader, ...]:
        out: dict[int, VideoHeader] = {}
        for i, where, item, vid in self.entries(items, "videos"):
            if vid in out:
                raise self.fail(
                    f"duplicate video id {vid}; video ids must be unique", f"{where}.id"
                )
            where = f"videos[{i}] (id {vid})"
            width = self.positive(item, "width", where)
            height = self.positive(item, "height", where)
            length = self.positive(item, "length", where)
            names = self.get(item, "file_names", where, list)
            if not all(isinstance(n, str) for n in names):
                raise self.fail("every entry must be a string path", f"{where}.file_names")
            if len(names) != length:
                raise self.fail(
                    f"length is {length} but file_names lists {len(names)} frames; "
                    "make `length` equal the number of file_names",
                    f"{where}.length",
                )
            out[vid] = VideoHeader(i, vid, height, width, length, tuple(names))
        return tuple(out.values())

    def categories(self, items: list[Any]) -> tuple[CategoryHeader, ...]:
        out: dict[int, CategoryHeader] = {}
        for _, where, item, cid in self.entries(items, "categories"):
            name = self.get(item, "name", where, str)
            if cid in out:
                raise self.fail(f"duplicate category id {cid}", f"{where}.id")
            out[cid] = CategoryHeader(cid, name, str(item.get("supercategory", "")))
        return tuple(out.values())


class _Compatible:
    """The evaluation view: what the official evaluators accept, and a header that does not
    contradict itself (module docstring)."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what

    def videos(self, items: list[Any]) -> tuple[VideoHeader, ...]:
        out = []
        first: dict[int, int] = {}
        for i, video in enumerate(items):
            field = _entry_reader(video, self.path, f"videos[{i}]")
            vid, height, width = field("id"), field("height"), field("width")
            if vid in first:
                raise InputError(
                    f"video id {vid} is listed twice in the {self.what} (videos[{first[vid]}] "
                    "and here), and the evaluator would keep only the last entry; give each "
                    "video its own id, or remove the repeated entry",
                    path=self.path,
                    field=f"videos[{i}].id",
                )
            first[vid] = i
            names = video.get("file_names")
            length = video.get("length")
            if isinstance(length, (int, float)) and isinstance(names, list):
                if length != len(names):
                    raise InputError(
                        f"the {self.what}'s video {vid} has length {length!r} but file_names "
                        f"lists {len(names)} frames; make `length` equal the number of "
                        f"file_names ({len(names)}), or list every frame",
                        path=self.path,
                        field=f"videos[{i}].length",
                    )
            if length is None and isinstance(names, list):
                length = len(names)
            length = int(length) if isinstance(length, (int, float)) else None
            file_names = tuple(names) if isinstance(names, list) else None
            out.append(VideoHeader(i, vid, height, width, length, file_names))
        return tuple(out)

    def categories(self, items: list[Any]) -> tuple[CategoryHeader, ...]:
        out = []
        for i, cat in enumerate(items):
            # a plain integer id needs no checking reader (LV-VIS lists 1,196 categories)
            cid = cat.get("id") if type(cat) is dict else None
            if type(cid) is not int:
                cid = _entry_reader(cat, self.path, f"categories[{i}]")("id")
            out.append(
                CategoryHeader(
                    cid,
                    str(cat.get("name", cid)),
                    str(cat.get("supercategory", "")),
                    cat.get("partition"),
                    "partition" in cat,
                )
            )
        return tuple(out)


def _entry_reader(entry: Any, path: str, where: str) -> Callable[[str], int]:
    """A reader of `entry`'s integer fields, raising InputError naming the entry and field."""
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a JSON object, got {type(entry).__name__}", path=path)

    def read(key: str) -> int:
        if key not in entry:
            raise InputError(f"{where} has no {key!r}", path=path, field=key)
        return as_int(entry[key], path, where, key)

    return read


def as_int(value: Any, path: str, where: str, key: str) -> int:
    """An integer field the official code would use as a dict key (7.0 works as 7)."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise InputError(f"{where}: {key} must be an integer, got {value!r}", path=path, field=key)


def short(value: Any) -> str:
    """A value as an error message quotes it: JSON, cut to 40 characters."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

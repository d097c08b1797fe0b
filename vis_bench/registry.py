"""One small registry for every name -> object table of vis-bench (the lm-evaluation-harness habit).

Methods, backbones, backbone parity references, FLOP formulas and released checkpoints are all
looked up by name, and each used to be a dictionary of its own with its own duplicate check and its
own "unknown name" message. A `Registry` is that table once: one way in (`register`, usable as a
decorator), entries that import on first use (`register_lazy("name", "module:object")`, what an
entry point gives), a base-class (or instance) check when an entry is resolved, the place where
each entry was defined (`origin`), and an error for an unknown name that lists the known ones and
the closest spellings. A registry can be told how to fill itself on first lookup (`loader`), so
that in-tree plugins are imported only when someone asks for a name.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vis_bench.errors import VisBenchError

T = TypeVar("T")


class UnknownEntryError(VisBenchError, KeyError):
    """A name nobody registered; the message lists the known names and the closest ones."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


@dataclass
class _Entry:
    name: str
    value: Any = None
    target: str | None = None  # "module:object" of a lazy entry, until it is resolved
    origin: str = ""


class Registry(Mapping[str, T], Generic[T]):
    """A name -> object table: `register`, `register_lazy`, `get` (or `[]`), `origin`, `match`.

    `kind` names what the entries are in messages ("method", "backbone"). With `base`, an entry
    must be a subclass of it (`instance=False`) or an instance of it (`instance=True`); the check
    runs when the entry is registered or, for a lazy one, when it is first resolved. Names are
    case-insensitive unless `case_sensitive`. `loader` runs once, before the first lookup.
    """

    def __init__(
        self,
        kind: str,
        *,
        base: type | None = None,
        instance: bool = False,
        case_sensitive: bool = False,
        loader: Callable[[], None] | None = None,
    ) -> None:
        self.kind = kind
        self.base = base
        self.instance = instance
        self.case_sensitive = case_sensitive
        self._loader = loader
        self._loaded = loader is None
        self._loading = False
        self._entries: dict[str, _Entry] = {}

    # -- filling -------------------------------------------------------------------------------

    def register(self, name: str, value: Any = None, *, replace: bool = False) -> Any:
        """Register `value` under `name`; without `value`, a decorator that registers what it
        decorates and returns it unchanged. Registering another object under a taken name is
        an error naming both origins, unless `replace`."""
        if value is None:
            return lambda obj: self.register(name, obj, replace=replace)
        self._check(name, value)
        origin = _origin_of(value) or _caller_origin()
        self._put(_Entry(name, value=value, origin=origin), replace)
        return value

    def register_lazy(self, name: str, target: str, *, replace: bool = False) -> None:
        """Register `"package.module:object"`, imported the first time `name` is looked up."""
        if ":" not in target:
            raise VisBenchError(
                f"lazy {self.kind} {name!r}: target {target!r} must be 'module:object'"
            )
        self._put(_Entry(name, target=target, origin=target), replace)

    def _put(self, entry: _Entry, replace: bool) -> None:
        key = self._key(entry.name)
        existing = self._entries.get(key)
        if existing is not None and not replace and not _same(existing, entry):
            raise VisBenchError(
                f"{self.kind} name {entry.name!r} is registered twice: by {existing.origin} and "
                f"{entry.origin}; rename one of them"
            )
        self._entries[key] = entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests, and plugins that replace a broken registration)."""
        self._entries.pop(self._key(name), None)

    # -- lookup --------------------------------------------------------------------------------

    def get(self, name: str, default: Any = inspect.Parameter.empty) -> T:  # type: ignore[override]
        """The entry registered under `name`, imported now if it was lazy; an unknown name
        raises `UnknownEntryError` listing the known ones (or returns `default` when given)."""
        self._load()
        entry = self._entries.get(self._key(name))
        if entry is None:
            if default is not inspect.Parameter.empty:
                return default
            raise UnknownEntryError(self.unknown_message(name))
        if entry.target is not None:
            value = import_target(entry.target, self.kind, entry.name)
            self._check(entry.name, value)
            entry.value, entry.target = value, None
            entry.origin = _origin_of(value) or entry.origin
        return entry.value

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return isinstance(name, str) and self._key(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter([entry.name for entry in self._entries.values()])

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

    def names(self) -> list[str]:
        """Every registered name (as registered), sorted."""
        return sorted(self, key=str.lower)

    def match(self, pattern: str | None = None) -> list[str]:
        """Names matching a shell-style wildcard pattern (timm's `list_models("vit_*")`); every
        name for None. A pattern without wildcards matches names that contain it."""
        names = self.names()
        if not pattern:
            return names
        if not any(ch in pattern for ch in "*?["):
            pattern = f"*{pattern}*"
        key = pattern if self.case_sensitive else pattern.lower()
        return [n for n in names if fnmatch.fnmatchcase(self._key(n), key)]

    def origin(self, name: str) -> str:
        """Where the entry was defined: `module.qualname (file:line)`, or the lazy target."""
        self._load()
        entry = self._entries.get(self._key(name))
        if entry is None:
            raise UnknownEntryError(self.unknown_message(name))
        return entry.origin

    def unknown_message(self, name: str) -> str:
        known = self.names()
        text = f"unknown {self.kind} {name!r}; known: {', '.join(known) or '(none)'}"
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            text += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
        return text

    # -- internals -----------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def _load(self) -> None:
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            assert self._loader is not None
            self._loader()
            self._loaded = True
        finally:
            self._loading = False

    def _check(self, name: str, value: Any) -> None:
        if self.base is None:
            return
        ok = (
            isinstance(value, self.base)
            if self.instance
            else isinstance(value, type) and issubclass(value, self.base)
        )
        if not ok:
            what = "an instance" if self.instance else "a subclass"
            raise VisBenchError(
                f"{self.kind} {name!r}: {_describe(value)} is not {what} of "
                f"{self.base.__module__}.{self.base.__qualname__}"
            )


def _same(a: _Entry, b: _Entry) -> bool:
    """The same entry again: a lazy entry and the object its target names (a plugin class that
    both an entry point names and its module's decorator registers), or the same object."""
    if a.target is not None and b.target is None:
        return a.target == _target_of(b.value)
    if a.target is not None or b.target is not None:
        return a.target == b.target and a.value is b.value
    return a.value is b.value or a.value == b.value


def _target_of(value: Any) -> str | None:
    """`module:qualname` of a class or function (what a lazy entry names), None otherwise."""
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        return None
    return f"{value.__module__}:{value.__qualname__}"


def import_target(target: str, kind: str, name: str) -> Any:
    """The object a `"module:object"` target names, imported now; a failure names the entry."""
    module_name, _, attribute = target.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except Exception as err:  # a broken third-party entry must say which one it was
        raise VisBenchError(f"{kind} {name!r} ({target!r}) failed to import: {err}") from err
    return value


def _describe(obj: object) -> str:
    return f"{getattr(obj, '__module__', type(obj).__module__)}.{getattr(obj, '__qualname__', repr(obj))}"


def _origin_of(value: Any) -> str | None:
    """`module.qualname (file:line)` of a class or function; None for other objects."""
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        return None
    try:
        line = inspect.getsourcelines(value)[1]
        path = inspect.getsourcefile(value) or "?"
    except (OSError, TypeError):
        return _describe(value)
    return f"{_describe(value)} ({_short_path(path)}:{line})"


def _caller_origin() -> str:
    """`module (file:line)` of the code that called `register` (for instances and data)."""
    frame = sys._getframe(1)
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return "?"
    module = frame.f_globals.get("__name__", "?")
    return f"{module} ({_short_path(frame.f_code.co_filename)}:{frame.f_lineno})"


def _short_path(path: str) -> str:
    """A path from the package root on (`vis_bench/methods/<name>/plugin.py`), not the machine's."""
    parts = path.replace("\\", "/").split("/")
    for anchor in ("vis_bench", "methods", "cuda_ops", "tests"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return parts[-1]

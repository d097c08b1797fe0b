"""Method registry: in-tree and third-party methods behind one name -> plugin mapping.

Methods register either with the `@register_method("name")` decorator (in the module that defines
them) or through the entry-point group `vis_bench.methods` (`name = "package.module:PluginClass"`),
which is also how the in-tree methods are declared in pyproject.toml. vis_bench never imports a
method package by name; entry points are loaded lazily, the first time a name is looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TypeVar

from vis_bench.errors import VisBenchError

ENTRY_POINT_GROUP = "vis_bench.methods"

T = TypeVar("T")

_registry: dict[str, object] = {}
_entry_points_loaded = False


class UnknownMethodError(VisBenchError, KeyError):
    """Raised for a method name nobody registered; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


def register_method(name: str) -> Callable[[T], T]:
    """Class decorator registering a method plugin under `name` (case-insensitive)."""

    def decorator(plugin: T) -> T:
        key = name.lower()
        existing = _registry.get(key)
        if existing is not None and existing is not plugin:
            raise VisBenchError(
                f"method name {name!r} is registered twice: by {_describe(existing)} and "
                f"{_describe(plugin)}; rename one of them"
            )
        _registry[key] = plugin
        return plugin

    return decorator


def _describe(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name.lower() in _registry:
            continue
        try:
            plugin = entry_point.load()
        except Exception as err:  # a broken third-party plugin must not hide the others
            raise VisBenchError(
                f"method {entry_point.name!r} (entry point {entry_point.value!r} in group "
                f"{ENTRY_POINT_GROUP!r}) failed to import: {err}"
            ) from err
        register_method(entry_point.name)(plugin)


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    _load_entry_points()
    return sorted(_registry)


def get_method(name: str) -> object:
    """The plugin registered under `name`; unknown names list the known ones."""
    _load_entry_points()
    key = name.lower()
    if key not in _registry:
        known = (
            ", ".join(available_methods())
            or "(none: is vis-bench installed with `pip install -e .`?)"
        )
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {known}")
    return _registry[key]

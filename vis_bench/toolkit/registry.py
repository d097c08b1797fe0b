"""Method registry: in-tree and third-party methods behind one name -> plugin mapping.

In-tree methods register with the `@register_method("name")` decorator in their package's
`plugin.py` (`methods/<package>/plugin.py`, installed as `vis_bench.methods.<package>.plugin`);
third-party packages declare an entry point in the group `vis_bench.methods`
(`name = "package.module:PluginClass"`). Both are found lazily, the first time a name is looked
up: every in-tree `plugin` module is imported (their decorators fill the registry), then the entry
points are loaded. vis_bench never imports a method package by name.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import TypeVar

from vis_bench.errors import VisBenchError
from vis_bench.toolkit.plugin import MethodPlugin, ParityReference

ENTRY_POINT_GROUP = "vis_bench.methods"
#: the package holding the in-tree methods (the repository's methods/ folder)
IN_TREE_PACKAGE = "vis_bench.methods"
#: the module of an in-tree method package that registers its plugin
PLUGIN_MODULE = "plugin"

P = TypeVar("P", bound=MethodPlugin)

_registry: dict[str, type[MethodPlugin]] = {}
_entry_points_loaded = False
#: backbone name (or family alias) -> its module-level parity reference
_backbone_parity: dict[str, ParityReference] = {}


class UnknownMethodError(VisBenchError, KeyError):
    """Raised for a method name nobody registered; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return str(self.args[0])


def register_method(name: str) -> Callable[[type[P]], type[P]]:
    """Class decorator registering a method plugin under `name` (case-insensitive); the plugin
    must be a MethodPlugin whose spec carries the same name."""

    def decorator(plugin: type[P]) -> type[P]:
        if not (isinstance(plugin, type) and issubclass(plugin, MethodPlugin)):
            raise VisBenchError(f"{_describe(plugin)} is not a MethodPlugin subclass")
        spec = getattr(plugin, "spec", None)
        if spec is None or spec.name.lower() != name.lower():
            raise VisBenchError(
                f"{_describe(plugin)} is registered as {name!r} but its spec names "
                f"{getattr(spec, 'name', None)!r}; give it a MethodSpec with that name"
            )
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


def _import_in_tree_plugins() -> None:
    """Import `plugin.py` of every in-tree method package; their decorators register them."""
    package = importlib.import_module(IN_TREE_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        name = f"{IN_TREE_PACKAGE}.{info.name}.{PLUGIN_MODULE}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    _import_in_tree_plugins()
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
        if not (isinstance(plugin, type) and issubclass(plugin, MethodPlugin)):
            raise VisBenchError(
                f"entry point {entry_point.value!r} (method {entry_point.name!r}) is not a "
                "vis_bench.toolkit.plugin.MethodPlugin subclass"
            )
        register_method(entry_point.name)(plugin)


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    _load_entry_points()
    return sorted(_registry)


def get_method(name: str) -> type[MethodPlugin]:
    """The plugin class registered under `name`; unknown names list the known ones."""
    _load_entry_points()
    key = name.lower()
    if key not in _registry:
        known = (
            ", ".join(available_methods())
            or "(none: is vis-bench installed with `pip install -e .`?)"
        )
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {known}")
    return _registry[key]


def signature_scores(keys: Iterable[str]) -> dict[str, int]:
    """How well the keys match each registered method's checkpoint signature (0: not at all)."""
    keys = list(keys)
    return {name: get_method(name).spec.matches_checkpoint(keys) for name in available_methods()}


def looks_like(keys: Iterable[str]) -> str | None:
    """The registered method whose checkpoint signature the keys match best, or None."""
    scores = signature_scores(keys)
    best = max(scores.values(), default=0)
    if best == 0:
        return None
    return sorted(name for name, score in scores.items() if score == best)[0]


def register_backbone_parity(
    name: str, reference: ParityReference, aliases: tuple[str, ...] = ()
) -> None:
    """Declare a backbone's module-level parity reference (`parity --backbone NAME`); a shared
    backbone registry calls this for each of its entries that has one."""
    for key in (name, *aliases):
        _backbone_parity[key.lower()] = reference


def backbone_parity(name: str) -> ParityReference:
    """The parity reference declared for backbone `name`; unknown names list the known ones."""
    _load_entry_points()
    key = name.lower()
    if key not in _backbone_parity:
        known = ", ".join(sorted(_backbone_parity)) or "(none)"
        raise UnknownMethodError(
            f"no backbone parity reference named {name!r}; backbones with one: {known}"
        )
    return _backbone_parity[key]

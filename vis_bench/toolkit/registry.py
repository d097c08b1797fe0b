"""Method registry: in-tree and third-party methods behind one name -> plugin mapping.

In-tree methods register with the `@register_method("name")` decorator in their package's
`plugin.py` (`methods/<package>/plugin.py`, installed as `vis_bench.methods.<package>.plugin`);
third-party packages declare an entry point in the group `vis_bench.methods`
(`name = "package.module:PluginClass"`). Both are found lazily, the first time a name is looked
up: every in-tree `plugin` module is imported (their decorators fill the registry), then the entry
points are registered as lazy entries, imported when their name is looked up. vis_bench never
imports a method package by name. The tables are `vis_bench.registry.Registry`s.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import TypeVar

from vis_bench.errors import VisBenchError
from vis_bench.registry import Registry, UnknownEntryError
from vis_bench.toolkit.plugin import MethodPlugin, ParityReference
from vis_bench.toolkit.pretrained import PretrainedVariant

ENTRY_POINT_GROUP = "vis_bench.methods"
#: the package holding the in-tree methods (the repository's methods/ folder)
IN_TREE_PACKAGE = "vis_bench.methods"
#: the module of an in-tree method package that registers its plugin
PLUGIN_MODULE = "plugin"

P = TypeVar("P", bound=MethodPlugin)

#: an unknown method name (the registry's error, under the name callers know it by)
UnknownMethodError = UnknownEntryError


def _import_in_tree_plugins() -> None:
    """Import `plugin.py` of every in-tree method package (their decorators register them),
    then register each entry point of the group lazily (imported when it is looked up)."""
    package = importlib.import_module(IN_TREE_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        name = f"{IN_TREE_PACKAGE}.{info.name}.{PLUGIN_MODULE}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in METHODS:
            METHODS.register_lazy(entry_point.name, entry_point.value)


#: every method: in-tree plugins (their `@register_method`) and the entry points of the group
METHODS: Registry[type[MethodPlugin]] = Registry(
    "method", base=MethodPlugin, loader=_import_in_tree_plugins
)


def _load_methods() -> None:
    """Registering a method registers its released checkpoints: load every method."""
    METHODS.names()


#: every released checkpoint by its name `method.variant`, from the methods' specs
PRETRAINED: Registry[PretrainedVariant] = Registry(
    "released checkpoint", base=PretrainedVariant, instance=True, loader=_load_methods
)
#: backbone name (or family alias) -> its module-level parity reference (`parity --backbone`)
BACKBONE_PARITY: Registry[ParityReference] = Registry(
    "backbone parity reference", base=ParityReference, instance=True
)


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
        for variant in spec.variants:
            variant.check(spec.name)
        METHODS.register(name.lower(), plugin)
        for variant in spec.variants:
            PRETRAINED.register(variant.name, variant)
        return plugin

    return decorator


def _describe(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    return METHODS.names()


def get_method(name: str) -> type[MethodPlugin]:
    """The plugin class registered under `name`; unknown names list the known ones."""
    plugin = METHODS.get(name)
    spec = getattr(plugin, "spec", None)
    if spec is None or spec.name.lower() != name.lower():
        raise VisBenchError(
            f"method {name!r} ({METHODS.origin(name)}) declares the spec name "
            f"{getattr(spec, 'name', None)!r}; its entry point must use that name"
        )
    return plugin


def pretrained_variant(name: str) -> PretrainedVariant:
    """The released checkpoint named `method.variant`; unknown names list the known ones."""
    return PRETRAINED.get(name)


def pretrained_variants(pattern: str | None = None) -> list[PretrainedVariant]:
    """Released checkpoints whose names match a wildcard pattern (all for None), sorted."""
    return [PRETRAINED.get(name) for name in PRETRAINED.match(pattern)]


def method_origin(name: str) -> str:
    """Where method `name` is defined (`module.Class (file:line)`)."""
    return METHODS.origin(name)


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
        BACKBONE_PARITY.register(key.lower(), reference)


def backbone_parity(name: str) -> ParityReference:
    """The parity reference declared for backbone `name`; unknown names list the known ones."""
    METHODS.names()  # the in-tree plugins import the backbones that declare references
    return BACKBONE_PARITY.get(name)

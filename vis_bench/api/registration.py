"""Registration: `@register_method` and the lookups the harness makes by name.

`register_method("name")` checks a plugin class before it enters the table (tables.py): that it
is a `MethodPlugin` whose spec carries the same name, that its released checkpoints are
well-formed, and that what it implements agrees with what its spec declares (capabilities.py: a
capability half implemented, or declared without its hooks, is an error naming the class and the
fix). An entry point's class is checked the same way when its name is first looked up.
`Registry` is the table every name -> object lookup of vis-bench is (vis_bench/registry.py); a
method's own parts may keep theirs in one (e.g. a family's backbones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from vis_bench.api.capabilities import check_capabilities
from vis_bench.api.parity import ParityReference
from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.tables import (
    BACKBONE_PARITY,
    IN_TREE_PACKAGE,
    METHODS,
    PRETRAINED,
    UnknownMethodError,
    entry_points,
)
from vis_bench.api.variants import PretrainedVariant
from vis_bench.errors import VisBenchError
from vis_bench.registry import Registry

__all__ = [
    "Registry",
    "UnknownMethodError",
    "available_methods",
    "backbone_parity",
    "discovered_methods",
    "get_method",
    "method_origin",
    "pretrained_variant",
    "pretrained_variants",
    "register_backbone_parity",
    "register_method",
]

P = TypeVar("P", bound=MethodPlugin)
#: plugin classes that passed `check_plugin` (an entry point's is checked on its first lookup)
_CHECKED: set[type] = set()


def register_method(name: str) -> Callable[[type[P]], type[P]]:
    """Class decorator registering a method plugin under `name` (case-insensitive); the plugin
    must be a MethodPlugin whose spec carries the same name and whose capabilities agree with it."""

    def decorator(plugin: type[P]) -> type[P]:
        check_plugin(plugin, name)
        METHODS.register(name.lower(), plugin)
        for variant in plugin.spec.variants:
            PRETRAINED.register(variant.name, variant)
        return plugin

    return decorator


def check_plugin(plugin: object, name: str) -> None:
    """Everything registration requires of a plugin class (see the module docstring)."""
    if plugin in _CHECKED:
        return
    if not (isinstance(plugin, type) and issubclass(plugin, MethodPlugin)):
        raise VisBenchError(
            f"{_describe(plugin)} is not a MethodPlugin subclass: derive the method's class from "
            "vis_bench.api.MethodPlugin"
        )
    spec = getattr(plugin, "spec", None)
    if spec is None or spec.name.lower() != name.lower():
        raise VisBenchError(
            f"{_describe(plugin)} is registered as {name!r} but its spec names "
            f"{getattr(spec, 'name', None)!r}; give it a MethodSpec with that name"
        )
    for variant in spec.variants:
        variant.check(spec.name)
    check_capabilities(plugin)
    _CHECKED.add(plugin)


def _describe(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def available_methods() -> list[str]:
    """Names of every registered method, sorted."""
    return METHODS.names()


def discovered_methods() -> list[str]:
    """The methods found without anyone registering them by hand: every in-tree method package
    and every installed entry point of the group (not, say, a test's own plugin), sorted."""
    published = {entry_point.name.lower() for entry_point in entry_points()}
    return [
        name
        for name in available_methods()
        if name in published or METHODS.get(name).__module__.startswith(f"{IN_TREE_PACKAGE}.")
    ]


def get_method(name: str) -> type[MethodPlugin]:
    """The plugin class registered under `name`; unknown names list the known ones. An entry
    point's class is checked as `register_method` checks a decorated one."""
    plugin = METHODS.get(name)
    spec = getattr(plugin, "spec", None)
    if spec is None or spec.name.lower() != name.lower():
        raise VisBenchError(
            f"method {name!r} ({METHODS.origin(name)}) declares the spec name "
            f"{getattr(spec, 'name', None)!r}; its entry point must use that name"
        )
    check_plugin(plugin, name)
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

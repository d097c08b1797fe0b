"""The tables methods fill: methods, their released checkpoints, backbones' parity references.

In-tree methods register with `@register_method("name")` (registration.py) in their package's
`plugin.py` (`methods/<package>/plugin.py`, installed as `vis_bench.methods.<package>.plugin`);
third-party packages declare an entry point in the group `vis_bench.methods`
(`name = "package.module:PluginClass"`). Both are found lazily, the first time a name is looked
up: every in-tree `plugin` module is imported (their decorators fill the table), then the entry
points are registered as lazy entries, imported when their name is looked up. vis_bench never
imports a method package by name. The tables are `vis_bench.registry.Registry`s; what a table
holds is checked where it is registered and looked up (registration.py), so this module needs
nothing of the plugin class and the strict loader can ask it whose checkpoint a file looks like.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from vis_bench.api.parity import ParityReference
from vis_bench.api.variants import PretrainedVariant
from vis_bench.registry import Registry, UnknownEntryError

ENTRY_POINT_GROUP = "vis_bench.methods"
#: the package holding the in-tree methods (the repository's methods/ folder)
IN_TREE_PACKAGE = "vis_bench.methods"
#: the module of an in-tree method package that registers its plugin
PLUGIN_MODULE = "plugin"

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
    for entry_point in entry_points():
        if entry_point.name not in METHODS:
            METHODS.register_lazy(entry_point.name, entry_point.value)


def entry_points() -> list[metadata.EntryPoint]:
    """The installed packages' entry points of the group `vis_bench.methods`."""
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


#: every method: in-tree plugins (their `@register_method`) and the entry points of the group
METHODS: Registry[Any] = Registry("method", loader=_import_in_tree_plugins)


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


def signature_scores(keys: Iterable[str]) -> dict[str, int]:
    """How well the keys match each registered method's checkpoint signature (0: not at all)."""
    keys = list(keys)
    scores = {}
    for name in METHODS.names():
        spec = getattr(METHODS.get(name), "spec", None)
        scores[name] = spec.matches_checkpoint(keys) if spec is not None else 0
    return scores


def best_matches(keys: Iterable[str]) -> list[str]:
    """The registered methods whose checkpoint signature the keys match best, by name: more than
    one where their checkpoints have the same key names (the keys cannot tell them apart)."""
    scores = signature_scores(keys)
    best = max(scores.values(), default=0)
    return sorted(name for name, score in scores.items() if score == best) if best else []


def looks_like(keys: Iterable[str]) -> str | None:
    """The registered method whose checkpoint signature the keys match best (the first by name
    of a tie: `best_matches` says whether there is one), or None."""
    matches = best_matches(keys)
    return matches[0] if matches else None


def guess_words(matches: list[str]) -> str:
    """A guess between methods as said: `a NAME`, or `a NAME or OTHER` for a tie."""
    return "a " + " or ".join(matches)

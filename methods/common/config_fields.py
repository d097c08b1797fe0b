"""A method's typed settings built from another naming of the same values: a parity
fixture's reduced config (the authors' names), or the method's flat options (the names a
config file sets), so each mapping of names is written once, as a table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

Settings = TypeVar("Settings")


def from_config(
    cls: Callable[..., Settings], config: Mapping[str, Any], keys: Mapping[str, str], **rest: Any
) -> Settings:
    """`cls` with each field from the entry of `config` that `keys` names for it, plus the `rest`
    given as they are."""
    return cls(**{name: config[key] for name, key in keys.items()}, **rest)

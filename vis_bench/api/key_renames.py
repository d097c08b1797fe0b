"""Renames the authors' own loading applies to a file's keys, declared by a method (family).

Some of the authors' modules rename keys of older files when they load them, in their
`_load_from_state_dict` and only for files whose `_metadata` gives the module a version below the
current one (or none: a model-zoo pickle of numpy arrays keeps no metadata): a decoder reading
its queries' old name as the new one, a head moving a sub-module's keys under a new prefix. A
method (family) declares these in its spec (`checkpoint_renames`, each naming where the authors
do it) and the loader applies them the same way, with one guard the authors' code may lack: a
key is renamed only when the model has the new name and not the old one, so a prefix is never
doubled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KeyRename:
    """One rename: keys matching `pattern` become `re.sub(pattern, replacement, key)`.

    `module` and `below_version`: applied only when the file's `_metadata` gives that module a
    version below `below_version`, or gives none; both empty: always applied.
    """

    pattern: str
    replacement: str
    module: str = ""
    below_version: int | None = None
    #: where the authors' code does it (file and function)
    source: str = ""

    def describe(self) -> str:
        """One line for `methods`: the rename and when it applies."""
        when = (
            f" (files whose {self.module} has no version or one below {self.below_version})"
            if self.below_version is not None
            else ""
        )
        return f"{self.pattern} -> {self.replacement}{when}"

    def applies(self, versions: Mapping[str, int] | None) -> bool:
        """Whether the file's `_metadata` versions call for this rename."""
        if self.below_version is None:
            return True
        found = (versions or {}).get(self.module)
        return found is None or found < self.below_version


def apply_renames(
    weights: Mapping[str, torch.Tensor],
    renames: Iterable[KeyRename],
    model_keys: Iterable[str],
    versions: Mapping[str, int] | None = None,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict with the declared renames applied, and "old -> new" for each one made.

    A key is renamed only when the model has the new name and not the old one, and the new name
    is not already in the file: an already-renamed file is left as it is.
    """
    own = set(model_keys)
    out = dict(weights)
    done: list[str] = []
    for rename in renames:
        if not rename.applies(versions):
            continue
        regex = re.compile(rename.pattern)
        for key in list(out):
            if key in own or not regex.search(key):
                continue
            new = regex.sub(rename.replacement, key, count=1)
            if new != key and new in own and new not in out:
                out[new] = out.pop(key)
                done.append(f"{key} -> {new}")
    return out, done

"""Prompt-taking methods whose cost grows with their vocabulary: the number of prompts as a
sweep axis, and the objects they tracked.

An open-vocabulary method prompted with category names (spec `prompt_categories_option`) may
declare `prompt_count_option`: the option the harness sets to k in a cell of `sweep.prompts`,
so the method runs with the first k categories of its label space only. Such a method reports
what it ran with through `prompt_load` (how many prompts, and how many objects it tracked on
each frame it processed), which the cell's record carries so a table can show speed against
vocabulary size. A method without prompts runs once per setting of the other axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

#: the hook a method declaring `prompt_count_option` implements
HOOK = "prompt_load"


@dataclass(frozen=True)
class PromptLoad:
    """What a prompted method ran with over a pass."""

    #: the text prompts it was given
    prompts: int
    #: objects it tracked on each frame it processed (all prompts together), in order
    objects_per_frame: tuple[int, ...] = ()

    def objects_tracked(self) -> dict[str, Any] | None:
        """{"mean", "max", "frames"} of the objects tracked per frame (None: no frame)."""
        counts = self.objects_per_frame
        if not counts:
            return None
        return {
            "mean": round(sum(counts) / len(counts), 3),
            "max": max(counts),
            "frames": len(counts),
        }


@runtime_checkable
class ReportsPromptLoad(Protocol):
    """A method declaring `prompt_count_option` (see the module docstring)."""

    def prompt_load(self) -> PromptLoad:
        """The prompts it was built with and the objects it tracked since it was built."""
        ...


def prompt_load_of(plugin: Any) -> PromptLoad | None:
    """The method's prompt load, None for a method that declares no prompt count."""
    if getattr(plugin.spec, "prompt_count_option", None) is None:
        return None
    return plugin.prompt_load()

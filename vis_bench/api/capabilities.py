"""A method's optional capabilities: found from what its class implements, checked at registration.

Beyond the core (create, load_checkpoint, infer_clip), everything a method may do is a capability
with its own small protocol in its own module of vis_bench.api. Some are hooks alone (the class
implements them: per-frame stages, its own results, checkpoint helpers, FLOP breakdown,
execution report), some are data in the spec (released variants, a parity reference, the
authors' timing protocol, table measurements), and three pair a spec declaration with hooks:
training (`training=` with `training_losses`), a carried state (`linking=CarriedState()` with
`infer_clip(..., state=, seen=)`) and whole-video refinement (`linking=WholeVideoRefinement()`
with `refine_video` and `refined_masks`). Each is stated once and checked against the other
half: `check_capabilities` refuses, at registration, a class whose hooks and declaration
disagree, naming the class and the fix, so a mismatch never reaches a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vis_bench.api.execution import HOOKS as EXECUTION_HOOKS
from vis_bench.api.guide import see
from vis_bench.api.linking import (
    WholeVideoRefinement,
    carries_state,
    links_query_tracks,
    takes_state,
)
from vis_bench.api.per_frame import MEMBERS as PER_FRAME_MEMBERS
from vis_bench.api.per_frame import has_per_frame_stages
from vis_bench.api.prompts import HOOK as PROMPT_LOAD_HOOK
from vis_bench.api.refinement import HOOKS as REFINEMENT_HOOKS
from vis_bench.api.training import OPTIONAL_HOOKS as TRAINING_HOOKS
from vis_bench.errors import VisBenchError


class CapabilityError(VisBenchError):
    """A plugin class whose hooks and spec disagree about a capability."""


@dataclass(frozen=True)
class Capability:
    """One optional capability: its name, the module that defines it, and how a class has it."""

    name: str
    module: str
    present: Callable[[Any], bool]


def _implements(plugin: Any, *hooks: str) -> bool:
    return any(callable(getattr(plugin, hook, None)) for hook in hooks)


#: every optional capability, in the order `methods` lists them
CAPABILITIES = (
    Capability("per-frame stages", "vis_bench.api.per_frame", has_per_frame_stages),
    Capability(
        "query tracks", "vis_bench.api.linking", lambda p: links_query_tracks(p.spec.linking)
    ),
    Capability("carried state", "vis_bench.api.linking", lambda p: carries_state(p.spec.linking)),
    Capability(
        "whole-video refinement",
        "vis_bench.api.refinement",
        lambda p: isinstance(p.spec.linking, WholeVideoRefinement),
    ),
    Capability("training", "vis_bench.api.training", lambda p: p.spec.training is not None),
    Capability("parity reference", "vis_bench.api.parity", lambda p: p.spec.parity is not None),
    Capability("released variants", "vis_bench.api.variants", lambda p: bool(p.spec.variants)),
    Capability(
        "authors' timing protocol",
        "vis_bench.api.timing",
        lambda p: p.spec.timing_protocol is not None,
    ),
    Capability(
        "prompt count", "vis_bench.api.prompts", lambda p: p.spec.prompt_count_option is not None
    ),
    Capability(
        "table measurements", "vis_bench.api.measurements", lambda p: bool(p.spec.measurements)
    ),
    Capability(
        "FLOP breakdown", "vis_bench.api.measurements", lambda p: _implements(p, "flops_modules")
    ),
    Capability(
        "own results",
        "vis_bench.api.output",
        lambda p: _implements(p, "track_predictions", "masks_to_video", "mask_cut"),
    ),
    Capability(
        "checkpoint helpers",
        "vis_bench.api.checkpoints",
        lambda p: _implements(
            p,
            "checkpoint_tensors",
            "checkpoint_options",
            "describe_checkpoint",
            "foreign_checkpoint",
        ),
    ),
    Capability(
        "execution report", "vis_bench.api.execution", lambda p: _implements(p, *EXECUTION_HOOKS)
    ),
)


def capabilities_of(plugin: Any) -> list[str]:
    """The names of the optional capabilities a plugin class (or instance) has."""
    return [capability.name for capability in CAPABILITIES if capability.present(plugin)]


def check_capabilities(plugin: type) -> None:
    """Refuse a class whose hooks and spec disagree (see the module docstring)."""
    for problem in (
        _per_frame_problem(plugin),
        _state_problem(plugin),
        _refinement_problem(plugin),
        _query_track_problem(plugin),
        _training_problem(plugin),
        _execution_problem(plugin),
        _prompt_count_problem(plugin),
    ):
        if problem:
            raise CapabilityError(
                f"{plugin.__module__}.{plugin.__qualname__} {problem} ({see('registration')})"
            )


def _linking_name(plugin: type) -> str:
    return f"{type(plugin.spec.linking).__name__}()"


def _per_frame_problem(plugin: type) -> str:
    members = PER_FRAME_MEMBERS
    present = [member for member in members if getattr(plugin, member, None)]
    if present and len(present) < len(members):
        missing = [member for member in members if member not in present]
        return (
            f"has {', '.join(present)} but not {', '.join(missing)}: per-frame stages need all "
            "three (vis_bench.api.per_frame.PerFrameStages: the stage names, frame_features and "
            "infer_clip_features); add the missing ones or remove the others"
        )
    return ""


def _state_problem(plugin: type) -> str:
    functions = ["infer_clip"] + (["infer_clip_features"] if has_per_frame_stages(plugin) else [])
    carried = carries_state(plugin.spec.linking)
    for name in functions:
        takes = takes_state(getattr(plugin, name))
        if carried and not takes:
            return (
                f"declares linking={_linking_name(plugin)} but its {name} does not take state= "
                "and seen=: add them (vis_bench.api.linking.CarriesState) or declare another "
                "linking"
            )
        if takes and not carried:
            return (
                f"has {name}(..., state=, seen=) but declares linking={_linking_name(plugin)}, "
                "so the harness would never hand it a state: declare linking=CarriedState() "
                "(or WholeVideoRefinement()) or drop the parameters"
            )
    return ""


def _refinement_problem(plugin: type) -> str:
    declared = isinstance(plugin.spec.linking, WholeVideoRefinement)
    present = [hook for hook in REFINEMENT_HOOKS if callable(getattr(plugin, hook, None))]
    if declared and len(present) < len(REFINEMENT_HOOKS):
        return (
            "declares linking=WholeVideoRefinement() but does not implement "
            f"{' and '.join(h for h in REFINEMENT_HOOKS if h not in present)}: add them "
            "(vis_bench.api.refinement.RefinesVideos) or declare another linking"
        )
    if present and not declared:
        return (
            f"implements {' and '.join(present)} but declares linking={_linking_name(plugin)}: "
            "declare linking=WholeVideoRefinement() in its spec (and implement both "
            "refine_video and refined_masks), or remove them"
        )
    return ""


def _query_track_problem(plugin: type) -> str:
    if _implements(plugin, "video_predictions") and not links_query_tracks(plugin.spec.linking):
        return (
            f"implements video_predictions but declares linking={_linking_name(plugin)}, which "
            "never asks for it: declare EmbeddingAssociation() or CarriedState(), or remove it"
        )
    return ""


def _training_problem(plugin: type) -> str:
    trains = _implements(plugin, "training_losses")
    recipe = plugin.spec.training is not None
    if recipe and not trains:
        return (
            "declares a training recipe (training=) but does not implement training_losses: add "
            "it (vis_bench.api.training.Trainable) or drop training= from its spec"
        )
    if trains and not recipe:
        return (
            "implements training_losses but its spec has no training recipe: declare "
            "training=TrainingRecipe(...) (vis_bench.api.training), or remove training_losses"
        )
    extra = [hook for hook in TRAINING_HOOKS if _implements(plugin, hook)]
    if extra and not trains:
        return (
            f"implements {', '.join(extra)} but not training_losses: these training hooks are "
            "used only by a method that trains (vis_bench.api.training.Trainable)"
        )
    return ""


def _execution_problem(plugin: type) -> str:
    if _implements(plugin, "reset_execution_info") and not _implements(plugin, "execution_info"):
        return (
            "implements reset_execution_info but not execution_info, so nothing it records is "
            "ever reported: add execution_info (vis_bench.api.execution.ReportsExecution)"
        )
    return ""


def declaration(plugin: type) -> dict[str, Any]:
    """What `methods` prints of a method: its spec's declaration, its per-frame stages and the
    names of its optional capabilities."""
    out = plugin.spec.declaration()
    out["per-frame stages"] = list(getattr(plugin, "per_frame_stages", ())) or "none"
    out["capabilities"] = capabilities_of(plugin) or "none (the core hooks only)"
    return out


def _prompt_count_problem(plugin: type) -> str:
    option = plugin.spec.prompt_count_option
    reports = _implements(plugin, PROMPT_LOAD_HOOK)
    if option is not None and not reports:
        return (
            f"declares prompt_count_option={option!r} but does not implement "
            f"{PROMPT_LOAD_HOOK}: add it (vis_bench.api.prompts.ReportsPromptLoad) or drop "
            "the option from its spec"
        )
    if reports and option is None:
        return (
            f"implements {PROMPT_LOAD_HOOK} but its spec has no prompt_count_option: name the "
            "option that limits its prompts, or remove the hook"
        )
    fields = getattr(plugin.spec.options, "__dataclass_fields__", None)
    if option is not None and fields is not None and option not in fields:
        return (
            f"declares prompt_count_option={option!r}, which is none of its options: name the "
            "option that limits its prompts to the first k categories"
        )
    return ""

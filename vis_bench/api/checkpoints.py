"""Checkpoint helpers: strict loading, and what a method may say about its own files.

A model with some random parts still produces a plausible-looking, meaningless AP, so every key
must match: missing keys, unexpected keys and shape mismatches raise one CheckpointError that names
the file, counts each kind, shows the first offending keys and says what the file looks like
("this looks like a checkpoint of method NAME"). Keys the authors' own loading skips on purpose
are declared in the method's spec (`ignored_checkpoint_keys`), and so are the renames the authors'
loading applies to older files (`checkpoint_renames`, key_renames.py) and the constant buffers it
does not require of a file (`checkpoint_constants`: a criterion's class weights, built from the
options, stay and are reported as filled). Floating tensors stored in another dtype (a float16
copy) are cast to the model's and the report says from what. `strict=False` is the explicit
opt-out (`checkpoint_strict: false` in a sweep's method entry): the load goes on and the report,
which the sweep records, says it was partial; but a file that fills less than
`MIN_PARTIAL_SHARE` of the model's tensors is an error even then (a wrong method's file, say).

The default `MethodPlugin.load_checkpoint` uses these; a method whose files need more overrides it
with them. A method may also implement any of the `CheckpointLayout` hooks: `checkpoint_tensors`
(its own completions of a file's state dict, e.g. duplicated keys), `checkpoint_options` (the
options that build the model a release file was saved from), `describe_checkpoint` (lines
`check-checkpoint` prints) and `foreign_checkpoint` (a file in another library's layout, e.g.
Hugging Face Transformers', converted to the method's keys with its options); the functions of
the same names below call a method's hook or give the default. The file layouts themselves are vis_bench/formats/checkpoints.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from vis_bench.api.key_renames import KeyRename, apply_renames
from vis_bench.api.spec import MethodSpec
from vis_bench.api.tables import best_matches, guess_words
from vis_bench.formats.checkpoints import CheckpointContents, CheckpointError, open_checkpoint

__all__ = [
    "CheckpointContents",
    "CheckpointError",
    "CheckpointLayout",
    "KeyRename",
    "LoadReport",
    "LoadSummary",
    "MIN_PARTIAL_SHARE",
    "foreign_contents",
    "load_method_checkpoint",
    "spec_rules",
    "checkpoint_contents",
    "checkpoint_options",
    "checkpoint_tensors",
    "compare_and_load",
    "describe_checkpoint",
    "load_state_dict_strict",
    "open_checkpoint",
]

#: offending keys shown per kind in an error message
SHOWN_KEYS = 5
#: the least share of the model's tensors a load with strict off must fill from the file:
#: below it the file is not this model's (a wrong method's file), and the load is an error
MIN_PARTIAL_SHARE = 0.5


class LoadSummary(Protocol):
    """What a checkpoint load did (methods return their LoadReport; records keep this much)."""

    path: str
    format: str
    strict: bool

    @property
    def partial(self) -> bool: ...

    def as_record(self) -> dict[str, Any]: ...


@dataclass
class LoadReport:
    """What loading a checkpoint into a model did."""

    path: str
    format: str
    strict: bool = True
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: "old -> new" for each rename the authors' loading applies (key_renames.py)
    renamed: list[str] = field(default_factory=list)
    #: constant buffers the file lacks, left at the model's value built from the options
    filled: list[str] = field(default_factory=list)
    #: floating dtypes cast to the model's ("float16 -> float32: N tensors")
    cast: list[str] = field(default_factory=list)
    #: how the file was stored and what reading it did (CheckpointContents.notes)
    container: str = ""
    notes: list[str] = field(default_factory=list)
    #: tensors of the model (the denominator of `share`)
    model_tensors: int = 0

    @property
    def share(self) -> float:
        """The share of the model's tensors filled from the file (or as constants)."""
        if not self.model_tensors:
            return 1.0
        return min(1.0, (self.loaded + len(self.filled)) / self.model_tensors)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def partial(self) -> bool:
        """Some of the model was not filled from the file (only possible with strict off)."""
        return not self.clean

    def problems(self) -> list[str]:
        """One line per kind of mismatch: count and the first keys."""
        lines = []
        for title, keys in (
            ("missing from the file", self.missing),
            ("unexpected in the file", self.unexpected),
            ("of the wrong shape", self.mismatched),
        ):
            if keys:
                shown = ", ".join(keys[:SHOWN_KEYS])
                more = f", ... (+{len(keys) - SHOWN_KEYS})" if len(keys) > SHOWN_KEYS else ""
                lines.append(f"{len(keys)} key(s) {title}: {shown}{more}")
        return lines

    def summary(self) -> str:
        """One line for logs: what was loaded and, for a partial load, what was not."""
        head = f"checkpoint {self.path} ({self.format}): {self.loaded} tensors loaded"
        if self.ignored:
            head += f", {len(self.ignored)} ignored as the authors' loading does"
        return "; ".join([head, *self.changes(), *self.problems()])

    def changes(self) -> list[str]:
        """One line per thing the load did besides copying tensors: container notes, renames,
        fills, casts."""
        lines = list(self.notes)
        if self.renamed:
            lines.append(
                f"{len(self.renamed)} key(s) renamed as the authors' loading does: "
                + ", ".join(self.renamed[:SHOWN_KEYS])
                + (
                    f", ... (+{len(self.renamed) - SHOWN_KEYS})"
                    if len(self.renamed) > SHOWN_KEYS
                    else ""
                )
            )
        if self.filled:
            lines.append(
                f"{len(self.filled)} constant(s) not in the file, filled from the "
                f"options: {', '.join(self.filled)}"
            )
        lines += [f"cast {line}" for line in self.cast]
        return lines

    def as_record(self) -> dict[str, Any]:
        """What a sweep record keeps of the load."""
        return {
            "path": self.path,
            "format": self.format,
            "strict": self.strict,
            "partial": self.partial,
            "loaded": self.loaded,
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "mismatched": len(self.mismatched),
            "first_missing": self.missing[:SHOWN_KEYS],
            "first_unexpected": self.unexpected[:SHOWN_KEYS],
            "container": self.container,
            "renamed": len(self.renamed),
            "filled": self.filled,
            "cast": self.cast,
            "notes": self.notes,
        }


def _describe_file(contents: CheckpointContents) -> str:
    if contents.method:
        return f"the file is a vis-bench checkpoint of method {contents.method!r}"
    matches = best_matches(contents.state_dict)
    if not matches:
        return "the file matches no registered method's checkpoint signature"
    return f"this looks like {guess_words(matches)} checkpoint"


def spec_rules(spec: MethodSpec) -> dict[str, Any]:
    """The spec's loading rules as `compare_and_load`'s keyword arguments."""
    return {
        "ignored": spec.ignored_checkpoint_keys,
        "renames": spec.checkpoint_renames,
        "constants": spec.checkpoint_constants,
    }


def compare_and_load(
    model: nn.Module,
    weights: Mapping[str, torch.Tensor],
    report: LoadReport,
    ignored: tuple[str, ...] = (),
    assign: bool = False,
    renames: tuple[KeyRename, ...] = (),
    constants: tuple[str, ...] = (),
    versions: Mapping[str, int] | None = None,
) -> LoadReport:
    """Load every entry of `weights` that fits `model` and fill `report` with what did not.

    The model's own loading hooks decide what is missing or unexpected (a frozen BatchNorm that
    ignores `num_batches_tracked`, say), as in any load. The declared renames are applied first
    (by the file's `_metadata` `versions`), floating tensors are cast to the dtype of the model's
    tensor they fill, and `constants` the file lacks are reported as filled, not missing.
    `assign=True` puts the file's tensors in place instead of copying them, which is how a
    meta-device model is compared without memory.
    """
    own = model.state_dict()
    weights, report.renamed = apply_renames(weights, renames, own, versions)
    patterns = [re.compile(p) for p in ignored]
    for key in list(weights):
        if key not in own and any(p.search(key) for p in patterns):
            report.ignored.append(key)
            del weights[key]
    report.mismatched = [
        f"{k} (file {tuple(weights[k].shape)}, model {tuple(own[k].shape)})"
        for k in weights
        if k in own and tuple(weights[k].shape) != tuple(own[k].shape)
    ]
    loadable = {
        k: v for k, v in weights.items() if k not in own or tuple(v.shape) == tuple(own[k].shape)
    }
    # a meta-device comparison (`assign`) only counts the casts: no copy of the file's tensors
    loadable, report.cast = _cast_to_model(loadable, own, convert=not assign)
    result = model.load_state_dict(loadable, strict=False, assign=assign)
    misshaped = {m.split(" ", 1)[0] for m in report.mismatched}
    fixed = [re.compile(p) for p in constants]
    missing = [k for k in result.missing_keys if k not in misshaped]
    report.filled = [k for k in missing if any(p.search(k) for p in fixed)]
    report.missing = [k for k in missing if k not in report.filled]
    report.unexpected = list(result.unexpected_keys)
    report.loaded = len(loadable) - len(report.unexpected)
    report.model_tensors = len(own)
    return report


def _cast_to_model(
    weights: dict[str, torch.Tensor], own: Mapping[str, torch.Tensor], convert: bool = True
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Floating tensors in the dtype of the model's tensor they fill; "a -> b: N tensors"."""
    counts: dict[tuple[str, str], int] = {}
    out = {}
    for key, value in weights.items():
        target = own.get(key)
        if (
            target is not None
            and value.is_floating_point()
            and target.is_floating_point()
            and value.dtype != target.dtype
        ):
            pair = (_dtype_name(value.dtype), _dtype_name(target.dtype))
            counts[pair] = counts.get(pair, 0) + 1
            value = value.to(target.dtype) if convert else value
        out[key] = value
    return out, [f"{a} -> {b}: {n} tensor(s)" for (a, b), n in sorted(counts.items())]


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def load_state_dict_strict(
    model: nn.Module,
    contents: CheckpointContents,
    spec: MethodSpec,
    state_dict: Mapping[str, torch.Tensor] | None = None,
    strict: bool = True,
) -> LoadReport:
    """Load `state_dict` (default: the file's) into `model`; see the module docstring.

    A strict load that finds any mismatch raises after loading what fitted: the half-filled
    model must not be used (the harness discards it with the failed cell). With strict off, a
    file that fills less than `MIN_PARTIAL_SHARE` of the model's tensors raises too.
    """
    weights = contents.state_dict if state_dict is None else state_dict
    report = LoadReport(contents.path, contents.format, strict=strict)
    report.container, report.notes = contents.container, list(contents.notes)
    compare_and_load(model, weights, report, **spec_rules(spec), versions=contents.versions)
    if strict and not report.clean:
        message = [f"does not fit the {spec.name} model being built", *report.problems()]
        message += report.changes()
        message.append(_describe_file(contents))
        message.append(
            "point the method at its own checkpoint, or set checkpoint_strict: false in the "
            "method's entry to load what fits (the record then says the load was partial)"
        )
        raise CheckpointError("\n  ".join(message), path=contents.path)
    if not strict and report.share < MIN_PARTIAL_SHARE:
        message = [
            f"fills only {report.share:.0%} of the {spec.name} model's tensors "
            f"({report.loaded + len(report.filled)} of {report.model_tensors}); a load with "
            f"checkpoint_strict: false must fill at least {MIN_PARTIAL_SHARE:.0%}",
            *report.problems(),
            _describe_file(contents),
            "point the method at its own checkpoint",
        ]
        raise CheckpointError("\n  ".join(message), path=contents.path)
    return report


def checkpoint_contents(checkpoint: str | CheckpointContents) -> CheckpointContents:
    """A path is read once; contents already read (by the harness) are used as they are."""
    if isinstance(checkpoint, CheckpointContents):
        return checkpoint
    return open_checkpoint(checkpoint)


class CheckpointLayout(Protocol):
    """Optional hooks on what a method's checkpoint files hold (each may be implemented alone)."""

    @classmethod
    def checkpoint_tensors(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The entries `load_checkpoint` loads from a file's state dict (the method's own
        completions, such as duplicated keys)."""
        ...

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """Options that build the model a release state dict was saved from, read from its keys
        and shapes (e.g. the backbone); `check-checkpoint` builds that model to compare."""
        ...

    @classmethod
    def describe_checkpoint(cls, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
        """Lines saying what a state dict holds beyond its keys (e.g. "backbone: ...")."""
        ...

    @classmethod
    def foreign_checkpoint(cls, contents: CheckpointContents) -> CheckpointContents | None:
        """A file in another library's layout (e.g. Hugging Face Transformers') as contents in
        the method's own keys, its options in `config` and `converted_from` saying from what;
        None when the file is not one. May refuse a file it recognises but cannot run."""
        ...


def checkpoint_tensors(
    plugin: Any, state_dict: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The method's `checkpoint_tensors` of a state dict; without one, the state dict as it is."""
    hook = getattr(plugin, "checkpoint_tensors", None)
    return dict(state_dict) if hook is None else hook(state_dict)


def checkpoint_options(plugin: Any, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The method's `checkpoint_options` of a state dict; without one, none."""
    hook = getattr(plugin, "checkpoint_options", None)
    return {} if hook is None else hook(state_dict)


def describe_checkpoint(plugin: Any, state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """The method's `describe_checkpoint` lines of a state dict; without one, none."""
    hook = getattr(plugin, "describe_checkpoint", None)
    return [] if hook is None else hook(state_dict)


def foreign_contents(plugin: Any, contents: CheckpointContents) -> CheckpointContents:
    """The method's conversion of a file in another library's layout; the contents unchanged
    when the method has none or the file is not one."""
    hook = getattr(plugin, "foreign_checkpoint", None)
    converted = None if hook is None else hook(contents)
    return contents if converted is None else converted


def load_method_checkpoint(
    plugin: Any,
    model: nn.Module,
    checkpoint: str | CheckpointContents,
    strict: bool = True,
) -> LoadReport:
    """What `MethodPlugin.load_checkpoint` does by default: read the file once, convert it if
    it is in another library's layout, check it is this method's, apply the method's own
    completions (`checkpoint_tensors`) and load it strictly with the spec's rules."""
    contents = foreign_contents(plugin, checkpoint_contents(checkpoint))
    contents.check_method(plugin.spec.name)
    tensors = checkpoint_tensors(plugin, contents.state_dict)
    return load_state_dict_strict(model, contents, plugin.spec, tensors, strict)

"""A config's method entries, checked when the config is loaded, before any cell runs.

A sweep that fails in its fortieth cell because the third method's checkpoint path has a typo
wastes hours, so everything that can be known up front is checked here, with the entry's index in
the message (`methods[1].checkpoint`): the method name, its options (the method's own dataclass),
the checkpoint file (present, readable, and made for this method), and a project checkpoint's
stored options, which become the defaults the config's options override.

An entry may name a released checkpoint instead of a method (`name: METHOD.VARIANT`,
`methods --pretrained` lists them): its method is built with the variant's options (under the
checkpoint's stored ones and the config's own), its label space is the variant's unless the entry
gives one, and the records name the variant.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from vis_bench.api.checkpoints import foreign_contents
from vis_bench.api.options import options_dict
from vis_bench.api.registration import get_method
from vis_bench.api.tables import PRETRAINED, UnknownMethodError, best_matches, guess_words
from vis_bench.api.variants import PretrainedVariant
from vis_bench.config import BenchConfig, MethodConfig
from vis_bench.config_overrides import Origin, rebased
from vis_bench.config_paths import FoundFile, find_checkpoint
from vis_bench.errors import InputError
from vis_bench.formats.checkpoint_labels import (
    CarriedSpace,
    carried_label_space,
    describe_space,
)
from vis_bench.formats.checkpoints import (
    PROJECT_FORMAT,
    CheckpointError,
    checkpoint_fingerprint,
    open_checkpoint,
)


@dataclass(frozen=True)
class MethodEntry:
    """One method of a sweep, checked: what a worker needs to build it."""

    index: int
    name: str
    #: "module:QualName" of the plugin class (a worker process imports it from there)
    plugin: str
    #: the options as the config gives them (part of every cell's identity)
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    #: every option the model is built with: the method's defaults, then a project
    #: checkpoint's stored options, then the config's
    model_options: dict[str, Any] = field(default_factory=dict, hash=False)
    #: the checkpoint as the config names it (records and baselines show this)
    checkpoint: str | None = None
    #: where that file was found (a config's relative paths from the config's folder)
    checkpoint_path: str | None = None
    #: how it was found: {"path", "found", and "sha256" for a shipped fallback} (records keep it)
    checkpoint_source: dict[str, str] | None = field(default=None, hash=False)
    checkpoint_strict: bool = True
    label: str | None = None

    @property
    def where(self) -> str:
        return f"methods[{self.index}]"

    #: the model's label space and how it meets the dataset's (see label_space_mapping)
    label_space: str | None = None
    #: the label space the checkpoint itself carries (a name, or its (id, name) pairs), which
    #: is checked when the entry names none
    carried_label_space: CarriedSpace | None = field(default=None, hash=False)

    @property
    def model_space(self) -> CarriedSpace | None:
        """The label space the model's ids are checked in: the entry's, else the checkpoint's."""
        return self.label_space if self.label_space is not None else self.carried_label_space

    category_map: str = "strict"
    category_aliases: dict[str, str] = field(default_factory=dict, hash=False)
    #: the released checkpoint the entry named (`method.variant`), None for a method name
    variant: str | None = None
    #: what tells this entry from another entry with the same method, checkpoint and options
    #: (its label, or its place `methods[i]`), part of its cells' keys; None for a lone entry
    entry: str | None = None
    #: the option limiting a prompted method to its first k categories (`sweep.prompts`);
    #: None: the method takes no prompt count
    prompt_count_option: str | None = None
    #: the clip lengths this method's cells take (the config entry's `clip_length`); None: all
    clip_lengths: tuple[int | str, ...] | None = field(default=None, hash=False)

    def fingerprint(self) -> str | None:
        return checkpoint_fingerprint(self.checkpoint_path)


def shipped_note(entry: MethodEntry) -> str | None:
    """The console line of a checkpoint taken from the shipped weights by its name (None for
    any other): which file it is, by path and sha256, since the name alone could be another."""
    source = entry.checkpoint_source
    if not source or source.get("found") != "shipped":
        return None
    return (
        f"{entry.where}.checkpoint: {entry.checkpoint} is not beside the config, so the shipped "
        f"file of that name is used: {source['path']} (sha256 {source['sha256'][:16]})"
    )


def plugin_reference(name: str) -> str:
    """Where a registered plugin class can be imported from (for worker processes)."""
    plugin = get_method(name)
    return f"{plugin.__module__}:{plugin.__qualname__}"


@dataclass(frozen=True)
class _Checkpoint:
    found: FoundFile
    #: project format: the options the model was built with
    stored: dict[str, Any]
    label_space: CarriedSpace | None


def _checkpoint(
    entry: MethodConfig, where: str, source: str, origins: dict[str, Origin] | None
) -> _Checkpoint:
    """The checkpoint file (found as config_paths says), its stored options and label space."""
    found = find_checkpoint(str(entry.checkpoint), f"{where}.checkpoint", source, origins)
    path = found.path
    try:
        contents = foreign_contents(get_method(entry.name), open_checkpoint(path))
    except CheckpointError as err:
        raise InputError(str(err), path=source, field=f"{where}.checkpoint") from err
    carried = carried_label_space(contents)
    if contents.converted_from:  # another library's layout: the options its files carry
        return _Checkpoint(found, dict(contents.config), carried)
    if contents.format == PROJECT_FORMAT:
        if contents.method not in (None, entry.name):
            raise InputError(
                f"{path} is a checkpoint of method {contents.method!r}, not {entry.name!r}: "
                f"point {where}.checkpoint at a {entry.name} checkpoint or change {where}.name",
                path=source,
                field=f"{where}.checkpoint",
            )
        return _Checkpoint(found, dict(contents.config), carried)
    matches = best_matches(contents.state_dict)
    if matches and entry.name not in matches:
        raise InputError(
            f"{path} looks like {guess_words(matches)} checkpoint, not a {entry.name} one: point "
            f"{where}.checkpoint at a {entry.name} checkpoint or change {where}.name",
            path=source,
            field=f"{where}.checkpoint",
        )
    return _Checkpoint(found, {}, carried)


def _label_space(entry: MethodConfig, where: str, source: str) -> str | None:
    if entry.label_space is None:
        return None
    from vis_bench.formats.categories import get_category_set

    try:
        get_category_set(entry.label_space)
    except KeyError as err:
        raise InputError(err.args[0], path=source, field=f"{where}.label_space") from err
    return entry.label_space


def _check_declared_space(declared: str, carried: CarriedSpace, where: str, source: str) -> None:
    """An entry's `label_space` that is not the one its checkpoint was trained on is an error:
    the checkpoint's classes would be read in another space's ids."""
    from vis_bench.formats.categories import check_label_space

    try:
        check_label_space(declared, carried)
    except InputError:
        raise InputError(
            f"says {declared}, but the checkpoint was trained on {describe_space(carried)}: "
            f"drop {where}.label_space (the checkpoint's own is checked against the dataset) "
            "or point the entry at a checkpoint trained on it",
            path=source,
            field=f"{where}.label_space",
        ) from None


def named_variant(name: str, where: str, source: str) -> PretrainedVariant | None:
    """The released checkpoint a method entry names (`method.variant`), None for a method name;
    an unknown or unsupported variant is an InputError naming the field."""
    if "." not in name:
        return None
    if name not in PRETRAINED:
        method = name.split(".", 1)[0]
        same = PRETRAINED.match(f"{method}.*")
        known = ", ".join(same) if same else "none of this method"
        close = difflib.get_close_matches(name, PRETRAINED.names(), n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise InputError(
            f"unknown released checkpoint {name!r}{hint}; {method}'s: {known} "
            "(`run_bench.py methods --pretrained` lists them all)",
            path=source,
            field=f"{where}.name",
        )
    variant = PRETRAINED.get(name)
    if variant.unsupported:
        raise InputError(
            f"{variant.name} cannot run in vis-bench: {variant.unsupported}",
            path=source,
            field=f"{where}.name",
        )
    return variant


def resolve_method(
    entry: MethodConfig, index: int, source: str, origins: dict[str, Origin] | None = None
) -> MethodEntry:
    """Check one method entry of a config (see the module docstring); `origins` says which
    fields the command line gave (their paths are relative to the working directory)."""
    where = f"methods[{index}]"
    variant = named_variant(entry.name, where, source)
    method = variant.method if variant else entry.name
    try:
        plugin = get_method(method)
    except UnknownMethodError as err:
        raise InputError(str(err), path=source, field=f"{where}.name") from err
    if variant is not None:
        entry = dataclasses.replace(
            entry, name=method, label_space=entry.label_space or variant.label_space
        )
    try:
        checkpoint = _checkpoint(entry, where, source, origins) if entry.checkpoint else None
    except InputError as err:
        raise _with_release_hint(err, variant) from None
    stored = checkpoint.stored if checkpoint is not None else {}
    label_space = _label_space(entry, where, source)
    carried = checkpoint.label_space if checkpoint is not None else None
    if label_space is not None and carried is not None:
        _check_declared_space(label_space, carried, where, source)
    merged = {**(variant.options if variant else {}), **stored, **entry.options}
    parsed = plugin.parse_options(merged, f"{where}.options", source)
    if label_space is None and carried is None:
        label_space = _prompted_label_space(plugin.spec, parsed)
    return MethodEntry(
        index=index,
        name=plugin.name,
        variant=variant.name if variant else None,
        plugin=plugin_reference(method),
        options=dict(entry.options),
        model_options=options_dict(parsed),
        checkpoint=entry.checkpoint,
        checkpoint_path=str(checkpoint.found.path) if checkpoint is not None else None,
        checkpoint_source=checkpoint.found.to_json() if checkpoint is not None else None,
        checkpoint_strict=entry.checkpoint_strict,
        label=entry.label,
        label_space=label_space,
        carried_label_space=carried,
        category_map=entry.category_map,
        category_aliases=dict(entry.category_aliases),
        prompt_count_option=getattr(plugin.spec, "prompt_count_option", None),
        clip_lengths=None if entry.clip_length is None else tuple(entry.clip_length),
    )


def _prompted_label_space(spec: Any, options: Any) -> str | None:
    """The known label space an open-vocabulary method is prompted with (its spec names the
    option), checked against the dataset's as a trained model's would be; None otherwise (a
    file of categories of one's own: the user pointed it at them)."""
    option = getattr(spec, "prompt_categories_option", None)
    value = getattr(options, option, None) if option else None
    if not isinstance(value, str) or not value:
        return None
    from vis_bench.formats.categories import KNOWN_CATEGORY_SETS

    name = value.lower().replace("-", "").replace("_", "")
    return name if name in KNOWN_CATEGORY_SETS else None


def _with_release_hint(err: InputError, variant: PretrainedVariant | None) -> InputError:
    """A named release's missing file: the error also says which file it is and where to read
    how to obtain it (a gated download, a licence to accept)."""
    if variant is None or not err.message.startswith("checkpoint not found"):
        return err
    where = f" ({variant.url})" if variant.url else ""
    return InputError(
        f"{err.message}; {variant.name}'s released file is {variant.release_file}{where}: "
        f"`run_bench.py methods --pretrained {variant.name}` says how to obtain it and its licence",
        path=err.path,
        field=err.field,
    )


def resolve_methods(config: BenchConfig) -> list[MethodEntry]:
    """Every method entry of `config`, checked; the first problem is an InputError naming
    where the user wrote the field (a flag such as `--checkpoint`, or the file's entry)."""
    try:
        entries = [
            resolve_method(entry, i, config.source, config.origins)
            for i, entry in enumerate(config.methods)
        ]
    except InputError as err:
        raise rebased(err, config.origins) from None
    return told_apart(entries)


def _same_cells(entry: MethodEntry) -> str:
    """What makes two entries' cells the same work (everything of a cell's key but the axes)."""
    return repr(
        (entry.name, entry.variant, entry.checkpoint, entry.fingerprint(), entry.checkpoint_strict,
         entry.label_space, entry.category_map, sorted(entry.options.items(), key=str))
    )  # fmt: skip


def told_apart(entries: list[MethodEntry]) -> list[MethodEntry]:
    """Entries that would run the same cells (twins: one method listed twice with the same
    checkpoint and options, e.g. an A/A check of the timing's noise, or a checkpoint re-trained
    into the same path) each named by their label when the labels differ, else by their place
    (`methods[i]`): the name is part of their cells' keys, so each twin is a cell of its own and
    never a second record under the other's key."""
    groups: dict[str, list[MethodEntry]] = {}
    for entry in entries:
        groups.setdefault(_same_cells(entry), []).append(entry)
    named: dict[int, str] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        labels = [e.label for e in group]
        by_label = all(labels) and len(set(labels)) == len(labels)
        for e in group:
            named[e.index] = str(e.label) if by_label else e.where
    return [dataclasses.replace(e, entry=named.get(e.index)) for e in entries]

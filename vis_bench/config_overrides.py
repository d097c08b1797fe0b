"""A config file read with its command-line changes: `--set key=value` overrides, and where each
field came from.

`--set` items are applied to the raw YAML mapping before it is parsed (a list element by its
index), `--set method=NAME` keeps the file's entries of that name, and every field a flag set
remembers its `Origin`, so an error about it names the flag the user typed rather than the
resolved config's key (`rebased`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vis_bench.errors import InputError


@dataclass(frozen=True)
class Origin:
    """Where the user wrote a config field: a flag of the command line (`path` None, `field`
    the flag as typed) or another field of the file (e.g. the entry `--set method=NAME` kept)."""

    path: str | None
    field: str


def rebased(err: InputError, origins: dict[str, Origin]) -> InputError:
    """`err` naming the place the user wrote its field (the flag, or the file's own field),
    instead of the resolved config's; `err` itself where no origin covers its field."""
    if not err.field or not origins:
        return err
    for key in sorted(origins, key=len, reverse=True):
        if key.startswith((f"{err.field}.", f"{err.field}[")) and origins[key].path is None:
            # a flag that made a new section (`--set unknown.key=1`): the error about the
            # section is the flag's
            return InputError(err.message, field=origins[key].field)
        if err.field == key or err.field.startswith((f"{key}.", f"{key}[")):
            origin = origins[key]
            rest = err.field[len(key) :] if origin.path is not None else ""
            # an entry's place (`methods[4]`) is named in advice too; a key such as
            # `sweep.device` is also part of the advice's own `--set` text, left as it is
            message = err.message.replace(key, origin.field) if "[" in key else err.message
            return InputError(message, path=origin.path, field=origin.field + rest)
    return err


def override_origins(overrides: list[str]) -> dict[str, Origin]:
    """`--set KEY=VALUE` items by the config field they set (`methods.4.checkpoint` ->
    `methods[4].checkpoint`), each pointing at the flag as typed; `method=NAME` is no field
    (`keep_named_entry` says where its entries came from)."""
    origins = {}
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key == METHOD_SHORTHAND:
            continue
        field_name = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", key)
        origins[field_name] = Origin(None, f"--set {item}")
    return origins


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Apply `key.sub=value` overrides (value parsed as YAML) to a raw config mapping.

    A list element is addressed by its index (`methods.1.checkpoint=...`); a method given by
    name alone becomes `{name: ...}` when one of its keys is set.
    """
    for item in overrides:
        try:
            _apply_override(data, item, source)
        except InputError as err:
            if err.field != "--set":
                raise
            # the flag as typed is at fault; the file only gives the structure it addresses
            where = f" (in {err.path})" if err.path else ""
            raise InputError(f"{err.message}{where}", field=f"--set {item}") from None
    return data


def _apply_override(data: dict[str, Any], item: str, source: str) -> None:
    """One `--set` item applied to the raw mapping (see `apply_overrides`)."""
    if "=" not in item or not item.partition("=")[0].strip():
        raise InputError(
            f"override {item!r} is not of the form key=value (e.g. sweep.resolution=[224])",
            field="--set",
        )
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or "not a YAML value"
        raise InputError(
            f"the value {raw!r} is no YAML value ({problem}); a list is written [a, b], a "
            "string with brackets, commas or colons is quoted: --set 'key=\"a, b\"'",
            field=f"--set {item}",
        ) from None
    parts = key.strip().split(".")
    _check_no_brackets(parts, item)
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[: depth + 1]), key, source)
    _assign(node, parts[-1], value, key, source)


def _list_index(node: list, part: str, where: str, key: str, source: str) -> int:
    if not part.isdigit():
        raise InputError(
            f"cannot set {key!r}: {where} is a list; address its elements by index (0..{len(node) - 1})",
            path=source,
            field="--set",
        )
    index = int(part)
    if index >= len(node):
        raise InputError(
            f"cannot set {key!r}: {where.rsplit('.', 1)[0]} has {len(node)} entries, so index "
            f"{index} does not exist (indices start at 0)",
            path=source,
            field="--set",
        )
    return index


def _check_no_brackets(parts: list[str], item: str) -> None:
    """`methods[0].options.x`: a list item is named by its index as a key part
    (`methods.0.options.x`); said as such, not as an unknown key `methods[0]`."""
    for part in parts:
        match = re.fullmatch(r"(\w+)\[(-?\d+)\]", part.strip())
        if match:
            dotted = ".".join(f"{match[1]}.{match[2]}" if p is part else p.strip() for p in parts)
            raise InputError(
                f"a list item is named by its index after a dot: --set "
                f"{dotted}={item.split('=', 1)[1]}",
                field=f"--set {item}",
            )


def _child(node: Any, part: str, where: str, key: str, source: str) -> Any:
    if isinstance(node, list):
        index = _list_index(node, part, where, key, source)
        if isinstance(node[index], str):  # `methods: [NAME]`: a name alone
            node[index] = {"name": node[index]}
        return node[index]
    if not isinstance(node, dict):
        raise InputError(
            f"cannot set {key!r}: {where.rsplit('.', 1)[0]} is not a mapping",
            path=source,
            field="--set",
        )
    child = node.setdefault(part, {})
    if child is None:
        child = node[part] = {}
    if not isinstance(child, dict | list):
        raise InputError(
            f"cannot set {key!r}: {where} is not a mapping", path=source, field="--set"
        )
    return child


def _assign(node: Any, last: str, value: Any, key: str, source: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, last, key, key, source)] = value
    else:
        node[last] = value


#: `--set method=NAME`: the sweep runs that one method (or released checkpoint) alone
METHOD_SHORTHAND = "method"


def expand_method_shorthand(overrides: list[str]) -> list[str]:
    """`method=NAME` becomes `methods=[{name: NAME}]`; a released checkpoint's name
    (`method.variant`) also runs at its own test size (`sweep.resolution=[null]`) unless the
    overrides set the resolution themselves."""
    expanded: list[str] = []
    sets_resolution = any(item.split("=", 1)[0].strip() == "sweep.resolution" for item in overrides)
    for item in overrides:
        key, _, value = item.partition("=")
        if key.strip() != METHOD_SHORTHAND:
            expanded.append(item)
            continue
        expanded.append(f"methods=[{{name: {json.dumps(value.strip())}}}]")
        if "." in value and not sets_resolution:
            expanded.append("sweep.resolution=[null]")
    return expanded


def keep_named_entry(
    data: dict[str, Any], overrides: list[str], source: str, checkpoint: str | None = None
) -> tuple[list[str], dict[str, Origin], list[str]]:
    """`--set method=NAME` on a config that has entries named NAME: the sweep runs those entries
    (their checkpoints, options and label spaces kept), not a bare NAME with random weights.
    With `--checkpoint FILE` the user names the weights, so NAME runs bare with that file (an
    entry's options belong to its own checkpoint), and a note says what was left out.

    Returns the overrides left to apply (the shorthand gone where an entry was kept; a released
    checkpoint's name still runs at its own test size), where methods[0] came from, and notes."""
    methods = data.get("methods") if isinstance(data, dict) else None
    rest, origins, notes = [], {}, []
    for item in overrides:
        key, _, value = item.partition("=")
        name = value.strip()
        if key.strip() != METHOD_SHORTHAND:
            rest.append(item)
            continue
        found = [
            i
            for i, entry in enumerate(methods if isinstance(methods, list) else [])
            if (entry.get("name") if isinstance(entry, dict) else entry) == name
        ]
        if not found or checkpoint is not None:
            rest.append(item)
            origins["methods[0]"] = Origin(None, f"--set {item}")
            notes += [_left_out(methods[i], i, name, source) for i in found]
            continue
        data["methods"] = [methods[i] for i in found]
        origins = {f"methods[{n}]": Origin(source, f"methods[{i}]") for n, i in enumerate(found)}
        if "." in name and not any(
            i.split("=", 1)[0].strip() == "sweep.resolution" for i in overrides
        ):
            rest.append("sweep.resolution=[null]")
    return rest, origins, notes


def _left_out(entry: Any, index: int, name: str, source: str) -> str:
    given = {k: v for k, v in entry.items() if k != "name"} if isinstance(entry, dict) else {}
    return (
        f"--set method={name} --checkpoint FILE runs {name} with FILE and the options stored in "
        f"it; {source}'s methods[{index}] ({given or 'no settings'}) is left out"
    )


def read_yaml_config(
    path: str | Path, overrides: list[str] | None = None, kind: str = "config"
) -> dict[str, Any]:
    """A YAML config file as a mapping with `--set` overrides applied; a missing file or bad
    YAML is an InputError naming the file (`kind` says which config, e.g. "training config")."""
    from vis_bench.shipped import resolve

    # `~` as a shell would (a quoted path); a shipped config by its repository path from anywhere
    path = resolve(Path(path).expanduser())
    if path.is_dir():
        raise InputError(f"is a folder, not a {kind} file: give the YAML file", path=str(path))
    if not path.is_file():
        raise InputError(f"{kind} file not found", path=str(path))
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML: {yaml_problem(err)}", path=str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(
            f"not a text file (byte {err.start} is not UTF-8): give the YAML {kind}",
            path=str(path),
        ) from None
    if isinstance(data, dict):  # mappings kept for their anchors only (see ANCHORS_PREFIX)
        data = {k: v for k, v in data.items() if not str(k).startswith(ANCHORS_PREFIX)}
    return apply_overrides(data or {}, overrides or [], str(path))


#: a top-level key starting with this holds YAML anchors for merge keys (`x-tiny: &tiny {...}`,
#: then `- <<: *tiny` in `methods`), as Compose files do: it is no setting, so it is dropped
#: where any other unknown key is an error
ANCHORS_PREFIX = "x-"


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping (two `sweep:` sections) is an
    error: the plain loader keeps the last silently, so the first section's settings would be
    dropped without a word. Merge keys (`<<: *entry`) work as in the plain loader: a key the
    mapping writes itself overrides the merged one, which is no repeat."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (lines {seen[key]} and {line}); the second would "
                    "silently replace the first: merge them into one",
                    key_node.start_mark,
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """PyYAML's merge, with the YAML spec's order for a list of merged mappings
        (`<<: [*a, *b]`): a key of an earlier one wins over a later one's (PyYAML keeps the
        later's); the mapping's own keys win over all, as in PyYAML."""
        own = sum(1 for key, _ in node.value if key.tag != MERGE_TAG)
        super().flatten_mapping(node)
        merged, mine = node.value[: len(node.value) - own], node.value[len(node.value) - own :]
        first: dict[Any, tuple[Any, Any]] = {}
        for key, value in merged:
            name = (key.tag, key.value) if isinstance(key, yaml.ScalarNode) else id(key)
            first.setdefault(name, (key, value))
        node.value = [*first.values(), *mine]


#: the tag PyYAML's resolver gives a merge key `<<`
MERGE_TAG = "tag:yaml.org,2002:merge"


def yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML parser's error in one line: where (line and column, counted from 1), what, and
    in what (`while parsing a flow sequence`), instead of its several lines with excerpts."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    return f"{where}{problem}" + (f" ({context})" if context else "")

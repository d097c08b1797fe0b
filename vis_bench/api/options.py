"""YAML mappings -> typed dataclasses: the one validator of every config section and method option.

A typo in a sweep axis or a method option would otherwise produce a plausible but wrong table, so
unknown keys and wrong types are errors naming the key and the file. Two conveniences keep configs
short: a scalar is accepted where a list is expected (`clip_length: 5` means `[5]`), and a float
field takes a number written the way YAML 1.1 reads as a string (`1e-4`).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, TypeVar

from vis_bench.errors import InputError

T = TypeVar("T")


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of every init field of a dataclass (string annotations too)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _describe(annotation: Any) -> str:
    """A type as a config author reads it: `list of (int or 'all')`, `int or null`."""
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "any value"
    alternatives = _alternatives(annotation)
    if len(alternatives) > 1:
        return " or ".join(_describe(a) for a in alternatives)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        (item, *_) = typing.get_args(annotation) or (Any,)
        inner = _describe(item)
        return f"list of {f'({inner})' if ' or ' in inner else inner}"
    if origin is dict:
        return "mapping"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _mismatch(value: Any, annotation: Any) -> str:
    """Why `value` does not fit: for a list, the first element that does not, and its type."""
    message = f"expected {_describe(annotation)}, got {value!r} ({type(value).__name__})"
    lists = [a for a in _alternatives(annotation) if typing.get_origin(a) in (list, tuple)]
    if len(lists) == 1 and isinstance(value, list | tuple):
        (item_type, *_) = typing.get_args(lists[0]) or (Any,)
        for index, item in enumerate(value):
            if not coerce_value(item, item_type)[0]:
                return (
                    f"{message}: element {index}, {item!r}, is a {type(item).__name__}, not "
                    f"{_describe(item_type)}"
                )
    return message


def unknown_key_message(key: str, known: list[str], what: str = "known keys here") -> str:
    """ "unknown key" with the closest known names first (a typo is the usual cause)."""
    close = difflib.get_close_matches(str(key), known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"unknown key; {hint}{what}: {', '.join(sorted(known))}"


def coerce_value(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(fits, value as the field takes it) for one value against one annotation."""
    if annotation is Any:
        return True, value
    for alternative in _alternatives(annotation):
        ok, converted = _coerce_one(value, alternative)
        if ok:
            return True, converted
    return False, value


def _coerce_one(value: Any, annotation: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(annotation) or annotation
    if annotation is type(None):
        return value is None, value
    if origin is list or origin is tuple:
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        items = value if isinstance(value, list | tuple) else [value]
        if value is None:
            return False, value
        converted = []
        for item in items:
            ok, item = coerce_value(item, item_type)
            if not ok:
                return False, value
            converted.append(item)
        return True, converted if origin is list else tuple(converted)
    if origin is dict:
        return isinstance(value, dict), value
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True, float(value)
        if isinstance(value, str):
            try:
                return True, float(value)
            except ValueError:
                return False, value
        return False, value
    if annotation is str:
        return isinstance(value, str), value
    if annotation is Any:
        return True, value
    return isinstance(value, origin), value


def build_dataclass(cls: type[T], data: Any, where: str, source: str) -> T:
    """An instance of dataclass `cls` from a YAML mapping; errors name `where.key` and `source`.

    After construction, a `check(where, source)` method of the instance (if it has one) runs the
    section's own rules (ranges, combinations).
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping, got {type(data).__name__}", path=source, field=where)
    annotations = field_types(cls)
    prefix = f"{where}." if where else ""
    kwargs = {}
    for key, value in data.items():
        if key not in annotations:
            raise InputError(
                unknown_key_message(key, list(annotations)), path=source, field=f"{prefix}{key}"
            )
        nested = _nested(value, annotations[key], f"{prefix}{key}", source)
        if nested is not None:
            kwargs[key] = nested
            continue
        ok, converted = coerce_value(value, annotations[key])
        if not ok:
            raise InputError(
                _mismatch(value, annotations[key]), path=source, field=f"{prefix}{key}"
            )
        kwargs[key] = converted
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in kwargs
    ]
    if required:
        raise InputError("required key is missing", path=source, field=f"{prefix}{required[0]}")
    try:
        instance = cls(**kwargs)
    except InputError:
        raise
    except (TypeError, ValueError) as err:
        raise InputError(str(err), path=source, field=where or None) from err
    check = getattr(instance, "check", None)
    if callable(check):
        check(where, source)
    return instance


def _dataclass_in(annotation: Any) -> type | None:
    for alternative in _alternatives(annotation):
        if dataclasses.is_dataclass(alternative):
            return alternative
    return None


def _nested(value: Any, annotation: Any, where: str, source: str) -> Any:
    """A section (dataclass) or list of sections inside a section, built with their own paths
    (`cells[2].width`); None when the field holds plain values."""
    section = _dataclass_in(annotation)
    if section is not None and isinstance(value, dict):
        return build_dataclass(section, value, where, source)
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (Any,)
        section = _dataclass_in(item)
        if section is not None:
            if not isinstance(value, list):
                raise InputError("expected a list", path=source, field=where)
            return [
                build_dataclass(section, entry, f"{where}[{i}]", source)
                for i, entry in enumerate(value)
            ]
    return None


def options_dict(instance: Any) -> dict[str, Any]:
    """A dataclass instance as a plain mapping (what records and project checkpoints store)."""
    return dataclasses.asdict(instance)

"""YAML mappings -> typed dataclasses: the one validator of every config section and method option.

A typo in a sweep axis or a method option would otherwise produce a plausible but wrong table, so
unknown keys and wrong types are errors naming the key and the file. Two conveniences keep configs
short: a scalar is accepted where a list is expected (`clip_length: 5` means `[5]`), and a float
field takes a number written the way YAML 1.1 reads as a string (`1e-4`).
"""

from __future__ import annotations

import dataclasses
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
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


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
            known = ", ".join(sorted(annotations))
            raise InputError(
                f"unknown key; known keys here: {known}", path=source, field=f"{prefix}{key}"
            )
        nested = _nested(value, annotations[key], f"{prefix}{key}", source)
        if nested is not None:
            kwargs[key] = nested
            continue
        ok, converted = coerce_value(value, annotations[key])
        if not ok:
            raise InputError(
                f"expected {_describe(annotations[key])}, got {value!r} ({type(value).__name__})",
                path=source,
                field=f"{prefix}{key}",
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

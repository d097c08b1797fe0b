"""Where a path a config names is: read from the config file's folder, never from wherever the
command happens to run.

A relative path in a config file (a checkpoint, an annotation file, a frame folder) is relative
to that file's folder, so one config means the same files from any working directory. A path
given on the command line (`--set`, `--checkpoint`) is relative to the working directory, as a
shell user expects. A checkpoint found in neither place may be one of the weights vis-bench
ships, named by its bare file name (`NAME_tiny.pth`): that fallback is said on the console
and recorded with the file's sha256, so two machines that took different files under one name
are told apart. A path with a folder takes the shipped file only where the repository's own
layout is meant: in a shipped config (which writes `results/checkpoints/NAME_tiny.pth`) or on
the command line. Any other path that is not found is an error naming the place it was looked
for, and the fix. A leading `~` and environment variables (`$DATA`, `${DATA}`) in a path are
expanded first, as a shell would (`expand_path`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vis_bench.config_overrides import Origin
from vis_bench.errors import InputError

#: the folder of the repository (and of the shipped package data) holding the shipped weights
SHIPPED_CHECKPOINTS = "results/checkpoints"
#: the extension of the shipped weights' files, which a bare name may leave out
SHIPPED_SUFFIX = ".pth"


@dataclass(frozen=True)
class FoundFile:
    """A file a config names, where it was found and how."""

    path: Path
    #: "config folder", "command line", "absolute" or "shipped"
    found: str
    #: the file's sha256 where it is a shipped fallback (None otherwise)
    sha256: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"path": str(self.path), "found": self.found}
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        return out


#: `$NAME` or `${NAME}` in a path (the braces may hold anything, said if it is no name)
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<name>[A-Za-z_][A-Za-z0-9_]*))")


def expand_path(value: str, field: str, source: str | None = None) -> str:
    """`value` with a leading `~` (a home folder) and `$NAME` / `${NAME}` (environment
    variables) expanded, as a shell would: a config's paths then travel between machines. An
    unset variable is an InputError naming the field and the variable, where a shell would put
    an empty string and point at another folder without a word."""

    def variable(match: re.Match[str]) -> str:
        name = match["name"] if match["name"] is not None else match["braced"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InputError(
                f"{value}: ${{{name}}} is no environment variable's name (letters, digits and "
                "_); write the path without it",
                path=source,
                field=field,
            )
        if name not in os.environ:
            raise InputError(
                f"{value} names the environment variable {name}, which is not set: set it "
                f"(export {name}=...) or write the path without it",
                path=source,
                field=field,
            )
        return os.environ[name]

    head, rest = "", value
    if value.startswith("~"):  # `~` or `~user`, up to the first separator; its result as it is
        user, sep, rest = value.partition("/")
        head, rest = os.path.expanduser(user) + sep, rest
    return head + _VARIABLE.sub(variable, rest)


def expand_fields(section: Any, keys: tuple[str, ...], where: str, source: str) -> None:
    """`expand_path` on each of `keys` of a config section (a dataclass) that holds a string;
    `where` is the section's place in the file (`dataset`, or "" at the top)."""
    for key in keys:
        value = getattr(section, key)
        if isinstance(value, str):
            field = f"{where}.{key}" if where else key
            setattr(section, key, expand_path(value, field, source))


def config_folder(source: str) -> Path:
    """The folder of the config file `source` (a shipped config by its repository path too);
    the working directory for a config that is no file (built in code, `<config>`)."""
    from vis_bench.shipped import resolve

    path = resolve(source)
    return path.resolve().parent if path.is_file() else Path.cwd()


def is_shipped_config(source: str) -> bool:
    """Whether `source` is one of the configs vis-bench ships: in the installed package's
    configs, or in a vis-bench source tree's `configs/` (any subfolder). Their paths follow the
    repository's layout (`results/checkpoints/...`)."""
    from vis_bench.shipped import shipped_path

    folder = config_folder(source)
    shipped = shipped_path("configs")
    if shipped is not None and (folder == shipped.resolve() or shipped.resolve() in folder.parents):
        return True
    return any(
        parent.name == "configs" and (parent.parent / "vis_bench" / "shipped").is_dir()
        for parent in (folder, *folder.parents)
    )


def from_command_line(field: str, origins: dict[str, Origin] | None) -> bool:
    """Whether the command line gave `field` (or an entry or section holding it)."""
    for key, origin in (origins or {}).items():
        if origin.path is None and (field == key or field.startswith((f"{key}.", f"{key}["))):
            return True
    return False


def config_relative(value: str, field: str, source: str, origins: dict[str, Origin] | None) -> str:
    """A path field's value as the run reads it: absolute paths and command-line values as
    they are, a relative path of the file joined to the file's folder (absolute)."""
    if Path(value).is_absolute() or from_command_line(field, origins):
        return value
    return str(config_folder(source) / value)


def shipped_checkpoint(value: str, repository_paths: bool = True) -> Path | None:
    """The shipped weights `value` names by their bare file name, or (`repository_paths`) by
    their path in the repository; None for any other path (`my_models/NAME_tiny.pth` is
    never taken for a shipped file)."""
    from vis_bench.shipped import shipped_path

    parts = PurePosixPath(Path(value).as_posix())
    if len(parts.parts) == 1:
        found = shipped_path(f"{SHIPPED_CHECKPOINTS}/{parts.name}")
        if found is None and not parts.suffix:  # the name without its extension (NAME_tiny)
            found = shipped_path(f"{SHIPPED_CHECKPOINTS}/{parts.name}{SHIPPED_SUFFIX}")
    elif repository_paths and str(parts.parent) == SHIPPED_CHECKPOINTS:
        found = shipped_path(parts)
    else:
        found = None
    return found if found is not None and found.is_file() else None


def find_checkpoint(
    value: str, field: str, source: str, origins: dict[str, Origin] | None
) -> FoundFile:
    """The checkpoint file a method entry names (see the module docstring); a missing file is
    an InputError naming where it was looked for. A file or a Hugging Face model folder, as
    `open_checkpoint` reads either."""
    value = expand_path(value, field, source)
    given = Path(value)
    if given.is_absolute():
        return _exists(FoundFile(given, "absolute"), value, field, source)
    if from_command_line(field, origins):
        place, where = Path.cwd() / given, "the working directory"
        found = "command line"
    else:
        place, where = (
            config_folder(source) / given,
            f"the config's folder ({config_folder(source)})",
        )
        found = "config folder"
    if place.exists():
        return _exists(FoundFile(place, found), value, field, source)
    repository_layout = found == "command line" or is_shipped_config(source)
    shipped = shipped_checkpoint(value, repository_paths=repository_layout)
    if shipped is not None:
        from vis_bench.hashing import file_sha256

        return FoundFile(shipped.resolve(), "shipped", file_sha256(shipped))
    hint = ""
    if found == "config folder" and (Path.cwd() / given).exists():
        hint = (
            f"; it exists relative to the working directory ({Path.cwd() / given}), but a "
            "config's paths are read from its own folder: write the path from there, or an "
            "absolute one"
        )
    elif shipped_checkpoint(value) is not None:
        hint = f"; vis-bench ships a file of that name: to use it, write its bare name {given.name}"
    raise InputError(
        f"checkpoint not found: {value} is not in {where}{hint} (give the path of a downloaded "
        "or trained checkpoint, a shipped one by its file name, or remove the key for random "
        "weights)",
        path=source,
        field=field,
    )


def _exists(found: FoundFile, value: str, field: str, source: str) -> FoundFile:
    from vis_bench.formats.checkpoints import is_checkpoint_location
    from vis_bench.formats.containers import HF_CONFIG, HF_WEIGHTS

    if is_checkpoint_location(found.path):
        return found
    if found.path.is_dir():
        raise InputError(
            f"{value} is a folder, not a checkpoint file: give the file, or a Hugging Face "
            f"model folder (one holding {HF_WEIGHTS} and {HF_CONFIG})",
            path=source,
            field=field,
        )
    raise InputError(
        f"checkpoint not found at {found.path}: give the path of a downloaded or trained "
        "checkpoint (or remove the key for random weights)",
        path=source,
        field=field,
    )


def command_line_checkpoint(value: str, flag: str) -> FoundFile:
    """A checkpoint a command's argument names, found as `run --checkpoint` finds it: from the
    working directory, else a shipped file by its bare name; `~` and variables expanded."""
    try:
        return find_checkpoint(value, flag, "", {flag: Origin(None, flag)})
    except InputError as err:  # the argument is at fault, no file
        raise InputError(err.message, field=flag) from None

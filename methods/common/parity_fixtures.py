"""What reading a parity fixture folder made by the authors' code shares across families:
meta.json (the variant and the detectron2 config overrides of the reduced model, `KEY VALUE
...` as on the authors' command line) and features.pt (the backbone levels the authors' network
consumed). An override a re-implementation does not map is refused: a silently ignored one
would compare another network."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.common.fast_paths import prepare_for_inference
from vis_bench.parity import ParityReport, load_fixture_file, load_fixture_weights

BACKBONE_LEVELS = ("res2", "res3", "res4", "res5")


def override_pairs(overrides: Any, path: Path) -> dict[str, Any]:
    """`[KEY, VALUE, KEY, VALUE, ...]` (or a mapping) -> {KEY: VALUE}."""
    if isinstance(overrides, dict):
        return dict(overrides)
    if not isinstance(overrides, list) or len(overrides) % 2:
        raise InputError(
            "overrides must be a KEY VALUE list or a mapping", path=str(path), field="overrides"
        )
    return dict(zip(overrides[::2], overrides[1::2], strict=True))


def read_meta(folder: Path, fits: Callable[[dict[str, Any]], bool], wrong: str) -> dict[str, Any]:
    """meta.json of the fixture at `folder`, refused with `wrong` (what it is and where the
    right set is) unless `fits(meta)`."""
    path = Path(folder) / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(folder))
    meta = json.loads(path.read_text())
    if not fits(meta):
        raise InputError(wrong.format(variant=meta.get("variant")), path=str(path), field="variant")
    return meta


def mapped_overrides(
    meta: dict[str, Any],
    path: Path,
    mapped: Mapping[str, tuple[str, Callable[[str], Any]]],
    own: Collection[str],
    inert: Collection[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The overrides split into the network's options (`mapped`: key -> (option, transform))
    and the reader's `own` keys (as given); `inert` ones change nothing at inference."""
    values: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    for key, value in override_pairs(meta.get("overrides") or [], path).items():
        if key in own:
            kept[key] = value
        elif key in mapped:
            name, convert = mapped[key]
            values[name] = convert(value)
        elif key not in inert:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps to its options",
                path=str(path),
                field=f"overrides.{key}",
            )
    return values, kept


def backbone_levels(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """features.pt: the backbone levels res2..res5 [T, C, h, w] as float32, and the rest."""
    stored = load_fixture_file(Path(folder) / "features.pt")
    levels = {name: stored[name].float() for name in BACKBONE_LEVELS}
    return levels, {k: v for k, v in stored.items() if k not in BACKBONE_LEVELS}


class LevelsFixture:
    """What a fixture with backbone levels offers (`levels`, `folder` set by the dataclass)."""

    folder: Path
    levels: dict[str, torch.Tensor]

    @property
    def num_frames(self) -> int:
        return int(self.levels["res2"].shape[0])

    def file(self, name: str) -> Any:
        return load_fixture_file(self.folder / name)


def start_parity(
    fixture_dir: Path,
    variant: str,
    method: str,
    expected_files: tuple[str, ...],
    read: Callable[[Path, str], Any],
    build_plugin: Callable[[Any], Any],
) -> tuple[Any, ParityReport, Any, set[str]]:
    """What a member's parity starts with: the fixture `read`, its report, the plugin built
    from it with state_dict.pt loaded (keys and order checked) and made ready for inference,
    and which of `expected_files` are present (the report names the missing ones)."""
    fx = read(Path(fixture_dir), variant)
    report = ParityReport(method=method, fixture=str(fixture_dir))
    plugin = build_plugin(fx)
    load_fixture_weights(report, plugin.model, fx.folder / "state_dict.pt", check_order=True)
    prepare_for_inference(plugin.model)
    present = set(report.expect_files(fx.folder, expected_files))
    return fx, report, plugin, present

"""Reading DVIS++'s parity fixtures (made by running the authors' code; layout in
tests/fixtures/golden/dvis_plus_online/README.md and .../dvis_plus_offline/README.md).

meta.json names the variant (online / offline) and lists the detectron2 config overrides of the
reduced model (`KEY VALUE ...`, as on the authors' command line); every size is read from there,
so a fixture set with another seed, length, size, classes or queries runs unchanged. An override
the re-implementation does not map is refused (a silently ignored one would compare another
network), unless it changes nothing at inference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.postprocess import TOP_K
from vis_bench.methods.families.mask2former.fixtures import OVERRIDES as SEGMENTER_OVERRIDES
from vis_bench.parity import load_fixture_file

#: detectron2 config key -> (DVISConfig field, value transform)
OVERRIDES = {
    **SEGMENTER_OVERRIDES,
    "MODEL.MASK_FORMER.REID_HIDDEN_DIM": ("reid_hidden_dim", int),
    "MODEL.MASK_FORMER.NUM_REID_HEAD_LAYERS": ("reid_layers", int),
    "MODEL.TRACKER.DECODER_LAYERS": ("tracker_layers", int),
}
#: the offline model's own option (the refiner is not part of `DVISConfig`)
REFINER_LAYERS = "MODEL.REFINER.DECODER_LAYERS"
#: test settings (not the network): the windows and the results per video
SETTINGS = {
    "MODEL.MASK_FORMER.TEST.WINDOW_SIZE": "window_size",
    "MODEL.MASK_FORMER.TEST.MAX_NUM": "max_num",
}
#: overrides that change nothing the network computes at inference
INERT_OVERRIDES = (
    "MODEL.TRACKER.NOISE_MODE",
    "MODEL.TRACKER.NOISE_RATIO",
    "MODEL.TRACKER.USE_CL",
    "MODEL.REFINER.USE_CL",
    "MODEL.MASK_FORMER.TEST.WINDOW_INFERENCE",
    "INPUT.SAMPLING_FRAME_NUM",
    "INPUT.SAMPLING_FRAME_RANGE",
)
BACKBONE_LEVELS = ("res2", "res3", "res4", "res5")


@dataclass
class DVISFixture:
    """A fixture folder read: its network, test settings and inputs."""

    folder: Path
    meta: dict[str, Any]
    config: DVISConfig
    #: the refiner's depth (offline; None online)
    refiner_layers: int | None
    window_size: int
    max_num: int
    #: backbone levels res2..res5 [T, C, h, w] as float32 (what the authors' network consumed)
    levels: dict[str, torch.Tensor]
    #: the rest of features.pt (sizes, frames)
    sizes: dict[str, Any]

    @property
    def num_frames(self) -> int:
        return int(self.levels["res2"].shape[0])

    def file(self, name: str) -> Any:
        return load_fixture_file(self.folder / name)


def override_pairs(overrides: Any, path: Path) -> dict[str, Any]:
    """`[KEY, VALUE, KEY, VALUE, ...]` (or a mapping) -> {KEY: VALUE}."""
    if isinstance(overrides, dict):
        return dict(overrides)
    if not isinstance(overrides, list) or len(overrides) % 2:
        raise InputError(
            "overrides must be a KEY VALUE list or a mapping", path=str(path), field="overrides"
        )
    return dict(zip(overrides[::2], overrides[1::2], strict=True))


def read_fixture(folder: Path, variant: str) -> DVISFixture:
    """The fixture at `folder`, which must be of `variant` ("online" or "offline")."""
    folder = Path(folder)
    path = folder / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(folder))
    meta = json.loads(path.read_text())
    if meta.get("variant") != variant:
        raise InputError(
            f"a fixture of DVIS++ {meta.get('variant')!r}, not {variant!r}: point --fixture at "
            f"the dvis_plus_{variant} set",
            path=str(path),
            field="variant",
        )
    values: dict[str, Any] = {"backbone": None}
    settings = {"window_size": meta.get("window_size"), "max_num": meta.get("max_num", TOP_K)}
    refiner = int(meta.get("refiner_layers", 6))
    for key, value in override_pairs(meta.get("overrides") or [], path).items():
        if key == REFINER_LAYERS:
            refiner = int(value)
        elif key in SETTINGS:
            settings[SETTINGS[key]] = int(value)
        elif key in OVERRIDES:
            name, convert = OVERRIDES[key]
            values[name] = convert(value)
        elif key not in INERT_OVERRIDES:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps to its options",
                path=str(path),
                field=f"overrides.{key}",
            )
    if not settings["window_size"]:
        raise InputError("the fixture names no window size", path=str(path), field="window_size")
    stored = load_fixture_file(folder / "features.pt")
    levels = {name: stored[name].float() for name in BACKBONE_LEVELS}
    sizes = {k: v for k, v in stored.items() if k not in BACKBONE_LEVELS}
    return DVISFixture(
        folder,
        meta,
        DVISConfig(**values),
        refiner if variant == "offline" else None,
        int(settings["window_size"]),
        int(settings["max_num"]),
        levels,
        sizes,
    )

"""Reading DVIS++'s parity fixtures (made by running the authors' code; layout in
tests/fixtures/golden/dvis_plus_online/README.md and .../dvis_plus_offline/README.md).

meta.json names the variant (online / offline) and lists the detectron2 config overrides of the
reduced model (`KEY VALUE ...`, as on the authors' command line); every size is read from there,
so a fixture set with another seed, length, size, classes or queries runs unchanged. An override
the re-implementation does not map is refused (a silently ignored one would compare another
network), unless it changes nothing at inference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.common.parity_fixtures import (
    LevelsFixture,
    backbone_levels,
    mapped_overrides,
    read_meta,
)
from vis_bench.methods.families.dvis.config import DVISConfig
from vis_bench.methods.families.dvis.postprocess import TOP_K
from vis_bench.methods.families.mask2former.fixtures import OVERRIDES as SEGMENTER_OVERRIDES

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


@dataclass
class DVISFixture(LevelsFixture):
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


def read_fixture(folder: Path, variant: str) -> DVISFixture:
    """The fixture at `folder`, which must be of `variant` ("online" or "offline")."""
    folder = Path(folder)
    path = folder / "meta.json"
    wrong = (
        "a fixture of DVIS++ {variant!r}, not "
        f"{variant!r}: point --fixture at the dvis_plus_{variant} set"
    )
    meta = read_meta(folder, lambda meta: meta.get("variant") == variant, wrong)
    own = (REFINER_LAYERS, *SETTINGS)
    values, kept = mapped_overrides(meta, path, OVERRIDES, own, INERT_OVERRIDES)
    refiner = int(kept.get(REFINER_LAYERS, meta.get("refiner_layers", 6)))
    settings = {"window_size": meta.get("window_size"), "max_num": meta.get("max_num", TOP_K)}
    settings.update({SETTINGS[key]: int(kept[key]) for key in SETTINGS if key in kept})
    if not settings["window_size"]:
        raise InputError("the fixture names no window size", path=str(path), field="window_size")
    levels, sizes = backbone_levels(folder)
    return DVISFixture(
        folder,
        meta,
        DVISConfig(**{"backbone": None, **values}),
        refiner if variant == "offline" else None,
        int(settings["window_size"]),
        int(settings["max_num"]),
        levels,
        sizes,
    )

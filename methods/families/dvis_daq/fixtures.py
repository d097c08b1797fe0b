"""Reading DVIS-DAQ's parity fixtures (made by running the authors' code; layout in
tests/fixtures/golden/dvis_daq_online/README.md and .../dvis_daq_offline/README.md).

meta.json names the variant, the detectron2 config overrides of the reduced model (`KEY VALUE
...`) and the test settings the authors' model ran with (thresholds, OVIS_INFER, NOISE_FRAME_NUM,
MAX_NUM); every size and setting is read from there, so another fixture set runs unchanged. An
override the re-implementation does not map is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
from vis_bench.methods.families.dvis.fixtures import INERT_OVERRIDES, OVERRIDES, REFINER_LAYERS
from vis_bench.methods.families.dvis_daq.decisions import DecisionSettings
from vis_bench.methods.families.dvis_daq.model import DAQConfig

#: MODEL.VIDEO_HEAD.NUM_NEW_INS: the anchors per frame, which must equal the queries
NUM_NEW_INS = "MODEL.VIDEO_HEAD.NUM_NEW_INS"
#: MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM: the tracked sequences the offline refiner reads at most
OFFLINE_TOPK = "MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM"
#: the tracker's windows (hard-coded 5 in the authors' code), when meta.json names none
TRACKER_WINDOW = 5


@dataclass
class DAQFixture(LevelsFixture):
    """A fixture folder read: its network, test settings and inputs."""

    folder: Path
    meta: dict[str, Any]
    config: DAQConfig
    #: the refiner's depth (offline; None online)
    refiner_layers: int | None
    settings: DecisionSettings
    noise_frames: int
    window_size: int
    max_num: int
    #: OFFLINE_TOPK_NUM (offline)
    offline_top_k: int
    #: backbone levels res2..res5 [T, C, h, w] as float32 (what the authors' network consumed)
    levels: dict[str, torch.Tensor]
    #: the rest of features.pt (sizes, frames)
    sizes: dict[str, Any]

    def test_options(self) -> dict[str, Any]:
        """Either member's options for the fixture's test settings (thresholds, results and
        the frames a sequence needs)."""
        return {"top_k": self.max_num, **asdict(self.settings), "noise_frames": self.noise_frames}


def read_fixture(folder: Path, variant: str) -> DAQFixture:
    """The fixture at `folder`, which must be of `variant` ("online" or "offline")."""
    folder = Path(folder)
    path = folder / "meta.json"
    wrong = (
        f"not a DVIS-DAQ {variant} fixture (variant {{variant!r}}): point "
        f"--fixture at the dvis_daq_{variant} set"
    )
    meta = read_meta(
        folder, lambda meta: meta.get("variant") == variant and "num_new_ins" in meta, wrong
    )
    own = (REFINER_LAYERS, NUM_NEW_INS, OFFLINE_TOPK)
    values, kept = mapped_overrides(meta, path, OVERRIDES, own, INERT_OVERRIDES)
    values = {"backbone": None, "num_slots": int(meta.get("num_slots", 5)), **values}
    refiner = int(kept.get(REFINER_LAYERS, meta.get("refiner_layers", 6)))
    anchors = int(kept[NUM_NEW_INS]) if NUM_NEW_INS in kept else None
    top_k = int(kept.get(OFFLINE_TOPK, meta.get("offline_topk_num", 40)))
    config = DAQConfig(**values)
    if anchors is not None and anchors != config.num_queries:
        raise InputError(
            f"NUM_NEW_INS {anchors} differs from the {config.num_queries} queries: anchor k "
            "sits at segmenter query k's mask, so the two must be equal",
            path=str(path),
            field=f"overrides.{NUM_NEW_INS}",
        )
    settings = DecisionSettings(
        select_threshold=float(meta["inference_select_threshold"]),
        segmenter_threshold=float(meta["aux_inference_select_threshold"]),
        keep_threshold=float(meta["dis_fg_threshold"]),
        slot_decides=bool(meta["ovis_infer"]),
        kick_out_frames=int(meta.get("kick_out_frame_num", 8)),
    )
    levels, sizes = backbone_levels(folder)
    return DAQFixture(
        folder,
        meta,
        config,
        refiner if variant == "offline" else None,
        settings,
        int(meta["noise_frame_num"]),
        int(meta.get("segmenter_tracker_window", TRACKER_WINDOW)),
        int(meta["max_num"]),
        top_k,
        levels,
        sizes,
    )

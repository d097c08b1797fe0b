"""Reading DVIS-DAQ's parity fixtures (made by running the authors' code; layout in
tests/fixtures/golden/dvis_daq_online/README.md and .../dvis_daq_offline/README.md).

meta.json names the variant, the detectron2 config overrides of the reduced model (`KEY VALUE
...`) and the test settings the authors' model ran with (thresholds, OVIS_INFER, NOISE_FRAME_NUM,
MAX_NUM); every size and setting is read from there, so another fixture set runs unchanged. An
override the re-implementation does not map is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.families.dvis.fixtures import (
    BACKBONE_LEVELS,
    INERT_OVERRIDES,
    OVERRIDES,
    REFINER_LAYERS,
    override_pairs,
)
from vis_bench.methods.families.dvis_daq.decisions import DecisionSettings
from vis_bench.methods.families.dvis_daq.model import DAQConfig
from vis_bench.parity import load_fixture_file

#: MODEL.VIDEO_HEAD.NUM_NEW_INS: the anchors per frame, which must equal the queries
NUM_NEW_INS = "MODEL.VIDEO_HEAD.NUM_NEW_INS"
#: MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM: the tracked sequences the offline refiner reads at most
OFFLINE_TOPK = "MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM"
#: the tracker's windows (hard-coded 5 in the authors' code), when meta.json names none
TRACKER_WINDOW = 5


@dataclass
class DAQFixture:
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

    @property
    def num_frames(self) -> int:
        return int(self.levels["res2"].shape[0])

    def file(self, name: str) -> Any:
        return load_fixture_file(self.folder / name)


def read_fixture(folder: Path, variant: str) -> DAQFixture:
    """The fixture at `folder`, which must be of `variant` ("online" or "offline")."""
    folder = Path(folder)
    path = folder / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(folder))
    meta = json.loads(path.read_text())
    if meta.get("variant") != variant or "num_new_ins" not in meta:
        raise InputError(
            f"not a DVIS-DAQ {variant} fixture (variant {meta.get('variant')!r}): point "
            f"--fixture at the dvis_daq_{variant} set",
            path=str(path),
            field="variant",
        )
    values: dict[str, Any] = {"backbone": None, "num_slots": int(meta.get("num_slots", 5))}
    refiner = int(meta.get("refiner_layers", 6))
    anchors = None
    top_k = int(meta.get("offline_topk_num", 40))
    for key, value in override_pairs(meta.get("overrides") or [], path).items():
        if key == REFINER_LAYERS:
            refiner = int(value)
        elif key == NUM_NEW_INS:
            anchors = int(value)
        elif key == OFFLINE_TOPK:
            top_k = int(value)
        elif key in OVERRIDES:
            name, convert = OVERRIDES[key]
            values[name] = convert(value)
        elif key not in INERT_OVERRIDES:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps to its options",
                path=str(path),
                field=f"overrides.{key}",
            )
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
    stored = load_fixture_file(folder / "features.pt")
    levels = {name: stored[name].float() for name in BACKBONE_LEVELS}
    sizes = {k: v for k, v in stored.items() if k not in BACKBONE_LEVELS}
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

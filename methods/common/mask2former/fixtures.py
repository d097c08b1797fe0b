"""Reading the Mask2Former family's parity fixtures (made by running the authors' code).

Each fixture's meta.json names the authors' meta-architecture and the config overrides of its
reduced model; `fixture_config` turns those overrides into a `Mask2FormerConfig` and refuses a
fixture of another family member or an override it does not know (a silently ignored override
would compare a different network). Layout: tests/fixtures/golden/mask2former_vis/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from vis_bench.methods.common.mask2former.model import Mask2FormerConfig
from vis_bench.toolkit import InputError, load_fixture_file

#: detectron2 config key -> (Mask2FormerConfig field, value transform)
OVERRIDES = {
    "MODEL.SEM_SEG_HEAD.NUM_CLASSES": ("num_classes", int),
    "MODEL.SEM_SEG_HEAD.CONVS_DIM": ("conv_dim", int),
    "MODEL.SEM_SEG_HEAD.MASK_DIM": ("mask_dim", int),
    "MODEL.SEM_SEG_HEAD.TRANSFORMER_ENC_LAYERS": ("enc_layers", int),
    "MODEL.MASK_FORMER.HIDDEN_DIM": ("hidden_dim", int),
    "MODEL.MASK_FORMER.NUM_OBJECT_QUERIES": ("num_queries", int),
    "MODEL.MASK_FORMER.DIM_FEEDFORWARD": ("dim_feedforward", int),
    "MODEL.MASK_FORMER.NHEADS": ("nheads", int),
    # the configs count the learnable queries' prediction as a layer
    "MODEL.MASK_FORMER.DEC_LAYERS": ("dec_layers", lambda v: int(v) - 1),
}
#: overrides that change nothing the network computes at inference
INERT_OVERRIDES = ("INPUT.SAMPLING_FRAME_NUM", "MODEL.MINVIS.WINDOW_SIZE")
BACKBONE_LEVELS = ("res2", "res3", "res4", "res5")


def read_meta(fixture_dir: Path, architecture: str) -> dict[str, Any]:
    """meta.json of a fixture made with `architecture` (the authors' meta-architecture)."""
    path = fixture_dir / "meta.json"
    if not path.is_file():
        raise InputError("not a parity fixture: meta.json missing", path=str(fixture_dir))
    meta = json.loads(path.read_text())
    found = meta.get("meta_architecture")
    if found != architecture:
        raise InputError(
            f"a fixture of {found!r}, not {architecture!r}: point --fixture at a fixture made "
            "for this method",
            path=str(path),
            field="meta_architecture",
        )
    return meta


def fixture_config(fixture_dir: Path, architecture: str) -> Mask2FormerConfig:
    """The fixture's reduced network, without a backbone (the fixture stores its features)."""
    meta = read_meta(fixture_dir, architecture)
    values: dict[str, Any] = {"backbone": None}
    for key, value in (meta.get("overrides") or {}).items():
        if key in INERT_OVERRIDES:
            continue
        if key not in OVERRIDES:
            raise InputError(
                f"override {key!r} is not one the re-implementation maps to its options",
                path=str(fixture_dir / "meta.json"),
                field=f"overrides.{key}",
            )
        name, convert = OVERRIDES[key]
        values[name] = convert(value)
    return Mask2FormerConfig(**values)


def backbone_features(fixture_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The stored backbone levels as float32 (what the authors' network consumed) and the
    rest of features.pt (sizes, frames)."""
    stored = load_fixture_file(fixture_dir / "features.pt")
    levels = {name: stored[name].float() for name in BACKBONE_LEVELS}
    return levels, {k: v for k, v in stored.items() if k not in BACKBONE_LEVELS}

"""What the DVIS++ tests share: a tiny network's options and the released models' key lists."""

from __future__ import annotations

import json
from pathlib import Path

#: a DVIS++ network small enough for a unit test (tiny backbone, 6 queries, 32 channels)
TINY = {
    "backbone": "tiny",
    "num_classes": 3,
    "num_queries": 6,
    "hidden_dim": 32,
    "conv_dim": 32,
    "mask_dim": 32,
    "nheads": 4,
    "dim_feedforward": 64,
    "enc_layers": 1,
    "dec_layers": 3,
    "reid_hidden_dim": 32,
    "tracker_layers": 2,
}


def released_keys(golden_dir: Path, name: str) -> list:
    """The key list (with shapes) of a released DVIS++ checkpoint, from the golden folder."""
    return json.loads((golden_dir / "dvis_plus" / f"state_dict_keys_{name}.json").read_text())

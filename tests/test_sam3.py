"""SAM 3, the part landed so far: the text encoder against the authors' detector fixture, and its
parameter names and shapes against the released checkpoint's key list."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.methods.sam3.fixtures import TEXT_PREFIX
from vis_bench.methods.sam3.parity import text_parity
from vis_bench.methods.sam3.text_encoder import TextEncoder, TextEncoderSizes


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "sam3" / "public"


def test_text_encoder_reproduces_the_authors_text_features(golden_dir, one_thread):
    report = text_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["padding_mask_equal"]


def test_a_changed_text_weight_fails_parity(golden_dir, tmp_path, one_thread):
    fixture = tmp_path / "public"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "weights.pt.gz"
    path.chmod(0o644)
    with gzip.open(path, "rb") as handle:
        state = torch.load(io.BytesIO(handle.read()), weights_only=True)
    state[TEXT_PREFIX + "encoder.transformer.resblocks.0.ln_2.weight"][0] += 0.5
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with gzip.open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    report = text_parity(fixture)
    assert not report["passed"]
    assert report["features"] > 1e-3


def test_released_text_keys_and_shapes_load_by_name(golden_dir):
    keys = json.loads((golden_dir / "sam3/keys/sam3_video_model_keys.json").read_text())["keys"]
    released = {
        name[len(TEXT_PREFIX) :]: shape
        for name, (shape, _dtype) in keys.items()
        if name.startswith(TEXT_PREFIX)
    }
    with torch.device("meta"):
        model = TextEncoder(TextEncoderSizes())
    ours = {name: list(value.shape) for name, value in model.state_dict().items()}
    assert ours == released


def test_tokens_of_another_length_are_refused():
    model = TextEncoder(
        TextEncoderSizes(width=8, heads=2, layers=1, context=4, vocab=10, d_model=4)
    )
    with pytest.raises(ValueError, match="length 5"):
        model(torch.zeros(1, 5, dtype=torch.long))

"""SAM 3 files in Hugging Face Transformers' `Sam3VideoModel` layout load into the `sam3` method
by name: the key lists of both layouts at full size (names and shapes, on the meta device), and
the fixture's weights written as Transformers' conversion writes them (a model folder with
`config.json` and `model.safetensors`) read back to the same tensors and the same detections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.test_sam3_plugin import FIXTURE_OPTIONS
from vis_bench.api import InputError
from vis_bench.api.checkpoints import CheckpointError, foreign_contents
from vis_bench.api.registration import get_method
from vis_bench.formats.checkpoints import open_checkpoint
from vis_bench.methods.sam3 import hf_layout
from vis_bench.methods.sam3.fixtures import load_gz
from vis_bench.methods.sam3.tokenizer import Tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")

#: the tensors a Transformers file lacks that the conversion fills with zeros (never read by a
#: text prompt); the RoPE tables are recomputed by the model
ZEROS = {
    "detector.geometry_encoder.points_direct_project.weight",
    "detector.geometry_encoder.points_direct_project.bias",
    "detector.geometry_encoder.points_pool_project.weight",
    "detector.geometry_encoder.points_pool_project.bias",
    "detector.geometry_encoder.points_pos_enc_project.weight",
    "detector.geometry_encoder.points_pos_enc_project.bias",
}
POSITIONS = "detector.backbone.vision_backbone.trunk.pos_embed"


def _key_list(golden_dir: Path, name: str) -> dict[str, torch.Tensor]:
    listed = json.loads((golden_dir / "sam3/keys" / name).read_text())["keys"]
    return {key: torch.empty(shape, device="meta") for key, (shape, _dtype) in listed.items()}


def _shapes(weights: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in weights.items()}


def test_the_transformers_key_list_reads_back_as_the_released_one(golden_dir):
    theirs = _key_list(golden_dir, "hf_sam3_video_model_keys.json")
    ours = _key_list(golden_dir, "sam3_video_model_keys.json")
    assert len(theirs) == 1797 and len(ours) == 1465
    back, filled = hf_layout.to_authors(theirs)
    rope = {k for k in ours if k.endswith(".attn.freqs_cis")}
    assert len(rope) == 32
    assert _shapes(back) == {k: v for k, v in _shapes(ours).items() if k not in rope}
    assert set(filled) == ZEROS | {f"{POSITIONS} (its class-token row)"}


def test_the_released_key_list_written_as_transformers_gives_its_key_list(golden_dir):
    theirs = _key_list(golden_dir, "hf_sam3_video_model_keys.json")
    ours = _key_list(golden_dir, "sam3_video_model_keys.json")
    assert _shapes(hf_layout.to_transformers(ours)) == _shapes(theirs)


def test_the_converters_value_changes(golden_dir):
    """What Transformers' conversion does to values, on the fixture: q/k/v rows split in that
    order, the position table without its class-token row, CLIP's projection transposed, the
    point embeddings stacked and the Gaussian matrix stored twice."""
    weights = load_gz(golden_dir / "sam3/public/weights.pt.gz")
    theirs = hf_layout.to_transformers(weights)
    qkv = weights["detector.backbone.vision_backbone.trunk.blocks.0.attn.qkv.weight"]
    layer = "detector_model.vision_encoder.backbone.layers.0.attention."
    dim = qkv.shape[1]
    for i, part in enumerate("qkv"):
        assert torch.equal(theirs[f"{layer}{part}_proj.weight"], qkv[i * dim : (i + 1) * dim])
    position = "detector_model.vision_encoder.backbone.embeddings.position_embeddings"
    assert torch.equal(theirs[position], weights[POSITIONS][:, 1:])
    projection = weights["detector.backbone.language_backbone.encoder.text_projection"]
    assert torch.equal(theirs["detector_model.text_encoder.text_projection.weight"], projection.t())
    points = theirs["tracker_model.prompt_encoder.point_embed.weight"]
    for i in range(4):
        one = weights[f"tracker.sam_prompt_encoder.point_embeddings.{i}.weight"]
        assert torch.equal(points[i : i + 1], one)
    first, second = hf_layout.HF_DUPLICATE
    assert torch.equal(theirs[first], theirs[second])


@pytest.fixture(scope="module")
def fixture_weights(golden_dir) -> dict[str, torch.Tensor]:
    return load_gz(golden_dir / "sam3/public/weights.pt.gz")


@pytest.fixture(scope="module")
def hf_folder(fixture_weights, tmp_path_factory) -> Path:
    """The fixture's weights as a Transformers model folder (config.json, model.safetensors)."""
    folder = tmp_path_factory.mktemp("sam3_hf")
    theirs = hf_layout.to_transformers(fixture_weights)
    save_file(
        {k: v.contiguous().clone() for k, v in theirs.items()}, str(folder / "model.safetensors")
    )
    config = {"architectures": ["Sam3VideoModel"], "model_type": "sam3_video"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _plugin(checkpoint: Path):
    plugin = get_method("sam3").build(FIXTURE_OPTIONS)
    summary = plugin.load_checkpoint(str(checkpoint))
    assert summary.strict and not summary.partial
    return plugin, summary


def test_a_transformers_folder_loads_by_name_to_the_fixtures_tensors(fixture_weights, hf_folder):
    plugin, summary = _plugin(hf_folder)
    loaded = plugin.model.state_dict()
    assert set(loaded) == set(fixture_weights)
    rope = {k for k in loaded if k.endswith(".attn.freqs_cis")}
    assert sorted(summary.filled) == sorted(rope)
    for key, value in fixture_weights.items():
        if key in ZEROS:
            assert not loaded[key].any(), key
        elif key == POSITIONS:
            assert torch.equal(loaded[key][:, 1:], value[:, 1:])
        elif key in rope:  # recomputed from the sizes: the released tables
            assert torch.allclose(loaded[key], value, atol=1e-6), key
        else:
            assert torch.equal(loaded[key], value), key
    assert any("Transformers" in note for note in summary.notes)


def test_a_transformers_file_gives_the_fixtures_detections(golden_dir, hf_folder, tmp_path):
    release = tmp_path / "sam3.pt"
    torch.save({"model": load_gz(golden_dir / "sam3/public/weights.pt.gz")}, release)
    case = load_gz(golden_dir / "sam3/public/det_case.pt.gz")
    image = case["images_preprocessed"][:1].float()
    outputs = []
    for checkpoint in (release, hf_folder / "model.safetensors"):
        plugin, _ = _plugin(checkpoint)
        with torch.no_grad():
            words = plugin.model.encode_prompts(Tokenizer(32)(["a cat", "a dog"]))
            outputs.append(plugin.model.frame_inputs(image, words, 0.0))
    (features_a, detections_a), (features_b, detections_b) = outputs
    assert torch.equal(features_a.top, features_b.top)
    for a, b in zip(detections_a, detections_b, strict=True):
        assert len(a.scores) > 0
        for name in ("boxes", "masks", "scores"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_the_method_recognises_the_layout_and_refuses_an_image_only_file(hf_folder, tmp_path):
    contents = open_checkpoint(hf_folder)
    converted = foreign_contents(get_method("sam3"), contents)
    assert converted.converted_from == "transformers" and converted is not contents
    image_only = {
        hf_layout.HF_IMAGE_SIGNATURE: torch.zeros(2, 3, 14, 14),
        "detr_decoder.query_embed.weight": torch.zeros(2, 2),
    }
    path = tmp_path / "model.safetensors"
    save_file(image_only, str(path))
    with pytest.raises(CheckpointError, match="Sam3VideoModel"):
        foreign_contents(get_method("sam3"), open_checkpoint(path))


def test_a_missing_folder_says_how_to_obtain_either_layout(tmp_path):
    plugin = get_method("sam3").build(FIXTURE_OPTIONS)
    with pytest.raises(InputError) as err:
        plugin.load_checkpoint(str(tmp_path / "sam3_transformers"))
    message = str(err.value)
    assert "facebook/sam3" in message and "SAM License" in message
    assert "model.safetensors" in message and "sam3.pt" in message

"""SAM 3, the parts landed so far: the text encoder and the vision backbone (ViT trunk, both
necks, position encodings) against the authors' detector fixture, and their parameter names and
shapes against the released checkpoint's key list."""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from vis_bench.methods.sam3.association import associate
from vis_bench.methods.sam3.detector import Detector
from vis_bench.methods.sam3.fixtures import (
    DETECTOR_PREFIX,
    ENCODER_PREFIX,
    GEOMETRY_PREFIX,
    SCORING_PREFIX,
    SEGMENTATION_PREFIX,
    TEXT_PREFIX,
    VISION_PREFIX,
    detector_sizes,
    load_gz,
    sub_state_dict,
    vit_sizes,
)
from vis_bench.methods.sam3.frame_masks import fill_holes, frame_masks
from vis_bench.methods.sam3.fusion import DetrEncoder, GeometryEncoder
from vis_bench.methods.sam3.hotstart import HotstartSettings, HotstartState
from vis_bench.methods.sam3.masklets import Masklets
from vis_bench.methods.sam3.neck import VisionBackbone
from vis_bench.methods.sam3.occlusion import NO_OBJECT_LOGIT, suppress_recently_occluded
from vis_bench.methods.sam3.options import Sam3Options
from vis_bench.methods.sam3.parity import (
    association_parity,
    decoder_parity,
    detector_parity,
    encoder_parity,
    frame_masks_parity,
    hotstart_parity,
    masklets_parity,
    occlusion_parity,
    scoring_parity,
    segmentation_parity,
    text_parity,
    video_detection_parity,
    vision_parity,
)
from vis_bench.methods.sam3.scoring import DotProductScoring
from vis_bench.methods.sam3.segmentation import SegmentationHead
from vis_bench.methods.sam3.text_encoder import TextEncoder, TextEncoderSizes
from vis_bench.methods.sam3.tokenizer import VOCABULARY, Tokenizer, split_words
from vis_bench.methods.sam3.video_detections import frame_detections
from vis_bench.methods.sam3.vit import VisionTrunk


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "sam3" / "public"


def test_text_encoder_reproduces_the_authors_text_features(golden_dir, one_thread):
    report = text_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["padding_mask_equal"]


def test_tokenizer_gives_the_authors_tokens(golden_dir):
    case = load_gz(_fixture(golden_dir) / "det_case.pt.gz")
    assert torch.equal(Tokenizer(32)(case["prompts"]), case["record"]["tokens"])


def test_the_shipped_vocabulary_is_clips():
    digest = hashlib.sha256(VOCABULARY.read_bytes()).hexdigest()
    assert digest == "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
    assert len(Tokenizer().ids) == 49408


def test_the_vocabulary_and_its_licence_are_package_data():
    """A wheel carries them: pyproject's package-data for the installed package matches both."""
    tomllib = pytest.importorskip("tomllib")  # the standard library's from Python 3.11
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["vis_bench.methods.sam3"]
    for name in (VOCABULARY.name, "bpe_simple_vocab_16e6.LICENSE"):
        assert (VOCABULARY.parent / name).is_file()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_word_split_follows_clips_rules():
    words = split_words("a man's red-car, 22 dogs!! x²")
    assert words == ["a", "man", "'s", "red", "-", "car", ",", "2", "2", "dogs", "!!", "x", "²"]


def test_long_prompts_are_cut_keeping_the_end_token():
    tokenizer = Tokenizer(context=4)
    ids = tokenizer(["a very long prompt indeed", "cat"])
    assert ids[0].tolist()[-1] == tokenizer.ids["<end_of_text>"] and (ids[0] != 0).all()
    assert ids[1].tolist()[2:] == [tokenizer.ids["<end_of_text>"], 0]


def test_vision_backbone_reproduces_the_authors_features(golden_dir, one_thread):
    report = vision_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert "sam2_backbone_fpn[2]" in report


def test_geometry_cls_and_detr_encoder_reproduce_the_authors(golden_dir, one_thread):
    report = encoder_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_a_changed_geometry_weight_fails_the_encoder_parity(golden_dir, tmp_path, one_thread):
    key = GEOMETRY_PREFIX + "cls_embed.weight"
    report = encoder_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]
    assert report["geometry_cls"] > 1e-3 and report["encoder_memory"] > 1e-4


def test_scoring_reproduces_the_authors_logits_and_kept_queries(golden_dir, one_thread):
    report = scoring_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["kept_queries_equal"]


def test_a_changed_scoring_weight_fails_parity(golden_dir, tmp_path, one_thread):
    key = SCORING_PREFIX + "prompt_proj.weight"
    report = scoring_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]


def test_segmentation_head_reproduces_the_authors_masks(golden_dir, one_thread):
    report = segmentation_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_a_changed_pixel_decoder_weight_fails_parity(golden_dir, tmp_path, one_thread):
    key = SEGMENTATION_PREFIX + "pixel_decoder.conv_layers.0.weight"
    report = segmentation_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]
    assert report["pred_masks"] > 1e-3


def test_decoder_reproduces_the_authors_layers(golden_dir, one_thread):
    report = decoder_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_whole_detector_reproduces_the_authors_detections(golden_dir, one_thread):
    report = detector_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["kept_queries_equal"]


def test_a_changed_decoder_weight_fails_the_detector_parity(golden_dir, tmp_path, one_thread):
    # a weight, not a bias: a bias shifts a head's logits equally for every key (no effect)
    key = DETECTOR_PREFIX + "transformer.decoder.boxRPB_embed_x.layers.1.weight"
    report = detector_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]
    assert report["pred_boxes"] > 1e-4


def test_video_frames_and_every_steps_detections_match_the_authors(golden_dir, one_thread):
    report = video_detection_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["frames_preprocessed_equal"] and report["every_step_same_detection_count"]


def test_mask_nms_keeps_the_higher_score_and_drops_overlaps_above_the_threshold():
    masks = torch.full((3, 4, 4), -1.0)
    masks[0, :2, :2] = 1.0  # 4 pixels
    masks[1, :2, :3] = 1.0  # 6 pixels, IoU 4/6 with query 0
    masks[2, 2:, 2:] = 1.0  # disjoint
    logits = torch.tensor([[0.5], [2.0], [0.1]])
    found = frame_detections(logits, torch.zeros(3, 4), masks)
    assert found.scores.tolist() == pytest.approx(torch.tensor([2.0, 0.1]).sigmoid().tolist())
    assert torch.equal(found.masks, masks[[1, 2]])
    below = frame_detections(torch.tensor([[-1.0], [2.0], [0.1]]), torch.zeros(3, 4), masks)
    assert below.scores.numel() == 2  # a query under 0.5 neither suppresses nor is kept
    # IoU 4/6 is below an NMS threshold of 0.7 (a setting: `det_nms_thresh`): all three kept
    loose = frame_detections(logits, torch.zeros(3, 4), masks, nms_iou=0.7)
    assert torch.equal(loose.masks, masks)


def test_association_decisions_match_every_step_of_both_video_cases(golden_dir):
    report = association_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert set(report) == {
        "video_case_every_step_equal",
        "video_case_scaled_every_step_equal",
        "passed",
    }


def test_hotstart_bookkeeping_matches_every_step_of_both_video_cases(golden_dir):
    report = hotstart_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_hotstart_removes_a_young_masklet_unmatched_too_often_and_spares_an_old_one():
    settings = HotstartSettings(hotstart_delay=3, hotstart_unmatch_thresh=2)
    state = HotstartState(settings)
    state.update(0, [0], {}, [], [])
    assert state.update(4, [1], {}, [0], []) == set()  # id 0: one unmatched frame
    assert state.update(5, [], {}, [0, 1], []) == set()  # id 0 was born before frame 5 - 3
    assert state.update(6, [], {0: [0, 1]}, [0, 1], []) == {1}  # id 1: born on 4 > 6 - 3
    assert state.removed == {1} and state.keep_alive[0] == 28


def test_frame_masks_match_every_step_of_both_video_cases(golden_dir):
    report = frame_masks_parity(_fixture(golden_dir))
    assert report["passed"], report
    assert report["video_case_max_pixels_differing"] == 0


def test_fill_holes_fills_small_holes_and_drops_small_sprinkles():
    logits = torch.full((1, 12, 12), -1.0)
    logits[0, 1:9, 1:9] = 1.0  # a 64-pixel object
    logits[0, 4, 4] = -1.0  # a 1-pixel hole in it
    logits[0, 11, 11] = 1.0  # a 1-pixel sprinkle far from it
    out = fill_holes(logits)
    assert out[0, 4, 4] == pytest.approx(0.1)
    assert out[0, 11, 11] == pytest.approx(-0.1)
    assert out[0, 2, 2] == 1.0 and out[0, 10, 1] == -1.0  # the rest is untouched
    tiny = torch.full((1, 6, 6), -1.0)
    tiny[0, 0, 0] = 1.0  # a lone 1-pixel object is not a sprinkle: half its area is 0
    assert torch.equal(fill_holes(tiny) > 0, tiny > 0)


def test_a_reconditioned_masklet_takes_its_detection_mask():
    track = torch.full((1, 4, 4), 1.0)
    det = torch.full((4, 4), -1.0)
    det[:2, :2] = 1.0
    out = frame_masks((8, 8), [3], track, [], torch.zeros(0, 4, 4), {3: det})
    assert out[3].sum() == 16 and out[3][:4, :4].all()


def test_masklet_ids_and_scores_match_every_step_of_both_video_cases(golden_dir):
    report = masklets_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_the_object_limit_keeps_the_highest_scores_and_ids_are_never_reused():
    masklets = Masklets(max_objects=2)
    kept, ids = masklets.admit([0, 1, 2], [0.6, 0.9, 0.8])
    assert kept == [1, 2] and ids == [0, 1]
    masklets.commit(ids, [0.9, 0.8], removed={0})
    kept, ids = masklets.admit([0], [0.75])
    assert kept == [0] and ids == [2]  # id 0 was removed: room for one, and a fresh id
    masklets.commit(ids, [0.75], removed=set())
    assert masklets.ids == [1, 2] and masklets.scores == {0: -1e4, 1: 0.8, 2: 0.75}


def test_last_occluded_frames_match_every_step_of_both_video_cases(golden_dir):
    report = occlusion_parity(_fixture(golden_dir))
    assert report["passed"], report


def test_the_more_recently_occluded_of_two_overlapping_masks_is_suppressed():
    masks = torch.full((3, 4, 4), -1.0)
    masks[0, :2] = 1.0
    masks[1, :2] = 1.0  # same as id 10: IoU 1
    out, last = suppress_recently_occluded(5, masks, [10, 11, 12], {10: 2, 11: 3}, set())
    assert (out[1] == NO_OBJECT_LOGIT).all() and torch.equal(out[0], masks[0])
    assert last == {10: 2, 11: 5, 12: 5}  # 11 suppressed, 12 empty: both occluded on frame 5
    never, _ = suppress_recently_occluded(5, masks, [10, 11, 12], {}, set())
    assert torch.equal(never, masks)  # neither was ever occluded: nothing to prefer
    gone, last = suppress_recently_occluded(5, masks, [10, 11, 12], {10: 2}, {11})
    assert (gone[1] == NO_OBJECT_LOGIT).all() and 11 not in last  # removed: occluded latest
    kept, _ = suppress_recently_occluded(5, masks, [10, 11, 12], {}, {11})
    assert torch.equal(kept, masks)  # as the authors' code: only against a once-occluded mask


def test_association_with_no_track_makes_every_detection_new_whatever_its_score():
    masks = torch.full((2, 4, 4), -1.0)
    masks[:, :2, :2] = 1.0
    found = associate(masks, torch.tensor([0.55, 0.9]), torch.zeros(0, 4, 4), [])
    assert found.new_detections == [0, 1]


def test_association_rules_on_a_small_case():
    det = torch.full((2, 4, 4), -1.0)
    det[0, :2, :2] = 1.0  # 4 px, on track 7 (IoU 4/8 = 0.5 -> track matched)
    det[1, 3:, 3:] = 1.0  # 1 px, far from both tracks
    trk = torch.full((3, 4, 4), -1.0)
    trk[0, :2, :] = 1.0  # track 7: 8 px
    trk[1, 2:, :2] = 1.0  # track 9: 4 px, no detection on it -> unmatched
    found = associate(det, torch.tensor([0.9, 0.69]), trk, [7, 9, 11])  # track 11 is empty
    assert found.matched_tracks == {0: [7], 1: []}
    assert found.unmatched_tracks == [9] and found.empty_tracks == [11]
    assert found.new_detections == []  # detection 1 is below the new-detection score 0.7
    assert found.reconditioning == {}  # IoU 0.5 < 0.8
    assert associate(det, torch.tensor([0.9, 0.75]), trk, [7, 9, 11]).new_detections == [1]
    # a lower new-detection score (a setting: `new_det_thresh`) starts it
    assert associate(det, torch.tensor([0.9, 0.69]), trk, [7, 9, 11], 0.5).new_detections == [1]


def _fixture_with_changed_weight(golden_dir: Path, tmp_path: Path, key: str) -> Path:
    fixture = tmp_path / "public"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "weights.pt.gz"
    path.chmod(0o644)
    with gzip.open(path, "rb") as handle:
        state = torch.load(io.BytesIO(handle.read()), weights_only=True)
    state[key].view(-1)[0] += 0.5
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with gzip.open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return fixture


def test_a_changed_text_weight_fails_parity(golden_dir, tmp_path, one_thread):
    key = TEXT_PREFIX + "encoder.transformer.resblocks.0.ln_2.weight"
    report = text_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]
    assert report["features"] > 1e-3


def test_a_changed_tracker_neck_weight_fails_only_that_neck(golden_dir, tmp_path, one_thread):
    key = VISION_PREFIX + "sam2_convs.2.conv_3x3.bias"
    report = vision_parity(_fixture_with_changed_weight(golden_dir, tmp_path, key))
    assert not report["passed"]
    assert report["sam2_backbone_fpn[2]"] > 1e-3
    assert report["backbone_fpn[2]"] <= 1e-4


#: the released model's sizes: the options' defaults
RELEASED = Sam3Options().detector_sizes()


def _released(golden_dir: Path, prefix: str) -> dict[str, list[int]]:
    keys = json.loads((golden_dir / "sam3/keys/sam3_video_model_keys.json").read_text())["keys"]
    return {
        name[len(prefix) :]: shape
        for name, (shape, _dtype) in keys.items()
        if name.startswith(prefix)
    }


def test_released_text_keys_and_shapes_load_by_name(golden_dir):
    with torch.device("meta"):
        model = TextEncoder(RELEASED.text)
    ours = {name: list(value.shape) for name, value in model.state_dict().items()}
    assert ours == _released(golden_dir, TEXT_PREFIX)


def test_released_vision_keys_and_shapes_load_by_name(golden_dir):
    with torch.device("meta"):
        model = VisionBackbone(RELEASED.vit, d_model=RELEASED.fusion.d_model)
    ours = {name: list(value.shape) for name, value in model.state_dict().items()}
    assert ours == _released(golden_dir, VISION_PREFIX)


def test_tokens_of_another_length_are_refused():
    model = TextEncoder(
        TextEncoderSizes(width=8, heads=2, layers=1, context=4, vocab=10, d_model=4)
    )
    with pytest.raises(ValueError, match="length 5"):
        model(torch.zeros(1, 5, dtype=torch.long))


def test_released_geometry_and_encoder_keys_and_shapes_load_by_name(golden_dir):
    with torch.device("meta"):
        geometry, encoder = GeometryEncoder(RELEASED.fusion), DetrEncoder(RELEASED.fusion)
    for model, prefix in ((geometry, GEOMETRY_PREFIX), (encoder, ENCODER_PREFIX)):
        ours = {name: list(value.shape) for name, value in model.state_dict().items()}
        assert ours == _released(golden_dir, prefix), prefix


def test_released_scoring_and_segmentation_keys_and_shapes_load_by_name(golden_dir):
    with torch.device("meta"):
        scoring, head = DotProductScoring(), SegmentationHead()
    for model, prefix in ((scoring, SCORING_PREFIX), (head, SEGMENTATION_PREFIX)):
        ours = {name: list(value.shape) for name, value in model.state_dict().items()}
        assert ours == _released(golden_dir, prefix), prefix


def test_released_detector_keys_and_shapes_load_by_name(golden_dir):
    """All 1156 `detector.*` entries of the released checkpoint, by name and shape."""
    with torch.device("meta"):
        model = Detector(RELEASED)
    ours = {name: list(value.shape) for name, value in model.state_dict().items()}
    released = _released(golden_dir, DETECTOR_PREFIX)
    assert len(released) == 1156
    assert ours == released


def test_the_detector_makes_every_tensor_on_its_inputs_device(golden_dir):
    """The meta device stands in for a GPU: a tensor made on the CPU inside forward fails."""
    with torch.device("meta"):
        model = Detector(detector_sizes(_fixture(golden_dir))).eval()
    images = torch.zeros(2, 3, 112, 112, device="meta")
    out = model(images, torch.zeros(2, 32, dtype=torch.long, device="meta"))
    assert out.pred_masks.device.type == "meta" and out.pred_logits.shape == (4, 10, 1)


def test_rotary_tables_built_without_a_checkpoint_equal_the_authors(golden_dir):
    """The RoPE tables are buffers the checkpoint carries; building them gives the same values
    (window blocks at scale 1, global blocks at window / grid)."""
    fixture = _fixture(golden_dir)
    stored = sub_state_dict(load_gz(fixture / "weights.pt.gz"), VISION_PREFIX + "trunk.")
    built = VisionTrunk(vit_sizes(fixture)).state_dict()
    tables = [name for name in stored if name.endswith("freqs_cis")]
    assert len(tables) == 2
    for name in tables:
        assert torch.allclose(built[name], stored[name], atol=1e-6), name

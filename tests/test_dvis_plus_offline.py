"""DVIS++ offline against the fixtures made with the authors' code, release-format checkpoints
of both DVIS++ methods, and both methods through the harness under several clip schedules."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers.dvis_other_fixture import write_other_fixture
from tests.helpers.dvis_tiny import TINY, released_keys
from tests.helpers.memory_source import MemorySource
from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.api.state_dict_keys import key_list, meta_model
from vis_bench.cli import main
from vis_bench.formats.checkpoints import CheckpointError
from vis_bench.inference.runner import run_method
from vis_bench.methods.dvis_plus_offline.parity import run_parity

pytestmark = pytest.mark.usefixtures("one_thread")

FILL = 0.5


def _fixture(golden_dir: Path) -> Path:
    return golden_dir / "dvis_plus_offline" / "public"


def test_parity_passes_on_the_public_fixture(golden_dir):
    report = run_parity(_fixture(golden_dir))
    assert report.passed, report.format()
    names = {check.name for check in report.checks}
    assert {
        "refiner.pred_masks",
        "refiner (replayed).pred_logits",
        "post_processing_out.aux_logits",
        "synthetic_permuted.refiner_pred_logits",
        "harness T=3 S=2.pred_masks",
    } <= names


def test_parity_runs_a_fixture_set_with_other_settings(golden_dir, tmp_path):
    """Classes, queries, widths, depths, heads, window, length and input size all differ from
    the public set's: every size comes from the fixture."""
    write_other_fixture(golden_dir, tmp_path / "other", "offline")
    report = run_parity(tmp_path / "other")
    assert report.passed, report.format()
    assert "synthetic_permuted.permutations undone" in {check.name for check in report.checks}


def test_a_changed_refiner_weight_fails_parity(golden_dir, tmp_path):
    fixture = tmp_path / "fixture"
    shutil.copytree(_fixture(golden_dir), fixture)
    path = fixture / "state_dict.pt"
    path.chmod(0o644)
    state = torch.load(path, weights_only=True)
    state["refiner.conv_norms.0.bias"] += 0.05
    torch.save(state, path)
    report = run_parity(fixture)
    failed = {check.name for check in report.checks if not check.passed}
    assert "refiner.pred_embds" in failed
    assert "tracker[1].pred_logits" not in failed


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("offline_r50_ytvis19", {"backbone": "resnet50", "num_classes": 40}),
        ("offline_r50_ovis", {"backbone": "resnet50", "num_classes": 25}),
        ("offline_vitl_ytvis19", {"backbone": "vit_l", "num_classes": 40}),
    ],
)
def test_key_lists_equal_the_authors(golden_dir, name, options):
    model = meta_model("dvis-plus-offline", options)
    assert key_list(model.state_dict()) == released_keys(golden_dir, name)


def _release_file(golden_dir: Path, name: str, folder: Path) -> Path:
    """A detectron2 release file (`{"model": ...}`) with exactly the key list's entries, each
    a stride-0 expansion of one number (a full R50 model in a few hundred kilobytes)."""
    state = {
        key: torch.tensor(FILL).expand(shape) for key, shape in released_keys(golden_dir, name)
    }
    path = folder / f"{name}.pth"
    torch.save({"model": state, "iteration": 40000}, path)
    return path


@pytest.mark.parametrize(
    ("name", "method", "read"),
    [
        ("online_r50_ytvis19", "dvis-plus-online", "num_classes: 40"),
        ("online_r50_ovis", "dvis-plus-online", "num_classes: 25"),
        ("offline_r50_ytvis19", "dvis-plus-offline", "refiner_layers: 6"),
        ("offline_r50_ovis", "dvis-plus-offline", "num_classes: 25"),
        ("online_vitl_ytvis19", "dvis-plus-online", "num_queries: 200"),
        ("offline_vitl_ytvis19", "dvis-plus-offline", "num_queries: 200"),
    ],
)
def test_check_checkpoint_accepts_the_releases(golden_dir, tmp_path, capsys, name, method, read):
    path = _release_file(golden_dir, name, tmp_path)
    code = main(["check-checkpoint", str(path), "--method", method])
    printed = capsys.readouterr().out
    assert code == 0, printed
    backbone = "vit_l" if "_vitl_" in name else "resnet50"
    assert f"backbone: {backbone}" in printed and read in printed
    assert "OK: loads strictly" in printed


def test_a_release_loads_strictly_and_the_other_variants_does_not(golden_dir, tmp_path, capsys):
    path = _release_file(golden_dir, "offline_r50_ovis", tmp_path)
    with torch.device("meta"):
        plugin = get_method("dvis-plus-offline").build({"num_classes": 25})
    plugin.model.to_empty(device="cpu")
    assert plugin.load_checkpoint(str(path)).clean
    assert float(plugin.model.refiner.activation_proj.weight[0, 0].detach()) == FILL
    assert main(["check-checkpoint", str(path), "--method", "dvis-plus-online"]) == 1
    assert "refiner.activation_proj.weight" in capsys.readouterr().out
    with torch.device("meta"):
        online = get_method("dvis-plus-online").build({"num_classes": 25})
    online.model.to_empty(device="cpu")
    with pytest.raises(CheckpointError, match="dvis-plus-offline checkpoint"):
        online.load_checkpoint(str(path))


def _tiny(name: str, seed: int = 0):
    """A random tiny model whose class heads are scaled up, so that the top-10 pairs are far
    apart (random heads give near ties that float noise could reorder)."""
    torch.manual_seed(seed)
    plugin = get_method(name).build(TINY)
    with torch.no_grad():
        for module in (plugin.model.tracker, getattr(plugin.model, "refiner", None)):
            if module is not None:
                module.class_embed.weight.mul_(30)
    return plugin


def _results(plugin, clip_length, stride):
    source = MemorySource(lengths=(7,), size=(48, 64))
    outcome = run_method(plugin, source, clip_length=clip_length, stride=stride, resolution=48)
    return sorted(outcome.results, key=lambda r: (r["category_id"], r["score"]))


@pytest.mark.parametrize("name", ["dvis-plus-online", "dvis-plus-offline"])
def test_every_clip_schedule_gives_the_same_tracks_labels_and_masks(name):
    """The tracker is frame by frame and carried clip to clip (and the refiner sees the whole
    video whatever the clips): T = 1, 3 (the released window), 3 with overlap and all give the
    same results; only the segmenter's batching differs (scores within 1e-5)."""
    plugin = _tiny(name)
    reference = _results(plugin, "all", None)
    assert len(reference) == 10
    for clip_length, stride in ((1, 1), (3, 3), (3, 2)):
        other = _results(plugin, clip_length, stride)
        assert [r["category_id"] for r in other] == [r["category_id"] for r in reference]
        assert [r["segmentations"] for r in other] == [r["segmentations"] for r in reference]
        gaps = [abs(a["score"] - b["score"]) for a, b in zip(other, reference, strict=True)]
        assert max(gaps) <= 1e-5, (clip_length, stride)


@pytest.mark.parametrize(("clip_length", "stride"), [("all", None), (3, 3), (3, 2)])
def test_kept_mask_features_give_the_second_pass_s_results_without_its_backbone(
    monkeypatch, clip_length, stride
):
    """`keep_mask_features: disk` (the default) and `float32` (the authors' way) give the
    results of making them again (masks equal, scores equal) and never run the per-frame stages
    in the second pass; float16 keeps half the bytes and gives the same tracks and labels."""
    plugin = _tiny("dvis-plus-offline")
    assert plugin.options.keep_mask_features == "disk"
    plugin.options.keep_mask_features = "no"
    reference = _results(plugin, clip_length, stride)
    remade = []
    remake = plugin.refined_masks_features
    monkeypatch.setattr(
        plugin, "refined_masks_features", lambda *args: remade.append(1) or remake(*args)
    )
    for keep in ("no", "disk", "float32", "float16"):
        plugin.options.keep_mask_features = keep
        remade.clear()
        other = _results(plugin, clip_length, stride)
        assert [r["category_id"] for r in other] == [r["category_id"] for r in reference]
        assert [r["score"] for r in other] == [r["score"] for r in reference]
        if keep != "float16":
            assert [r["segmentations"] for r in other] == [r["segmentations"] for r in reference]
        # the second pass's windows make the frames' features again only without kept ones
        assert bool(remade) == (keep == "no"), keep


def test_keep_mask_features_names_its_choices():
    with pytest.raises(InputError, match="keep_mask_features must be one of"):
        get_method("dvis-plus-offline").build({**TINY, "keep_mask_features": "yes"})


def test_the_kept_mask_features_are_each_frame_s_in_the_chosen_dtype():
    plugin = _tiny("dvis-plus-offline")
    plugin.options.keep_mask_features = "float16"
    frames = plugin.preprocess(torch.randint(0, 255, (4, 3, 48, 64), dtype=torch.uint8), 48)
    result = plugin.infer_clip(frames[:3])
    result = plugin.infer_clip(frames[2:], state=result.state, seen=1)
    kept = result.state.mask_features
    assert len(kept) == 4
    assert all(f.dtype == torch.float16 and f.shape == (32, 16, 16) for f in kept)
    # each frame its own storage: no clip's batch is held through a view
    assert len({f.untyped_storage().data_ptr() for f in kept}) == 4


def test_the_disk_keeps_each_frame_s_features_in_one_file_that_goes_with_the_video():
    """`keep_mask_features: disk`: the state holds a handle per frame, the features lie in the
    video's temporary file (float32, C x H/4 x W/4 per frame) and read back bit for bit; the
    file is closed once nothing holds the video."""
    plugin = _tiny("dvis-plus-offline")
    frames = plugin.preprocess(torch.randint(0, 255, (4, 3, 48, 64), dtype=torch.uint8), 48)
    result = plugin.infer_clip(frames[:3])
    result = plugin.infer_clip(frames[2:], state=result.state, seen=1)
    video = result.state
    assert len(video.mask_features) == 4 and video.spill.nbytes == 4 * 32 * 16 * 16 * 4
    plugin.options.keep_mask_features = "float32"
    in_memory = plugin.infer_clip(frames[:3]).state.mask_features
    for handle, tensor in zip(video.mask_features, in_memory, strict=False):
        assert torch.equal(handle.load(), tensor)
    spill = weakref.ref(video.spill)
    del result, video, handle
    gc.collect()
    assert spill() is None  # and with it the file


def test_the_offline_state_holds_queries_not_feature_maps():
    """What the first pass carries grows by T x Q x (2 x 2C + K + 1) numbers, never by a
    frame's feature maps; the second pass makes only the chosen tracks' masks."""
    plugin = _tiny("dvis-plus-offline")
    frames = plugin.preprocess(torch.randint(0, 255, (4, 3, 48, 64), dtype=torch.uint8), 48)
    result = plugin.infer_clip(frames[:3])
    result = plugin.infer_clip(frames[2:], state=result.state, seen=1)
    video = result.state
    assert video.num_frames == 4
    held = [video.instance_embeds, video.frame_embeds, video.tracker_logits]
    assert sum(rows.stacked().numel() for rows in held) == 4 * 6 * (2 * 64 + 4)
    assert all(len(rows.chunks) == 1 for rows in held)  # a few chunks a video, not a clip each
    refinement = plugin.refine_video(video)
    assert len(refinement.predictions) == 10
    masks = plugin.refined_masks(frames[1:3], refinement, [1, 2])
    assert masks.shape == (len(refinement.slots), 2, 16, 16)  # padded to 64 x 64
    assert np.isfinite(masks.numpy()).all()


def test_refining_a_video_at_its_end_holds_its_queries_once_and_gives_the_same(monkeypatch):
    """`refine(..., consume=True)` (the plugin's: the video ends) runs in the chunks the video
    was gathered in, never stacking them; its outputs equal the stacking path's bit for bit,
    with chunk boundaries inside the refiner's own frame and track chunks."""
    from vis_bench.methods.families.dvis import frame_rows
    from vis_bench.methods.families.dvis.inference import CarriedTracks
    from vis_bench.methods.families.dvis.refinement import GatheredVideo, refine
    from vis_bench.methods.families.dvis.refiner import TemporalRefiner

    torch.manual_seed(0)
    refiner = TemporalRefiner(64, 128, 4, 2, 32, 5).eval()
    clips = [torch.randn(3, 30, 64) for _ in range(14)]
    # 5 frames a chunk: clips of 3 straddle chunks, and 42 frames leave the last one part-full
    monkeypatch.setattr(frame_rows, "CHUNK_BYTES", 5 * 30 * 64 * 4)

    def video() -> GatheredVideo:
        rows = [frame_rows.FrameRows() for _ in range(3)]
        for clip in clips:
            rows[0].append(clip)
            rows[1].append(clip.flip(0))
            rows[2].append(clip[:, :, :6])
        return GatheredVideo(CarriedTracks.__new__(CarriedTracks), *rows, 42)

    with torch.no_grad():
        copied = refine(refiner, video())
        consumed_video = video()
        chunks = [chunk.data_ptr() for chunk in consumed_video.instance_embeds.chunks]
        consumed = refine(refiner, consumed_video, consume=True)
    assert len(chunks) == 9 and consumed.normed is consumed_video.instance_embeds
    assert [chunk.data_ptr() for chunk in consumed.normed.chunks] == chunks  # in place
    assert torch.equal(consumed.normed.stacked(), copied.normed)
    assert torch.equal(consumed.logits, copied.logits)
    assert torch.equal(consumed.aux_logits, copied.aux_logits)
    assert torch.equal(consumed.tracks([4, 0]), copied.tracks([4, 0]))


def test_a_gathered_state_extended_twice_keeps_each_branch_s_frames():
    """States are values: extending an earlier state again (a clip replayed from it) copies its
    frames, and the later state sharing the chunks is left as it was."""
    from types import SimpleNamespace

    from vis_bench.methods.families.dvis.refinement import GatheredVideo

    def clip(value: float, frames: int = 2):
        rows = torch.full((frames, 3, 4), value)
        tracked = SimpleNamespace(outputs=rows)
        return tracked, SimpleNamespace(embeds_no_norm=rows + 1), rows[:, :, :2]

    start = GatheredVideo(None)
    first = start.extended(*clip(1.0), None)
    second = first.extended(*clip(2.0), None)
    branch = first.extended(*clip(3.0), None)
    assert second.instance_embeds.stacked()[:, 0, 0].tolist() == [1, 1, 2, 2]
    assert branch.instance_embeds.stacked()[:, 0, 0].tolist() == [1, 1, 3, 3]
    assert second.num_frames == branch.num_frames == 4 and first.num_frames == 2


def test_the_refiners_last_output_in_chunks_is_its_whole_forwards():
    """`last_output` (chunks of tracks, then of frames; memory flat with the video's length)
    gives `forward(...)[-1]` bit for bit, whatever the chunk size."""
    from vis_bench.methods.families.dvis.refiner import TemporalRefiner, _chunks

    torch.manual_seed(0)
    refiner = TemporalRefiner(64, 128, 4, 2, 32, 5).eval()
    tracks, frames = torch.randn(41, 30, 64), torch.randn(41, 30, 64)
    with torch.no_grad():
        whole = refiner(tracks, frames)[-1]
        for rows in (1, 300, 1000, 10**6):
            assert torch.equal(refiner.last_output(tracks, frames, rows), whole)
    assert [(s.start, s.stop) for s in _chunks(7, 3, 100)] == [(0, 3), (3, 7)]
    assert [(s.start, s.stop) for s in _chunks(5, 1, 1)] == [(0, 5)]


def test_spilled_mask_features_come_back_beside_the_slots():
    """A spill reads into host memory; on a GPU the second pass's product needs the features on
    the slots' device (found on an H200: every `keep_mask_features: disk` cell failed there).
    The meta device stands in for the GPU here."""
    from methods.families.dvis.refinement import RefinedSlots
    from vis_bench.api.tensor_spill import TensorSpill

    spill = TensorSpill()
    handles = tuple(spill.put(torch.randn(2, 3, 3)) for _ in range(3))
    slots = RefinedSlots(torch.empty(3, 4, 8, device="meta"), handles)
    kept = slots.kept_mask_features([0, 2])
    assert kept.device.type == "meta" and kept.shape == (2, 2, 3, 3)

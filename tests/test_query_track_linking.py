"""Clips linked as query tracks: embedding association (MinVIS) and a state carried by the
method (the toy below), both run by the harness's QueryTrackLinker without a special case."""

from __future__ import annotations

import pytest
import torch

import tests.helpers.toy_stateful_method  # noqa: F401  (registers "toy-stateful")
from tests.helpers.memory_source import MemorySource
from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.api import ClipResult, EmbeddingAssociation
from vis_bench.api.registration import get_method
from vis_bench.cli import main
from vis_bench.config import DatasetConfig, parse_config
from vis_bench.engine.finalise import EncodedFrames
from vis_bench.engine.query_tracks import QueryTrackLinker
from vis_bench.formats.rle import decode
from vis_bench.inference.pass_hooks import NO_WARM_UP
from vis_bench.inference.runner import run_method
from vis_bench.sweep import run_sweep
from vis_bench.train.config import ClipConfig, OptimConfig, TrainConfig
from vis_bench.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _clip(order: list[int], frames: int, embeddings: torch.Tensor) -> ClipResult:
    """Three tracks whose masks say which track they are (value = track id + 1), shuffled."""
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 5.0]])
    masks = torch.stack([torch.full((frames, 2, 2), float(i + 1)) for i in range(3)])
    return ClipResult(
        scores=torch.ones(3),
        labels=torch.ones(3, dtype=torch.long),
        masks=masks[order],
        mask_logits=masks[order],
        frame_logits=logits[order][None].expand(frames, -1, -1),
        frame_embeddings=embeddings[order][None].expand(frames, -1, -1),
    )


class _Recorder:
    def __init__(self) -> None:
        self.frames: dict[int, dict[int, float]] = {}

    def frame_final(self, frame: int, masks: dict, threshold: float) -> None:
        self.frames[frame] = {slot: float(mask[0, 0]) for slot, mask in masks.items()}


def _every_slot(mean_logits: torch.Tensor) -> list[tuple[int, int, float]]:
    return [(slot, 1, 0.5) for slot in range(len(mean_logits))]


def test_embedding_association_undoes_each_clips_query_order():
    embeddings = torch.eye(3)
    sink = _Recorder()
    linker = QueryTrackLinker(EmbeddingAssociation(), _every_slot, [sink])
    linker.add_clip([0, 1], _clip([0, 1, 2], 2, embeddings))
    linker.add_clip([2, 3], _clip([2, 0, 1], 2, embeddings))
    linker.add_clip([3, 4], _clip([1, 2, 0], 2, embeddings))  # frame 3 again: kept as it was
    assert sink.frames == {}  # held until the video's predictions are chosen
    linker.finish()
    assert sorted(sink.frames) == [0, 1, 2, 3, 4]
    for frame in sink.frames.values():
        assert frame == {0: 1.0, 1: 2.0, 2: 3.0}  # slot i always holds track i
    assert linker.frames_seen == 5
    mean = linker.mean_logits()
    assert torch.equal(mean.argmax(1), torch.tensor([0, 1, 2]))


def test_a_result_without_frame_logits_is_refused():
    linker = QueryTrackLinker(EmbeddingAssociation(), lambda m: [])
    result = _clip([0, 1, 2], 2, torch.eye(3))
    result.frame_logits = None
    with pytest.raises(ValueError, match="frame_logits"):
        linker.add_clip([0, 1], result)


def test_the_harness_hands_a_stateful_method_its_state():
    """The toy's raw query order flips every other clip; with its state handed back, the bright
    track stays the bright one in every frame of the video."""
    plugin = get_method("toy-stateful").build({})
    source = MemorySource(lengths=(7,))  # a bright square moving right on black
    outcome = run_method(plugin, source, clip_length=2, stride=2, resolution=None)
    assert len(outcome.results) == 2
    bright = [r for r in outcome.results if decode(r["segmentations"][0])[8, 4]]
    assert len(bright) == 1
    for t, rle in enumerate(bright[0]["segmentations"]):
        mask = decode(rle)
        assert mask[8, 4 + t] and not mask[20, 28]


def test_a_stateful_method_is_not_given_a_frame_twice(monkeypatch):
    """An overlapping schedule: the method takes consecutive windows of T new frames whatever
    the stride (an overlapped frame would keep the earlier clip's prediction anyway), so each
    call carries on from the state with new frames only, and `seen` is 0; the last window, shifted
    back to end at the video's last frame, is given only the frames no clip had."""
    plugin = get_method("toy-stateful").build({})
    handed = []
    infer = plugin.infer_clip

    def recording(frames, state=None, seen=0):
        handed.append((int(frames.shape[0]), seen, state is None))
        return infer(frames, state=state, seen=seen)

    monkeypatch.setattr(plugin, "infer_clip", recording)
    source = MemorySource(lengths=(7,))
    run_method(plugin, source, clip_length=3, stride=2, resolution=None, untimed=NO_WARM_UP)
    # windows 0-2, 3-5, 4-6 (S = T = 3): frames 4 and 5 were covered by the clip before
    assert handed == [(3, 0, True), (3, 0, False), (1, 0, False)]
    linker = QueryTrackLinker(EmbeddingAssociation(), lambda m: [])
    linker.last_frame = 5
    assert linker.seen_frames(range(4, 7)) == 2


def test_the_stride_does_not_change_an_online_methods_calls_or_results(monkeypatch):
    """T=3 with S=1, 2 or 3 gives a carried-state method the same calls, hence the same results."""
    plugin = get_method("toy-stateful").build({})
    infer = plugin.infer_clip
    calls: list[int] = []

    def recording(frames, state=None, seen=0):
        calls.append(int(frames.shape[0]))
        return infer(frames, state=state, seen=seen)

    monkeypatch.setattr(plugin, "infer_clip", recording)
    outcomes = {}
    for stride in (1, 2, 3):
        calls.clear()
        source = MemorySource(lengths=(8,))
        out = run_method(
            plugin, source, clip_length=3, stride=stride, resolution=None, untimed=NO_WARM_UP
        )
        outcomes[stride] = (list(calls), out.results)
    assert outcomes[1] == outcomes[2] == outcomes[3]
    assert outcomes[3][0] == [3, 3, 2]


@pytest.mark.slow
def test_the_stateful_toy_is_listed_trained_and_swept(tmp_path, capsys):
    assert main(["methods", "toy-stateful"]) == 0
    assert "linking: state carried by the method from clip to clip" in capsys.readouterr().out
    config = TrainConfig(
        name="toy-stateful",
        method="toy-stateful",
        dataset=DatasetConfig(
            kind="synthetic", videos=2, min_frames=4, max_frames=5, cache_dir=str(tmp_path / "c")
        ),
        clip=ClipConfig(frames=3, scales=[32]),
        optim=OptimConfig(iterations=2),
        output=str(tmp_path / "toy.pth"),
        work_dir=str(tmp_path / "work"),
        checkpoint_every=2,
    )
    assert train(config, progress=False, log=lambda _: None).iterations == 2
    sweep = parse_config(
        {
            "name": "toy-stateful",
            "dataset": {"kind": "synthetic"},
            "methods": [{"name": "toy-stateful", "checkpoint": config.output}],
            "sweep": {"clip_length": [2]},
            "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1},
        }
    )
    (record,) = run_sweep(sweep, MemorySource(), tmp_path / "run", log=lambda s: None)
    assert record["status"] == "ok"


def test_minvis_through_the_harness_equals_its_whole_video_inference():
    """A tiny MinVIS: T = all and T = S = 3 give the same results through the harness (its
    per-frame network does not depend on the clip; the harness links clips as it links frames),
    and the harness holds only a clip's float masks."""
    torch.manual_seed(0)
    plugin = get_method("minvis").build(
        {
            "backbone": "tiny",
            "num_classes": 3,
            "num_queries": 6,
            "hidden_dim": 32,
            "conv_dim": 32,
            "mask_dim": 32,
            "dim_feedforward": 64,
            "enc_layers": 1,
            "dec_layers": 3,
            "min_size_test": 64,
        }
    )
    source = MemorySource(lengths=(8,))
    whole = run_method(plugin, source, clip_length="all", stride=None, resolution=None)
    windows = run_method(plugin, source, clip_length=3, stride=3, resolution=None)
    assert len(whole.results) == 10

    def key(results: list[dict]) -> list:
        return sorted(
            (r["category_id"], round(r["score"], 5), str(r["segmentations"])) for r in results
        )

    assert key(whole.results) == key(windows.results)
    assert windows.harness.stitch_peak_bytes < whole.harness.stitch_peak_bytes


def test_encoded_frames_is_the_linkers_sink():
    encoded = EncodedFrames(4, 4)
    linker = QueryTrackLinker(EmbeddingAssociation(), lambda m: [(0, 1, 0.5)], [encoded])
    linker.add_clip([0, 1], _clip([0, 1, 2], 2, torch.eye(3)))
    (track,) = linker.finish()
    assert (track.track_id, track.label, track.predictions) == (0, 1, [(1, 0.5)])


def _linked(
    deferred_bytes: int, keep: list[int], spill_bytes: int = 0
) -> tuple[_Recorder, QueryTrackLinker]:
    sink = _Recorder()
    pick = lambda m: [(slot, 1, 0.5) for slot in keep]  # noqa: E731
    linker = QueryTrackLinker(
        EmbeddingAssociation(), pick, [sink], deferred_bytes=deferred_bytes, spill_bytes=spill_bytes
    )
    for first, order in ((0, [0, 1, 2]), (2, [2, 0, 1]), (4, [1, 2, 0])):
        linker.add_clip([first, first + 1], _clip(order, 2, torch.eye(3)))
    linker.finish()
    return sink, linker


def test_only_the_kept_slots_masks_are_finalised():
    """As the authors' top-k before the masks: the slots no prediction keeps are never handed to
    the sinks, and the kept ones get every frame."""
    sink, linker = _linked(2**30, [2, 0, 2])
    assert sink.frames == {t: {0: 1.0, 2: 3.0} for t in range(6)}
    assert (linker.masks_finalised, linker.frames_finalised_early) == (12, 0)
    assert linker.peak_bytes > 0 and not linker._held


def test_held_masks_past_the_budget_are_finalised_for_every_slot():
    """A frame's masks are 3 x 2 x 2 small integers, held in float16 (24 bytes): a 50-byte
    budget holds two frames, the older ones are finalised for every slot, and the kept slots'
    masks are the same either way."""
    sink, linker = _linked(50, [1])
    assert linker.frames_finalised_early == 4
    assert sink.frames == {t: ({0: 1.0, 1: 2.0, 2: 3.0} if t < 4 else {1: 2.0}) for t in range(6)}
    assert linker.masks_finalised == 4 * 3 + 2


def test_held_masks_past_the_memory_budget_wait_in_a_file():
    """With room on disk, the frames past the 50-byte memory budget are written out and read
    back for the kept slots only: nothing is finalised early, the kept masks are the same."""
    sink, linker = _linked(50, [1, 2], spill_bytes=2**20)
    assert linker.frames_finalised_early == 0 and linker.frames_spilled == 4
    assert sink.frames == {t: {1: 2.0, 2: 3.0} for t in range(6)}
    assert linker.masks_finalised == 6 * 2


def test_a_full_file_finalises_its_oldest_frames():
    """Memory for two frames and disk for two more: the two oldest are finalised whole."""
    sink, linker = _linked(50, [1], spill_bytes=50)
    assert linker.frames_finalised_early == 2
    assert sink.frames == {t: ({0: 1.0, 1: 2.0, 2: 3.0} if t < 2 else {1: 2.0}) for t in range(6)}


def test_spilled_masks_come_back_exactly_in_every_dtype():
    from vis_bench.engine.held_masks import HeldMasks

    torch.manual_seed(0)
    frames = [torch.randn(5, 7, 9).to(dtype) for dtype in (torch.float32, torch.bfloat16)] * 3
    held = HeldMasks(memory_bytes=5 * 7 * 9 * 4, disk_bytes=2**20)  # the newest frame only
    for index, masks in enumerate(frames):
        held.add(index, masks, torch.float32, 0.0)
    assert held.frames_spilled == len(frames) - 1 and not held.over_budget()
    back = list(held.drain([4, 0]))
    assert [h.frame for h, _ in back] == list(range(len(frames)))
    for (_, planes), masks in zip(back, frames, strict=True):
        assert torch.equal(planes[4], masks[4]) and torch.equal(planes[0], masks[0])
    assert held.in_memory == 0 and held.on_disk == 0


def test_a_videos_masks_in_slot_order_are_held_without_a_copy():
    """A clip whose slots are already in order (a carried-state method, every frame new) is held
    as views of its own masks: no per-frame copy of them, and the same masks finalised."""
    sink = _Recorder()
    linker = QueryTrackLinker(EmbeddingAssociation(), _every_slot, [sink])
    clip = _clip([0, 1, 2], 2, torch.eye(3))
    clip.mask_logits = clip.mask_logits / 3  # no narrower dtype holds them: kept as they are
    linker.add_clip([0, 1], clip)
    storage = clip.mask_logits.untyped_storage().data_ptr()
    assert [f.masks.untyped_storage().data_ptr() for f in linker._held._frames] == [storage] * 2
    linker.add_clip([2, 3], _clip([2, 0, 1], 2, torch.eye(3)))  # re-ordered: copied
    assert linker._held._frames[-1].masks.untyped_storage().data_ptr() != storage
    linker.finish()
    assert sink.frames[1] == {0: pytest.approx(1 / 3), 1: pytest.approx(2 / 3), 2: 1.0}


def test_a_12_frame_videomt_video_is_held_in_memory():
    """VidEoMT at 448 px: 200 queries' float32 masks at 112 x 200 (18 MB a frame). The default
    budget holds a 12-frame video in memory, as the authors' code holds it, instead of writing
    10 of its frames to the temporary file (an expanded tensor stands in: no memory of its own)."""
    linker = QueryTrackLinker(EmbeddingAssociation(), _every_slot)
    masks = torch.full((1, 1, 1, 1), 0.1).expand(200, 12, 112, 200)
    logits = torch.zeros(12, 200, 41)
    clip = ClipResult(
        scores=torch.ones(200),
        labels=torch.ones(200, dtype=torch.long),
        mask_logits=masks,
        frame_logits=logits,
        frame_embeddings=torch.zeros(12, 200, 8),
    )
    linker.add_clip(list(range(12)), clip)
    assert linker.frames_spilled == 0 and linker.frames_finalised_early == 0


def test_masks_a_narrower_dtype_holds_exactly_are_kept_in_it():
    from vis_bench.engine.query_tracks import _narrowed

    halves = torch.randn(4, 8, 8).half().float()
    assert _narrowed(halves).dtype == torch.float16
    assert torch.equal(_narrowed(halves).float(), halves)
    assert _narrowed(torch.randn(4, 8, 8) / 3).dtype == torch.float32


def test_masks_on_an_accelerator_are_held_in_its_own_budget():
    """On an accelerator the held frames stay in its memory up to `device_bytes` instead of
    going to the host's file frame by frame (the meta device stands in for a GPU)."""
    from vis_bench.engine.held_masks import HeldMasks

    frame_bytes = 5 * 7 * 9 * 4
    held = HeldMasks(memory_bytes=frame_bytes, disk_bytes=2**20, device_bytes=10 * frame_bytes)
    for index in range(4):
        held.add(index, torch.empty(5, 7, 9, device="meta"), torch.float32, 0.0)
    assert held.frames_spilled == 0 and held.in_memory == 4 * frame_bytes
    assert not held.over_budget()
    on_host = HeldMasks(memory_bytes=frame_bytes, disk_bytes=2**20, device_bytes=10 * frame_bytes)
    for index in range(4):
        on_host.add(index, torch.zeros(5, 7, 9), torch.float32, 0.0)
    assert on_host.frames_spilled == 3


def test_a_spilled_tensor_comes_back_on_the_device_it_was_written_from():
    """So a spilled GPU frame is finalised on the GPU like one that never left (the meta device
    stands in for a GPU: the handle says where the tensor was)."""
    import dataclasses

    from vis_bench.api.tensor_spill import TensorSpill

    spill = TensorSpill()
    tensor = torch.randn(3, 4, 5)
    handle = spill.put(tensor)
    assert handle.device == tensor.device and torch.equal(handle.load(), tensor)
    elsewhere = dataclasses.replace(handle, device=torch.device("meta"))
    assert elsewhere.load().device.type == "meta" and elsewhere.load(1).shape == (4, 5)

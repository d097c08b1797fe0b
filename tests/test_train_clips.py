"""Training clips: the methods' frame samplers (declared in their specs), clip-level augmentation,
and targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vis_bench.data import generate_dataset, load_dataset
from vis_bench.methods.common.frame_sampling import WindowFrameSampler
from vis_bench.methods.families.seqformer.training import seqformer_frame_indices
from vis_bench.train.clips import (
    ABSENT_BOX,
    build_clip,
    choose_scale,
    recoloured,
    sample_frame_indices,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = generate_dataset(
        tmp_path_factory.mktemp("clips") / "data",
        videos=6,
        seed=5,
        min_frames=8,
        max_frames=12,
        sizes=[(48, 64)],
        max_objects=3,
    )
    return load_dataset(root / "annotations.json", root / "JPEGImages")


@pytest.mark.parametrize("length", [1, 2, 4, 9, 40])
def test_seqformer_sampling_keeps_a_reference_with_neighbours(length):
    rng = np.random.default_rng(0)
    for _ in range(50):
        ref = int(rng.integers(length))
        idx = sample_frame_indices(rng, length, 5, seqformer_frame_indices, reference=ref)
        assert len(idx) == 5 and idx == sorted(idx)
        assert all(0 <= t < length for t in idx)
        assert ref in idx
        if length > 1:  # one frame within 3 on each side (clamped at the ends)
            assert any(max(0, ref - 3) <= t < ref for t in idx) or ref == 0
            assert any(ref < t <= min(length - 1, ref + 3) for t in idx) or ref == length - 1


def test_seqformer_global_frames_come_from_outside_the_local_span():
    rng = np.random.default_rng(1)
    for _ in range(50):
        idx = sample_frame_indices(rng, 30, 5, seqformer_frame_indices, reference=15)
        local = sorted(idx)[1:4]  # not exact, but the far frames must be outside 12..18
        far = [t for t in idx if t < 12 or t > 18]
        assert len(far) >= 1, (idx, local)


def test_ifc_sampling_stays_in_the_window_with_replacement():
    rng = np.random.default_rng(2)
    repeats = 0
    for _ in range(200):
        idx = sample_frame_indices(rng, 100, 5, WindowFrameSampler(3), reference=50)
        assert 50 in idx and idx == sorted(idx)
        assert all(47 <= t <= 53 for t in idx)
        repeats += len(set(idx)) < 5
    assert repeats > 0  # drawn with replacement, like np.random.choice in the authors' mapper
    assert sample_frame_indices(rng, 1, 3, WindowFrameSampler()) == [0, 0, 0]


def test_each_method_declares_its_authors_sampler():
    from vis_bench.api.registration import get_method

    assert get_method("seqformer").spec.training.frame_sampler is seqformer_frame_indices
    assert get_method("seqformer").spec.training.videos_by_length
    assert isinstance(get_method("ifc").spec.training.frame_sampler, WindowFrameSampler)
    assert not get_method("ifc").spec.training.videos_by_length


def test_choose_scale_draws_the_shorter_side_and_caps_the_longer():
    rng = np.random.default_rng(0)
    assert choose_scale(rng, 120, 160, [96], None) == (96, 128)
    assert choose_scale(rng, 160, 120, [96], None) == (128, 96)
    assert choose_scale(rng, 100, 400, [100], 200) == (50, 200)


def test_clip_targets_match_the_annotations(dataset):
    video = next(v for v in dataset.videos if len(v.annotations) >= 2)
    indices = list(range(5))
    clip = build_clip(dataset, video, indices)
    targets = clip.targets
    assert clip.frames.shape == (5, 3, 48, 64) and clip.frames.dtype == torch.uint8
    visible = [a for a in video.annotations if any(a.visible(t) for t in indices)]
    assert len(targets) == len(visible)
    assert targets.labels.tolist() == [a.category_id for a in visible]
    for i, ann in enumerate(visible):
        for t in indices:
            assert bool(targets.valid[i, t]) == ann.visible(t)
            if ann.visible(t):
                assert torch.equal(targets.masks[i, t], torch.from_numpy(ann.mask(t)).float())
                x, y, w, h = ann.bboxes[t]
                expected = [(x + w / 2) / 64, (y + h / 2) / 48, w / 64, h / 48]
                assert targets.boxes[i, t].tolist() == pytest.approx(expected, abs=1e-6)
            else:
                assert targets.masks[i, t].sum() == 0
                assert targets.boxes[i, t].tolist() == pytest.approx([ABSENT_BOX] * 4)


def test_flip_and_resize_move_masks_and_boxes_together(dataset):
    video = dataset.videos[0]
    indices = [0, 2, 4]
    plain = build_clip(dataset, video, indices)
    flipped = build_clip(dataset, video, indices, flip=True)
    assert torch.equal(flipped.frames, plain.frames.flip(-1))
    assert torch.equal(flipped.targets.masks, plain.targets.masks.flip(-1))
    valid = plain.targets.valid
    cx_plain, cx_flip = plain.targets.boxes[..., 0], flipped.targets.boxes[..., 0]
    assert torch.allclose(cx_flip[valid], 1 - cx_plain[valid], atol=1e-6)

    resized = build_clip(dataset, video, indices, size=(96, 128))
    assert resized.frames.shape[-2:] == (96, 128)
    assert resized.targets.masks.shape[-2:] == (96, 128)
    # normalised boxes do not change with the scale; nearest resizing doubles each pixel
    assert torch.allclose(resized.targets.boxes, plain.targets.boxes, atol=1e-6)
    assert torch.equal(resized.targets.masks[..., ::2, ::2], plain.targets.masks)


def test_instances_absent_from_every_chosen_frame_are_dropped(dataset):
    checked = 0
    for video in dataset.videos:
        for ann in video.annotations:
            hidden = [t for t in range(video.length) if not ann.visible(t)]
            if hidden:
                clip = build_clip(dataset, video, hidden[:1])
                visible = [a.id for a in video.annotations if a.visible(hidden[0])]
                assert ann.id not in visible
                assert len(clip.targets) == len(visible)
                checked += 1
    assert checked  # objects enter, leave or hide in these videos


def test_recolouring_remaps_every_frame_of_a_clip_alike_and_keeps_the_pattern():
    rng = np.random.default_rng(3)
    frames = torch.from_numpy(rng.integers(0, 256, (4, 3, 6, 5), dtype=np.uint8))
    looks = set()
    for seed in range(40):
        out = recoloured(frames, np.random.default_rng(seed))
        assert out.dtype == torch.uint8 and out.shape == frames.shape
        # one permutation and one set of inversions for the whole clip, read off frame 0's
        # first pixel per channel: each output channel is an input channel, maybe inverted
        remap = []
        for c in range(3):
            for src in range(3):
                for inverted in (False, True):
                    plane = 255 - frames[:, src] if inverted else frames[:, src]
                    if torch.equal(out[:, c], plane):
                        remap.append((src, inverted))
        assert len(remap) == 3 and sorted(src for src, _ in remap) == [0, 1, 2]
        looks.add(tuple(remap))
    assert len(looks) > 10  # 48 possible looks; 40 draws give many of them

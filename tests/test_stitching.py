"""Stitching clips into tracks by space-time soft IoU, on hand-made clips."""

from __future__ import annotations

import torch

from vis_bench.api.plugin import ClipResult
from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import ClipStitcher

H, W = 8, 12


def box(frame_x: int, width: int = 3) -> torch.Tensor:
    mask = torch.zeros(H, W)
    mask[2:6, frame_x : frame_x + width] = 1.0
    return mask


def clip_result(objects: list[tuple[int, list[int | None]]], frames: range) -> ClipResult:
    """objects: (label, x position per video frame or None); only those visible in the clip."""
    scores, labels, masks = [], [], []
    for label, xs in objects:
        per_frame = [box(xs[f]) if xs[f] is not None else torch.zeros(H, W) for f in frames]
        if all(xs[f] is None for f in frames):
            continue
        scores.append(0.8)
        labels.append(label)
        masks.append(torch.stack(per_frame))
    if not masks:
        return ClipResult(
            torch.zeros(0), torch.zeros(0, dtype=torch.long), torch.zeros(0, len(frames), H, W)
        )
    return ClipResult(torch.tensor(scores), torch.tensor(labels), torch.stack(masks))


def stitch(objects, num_frames, clip_length, stride):
    windows = clip_windows(num_frames, clip_length, stride)
    stitcher = ClipStitcher(num_frames, history=len(windows[0]))
    for window in windows:
        stitcher.add_clip(window, clip_result(objects, window))
    return stitcher.tracks()


def positions(track) -> list[int | None]:
    out = []
    for mask in track.masks:
        if mask is None or mask.sum() == 0:
            out.append(None)
        else:
            out.append(int(torch.nonzero(mask[3] > 0.5)[0, 0]))
    return out


def test_single_clip_is_identity():
    objects = [(1, [0, 1, 2, 3]), (2, [8, 8, 7, 7])]
    tracks = stitch(objects, 4, "all", None)
    assert [t.label for t in tracks] == [1, 2]
    assert [positions(t) for t in tracks] == [[0, 1, 2, 3], [8, 8, 7, 7]]
    assert all(abs(t.score - 0.8) < 1e-6 for t in tracks)


def test_slowly_moving_objects_keep_their_tracks_across_clips():
    objects = [(1, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]), (1, [9, 9, 8, 8, 8, 7, 7, 7, 6, 6])]
    tracks = stitch(objects, 10, 4, 2)
    assert len(tracks) == 2
    assert positions(tracks[0]) == objects[0][1]
    assert positions(tracks[1]) == objects[1][1]


def test_object_leaving_and_reentering_after_a_gap_longer_than_the_overlap():
    # visible in frames 0-3, gone 4-7, back 8-11: the clips around the gap share no frame where
    # it is visible, so the re-entry opens a new track (nothing to match it with).
    xs = [2, 2, 2, 2, None, None, None, None, 2, 2, 2, 2]
    tracks = stitch([(1, xs)], 12, 4, 2)
    seen = [positions(t) for t in tracks]
    assert len(tracks) == 2
    assert seen[0][:4] == [2, 2, 2, 2] and all(v is None for v in seen[0][8:])
    assert seen[1][8:] == [2, 2, 2, 2] and all(v is None for v in seen[1][:4])


def test_object_leaving_briefly_inside_the_overlap_stays_one_track():
    xs = [2, 2, 2, None, 2, 2, 2, 2]
    tracks = stitch([(1, xs)], 8, 4, 2)
    assert len(tracks) == 1
    assert positions(tracks[0]) == xs


def test_two_objects_swapping_positions_keep_identities():
    # A moves right, B moves left; they cross in the middle. Overlapping frames decide.
    a = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    b = [8, 7, 6, 5, 4, 3, 2, 1, 0]
    tracks = stitch([(1, a), (2, b)], 9, 4, 2)
    assert len(tracks) == 2
    by_label = {t.label: positions(t) for t in tracks}
    assert by_label[1] == a
    assert by_label[2] == b


def test_same_category_swap_follows_the_overlap_frames():
    a = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    b = [8, 7, 6, 5, 4, 3, 2, 1, 0]
    tracks = stitch([(1, a), (1, b)], 9, 4, 2)
    assert sorted(positions(t)[0] for t in tracks) == [0, 8]
    for t in tracks:
        p = positions(t)
        assert p in (a, b)


def test_matching_is_category_aware():
    xs = [3, 3, 3, 3, 3, 3]
    windows = clip_windows(6, 4, 2)
    stitcher = ClipStitcher(6, history=4)
    stitcher.add_clip(windows[0], clip_result([(1, xs)], windows[0]))
    stitcher.add_clip(windows[1], clip_result([(2, xs)], windows[1]))
    assert [t.label for t in stitcher.tracks()] == [1, 2]
    stitcher = ClipStitcher(6, history=4, class_aware=False)
    stitcher.add_clip(windows[0], clip_result([(1, xs)], windows[0]))
    stitcher.add_clip(windows[1], clip_result([(2, xs)], windows[1]))
    assert len(stitcher.tracks()) == 1


def test_overlapping_frames_are_averaged_and_scores_meaned():
    stitcher = ClipStitcher(3, history=2)
    m1 = torch.ones(1, 2, H, W) * 0.6
    m2 = torch.ones(1, 2, H, W) * 1.0
    stitcher.add_clip(range(0, 2), ClipResult(torch.tensor([0.4]), torch.tensor([5]), m1))
    stitcher.add_clip(range(1, 3), ClipResult(torch.tensor([0.8]), torch.tensor([5]), m2))
    (track,) = stitcher.tracks()
    assert abs(track.score - 0.6) < 1e-6
    assert torch.allclose(track.masks[0], torch.full((H, W), 0.6))
    assert torch.allclose(track.masks[1], torch.full((H, W), 0.8))
    assert torch.allclose(track.masks[2], torch.full((H, W), 1.0))


def test_a_clip_without_mask_probabilities_is_refused_by_stitching_with_the_reason():
    """Query-track methods may leave ClipResult.masks out; stitching by overlap needs them."""
    import pytest

    result = ClipResult(scores=torch.ones(1), labels=torch.ones(1, dtype=torch.long))
    with pytest.raises(ValueError, match="ClipResult.masks is None"):
        ClipStitcher(2, history=2).add_clip(range(2), result)

"""IFC's video loop (the harness's schedule and stitcher with the authors' arithmetic): clip
schedule, clip filtering, soft-IoU matching, averaging and multi-class expansion on hand-made
clip outputs, and equality with the authors' dense buffer layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import ClipStitcher
from vis_bench.formats.rle import decode
from vis_bench.methods.ifc.authors_loop import IFC_AUTHORS, LoopSettings, run_authors_loop
from vis_bench.methods.ifc.postprocess import ClipInstances, filter_clip, object_queries

H, W = 8, 10


def disc(cy: float, cx: float, r: float = 2.5, inside: float = 6.0) -> torch.Tensor:
    yy, xx = torch.meshgrid(
        torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij"
    )
    return torch.where((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r, inside, -inside)


def clip(frame_idx, masks, classes, num_classes=3) -> ClipInstances:
    """Instances with given per-frame logits [N, T, H, W] and a one-hot-ish class vector."""
    probs = torch.full((len(classes), num_classes + 1), 0.02)
    for i, c in enumerate(classes):
        probs[i, c] = 1.0 - 0.02 * num_classes
    return ClipInstances(
        list(frame_idx),
        torch.arange(len(classes)),
        probs.max(-1).values,
        torch.tensor(classes),
        probs,
        torch.stack(masks),
    )


def ifc_stitcher(length: int, window: int) -> ClipStitcher:
    return ClipStitcher(length, history=window, class_aware=False, arithmetic=IFC_AUTHORS)


def test_clip_schedule_right_aligns_the_last_clip():
    def schedule(length, window, stride):
        return [list(w) for w in clip_windows(length, window, stride)]

    assert schedule(7, 3, 2) == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert schedule(6, 3, 2) == [[0, 1, 2], [2, 3, 4], [3, 4, 5]]
    assert schedule(5, 5, 1) == [[0, 1, 2, 3, 4]]
    assert schedule(2, 5, 1) == [[0, 1]]
    assert schedule(4, 2, 1) == [[0, 1], [1, 2], [2, 3]]


def test_filter_keeps_queries_whose_argmax_is_a_class():
    logits = torch.tensor([[[5.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 4.0, 0.0]]])  # K = 2
    masks = torch.randn(1, 3, 2, 4, 4)
    inst = filter_clip(logits, masks, [0, 1], num_classes=2)
    assert inst.query_idx.tolist() == [0, 2]
    assert inst.labels.tolist() == [0, 1]
    assert torch.equal(inst.mask_logits, masks[0, [0, 2]])


def test_masks_of_the_kept_queries_only_give_the_same_instances():
    logits = torch.tensor([[[5.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, 4.0, 0.0]]])  # K = 2
    masks = torch.randn(1, 3, 2, 4, 4)
    kept = object_queries(logits, num_classes=2)
    assert kept.tolist() == [0, 2]
    inst = filter_clip(logits, masks[:, kept], [0, 1], num_classes=2, mask_queries=kept)
    assert inst.query_idx.tolist() == [0, 2]
    assert torch.equal(inst.mask_logits, masks[0, [0, 2]])
    with pytest.raises(ValueError, match="fewer queries"):
        filter_clip(logits, masks[:, :1], [0, 1], num_classes=2, mask_queries=kept[:1])


def test_matching_follows_objects_across_query_order_and_opens_new_tracks():
    a = [disc(2, 2), disc(2, 3)]  # object A moving right over frames 0, 1
    b = [disc(6, 7), disc(6, 7)]  # object B static
    stitcher = ifc_stitcher(3, 2)
    rec0 = stitcher.add_clip(
        [0, 1], clip([0, 1], [torch.stack(a), torch.stack(b)], [0, 1]).clip_result()
    )
    assert rec0.track_ids == [0, 1] and rec0.siou.shape == (0, 2)
    # next clip: B first, then A, then a far-away new object C (no overlap -> new track)
    a2 = torch.stack([disc(2, 3), disc(2, 4)])
    b2 = torch.stack([disc(6, 7), disc(6, 7)])
    c2 = torch.stack([torch.full((H, W), -6.0), disc(0, 9, r=1.0)])
    rec1 = stitcher.add_clip([1, 2], clip([1, 2], [b2, a2, c2], [1, 0, 2]).clip_result())
    assert rec1.track_ids == [1, 0, 2]
    assert rec1.tracks_before == 2 and rec1.tracks_after == 3
    assert rec1.siou[1, 0] > 0.9 and rec1.siou[0, 1] > 0.9 and rec1.siou[:, 2].max() < 0.05
    # frame 1 of A is the mean of both clips' logits; frame 2 of track 0 only from clip 2
    tracks = stitcher.tracks()
    assert torch.allclose(tracks[0].masks[1], (a[1] + a2[0]) / 2)
    assert torch.equal(tracks[0].masks[2], a2[1])
    assert tracks[2].masks[0] is None and tracks[2].masks[1] is not None


def test_multi_class_expansion_shares_masks_and_keeps_official_order():
    probs = torch.tensor([[0.3, 0.005, 0.6, 0.095], [0.94, 0.02, 0.02, 0.02]])  # two above 0.01
    masks = torch.stack([torch.stack([disc(3, 3), disc(3, 4)]), torch.stack([disc(5, 7)] * 2)])
    outputs = {"pred_logits": probs.log()[None], "pred_masks": masks[None]}
    output = run_authors_loop(
        lambda idx: outputs, 2, LoopSettings(window=2, stride=1, num_classes=3), (H, W), (16, 20), 4
    )
    results = output.results
    assert [(r["category_id"], round(r["score"], 3)) for r in results] == [
        (1, 0.3),
        (3, 0.6),
        (1, 0.94),
        (2, 0.02),
        (3, 0.02),
    ]
    assert all(r["video_id"] == 4 for r in results)
    assert results[0]["segmentations"] is results[1]["segmentations"]
    mask = decode(results[0]["segmentations"][0])
    assert mask.shape == (16, 20) and mask[6, 6] == 1 and mask[0, 0] == 0


def test_no_track_cap():
    """The authors' buffers stop at 50 tracks per video; the stitcher has no cap."""
    stitcher = ClipStitcher(1, history=1, class_aware=False, arithmetic=IFC_AUTHORS)
    masks = []
    for i in range(64):
        m = torch.full((1, 60, 60), -5.0)
        m[0, (i // 8) * 7 : (i // 8) * 7 + 3, (i % 8) * 7 : (i % 8) * 7 + 3] = 5.0
        masks.append(m)
    stitcher.add_clip([0], clip([0], masks, [0] * 64, num_classes=1).clip_result())
    assert stitcher.num_tracks == 64


class DenseReference:
    """The authors' data layout (per clip slot x track x frame buffers), written from ifc.md §8.3."""

    def __init__(self, length, size, num_classes, cap=60):
        self.logits = torch.zeros((length, cap, length, *size))
        self.probs = torch.zeros((length, cap, length, *size))
        self.valid = torch.zeros((length, cap, length), dtype=torch.bool)
        self.cls = torch.zeros((length, cap, num_classes + 1))
        self.n_inst = self.n_clip = 0
        self.covered = set()

    def update(self, inst: ClipInstances):
        fi = inst.frame_idx
        inter_in = [i for i, f in enumerate(fi) if f in self.covered]
        inter_saved = [fi[i] for i in inter_in]
        lo = max(self.n_clip - len(fi), 0)
        r = inst.mask_logits.sigmoid()[:, inter_in].flatten(-2)[None, None]
        s = self.probs[lo : self.n_clip, : self.n_inst][:, :, inter_saved].flatten(-2).unsqueeze(2)
        v = self.valid[lo : self.n_clip, : self.n_inst][:, :, inter_saved][:, :, None, :, None]
        num = (s * r * v).sum(dim=(-1, -2))
        den = ((s + r - s * r) * v).sum(dim=(-1, -2))
        n_valid = (v.flatten(2).sum(2) > 0).sum(0)
        score = (num / (den + 1e-6)).sum(0) / (n_valid[:, None] + 1e-6)
        above = score > 0.05
        rows, cols = linear_sum_assignment((score * above).numpy(), maximize=True)
        slots = {}
        for a, b in zip(rows, cols, strict=True):
            if above[a, b]:
                slots[b] = a
        for i in range(len(inst)):
            if i not in slots:
                slots[i] = self.n_inst
                self.n_inst += 1
        for i, sl in slots.items():
            self.logits[self.n_clip, sl, fi] = inst.mask_logits[i]
            self.probs[self.n_clip, sl, fi] = inst.mask_logits[i].sigmoid()
            self.valid[self.n_clip, sl, fi] = True
            self.cls[self.n_clip, sl] = inst.cls_probs[i]
        self.covered.update(fi)
        self.n_clip += 1

    def result(self):
        lg = self.logits[: self.n_clip, : self.n_inst].sum(0)
        va = self.valid[: self.n_clip, : self.n_inst]
        return lg / va.sum(0)[..., None, None], self.cls[: self.n_clip, : self.n_inst].sum(0) / (
            va.sum(2) > 0
        ).sum(0)[..., None]


def test_track_structure_equals_dense_authors_layout_on_random_clips():
    rng = torch.Generator().manual_seed(3)
    length, window, stride, num_classes = 9, 4, 2, 3
    coords = torch.rand(5, 2, generator=rng) * torch.tensor([H, W])
    objects = [(float(y), float(x)) for y, x in coords]

    def outputs(frame_idx):
        q = len(objects) + 2
        masks = torch.randn(1, q, len(frame_idx), H, W, generator=rng) * 2
        for j, (cy, cx) in enumerate(objects):
            for t, f in enumerate(frame_idx):
                masks[0, j, t] += disc(cy + 0.3 * f, cx - 0.2 * f, r=2.0)
        logits = torch.randn(1, q, num_classes + 1, generator=rng) * 3
        return {"pred_logits": logits, "pred_masks": masks}

    cache = {}

    def cached(idx):
        return cache.setdefault(tuple(idx), outputs(idx))

    settings = LoopSettings(window=window, stride=stride, num_classes=num_classes)
    output = run_authors_loop(cached, length, settings, (H, W), (H, W), 1)
    ref = DenseReference(length, (H, W), num_classes)
    for inst, _ in output.clips:
        ref.update(inst)
    ref_logits, ref_cls = ref.result()
    assert len(output.tracks) == ref.n_inst
    # the case exercises matching: later clips continue earlier tracks and also open new ones
    later = [match for _, match in output.clips[1:]]
    assert any(s < m.tracks_before for m in later for s in m.track_ids)
    assert any(m.tracks_after > m.tracks_before for m in later)
    torch.testing.assert_close(
        output.interim_mask_logits, ref_logits, equal_nan=True, rtol=0, atol=1e-6
    )
    class_probs = torch.stack([t.class_probs for t in output.tracks])
    torch.testing.assert_close(class_probs, ref_cls, rtol=0, atol=1e-7)
    assert math.isclose(
        float(np.nansum(ref_logits.numpy())),
        float(np.nansum(output.interim_mask_logits.numpy())),
        rel_tol=1e-6,
    )

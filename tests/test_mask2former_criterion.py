"""Mask2Former-VIS's training objective (methods/families/mask2former): point sampling, the video
Hungarian matcher and the set criterion, each checked against a computation written here
independently (loops and the formulas as the authors state them)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from vis_bench.api.training import ClipTargets
from vis_bench.methods.families.mask2former.criterion import (
    Mask2FormerLossConfig,
    VideoSetCriterion,
    build_video_criterion,
    loss_weights,
    mask2former_video_losses,
    prepare_video_targets,
    split_frames,
)
from vis_bench.methods.families.mask2former.matcher import (
    VideoHungarianMatcher,
    VideoTargets,
)
from vis_bench.methods.families.mask2former.point_sampling import (
    mask_uncertainty,
    point_sample,
    uncertain_point_coords_with_randomness,
)

pytestmark = pytest.mark.usefixtures("one_thread")

K = 5  # classes
SMALL = Mask2FormerLossConfig(num_points=64, dec_layers=3)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def bilinear(image: torch.Tensor, x: float, y: float) -> float:
    """Value of a [H, W] map at (x, y) in [0, 1], pixel centres at (i + 0.5) / size, zero
    outside the map: the sampling detectron2's point_sample performs."""
    h, w = image.shape
    px, py = x * w - 0.5, y * h - 0.5
    x0, y0 = math.floor(px), math.floor(py)
    total = 0.0
    for dy, dx in itertools.product((0, 1), (0, 1)):
        xi, yi = x0 + dx, y0 + dy
        weight = (1 - abs(px - xi)) * (1 - abs(py - yi))
        if 0 <= xi < w and 0 <= yi < h:
            total += weight * float(image[yi, xi])
    return total


def sample_all(maps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """[M, H, W] maps at the same [P, 2] points, by `bilinear` -> [M, P] (float64)."""
    return torch.tensor(
        [[bilinear(m, float(x), float(y)) for x, y in coords.tolist()] for m in maps],
        dtype=torch.float64,
    )


def bce(logit: float, target: float) -> float:
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def dice(logits: list[float], targets: list[float]) -> float:
    probs = [1 / (1 + math.exp(-v)) for v in logits]
    inter = sum(p * t for p, t in zip(probs, targets, strict=True))
    return 1 - (2 * inter + 1) / (sum(probs) + sum(targets) + 1)


# --- point sampling ------------------------------------------------------------------------


def test_point_sample_is_bilinear_with_zero_padding():
    image = torch.arange(12, dtype=torch.float32).reshape(3, 4) ** 1.5
    points = [(0.5, 0.5), (0.625, 0.5), (0.3, 0.7), (0.0, 0.0), (1.0, 0.9), (0.97, 0.02)]
    coords = torch.tensor([points])
    got = point_sample(image[None, None], coords)[0, 0]
    want = torch.tensor([bilinear(image, x, y) for x, y in points])
    torch.testing.assert_close(got, want)
    # a pixel centre reads the pixel itself
    assert float(got[1]) == pytest.approx(float(image[1, 2]), abs=1e-5)
    # 4-d grids keep their layout
    grid = coords.reshape(1, 2, 3, 2)
    torch.testing.assert_close(point_sample(image[None, None], grid)[0, 0], want.reshape(2, 3))


def test_importance_sampling_keeps_the_most_uncertain_points():
    logits = torch.randn(3, 1, 7, 9, generator=gen(1)) * 4
    num_points, ratio, share = 40, 3.0, 0.75
    coords = uncertain_point_coords_with_randomness(
        logits, mask_uncertainty, num_points, ratio, share, gen(2)
    )
    assert coords.shape == (3, num_points, 2)
    # replay the draws: the oversampled candidates, then the uniform fill
    replay = gen(2)
    candidates = torch.rand(3, int(num_points * ratio), 2, generator=replay)
    fill = torch.rand(3, num_points - int(share * num_points), 2, generator=replay)
    kept = int(share * num_points)
    for r in range(3):
        values = sample_all(logits[r], candidates[r])[0]
        order = sorted(range(len(values)), key=lambda i: -abs(float(values[i])))[::-1]
        want = {tuple(candidates[r, i].tolist()) for i in order[:kept]}
        assert {tuple(c) for c in coords[r, :kept].tolist()} == want
        torch.testing.assert_close(coords[r, kept:], fill[r])


def test_importance_sampling_extremes():
    logits = torch.randn(2, 1, 5, 5, generator=gen(3))
    only_uniform = uncertain_point_coords_with_randomness(
        logits, mask_uncertainty, 10, 1.0, 0.0, gen(4)
    )
    replay = gen(4)
    torch.rand(2, 10, 2, generator=replay)
    torch.testing.assert_close(only_uniform, torch.rand(2, 10, 2, generator=replay))
    with pytest.raises(ValueError):
        uncertain_point_coords_with_randomness(logits, mask_uncertainty, 10, 0.5, 0.5)
    with pytest.raises(ValueError):
        mask_uncertainty(torch.zeros(2, 2, 3))


# --- matcher -------------------------------------------------------------------------------


def blob_masks(n: int, t: int, h: int, w: int) -> torch.Tensor:
    """n distinct rectangles per frame [n, t, h, w] (instance i sits in its own band)."""
    masks = torch.zeros(n, t, h, w)
    for i in range(n):
        for f in range(t):
            masks[i, f, :, i * w // n : (i + 1) * w // n] = 1
            masks[i, f, : (f + 1) * h // (t + 1)] = 0
    return masks


def obvious_case() -> tuple[torch.Tensor, torch.Tensor, VideoTargets, list[int]]:
    """5 queries, 3 instances; query owner[i] predicts instance i's mask and class."""
    t, h, w = 2, 8, 12
    gt = blob_masks(3, t, 4 * h, 4 * w)
    labels = torch.tensor([3, 0, 3])
    owner = [4, 1, 2]
    logits = torch.zeros(5, K + 1)
    logits[:, K] = 2.0
    masks = torch.full((5, t, h, w), -6.0)
    small = F.interpolate(gt, size=(h, w), mode="nearest")
    for i, q in enumerate(owner):
        logits[q, labels[i]] = 6.0
        masks[q] = small[i] * 12 - 6
    return logits, masks, VideoTargets(labels, gt), owner


def test_matcher_finds_the_obvious_assignment():
    logits, masks, target, owner = obvious_case()
    rows, cols = VideoHungarianMatcher().match_video(logits, masks, target, gen(0))
    assert dict(zip(cols.tolist(), rows.tolist(), strict=True)) == dict(enumerate(owner))
    assert rows.dtype == cols.dtype == torch.int64
    assert rows.tolist() == sorted(rows.tolist())


def test_matcher_is_permutation_equivariant():
    logits = torch.randn(6, K + 1, generator=gen(5))
    masks = torch.randn(6, 2, 5, 7, generator=gen(6)) * 3
    target = VideoTargets(
        torch.tensor([1, 4, 1]), (torch.rand(3, 2, 20, 28, generator=gen(7)) > 0.5).float()
    )
    matcher = VideoHungarianMatcher()
    base = matcher.match_video(logits, masks, target, gen(8))
    pairs = set(zip(base[0].tolist(), base[1].tolist(), strict=True))
    qperm = torch.randperm(6, generator=gen(9))
    tperm = torch.tensor([2, 0, 1])
    shuffled = VideoTargets(target.labels[tperm], target.masks[tperm])
    rows, cols = matcher.match_video(logits[qperm], masks[qperm], shuffled, gen(8))
    moved = {(int(qperm[r]), int(tperm[c])) for r, c in zip(rows, cols, strict=True)}
    assert moved == pairs


def test_matcher_cost_equals_a_direct_computation():
    q, n, t, p = 4, 3, 2, 30
    logits = torch.randn(q, K + 1, generator=gen(10))
    masks = torch.randn(q, t, 4, 6, generator=gen(11)) * 2
    target = VideoTargets(
        torch.tensor([2, 0, 2]), (torch.rand(n, t, 16, 24, generator=gen(12)) > 0.6).float()
    )
    matcher = VideoHungarianMatcher(cost_class=2.0, cost_mask=5.0, cost_dice=5.0, num_points=p)
    cost = matcher.cost_matrix(logits, masks, target, gen(13))
    coords = torch.rand(1, p, 2, generator=gen(13))[0]  # one draw shared by every frame
    prob = logits.double().softmax(-1)
    # a mask is its frames' samples laid end to end
    pred = sample_all(masks.flatten(0, 1), coords).reshape(q, t * p)
    tgt = sample_all(target.masks.flatten(0, 1), coords).reshape(n, t * p)
    want = torch.zeros(q, n, dtype=torch.float64)
    for i, j in itertools.product(range(q), range(n)):
        ce = sum(bce(float(a), float(b)) for a, b in zip(pred[i], tgt[j], strict=True)) / (t * p)
        want[i, j] = (
            2.0 * -prob[i, target.labels[j]]
            + 5.0 * ce
            + 5.0 * dice(pred[i].tolist(), tgt[j].tolist())
        )
    torch.testing.assert_close(cost.double(), want, rtol=1e-5, atol=1e-5)
    # and the assignment is the cheapest injective one (brute force)
    rows, cols = matcher.match_video(logits, masks, target, gen(13))
    best = min(
        sum(float(cost[qs[j], j]) for j in range(n)) for qs in itertools.permutations(range(q), n)
    )
    assert float(cost[rows, cols].sum()) == pytest.approx(best, rel=1e-6)


def test_matcher_handles_a_video_without_instances():
    empty = VideoTargets(torch.zeros(0, dtype=torch.int64), torch.zeros(0, 2, 8, 8))
    rows, cols = VideoHungarianMatcher().match_video(
        torch.randn(3, K + 1), torch.randn(3, 2, 2, 2), empty
    )
    assert rows.numel() == cols.numel() == 0


def test_matcher_rejects_all_zero_costs():
    with pytest.raises(ValueError):
        VideoHungarianMatcher(0, 0, 0)


# --- criterion -----------------------------------------------------------------------------


def outputs_for(batch: int, q: int, t: int, h: int, w: int, layers: int, seed: int = 0) -> dict:
    g = gen(seed)

    def layer() -> dict[str, torch.Tensor]:
        return {
            "pred_logits": torch.randn(batch, q, K + 1, generator=g).requires_grad_(),
            "pred_masks": torch.randn(batch, q, t, h, w, generator=g).requires_grad_(),
        }

    out = layer()
    out["aux_outputs"] = [layer() for _ in range(layers - 1)]
    return out


def clip_targets(labels: list[int], t: int, h: int, w: int, seed: int = 0) -> ClipTargets:
    n = len(labels)
    masks = (torch.rand(n, t, h, w, generator=gen(seed)) > 0.5).float()
    return ClipTargets(
        torch.tensor(labels), masks, torch.full((n, t, 4), 0.5), torch.ones(n, t, dtype=torch.bool)
    )


def test_losses_are_finite_and_cover_every_layer():
    criterion = build_video_criterion(K, SMALL)
    out = outputs_for(2, 6, 2, 4, 5, layers=3)
    targets = [clip_targets([1, 3], 2, 14, 18), clip_targets([5], 2, 16, 20, seed=1)]
    losses = mask2former_video_losses(out, targets, criterion, generator=gen(0))
    names = ("loss_ce", "loss_mask", "loss_dice")
    assert set(losses) == {f"{n}{s}" for n in names for s in ("", "_0", "_1")}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    sum(losses.values()).backward()
    for layer in [out, *out["aux_outputs"]]:
        assert layer["pred_logits"].grad.abs().sum() > 0
        assert layer["pred_masks"].grad.abs().sum() > 0


def test_weights_and_their_defaults():
    config = Mask2FormerLossConfig()
    assert (config.class_weight, config.mask_weight, config.dice_weight) == (2.0, 5.0, 5.0)
    assert (config.num_points, config.oversample_ratio, config.importance_sample_ratio) == (
        12544,
        3.0,
        0.75,
    )
    weights = loss_weights(config)
    assert len(weights) == 3 * config.dec_layers and weights["loss_ce_8"] == 2.0
    assert "loss_ce_9" not in weights
    assert set(loss_weights(Mask2FormerLossConfig(deep_supervision=False))) == {
        "loss_ce",
        "loss_mask",
        "loss_dice",
    }
    criterion = build_video_criterion(40)
    assert criterion.matcher == VideoHungarianMatcher(2.0, 5.0, 5.0, 12544)
    state = criterion.state_dict()
    assert list(state) == ["empty_weight"]
    torch.testing.assert_close(state["empty_weight"], torch.tensor([1.0] * 40 + [0.1]))
    raw = {
        "loss_ce": torch.tensor(1.0),
        "loss_dice_0": torch.tensor(2.0),
        "other": torch.tensor(3.0),
    }
    assert criterion.weighted(raw) == {
        "loss_ce": torch.tensor(2.0),
        "loss_dice_0": torch.tensor(10.0),
    }


def test_without_deep_supervision_aux_layers_are_skipped():
    criterion = build_video_criterion(
        K, Mask2FormerLossConfig(num_points=16, deep_supervision=False)
    )
    out = outputs_for(1, 4, 1, 4, 4, layers=3)
    losses = mask2former_video_losses(out, [clip_targets([2], 1, 16, 16)], criterion)
    assert set(losses) == {"loss_ce", "loss_mask", "loss_dice"}


def test_losses_decrease_as_predictions_approach_the_targets():
    criterion = build_video_criterion(K, Mask2FormerLossConfig(num_points=256, dec_layers=1))
    blobs = blob_masks(2, 2, 16, 16)
    targets = [
        ClipTargets(torch.tensor([2, 4]), blobs, torch.zeros(2, 2, 4), blobs.flatten(2).any(-1))
    ]
    gt = prepare_video_targets(targets, (16, 16), K)[0]
    noise = outputs_for(1, 4, 2, 4, 4, layers=1, seed=4)
    good_logits = torch.zeros(1, 4, K + 1)
    good_logits[0, [1, 3], K] = 8.0
    good_logits[0, 0, 1], good_logits[0, 2, 3] = 8.0, 8.0  # dataset ids 2, 4 -> indices 1, 3
    good_masks = torch.full((1, 4, 2, 4, 4), -8.0)
    good_masks[0, 0] = F.avg_pool2d(gt.masks[0], 4) * 16 - 8
    good_masks[0, 2] = F.avg_pool2d(gt.masks[1], 4) * 16 - 8
    totals = []
    for alpha in (0.0, 0.5, 1.0):
        out = {
            "pred_logits": (1 - alpha) * noise["pred_logits"].detach() + alpha * good_logits,
            "pred_masks": (1 - alpha) * noise["pred_masks"].detach() + alpha * good_masks,
        }
        losses = mask2former_video_losses(out, targets, criterion, generator=gen(5))
        totals.append({k: float(v) for k, v in losses.items()})
    for name in ("loss_ce", "loss_mask", "loss_dice"):
        assert totals[0][name] > totals[1][name] > totals[2][name], name


def reference_ce(logits: torch.Tensor, classes: torch.Tensor, eos: float) -> float:
    """Weighted mean of -log softmax over every query, weight eos for class K, else 1."""
    total, weights = 0.0, 0.0
    for row, c in zip(logits.double().tolist(), classes.tolist(), strict=True):
        log_z = math.log(sum(math.exp(v) for v in row))
        weight = eos if c == len(row) - 1 else 1.0
        total += weight * (log_z - row[c])
        weights += weight
    return total / weights


def test_no_object_weight_in_the_class_loss():
    criterion = VideoSetCriterion(K, VideoHungarianMatcher(num_points=8), loss_weights(SMALL), 0.1)
    logits = torch.randn(2, 4, K + 1, generator=gen(20))
    targets = [
        VideoTargets(torch.tensor([3, 1]), torch.zeros(2, 1, 4, 4)),
        VideoTargets(torch.tensor([0]), torch.zeros(1, 1, 4, 4)),
    ]
    indices = [(torch.tensor([0, 2]), torch.tensor([1, 0])), (torch.tensor([3]), torch.tensor([0]))]
    got = criterion.loss_labels({"pred_logits": logits}, targets, indices)["loss_ce"]
    classes = torch.tensor([[1, K, 3, K], [K, K, K, 0]])
    want = reference_ce(logits.flatten(0, 1), classes.flatten(), 0.1)
    assert float(got) == pytest.approx(want, rel=1e-6)
    # the eos weight matters: with weight 1 the value is the plain mean
    plain = VideoSetCriterion(K, criterion.matcher, criterion.weight_dict, eos_coef=1.0)
    got_plain = plain.loss_labels({"pred_logits": logits}, targets, indices)["loss_ce"]
    torch.testing.assert_close(got_plain, F.cross_entropy(logits.flatten(0, 1), classes.flatten()))
    assert float(got_plain) != pytest.approx(float(got))


def test_mask_losses_equal_a_direct_computation():
    p = 20
    criterion = VideoSetCriterion(
        K,
        VideoHungarianMatcher(num_points=p),
        {},
        num_points=p,
        oversample_ratio=1.0,
        importance_sample_ratio=0.0,
    )
    pred = torch.randn(1, 3, 2, 4, 5, generator=gen(30)) * 2
    target = VideoTargets(
        torch.tensor([1, 2]), (torch.rand(2, 2, 16, 20, generator=gen(31)) > 0.5).float()
    )
    indices = [(torch.tensor([0, 2]), torch.tensor([1, 0]))]
    got = criterion.loss_masks(
        {"pred_masks": pred}, [target], indices, num_masks=3.0, generator=gen(32)
    )
    # uniform points only: candidates are drawn and discarded, then one draw per (instance, frame)
    replay = gen(32)
    torch.rand(4, p, 2, generator=replay)
    coords = torch.rand(4, p, 2, generator=replay)
    ce, dc = 0.0, 0.0
    for k, (qi, ti, f) in enumerate([(0, 1, 0), (0, 1, 1), (2, 0, 0), (2, 0, 1)]):
        logit = sample_all(pred[0, qi, f][None], coords[k])[0].tolist()
        label = sample_all(target.masks[ti, f][None], coords[k])[0].tolist()
        ce += sum(bce(a, b) for a, b in zip(logit, label, strict=True)) / p
        dc += dice(logit, label)
    assert float(got["loss_mask"]) == pytest.approx(ce / 3.0, rel=1e-5)
    assert float(got["loss_dice"]) == pytest.approx(dc / 3.0, rel=1e-5)


def zero_mask_case() -> tuple[dict, list[VideoTargets]]:
    """Two videos with all-zero mask logits and empty target masks: every point then reads the
    same values, so the losses do not depend on the random points and a batch and its videos
    one by one must agree exactly (the matching rests on the classes alone)."""
    out = outputs_for(2, 4, 2, 2, 2, layers=2, seed=40)
    with torch.no_grad():
        for layer in [out, *out["aux_outputs"]]:
            layer["pred_masks"].zero_()
    videos = [
        VideoTargets(torch.tensor([0, 1, 4]), torch.zeros(3, 2, 8, 8)),
        VideoTargets(torch.tensor([2]), torch.zeros(1, 2, 8, 8)),
    ]
    return out, videos


def test_clip_by_clip_losses_add_up_to_the_batch_loss():
    criterion = build_video_criterion(K, Mask2FormerLossConfig(num_points=16, dec_layers=2))
    out, videos = zero_mask_case()
    whole = criterion.weighted(criterion(out, videos))
    parts = [
        criterion.weighted(
            criterion(
                {
                    "pred_logits": out["pred_logits"][[b]],
                    "pred_masks": out["pred_masks"][[b]],
                    "aux_outputs": [{k: v[[b]] for k, v in a.items()} for a in out["aux_outputs"]],
                },
                [videos[b]],
                num_masks=4.0,
                num_clips=2,
            )
        )
        for b in range(2)
    ]
    assert (
        set(whole)
        == set(parts[0])
        == {f"{n}{s}" for n in ("loss_ce", "loss_mask", "loss_dice") for s in ("", "_0")}
    )
    for key, value in whole.items():
        torch.testing.assert_close(parts[0][key] + parts[1][key], value, msg=key)
    # BCE of logit 0 against 0 is log 2 at every point, for each of 4 instances x 2 frames
    assert float(whole["loss_mask"].detach()) == pytest.approx(5.0 * 2 * math.log(2), rel=1e-6)


def test_prepare_targets_pads_drops_and_labels_as_the_authors():
    masks = torch.zeros(4, 3, 10, 14)
    masks[0, :, 2:5, 3:6] = 1  # present everywhere
    masks[1, :2, 0:2, 0:2] = 1  # absent from the last frame -> "no object"
    masks[2, 1:, 4:6, 4:6] = 1
    masks[2, 1] = 0  # annotated but empty in frame 1 (resized away): present in frame 2 only
    valid = torch.tensor([[1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=torch.bool)
    clip = ClipTargets(torch.tensor([7, 2, 9, 4]), masks, torch.zeros(4, 3, 4), valid)
    (got,) = prepare_video_targets([clip], (16, 32), K, {7: 0, 2: 1, 9: 4, 4: 3})
    assert got.labels.tolist() == [0, K, 4]  # instance 3 is present nowhere: dropped
    assert got.masks.shape == (3, 3, 16, 32)
    torch.testing.assert_close(got.masks[:, :, :10, :14], masks[:3])
    assert got.masks[:, :, 10:].sum() == 0 and got.masks[..., 14:].sum() == 0
    (plain,) = prepare_video_targets([clip], (16, 32), K, {7: 0, 2: 1, 9: 4, 4: 3}, False)
    assert plain.labels.tolist() == [0, 1, 4]
    with pytest.raises(ValueError):
        prepare_video_targets([clip], (8, 32), K, {7: 0, 2: 1, 9: 4, 4: 3})
    with pytest.raises(ValueError):  # dataset id 9 - 1 = 8 is no class index of K = 5
        prepare_video_targets([clip], (16, 32), K)


def test_default_padding_is_stride_four_of_the_predictions():
    criterion = build_video_criterion(K, SMALL)
    out = outputs_for(1, 3, 1, 4, 6, layers=1)
    losses = mask2former_video_losses(out, [clip_targets([1], 1, 13, 22)], criterion)
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError):
        mask2former_video_losses(out, [clip_targets([1], 1, 17, 22)], criterion)


def test_clip_without_instances_gives_zero_mask_losses():
    criterion = build_video_criterion(K, SMALL)
    out = outputs_for(1, 3, 2, 4, 4, layers=3)
    empty = ClipTargets(
        torch.zeros(0, dtype=torch.int64),
        torch.zeros(0, 2, 16, 16),
        torch.zeros(0, 2, 4),
        torch.zeros(0, 2, dtype=torch.bool),
    )
    losses = mask2former_video_losses(out, [empty], criterion)
    assert float(losses["loss_mask"].detach()) == float(losses["loss_dice_1"].detach()) == 0.0
    # every query is "no object"
    want = F.cross_entropy(out["pred_logits"][0].detach(), torch.full((3,), K))
    torch.testing.assert_close(losses["loss_ce"], 2.0 * want)
    sum(losses.values()).backward()
    assert out["pred_logits"].grad.abs().sum() > 0


def test_frame_level_supervision_is_one_video_per_frame():
    t = 3
    out = outputs_for(2, 4, t, 2, 3, layers=2)
    out["pred_logits"] = torch.randn(2, t, 4, K + 1, generator=gen(50))
    for aux in out["aux_outputs"]:
        aux["pred_logits"] = torch.randn(2, t, 4, K + 1, generator=gen(51))
    videos = [
        VideoTargets(torch.tensor([1, 0]), torch.rand(2, t, 8, 12)),
        VideoTargets(torch.tensor([2]), torch.rand(1, t, 8, 12)),
    ]
    split, frames = split_frames(out, videos)
    assert split["pred_logits"].shape == (2 * t, 4, K + 1)
    assert split["pred_masks"].shape == (2 * t, 4, 1, 2, 3)
    assert len(split["aux_outputs"]) == 1 and len(frames) == 2 * t
    torch.testing.assert_close(split["pred_masks"][t + 1, :, 0], out["pred_masks"][1, :, 1])
    torch.testing.assert_close(frames[t + 2].masks, videos[1].masks[:, [2]])
    assert frames[1].labels.tolist() == [1, 0]
    criterion = build_video_criterion(K, SMALL)
    targets = [clip_targets([2, 1], t, 8, 12), clip_targets([3], t, 8, 12, seed=1)]
    direct = mask2former_video_losses(out, targets, criterion, frame_level=True, generator=gen(0))
    counted = mask2former_video_losses(
        out, targets, criterion, frame_level=True, num_masks=3.0, num_clips=2, generator=gen(0)
    )
    for key, value in direct.items():
        torch.testing.assert_close(counted[key], value, msg=key)


def test_the_authors_point_counts_run():
    criterion = build_video_criterion(K)  # 12544 points, 3x oversampling, 75 % uncertain
    out = outputs_for(1, 5, 2, 8, 8, layers=2)
    losses = mask2former_video_losses(out, [clip_targets([1, 2], 2, 32, 32)], criterion)
    assert set(losses) == {
        "loss_ce",
        "loss_mask",
        "loss_dice",
        "loss_ce_0",
        "loss_mask_0",
        "loss_dice_0",
    }
    assert all(torch.isfinite(v) for v in losses.values())


def test_matching_costs_stay_float32_under_autocast():
    logits, masks, target, _ = obvious_case()
    matcher = VideoHungarianMatcher()
    plain = matcher.cost_matrix(logits, masks, target, gen(0))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = matcher.cost_matrix(logits, masks, target, gen(0))
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, plain)

"""Captions on a panel (overlays/labels.py): beside the object each names, never over another
caption where there is room, and over its own object only when nothing else fits; and the
browser's layers (overlays/layers.py) carry the same marks as the pictures."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vis_bench.report.overlays.labels import LabelRequest, place_labels


def _disc(height: int, width: int, cy: int, cx: int, r: int) -> np.ndarray:
    ys, xs = np.ogrid[:height, :width]
    return (ys - cy) ** 2 + (xs - cx) ** 2 <= r * r


def _overlap(a, b) -> int:
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, dx) * max(0, dy)


def _covered(mask: np.ndarray, box) -> int:
    x, y, w, h = box
    return int(mask[y : y + h, x : x + w].sum())


def test_captions_of_objects_on_one_spot_do_not_cover_each_other_or_the_object():
    """Three predictions of one object (the case that stacked captions on top of each other)."""
    mask = _disc(240, 320, 120, 160, 40)
    requests = [LabelRequest(mask, 90, 14) for _ in range(3)]
    boxes = place_labels(requests, 240, 320)
    assert all(b is not None for b in boxes)
    assert all(_overlap(a, b) == 0 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert all(_covered(mask, b) == 0 for b in boxes)
    assert all(0 <= b[0] <= 320 - b[2] and 0 <= b[1] <= 240 - b[3] for b in boxes)


def test_a_caption_goes_beside_its_object_and_off_its_neighbour():
    below = _disc(200, 300, 150, 150, 30)
    above = _disc(200, 300, 80, 150, 25)  # right above: "above" would sit on this one
    (box, _) = place_labels([LabelRequest(below, 80, 12), LabelRequest(above, 80, 12)], 200, 300)
    assert _covered(below, box) == 0 and _covered(above, box) == 0
    x, y, w, h = box  # beside it: within two pixels of its bounding box (120..180 both ways)
    assert max(0, 120 - (x + w), x - 181) + max(0, 120 - (y + h), y - 181) <= 2


def test_an_object_at_the_top_edge_gets_its_caption_below_and_an_empty_mask_none():
    top = np.zeros((100, 100), bool)
    top[0:20, 40:60] = True
    box, none = place_labels(
        [LabelRequest(top, 30, 10), LabelRequest(np.zeros((100, 100), bool), 30, 10)], 100, 100
    )
    assert box[1] >= 20 and _covered(top, box) == 0 and none is None


def test_layers_mark_false_positives_in_the_headers_colour_and_misses_in_red(tmp_path):
    """The report's layers of a method that misses a track and adds a false positive: the miss
    is a red dashed outline of the GT slot, the false positive outlined in orange."""
    from tests.helpers.picture_cases import results_from_gt, synthetic_split
    from vis_bench.eval.metric.loading import ground_truth_from_dict, results_from_list
    from vis_bench.report.overlays.layers import MARK, browser_columns, frame_strip
    from vis_bench.report.overlays.palette import ERROR, WARNING, hex_colour
    from vis_bench.report.overlays.scene import VideoInfo, video_scene
    from vis_bench.report.overlays.sheets import SceneRenderer

    _, _, gt = synthetic_split(tmp_path / "data")
    video = gt["videos"][0]
    missed = next(a for a in gt["annotations"] if a["video_id"] == video["id"])["id"]
    truth = ground_truth_from_dict(gt)
    results = results_from_list(results_from_gt(gt, drop={missed}, false_positive=True), truth)
    info = VideoInfo(video["id"], "v", video["height"], video["width"], video["length"])
    scene = video_scene(truth, [("a", results)], info, score_threshold=0.0)
    renderer = SceneRenderer(scene, lambda t: np.full((72, 96, 3), 90, np.uint8), 192)
    frames = [0, 2]
    gt_column, column = browser_columns(renderer, frames)
    assert frame_strip(renderer, frames).shape == (2 * renderer.style.height, 192, 3)
    keys = {layer.key for layer in column.layers}
    slot = next(t.slot for t in scene.gt if t.ref == missed)
    assert f"missed-{slot}" in keys and len(gt_column.layers) == len(scene.gt)
    miss = next(layer for layer in column.layers if layer.key == f"missed-{slot}")
    assert miss.colour == ERROR and miss.slot == slot
    fp = next(layer for layer in column.layers if layer.slot is None)
    assert fp.mark == WARNING and (fp.indices == MARK).any()
    with Image.open(io.BytesIO(fp.png())) as png:
        assert png.mode == "P" and png.size == (192, 2 * renderer.style.height)
    captions = column.captions[0]
    assert {c["text"] for c in captions} >= {f"missed #{slot}"}
    assert any(c["text"].startswith("FP ") and c["bg"] == hex_colour(WARNING) for c in captions)
    assert [s[0] for s in column.status[0][1:3]] == [f"missed #{slot}", "FP 1"]
    assert len(column.timeline) == video["length"]

"""Results read with their mask strings left in the text score exactly as an ordinary read, and
anything the located reader is not sure of goes the ordinary way (same numbers, same errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers.rle_kernel import require_rle_kernel
from vis_bench.errors import InputError
from vis_bench.eval.api import evaluate_files, evaluate_loaded
from vis_bench.eval.metric.loading import load_results, results_from_list
from vis_bench.eval.rle import bulk_rle
from vis_bench.eval.rle.result_strings import located_results, read_located
from vis_bench.formats import rle

H, W = 24, 20


@pytest.fixture(autouse=True)
def kernel(monkeypatch):
    require_rle_kernel()
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "1")


def _masks(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Blobby random masks: many runs, so the strings hold every character, `\\` included."""
    out = []
    for _ in range(n):
        m = rng.random((H, W)) < rng.uniform(0.2, 0.8)
        m[: rng.integers(0, H)] = False
        out.append(m.astype(np.uint8))
    return out


def _case(seed: int) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed)
    videos = [{"id": v, "height": H, "width": W, "length": 3} for v in (1, 2)]
    annotations, results = [], []
    for v in (1, 2):
        for k in range(2):
            masks = _masks(rng, 3)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "video_id": v,
                    "category_id": 1 + k,
                    "iscrowd": 0,
                    "segmentations": [rle.encode_uncompressed(m) for m in masks],
                    "areas": [int(m.sum()) for m in masks],
                }
            )
        for _ in range(5):
            masks = _masks(rng, 3)
            segs = [rle.encode(m) for m in masks]
            segs[int(rng.integers(0, 3))] = None
            results.append(
                {
                    "video_id": v,
                    "category_id": int(rng.integers(1, 3)),
                    "score": float(rng.random()),
                    "segmentations": segs,
                }
            )
    gt = {"videos": videos, "categories": [{"id": 1}, {"id": 2}], "annotations": annotations}
    return gt, results


def _write(tmp_path, gt, results, compact=True):
    separators = (",", ":") if compact else None
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(results, separators=separators))
    return tmp_path / "gt.json", tmp_path / "res.json"


def _ordinary_stats(gt_path, res_path):
    from vis_bench.eval.metric.loading import load_ground_truth

    gt = load_ground_truth(gt_path)
    return evaluate_loaded(gt, load_results(res_path, gt)).stats


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_located_results_score_as_an_ordinary_read(tmp_path, seed, compact):
    gt, results = _case(seed)
    gt_path, res_path = _write(tmp_path, gt, results, compact)
    assert any("\\" in s["counts"] for r in results for s in r["segmentations"] if s)
    data, strings = read_located(res_path)
    assert strings is not None and len(strings) == sum(
        s is not None for r in results for s in r["segmentations"]
    )
    assert evaluate_files(gt_path, res_path).stats == _ordinary_stats(gt_path, res_path)


def test_text_decoding_equals_string_decoding(tmp_path):
    _, results = _case(7)
    segs = [s for r in results for s in r["segmentations"] if s]
    raw = json.dumps(results).encode()
    _, strings = located_results(raw)
    assert [strings.text(k) for k in range(len(strings))] == [s["counts"] for s in segs]
    keep = np.arange(len(segs)) % 3 == 0
    ks = np.arange(len(segs))[::-1].copy()  # any order of the strings
    located = strings.decode(ks, np.full(len(segs), H * W), keep[ks])
    ordinary = bulk_rle.decode([segs[k] for k in ks], keep[ks])
    n = int(ordinary.offsets[-1])
    np.testing.assert_array_equal(located.offsets, ordinary.offsets)
    np.testing.assert_array_equal(located.counts[:n], ordinary.counts[:n])
    for name in ("first", "end", "area"):
        np.testing.assert_array_equal(getattr(located, name), getattr(ordinary, name))


@pytest.mark.parametrize(
    "text",
    [
        '[{"segmentations":[{"size":[2,2],"counts":"4\\/"}]}]',  # an escape no mask string has
        '[{"segmentations":[{"size":[2,2],"counts":"4\\u0030"}]}]',
        '[{"segmentations":[{"size":[2,2],"counts":"4 4"}]}]',  # a byte outside the format
        '[{"segmentations":[{"size":[2,2],"counts":"44}]}]',  # never closes
        '[{"segmentations":[{"size":[2,2],"counts":"44","x":"\\u0000"}]}]',
    ],
)
def test_strings_the_reader_is_not_sure_of_are_left_alone(text):
    assert located_results(text.encode()) is None


def test_cuts_outside_the_frames_read_the_ordinary_way(tmp_path):
    gt, results = _case(1)
    results[2]["counts"] = "4"  # a "counts" string that is not a frame's
    results[3]["segmentations"][0] = {}  # a falsy frame: the ordinary reader takes it as null
    gt_path, res_path = _write(tmp_path, gt, results)
    data, strings = read_located(res_path)
    assert strings is not None  # cut, then found not to be only the frames
    from vis_bench.eval.metric.loading import load_ground_truth

    loaded = results_from_list(data, load_ground_truth(gt_path), str(res_path), strings)
    assert loaded.strings is None
    assert loaded.frames[3][0] is None
    assert evaluate_files(gt_path, res_path).stats == _ordinary_stats(gt_path, res_path)


def test_a_mask_that_does_not_cover_its_frame_goes_to_pycocotools(tmp_path):
    gt, results = _case(2)
    seg = next(s for s in results[0]["segmentations"] if s)
    seg["size"] = [H, W - 1]  # its runs now cover more than the frame
    gt_path, res_path = _write(tmp_path, gt, results)
    assert read_located(res_path)[1] is not None
    assert evaluate_files(gt_path, res_path).stats == _ordinary_stats(gt_path, res_path)


def test_malformed_frames_give_the_ordinary_errors(tmp_path):
    gt, results = _case(3)
    results[1]["segmentations"][0] = {"size": [H, W], "counts": [1, 2]}  # uncompressed
    gt_path, res_path = _write(tmp_path, gt, results)
    with pytest.raises(InputError) as ordinary:
        _ordinary_stats(gt_path, res_path)
    with pytest.raises(InputError) as located:
        evaluate_files(gt_path, res_path)
    assert str(located.value) == str(ordinary.value)
    assert "uncompressed RLE" in str(located.value)


def test_strings_are_decoded_while_the_file_is_read(tmp_path):
    gt, results = _case(4)
    # a frame of a size of its own
    results[0]["segmentations"][1] = rle.encode(np.eye(H + 1, W, dtype=np.uint8))
    _, res_path = _write(tmp_path, gt, results)
    data, strings = read_located(res_path)
    segs = [s for r in results for s in r["segmentations"] if s]
    assert strings.scanned is not None
    whole = bulk_rle.decode(segs)
    assert not strings.scanned.keeps(np.arange(len(segs)))  # the runs are read again later
    for name in ("first", "end", "area"):
        np.testing.assert_array_equal(getattr(strings.scanned, name), getattr(whole, name))


def _scanned_case(tmp_path, seed: int):
    gt, results = _case(seed)
    _, res_path = _write(tmp_path, gt, results)
    _, strings = read_located(res_path)
    segs = [s for r in results for s in r["segmentations"] if s]
    return strings, segs


def test_intersections_from_the_text_equal_those_of_the_decoded_runs(tmp_path):
    strings, segs = _scanned_case(tmp_path, 6)
    whole = bulk_rle.decode(segs)
    rng = np.random.default_rng(0)
    # runs of one string (decoded once for them), strings in any order, repeats
    a_rows = np.concatenate([np.repeat(np.arange(len(segs)), 3), rng.permutation(len(segs))])
    b_rows = rng.integers(0, len(segs), len(a_rows))
    got = strings.intersections(a_rows, whole, b_rows)
    np.testing.assert_array_equal(got, bulk_rle.intersections(whole, a_rows, whole, b_rows))
    masks = [rle.decode(s).astype(bool) for s in segs]
    want = [int((masks[i] & masks[j]).sum()) for i, j in zip(a_rows, b_rows, strict=True)]
    assert got.tolist() == want
    assert strings.intersections(a_rows[:0], whole, b_rows[:0]).shape == (0,)


def test_intersections_from_the_text_check_their_input(tmp_path):
    strings, segs = _scanned_case(tmp_path, 8)
    whole = bulk_rle.decode(segs)
    n = len(segs)
    with pytest.raises(IndexError):
        strings.intersections(np.array([n]), whole, np.array([0]))
    with pytest.raises(IndexError):
        strings.intersections(np.array([0]), whole, np.array([n]))
    with pytest.raises(ValueError, match="runs were not kept"):
        strings.intersections(np.array([0]), strings.scanned, np.array([0]))
    scanned = strings.scanned
    strings.scanned = None
    with pytest.raises(ValueError, match="scanned first"):
        strings.intersections(np.array([0]), whole, np.array([0]))
    strings.scanned = scanned
    raw = bytearray(strings.raw)
    raw[int(strings.starts[0])] = ord(" ")  # the text changed under a scanned string
    strings.raw = bytes(raw)
    with pytest.raises(ValueError):
        strings.intersections(np.array([0]), whole, np.array([0]))


def test_predecoding_steps_aside_when_unsure(tmp_path):
    gt, results = _case(5)
    results[2]["counts"] = next(s for s in results[2]["segmentations"] if s)["counts"]
    _, res_path = _write(tmp_path, gt, results)
    assert read_located(res_path)[1].scanned is None  # a string outside the frames
    gt, results = _case(5)
    seg = next(s for s in results[0]["segmentations"] if s)
    seg["size"] = [H, W - 1]  # its runs cover more than its frame
    _, res_path = _write(tmp_path, gt, results)
    assert read_located(res_path)[1].scanned is None


@pytest.mark.parametrize("seed", range(3))
def test_predecoded_masks_score_as_the_metric_own_decoding(tmp_path, seed):
    from vis_bench.eval.metric.loading import load_ground_truth

    gt, results = _case(seed)
    gt_path, res_path = _write(tmp_path, gt, results)
    ground_truth = load_ground_truth(gt_path)
    scored = []
    for scan in (True, False):
        data, strings = read_located(res_path)
        if not scan:
            strings.scanned = None
        else:
            assert strings.scanned is not None
        loaded = results_from_list(data, ground_truth, str(res_path), strings)
        scored.append(evaluate_loaded(ground_truth, loaded))
    assert scored[0].stats == scored[1].stats
    np.testing.assert_array_equal(scored[0].pairs.iou, scored[1].pairs.iou)

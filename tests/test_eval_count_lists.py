"""The bulk reader of GT count lists gives exactly what orjson gives, or steps aside (None)."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from pycocotools import mask as mask_utils

from tests.helpers.rle_kernel import require_rle_kernel
from vis_bench.errors import InputError
from vis_bench.eval.metric.loading import (
    _markers_in_place,
    ground_truth_from_dict,
    load_ground_truth,
)
from vis_bench.eval.rle import compress, count_lists
from vis_bench.eval.rle.count_lists import MARKER, loads_with_count_lists
from vis_bench.formats import rle


@pytest.fixture(autouse=True, params=["rle-kernel", "numpy"])
def reader(request, monkeypatch):
    """Every test runs with the compiled kernel parsing the lists and with the numpy reader."""
    if request.param == "rle-kernel":
        require_rle_kernel()  # skips without a C compiler, fails on a broken build
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "1" if request.param == "rle-kernel" else "0")
    return request.param


def _restored(value, lists):
    """The parsed document with every marker dict turned back into its original object."""
    if isinstance(value, dict):
        if MARKER in value:
            value = lists.restore(value)
        return {k: _restored(v, lists) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v, lists) for v in value]
    return value


def _same_as_orjson(raw: bytes) -> bool:
    """True when the fast reader took the document and restores to orjson's result."""
    fast = loads_with_count_lists(raw)
    if fast is None:
        return False
    assert _restored(fast[0], fast[1]) == orjson.loads(raw)
    return True


def _doc(*lists, extra=None):
    segs = [None if c is None else {"counts": c, "size": [3, 4]} for c in lists]
    return {"info": extra or {}, "annotations": [{"id": 1, "segmentations": segs}]}


LAYOUTS = {
    "compact": {"separators": (",", ":")},
    "json.dump default": {},
    "indented": {"indent": 2},
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_restore_to_the_orjson_result(layout):
    doc = _doc([0, 5, 7], [12, 0, 0], [], [16_777_215], [1234, 56789, 3, 45678901 % 2**24], None)
    raw = json.dumps(doc, **LAYOUTS[layout]).encode()
    took = _same_as_orjson(raw)
    # Compact and ", " bodies are taken; other whitespace inside a body is left to orjson.
    assert took == (layout != "indented")


def test_other_key_layouts_are_left_in_place_for_orjson():
    raw = (
        b'{"annotations":[{"segmentations":[{"counts" :\n [3, 4,5], "size":[1,12]},'
        b'{"counts": [6,6], "size":[1,12]}]}]}'
    )
    data, lists = loads_with_count_lists(raw)
    assert len(lists) == 1  # only the usual layout is cut; the other list stays a list
    assert _restored(data, lists) == orjson.loads(raw)
    assert _markers_in_place(data, lists)


@pytest.mark.parametrize(
    "body",
    [
        b"1,-2",  # sign
        b"1.0",  # fraction
        b"1e3",  # exponent
        b"01",  # leading zero (invalid JSON)
        b"00",
        b"1,,2",  # empty element (invalid JSON)
        b"1,",
        b",1",
        b" 1",  # whitespace other than one space after a comma
        b"1 ,2",
        b"1,  2",
        b"1,\n2",
        b"1\t",
        b"16777216",  # 2**24: more than any frame has pixels
        b"123456789",
        b'"1"',
        b"[1]",
        b"true",
        b"null",
    ],
)
def test_anything_else_in_a_body_is_left_to_orjson(body):
    raw = b'{"annotations":[{"segmentations":[{"counts":[' + body + b'],"size":[1,1]}]}]}'
    assert loads_with_count_lists(raw) is None


def test_counts_text_inside_strings_is_not_cut():
    doc = _doc([1, 2], extra={"name": 'x"counts":[1,2]', 'we"ird': "counts", "counts": "7"})
    raw = json.dumps(doc).encode()
    assert b'\\"counts\\":[1,2]' in raw
    fast = loads_with_count_lists(raw)
    assert fast is not None and len(fast[1]) == 1
    assert _restored(fast[0], fast[1]) == orjson.loads(raw)


def test_a_list_cut_outside_the_frames_is_reported_as_misplaced():
    raw = json.dumps(_doc([1, 2], extra={"counts": [3, 4]})).encode()
    data, lists = loads_with_count_lists(raw)
    assert len(lists) == 2
    assert not _markers_in_place(data, lists)  # the loader then parses the ordinary way


def test_duplicate_counts_keys_are_not_trusted():
    raw = b'{"annotations":[{"segmentations":[{"counts":[1],"counts":[2,3],"size":[1,5]}]}]}'
    data, lists = loads_with_count_lists(raw)
    assert not _markers_in_place(data, lists)


def test_a_u0000_escape_of_the_original_disables_the_reader():
    raw = json.dumps(_doc([1, 2], extra={"name": "a\x00b"})).encode()
    assert b"\\u0000" in raw
    assert loads_with_count_lists(raw) is None


def test_invalid_json_outside_the_lists_is_left_to_orjson():
    raw = json.dumps(_doc([1, 2])).encode()[:-1]  # missing final brace
    assert loads_with_count_lists(raw) is None


def test_many_small_chunks_give_the_same_numbers(monkeypatch):
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "0")  # the kernel parses all lists in one pass
    rng = np.random.default_rng(3)
    lists = [
        rng.integers(0, 10 ** rng.integers(1, 8), rng.integers(0, 30)).tolist() for _ in range(60)
    ]
    raw = json.dumps(_doc(*lists)).encode()
    whole = loads_with_count_lists(raw)
    monkeypatch.setattr(count_lists, "_CHUNK_BYTES", 64)
    chunked = loads_with_count_lists(raw)
    _, body_starts, body_ends = count_lists._find_lists(raw)
    assert len(list(count_lists._chunks(body_starts, body_ends))) > 10
    assert _restored(whole[0], whole[1]) == _restored(chunked[0], chunked[1]) == orjson.loads(raw)
    assert chunked[1].compressed == whole[1].compressed
    np.testing.assert_array_equal(chunked[1].foreground, whole[1].foreground)


@pytest.mark.parametrize("seed", range(4))
def test_compressed_strings_and_areas_equal_pycocotools(seed):
    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(40):
        n = int(rng.integers(0, 12))
        high = int(rng.choice([2, 40, 600, 70_000, compress.MAX_COMPRESSIBLE]))
        lists.append(rng.integers(0, high, n).tolist())
    lists.append(
        [0, compress.MAX_COMPRESSIBLE - 1, 0, compress.MAX_COMPRESSIBLE - 1, 15, 16, 511, 512]
    )
    parsed = loads_with_count_lists(json.dumps(_doc(*lists)).encode())[1]
    for k, counts in enumerate(lists):
        want = mask_utils.frPyObjects({"counts": counts, "size": [1, 1]}, 1, 1)
        assert parsed.compressed[k] == want["counts"], counts
        assert parsed.foreground[k] == float(mask_utils.area(want)), counts


def test_compress_counts_refuses_counts_pycocotools_cannot_hold():
    with pytest.raises(ValueError):
        compress.compress_counts(np.array([compress.MAX_COMPRESSIBLE], np.uint32), np.array([0, 1]))


# ---- the GT loader: fast and ordinary reading give the same GroundTruth or the same error ----


def _gt(segmentations: list, areas: list | None = None) -> dict:
    return {
        "videos": [{"id": 1, "height": 6, "width": 8, "length": len(segmentations)}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {
                "id": 1,
                "video_id": 1,
                "category_id": 1,
                "iscrowd": 0,
                "segmentations": segmentations,
                "areas": areas if areas is not None else [1] * len(segmentations),
            }
        ],
    }


def _mask(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((6, 8)) > 0.5).astype(np.uint8)


def _frames(gt):
    def key(seg):
        counts = seg["counts"]
        return list(seg["size"]), counts.encode() if isinstance(counts, str) else bytes(counts)

    return [[None if seg is None else key(seg) for seg in track] for track in gt.frames]


def _both(tmp_path, doc, **dump):
    """(fast loader result or error message, ordinary result or error message)."""
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc, **dump))
    out = []
    for load in (
        lambda: load_ground_truth(path),
        lambda: ground_truth_from_dict(orjson.loads(path.read_bytes()), str(path)),
    ):
        try:
            gt = load()
            out.append((_frames(gt), [a.tolist() for a in gt.frame_areas], gt.avg_area.tolist()))
        except InputError as err:
            out.append(str(err))
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fast_ground_truth_equals_the_ordinary_one(tmp_path, layout):
    segs = [rle.encode_uncompressed(_mask(s)) for s in range(4)]
    segs[2] = None
    segs.append(rle.encode(_mask(9)))  # compressed RLE and polygons still go through pycocotools
    segs.append([[1, 1, 5, 1, 5, 4, 1, 4]])
    doc = _gt(segs, areas=[3, 4.5, None, 0, 7, 12])
    fast, plain = _both(tmp_path, doc, **LAYOUTS[layout])
    assert fast == plain
    taken = loads_with_count_lists(json.dumps(doc, **LAYOUTS[layout]).encode())
    assert (taken is not None and _markers_in_place(*taken)) == (layout != "indented")


@pytest.mark.parametrize(
    "size",
    [[6.0, 8], [6, 8, 1], [True, 8], [-6, 8], [6], "6x8", None],
)
def test_odd_sizes_behave_as_in_the_ordinary_reading(tmp_path, size):
    seg = rle.encode_uncompressed(_mask(1))
    if size is None:
        del seg["size"]
    else:
        seg["size"] = size
    fast, plain = _both(tmp_path, _gt([rle.encode_uncompressed(_mask(0)), seg]))
    assert fast == plain


def test_bad_counts_give_the_same_error(tmp_path):
    seg = {"counts": [3, -1, 46], "size": [6, 8]}
    fast, plain = _both(tmp_path, _gt([rle.encode_uncompressed(_mask(0)), seg]))
    assert isinstance(fast, str) and fast == plain and "segmentations[1]" in fast


@pytest.mark.parametrize("seed", range(3))
def test_the_kernel_and_numpy_readers_agree(seed, monkeypatch):
    """Both readers on the same documents (the kernel splits the lists over two threads)."""
    require_rle_kernel()
    rng = np.random.default_rng(seed)
    lists = [
        rng.integers(0, 10 ** rng.integers(1, 8), rng.integers(0, 40)).tolist() for _ in range(90)
    ]
    raw = json.dumps(_doc(*lists), separators=(",", ":") if seed % 2 else None).encode()
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "1")
    compiled = loads_with_count_lists(raw)
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "0")
    numpy_read = loads_with_count_lists(raw)
    assert compiled[0] == numpy_read[0]
    assert compiled[1].compressed == numpy_read[1].compressed
    np.testing.assert_array_equal(compiled[1].foreground, numpy_read[1].foreground)
    assert [compiled[1].as_list(k) for k in range(len(lists))] == lists


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("layout", ["compact", "json.dump default"])
def test_kept_runs_are_what_decoding_the_strings_gives(seed, layout, reader):
    """The kernel keeps every list's values (runs, bounds, pixel totals) as bulk_rle.decode
    reads them back from the compressed strings; an empty list has none (pixels -1). The
    lists are parsed on two threads into one run array: each list's runs start where the one
    before ends, whatever the separators."""
    from vis_bench.eval.rle import bulk_rle

    rng = np.random.default_rng(seed)
    lists = [
        rng.integers(0, 10 ** rng.integers(1, 6), rng.integers(1, 40)).tolist() for _ in range(90)
    ]
    lists[3] = []
    lists[4] = [0]
    lists[5] = [5, 0, 0, 7]
    lists[44:47] = [[], [9], []]  # about where the second thread's share starts
    parsed = loads_with_count_lists(json.dumps(_doc(*lists), **LAYOUTS[layout]).encode())[1]
    if reader == "numpy":
        assert parsed.runs is None
        return
    runs = parsed.runs
    for k, counts in enumerate(lists):
        got = runs.counts[runs.offsets[k] : runs.offsets[k + 1]].tolist()
        assert got == counts
        assert runs.offsets[k + 1] == runs.offsets[k] + len(counts)
        assert parsed.pixels[k] == (sum(counts) if counts else -1)
        if counts:
            want = bulk_rle.decode([{"size": [1, sum(counts)], "counts": parsed.compressed[k]}])
            assert (runs.first[k], runs.end[k]) == (want.first[0], want.end[0])


def _mixed_gt(tmp_path, mixed: bool) -> tuple:
    """A GT whose tracks are whole count lists (and, `mixed`, one with a compressed frame
    among its lists); and results over it."""
    rng = np.random.default_rng(5)
    masks = [(rng.random((6, 8)) > 0.5).astype(np.uint8) for _ in range(12)]
    tracks = [
        [rle.encode_uncompressed(masks[0]), None, rle.encode_uncompressed(masks[1])],
        [rle.encode_uncompressed(masks[2]), rle.encode(masks[3]), None],  # mixed
        [None, rle.encode_uncompressed(masks[4]), rle.encode_uncompressed(masks[5])],
    ]
    if not mixed:
        del tracks[1]
    doc = _gt(tracks[0])
    for i, segs in enumerate(tracks[1:], start=2):
        ann = dict(doc["annotations"][0], id=i, segmentations=segs)
        doc["annotations"].append(ann)
    doc["videos"][0]["length"] = 3
    results = [
        {
            "video_id": 1,
            "category_id": 1,
            "score": float(rng.random()),
            "segmentations": [rle.encode(masks[6 + (j + k) % 6]) for k in range(3)],
        }
        for j in range(4)
    ]
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    return path, results


@pytest.mark.parametrize("mixed", [False, True])
def test_gt_runs_kept_by_the_reader_score_as_decoded_strings(tmp_path, reader, mixed, monkeypatch):
    from vis_bench.eval.api import evaluate_predictions
    from vis_bench.eval.metric.overlaps import FrameTable

    path, results = _mixed_gt(tmp_path, mixed)
    gt = load_ground_truth(path)
    if reader == "rle-kernel":
        assert gt.listed is not None
        assert gt.listed.frames_of(np.array([0])) is not None
        assert (gt.listed.frames_of(np.array([1])) is None) == mixed  # a compressed frame
    taken = []
    use = FrameTable.use_predecoded
    monkeypatch.setattr(
        FrameTable, "use_predecoded", lambda self, *a: (taken.append(a), use(self, *a))
    )
    scored = evaluate_predictions(gt, results)
    # the results were never in a file: only the GT's kept runs can be taken, all or none
    assert len(taken) == (reader == "rle-kernel" and not mixed)
    gt.listed = None
    plain = evaluate_predictions(gt, results)
    assert scored.stats == plain.stats
    np.testing.assert_array_equal(scored.pairs.iou, plain.pairs.iou)


def test_gt_lists_that_do_not_cover_their_frame_are_not_taken(tmp_path, monkeypatch):
    """A list whose values do not sum to its frame's pixels is left to the ordinary decoding,
    which refuses it (the metric then takes pycocotools' path, as without kept runs)."""
    from vis_bench.eval.metric.iou import _use_listed_runs
    from vis_bench.eval.metric.overlaps import frame_table

    require_rle_kernel()
    monkeypatch.setenv("VIS_BENCH_RLE_KERNEL", "1")
    path, _ = _mixed_gt(tmp_path, mixed=False)
    doc = json.loads(path.read_text())
    for covers in (True, False):
        if not covers:
            doc["annotations"][0]["segmentations"][0] = {"size": [6, 8], "counts": [3, 4]}
        path.write_text(json.dumps(doc))
        gt = load_ground_truth(path)
        tracks = np.arange(len(gt.frames))
        g = frame_table([gt.frames[i] for i in tracks])
        _use_listed_runs(gt, tracks, g)
        assert (g.predecoded is not None) == covers

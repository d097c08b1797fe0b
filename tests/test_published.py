"""Published numbers (from the released checkpoints' declarations) matched to sweep records by
setting; the declarations' own checks are in test_pretrained.py."""

from __future__ import annotations

import pytest

from vis_bench.published import default_published, published_match


@pytest.fixture(scope="module")
def published():
    return default_published()


def _record(**changes):
    record = {
        "method": "seqformer",
        "dataset": "ytvis2019:valid.json",
        "model_options": {},
        "clip_length": "all",
        "stride": None,
        "resolution": None,
        "AP": 0.31,
    }
    record.update(changes)
    return record


def test_the_declarations_hold_the_numbers_the_issues_list(published):
    ap = {e["id"]: e["metrics"].get("AP") for e in published.entries}
    assert ap["seqformer-r50-coco-joint"] == 47.4
    assert ap["seqformer-r50-ytvis-only"] == 45.1
    assert ap["seqformer-swin-l"] == 59.3
    assert ap["ifc-r50-t5"] == 41.6 and published.by_id("ifc-r50-t5")["metrics"]["FPS"] == 46.5
    assert ap["ifc-r50-t36"] == 42.8 and published.by_id("ifc-r50-t36")["metrics"]["FPS"] == 107.1
    assert ap["mssts-r50"] == 50.1 and ap["mssts-swin-l"] == 61.0
    for entry in published.entries:
        assert entry["source"].get("repository") or entry["source"].get("paper")


def test_a_record_built_to_match_finds_its_entry(published):
    assert published_match(_record(), published)["id"] == "seqformer-r50-coco-joint"
    swin = _record(model_options={"backbone": "swin_l"})
    assert published_match(swin, published)["id"] == "seqformer-swin-l"
    ifc5 = _record(method="ifc", clip_length=5, stride=1, resolution=360)
    assert published_match(ifc5, published)["id"] == "ifc-r50-t5"
    for length in (36, "all"):
        ifc36 = _record(method="ifc", clip_length=length)
        assert published_match(ifc36, published)["id"] == "ifc-r50-t36"
    mssts = _record(method="mssts", model_options={"backbone": "resnet50"})
    assert published_match(mssts, published)["id"] == "mssts-r50"


@pytest.mark.parametrize(
    "changes",
    [
        {"dataset": "synthetic-1a2b3c4d"},  # the default run's synthetic data
        {"dataset": "ytvis2019:holdout.json"},  # a held-out part of train is not valid
        {"dataset": "ytvis2021:valid.json"},
        {"clip_length": 10},
        {"resolution": 480},
        {"model_options": {"backbone": "resnext101_64x4d"}},  # no release has this layout
        {"method": "ifc", "clip_length": 5, "stride": 3},  # not IFC's near-online S=1
    ],
)
def test_other_settings_do_not_match(published, changes):
    assert published_match(_record(**changes), published) is None

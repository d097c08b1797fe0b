"""results/published.yaml: valid, sourced, and matched to sweep records by setting."""

from __future__ import annotations

import pytest
import yaml

from vis_bench.errors import InputError
from vis_bench.published import DEFAULT_PATH, load_published, published_match


@pytest.fixture(scope="module")
def published():
    return load_published()


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


def test_the_file_holds_the_numbers_the_issue_lists(published):
    ap = {e["id"]: e["metrics"]["AP"] for e in published.entries}
    assert ap["seqformer-r50-coco-joint"] == 47.4
    assert ap["seqformer-r50-ytvis-only"] == 45.1
    assert ap["seqformer-swin-l"] == 59.3
    assert ap["ifc-r50-t5"] == 41.6 and published.by_id("ifc-r50-t5")["metrics"]["FPS"] == 46.5
    assert ap["ifc-r50-t36"] == 42.8 and published.by_id("ifc-r50-t36")["metrics"]["FPS"] == 107.1
    assert ap["mssts-r50"] == 50.1 and ap["mssts-swin-l"] == 61.0
    (flops,) = published.flops_tables
    assert flops["rows"]["IFC (M=8)"] == [5.52, 39.73, 25.05, 180.39]
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
        {"model_options": {"backbone": "r101"}},
        {"method": "ifc", "clip_length": 5, "stride": 3},  # not IFC's near-online S=1
    ],
)
def test_other_settings_do_not_match(published, changes):
    assert published_match(_record(**changes), published) is None


def test_validation_names_the_field(tmp_path):
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["entries"][1]["metrics"]["AP"] = "45.1"
    bad = tmp_path / "published.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=r"entries\[1\]\.metrics\.AP must be a number"):
        load_published(bad)
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    del data["entries"][0]["setting"]["backbone"]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match=r"setting lacks \['backbone'\]"):
        load_published(bad)
    data["entries"][0]["setting"]["backbone"] = "R50"
    data["entries"][2]["id"] = data["entries"][0]["id"]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="repeats the id"):
        load_published(bad)

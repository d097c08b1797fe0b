"""`split`: a held-out part chosen by a hash of each video's first file name (or stratified by
category), with a manifest that reports each part's categories."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from tests.helpers.vis_cases import make_gt, public
from vis_bench.cli import main
from vis_bench.data.holdout import (
    _dump,
    coverage_warnings,
    read_manifest,
    resolve_split,
    split_annotations,
    split_data,
    video_fraction,
    write_split,
)
from vis_bench.errors import InputError


def _annotations(n=60, seed=0, first_video_id=1):
    data = public(make_gt(n_videos=n, seed=seed, first_video_id=first_video_id, lengths=(2, 3)))
    data["info"] = {"description": "test"}
    return data


def _held_names(part: dict) -> set[str]:
    return {v["file_names"][0] for v in part["videos"]}


def test_held_out_videos_are_those_whose_hash_is_below_the_fraction():
    data = _annotations()
    train, held, names = split_annotations(data, 0.25, seed=0)
    assert _held_names(held) == set(names)
    for video in data["videos"]:
        below = video_fraction(video["file_names"][0], 0) < 0.25
        assert (video in held["videos"]) == below
    assert len(train["videos"]) + len(held["videos"]) == 60
    assert 5 <= len(held["videos"]) <= 25
    held_ids = {v["id"] for v in held["videos"]}
    assert all(a["video_id"] in held_ids for a in held["annotations"])
    assert all(a["video_id"] not in held_ids for a in train["annotations"])
    assert held["categories"] == data["categories"] and held["info"] == data["info"]


def test_split_is_stable_under_shuffling_and_additions():
    data = _annotations()
    _, held, _ = split_annotations(data, 0.2, seed=1)
    shuffled = dict(data, videos=list(data["videos"]), annotations=list(data["annotations"]))
    random.Random(4).shuffle(shuffled["videos"])
    random.Random(5).shuffle(shuffled["annotations"])
    _, held_shuffled, _ = split_annotations(shuffled, 0.2, seed=1)
    assert _held_names(held_shuffled) == _held_names(held)
    more = _annotations(n=30, seed=7, first_video_id=1000)
    grown = dict(data, videos=data["videos"] + more["videos"])
    _, held_grown, _ = split_annotations(grown, 0.2, seed=1)
    old_names = {v["file_names"][0] for v in data["videos"]}
    assert _held_names(held_grown) & old_names == _held_names(held)
    _, other_seed, _ = split_annotations(data, 0.2, seed=2)
    assert _held_names(other_seed) != _held_names(held)


def test_write_split_records_sha256_of_input_and_outputs(tmp_path):
    src = tmp_path / "train_full.json"
    src.write_text(json.dumps(_annotations()))
    manifest = write_split(src, 0.1, 0, tmp_path / "split")
    assert manifest["input"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    for part in ("train", "holdout"):
        blob = (tmp_path / "split" / f"{part}.json").read_bytes()
        assert manifest["outputs"][part]["sha256"] == hashlib.sha256(blob).hexdigest()
    on_disk = json.loads((tmp_path / "split" / "split_manifest.json").read_text())
    assert on_disk == manifest
    assert resolve_split(tmp_path / "split" / "split_manifest.json", "holdout").name == (
        "holdout.json"
    )
    # the same input, fraction and seed give byte-identical outputs (what a second user checks)
    again = write_split(src, 0.1, 0, tmp_path / "split2")
    assert again["outputs"] == manifest["outputs"]


def test_resolve_split_rejects_a_changed_file(tmp_path):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(_annotations()))
    write_split(src, 0.3, 0, tmp_path / "s")
    held = tmp_path / "s" / "holdout.json"
    held.write_text(held.read_text().replace('"info"', '"infO"'))
    with pytest.raises(InputError, match="not the holdout part"):
        resolve_split(tmp_path / "s", "holdout")
    assert resolve_split(tmp_path / "s", "train").name == "train.json"
    with pytest.raises(InputError, match="not a split manifest"):
        read_manifest(src)


def test_missing_file_names_and_bad_fraction_are_clear_errors():
    data = _annotations(n=3)
    with pytest.raises(InputError, match="between 0 and 1"):
        split_annotations(data, 1.5, 0)
    del data["videos"][1]["file_names"]
    with pytest.raises(InputError, match=r"videos\[1\] needs a non-empty 'file_names'"):
        split_annotations(data, 0.5, 0)


def test_split_command_writes_and_checks(tmp_path, capsys):
    src = tmp_path / "train.json"
    src.write_text(json.dumps(_annotations()))
    out = tmp_path / "split"
    argv = ["split", "--annotations", str(src), "--holdout", "0.1", "--seed", "0"]
    assert main([*argv, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "holdout.json",
        "split_manifest.json",
        "train.json",
    ]
    assert main(["split", "--check", str(out / "split_manifest.json")]) == 0
    assert main([*argv, "--out", str(out)]) == 2  # the folder exists: no overwrite
    assert "already exists" in capsys.readouterr().err


# --- category coverage, --stratify, orphan annotations (issue 32) ---

GOLDEN_GT = Path(__file__).parent / "fixtures/golden/ytvis_eval/public/case_05/gt.json"


def _issue_case(seed=0):
    """The issue's case: 40 videos, 6 categories (held out at 0.2)."""
    return public(make_gt(n_videos=40, seed=seed, n_categories=6, lengths=(2, 3)))


def _absent(part: dict, n_categories=6) -> set[int]:
    return set(range(1, n_categories + 1)) - {a["category_id"] for a in part["annotations"]}


def test_default_split_keeps_its_bytes():
    """Configs pin a part by its sha256: the coverage report must not move a byte of either."""
    assert hashlib.sha256(GOLDEN_GT.read_bytes()).hexdigest().startswith("d6fded1db67d")
    train, held, _ = split_annotations(json.loads(GOLDEN_GT.read_text()), 0.5, seed=3)
    assert hashlib.sha256(_dump(held)).hexdigest() == (
        "f566b1275e293ce0f21cae48311e3f710051ee1d71910db7cceb0fa2712459ca"
    )
    assert hashlib.sha256(_dump(train)).hexdigest() == (
        "1f3ff877c78ea4d9b378b7600b89334a21693f5670d267885b11076c9c6085fb"
    )


def test_a_category_missing_from_a_part_is_reported_and_warned(tmp_path, capsys):
    src = tmp_path / "train.json"
    src.write_text(json.dumps(_issue_case()))
    out = tmp_path / "split"
    assert main(["split", "--annotations", str(src), "--holdout", "0.2", "--out", str(out)]) == 0
    manifest = json.loads((out / "split_manifest.json").read_text())
    held = json.loads((out / "holdout.json").read_text())
    assert _absent(held) == {1}  # seed 0 holds out no track of class1
    assert manifest["version"] == 2 and manifest["stratify"] is False
    cover = manifest["coverage"]["holdout"]
    assert cover["absent"] == [{"id": 1, "name": "class1"}]
    assert [c["id"] for c in cover["present"]] == [2, 3, 4, 5, 6]
    assert sum(c["tracks"] for c in cover["present"]) == len(held["annotations"])
    assert manifest["coverage"]["train"]["absent"] == []
    (warning,) = manifest["warnings"]
    assert "'class1' (id 1) has no tracks in holdout.json (11 in train.json)" in warning
    assert "--stratify would put some" in warning
    captured = capsys.readouterr()
    assert f"warning: {warning}" in captured.err
    assert "5/6 categories" in captured.out and "6/6 categories" in captured.out


def test_stratify_puts_every_category_in_both_parts(tmp_path):
    plain_missing = 0
    for seed in range(20):
        data = _issue_case()
        train, held, names = split_annotations(data, 0.2, seed, stratify=True)
        assert _absent(held) == set() and _absent(train) == set(), seed
        assert 5 <= len(held["videos"]) <= 11  # about its share (8) of the 40 videos
        assert _held_names(held) == set(names)
        assert len(train["annotations"]) + len(held["annotations"]) == len(data["annotations"])
        plain_missing += bool(_absent(split_annotations(data, 0.2, seed)[1]))
    assert plain_missing >= 5  # the default split loses a category at many of these seeds
    src = tmp_path / "train.json"
    src.write_text(json.dumps(_issue_case()))
    manifest = write_split(src, 0.2, 0, tmp_path / "s", stratify=True)
    assert manifest["stratify"] is True and manifest["rule"].startswith("iterative stratification")
    assert manifest["warnings"] == []
    assert all(not manifest["coverage"][p]["absent"] for p in ("train", "holdout"))
    assert resolve_split(tmp_path / "s", "holdout").name == "holdout.json"


def test_stratified_split_is_deterministic_and_independent_of_file_order(tmp_path):
    data = _issue_case(seed=2)
    _, held, names = split_annotations(data, 0.2, 1, stratify=True)
    assert split_annotations(data, 0.2, 1, stratify=True)[1] == held
    shuffled = dict(data, videos=list(data["videos"]), annotations=list(data["annotations"]))
    random.Random(4).shuffle(shuffled["videos"])
    random.Random(5).shuffle(shuffled["annotations"])
    assert _held_names(split_annotations(shuffled, 0.2, 1, stratify=True)[1]) == set(names)
    assert _held_names(split_annotations(data, 0.2, 2, stratify=True)[1]) != set(names)
    src = tmp_path / "train.json"
    src.write_text(json.dumps(data))
    first = write_split(src, 0.2, 1, tmp_path / "a", stratify=True)
    again = write_split(src, 0.2, 1, tmp_path / "b", stratify=True)
    assert first == again
    plain = write_split(src, 0.2, 1, tmp_path / "c")
    assert plain["outputs"]["holdout"]["sha256"] != first["outputs"]["holdout"]["sha256"]


def test_warnings_say_when_no_split_can_cover_a_category():
    categories = [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
    videos = [{"id": i, "height": 2, "width": 2, "file_names": [f"v{i}/0.jpg"]} for i in range(10)]
    annotations = [{"id": i, "video_id": i, "category_id": 1} for i in range(10)]
    annotations.append({"id": 10, "video_id": 3, "category_id": 2})  # one video has c2
    data = {"videos": videos, "annotations": annotations, "categories": categories}
    split = split_data(data, 0.3, 0, stratify=True)
    warnings = coverage_warnings(split.coverage(), stratified=True)
    assert any("'c3' (id 3) has no tracks in the input" in w for w in warnings)
    assert any("'c2' (id 2)" in w and "only one video has it" in w for w in warnings)
    assert len(warnings) == 2
    assert _absent(split.holdout, 1) == set() and _absent(split.train, 1) == set()


def test_an_orphan_annotation_is_an_error_naming_file_and_field(tmp_path):
    data = _issue_case()
    data["annotations"][5]["video_id"] = 999
    src = tmp_path / "train.json"
    src.write_text(json.dumps(data))
    with pytest.raises(InputError, match="video_id 999 is the id of no entry of 'videos'") as err:
        write_split(src, 0.2, 0, tmp_path / "s")
    assert err.value.path == str(src) and err.value.field == "annotations[5].video_id"
    assert "1 of" in str(err.value) and "remove" in str(err.value)
    assert not (tmp_path / "s").exists()
    del data["annotations"][7]["video_id"]
    with pytest.raises(InputError, match="2 of .* belong to no video") as err:
        split_annotations(data, 0.2, 0, stratify=True)
    assert err.value.field == "annotations[5].video_id"
    data["annotations"][5] = [1]
    with pytest.raises(InputError, match=r"annotations\[5\] is a list"):
        split_annotations(data, 0.2, 0)


def test_version_1_manifests_still_resolve(tmp_path):
    src = tmp_path / "train.json"
    src.write_text(json.dumps(_annotations()))
    write_split(src, 0.2, 0, tmp_path / "s")
    path = tmp_path / "s" / "split_manifest.json"
    old = json.loads(path.read_text())
    for key in ("stratify", "coverage", "warnings"):
        del old[key]
    path.write_text(json.dumps(dict(old, version=1)))
    assert resolve_split(path, "holdout").name == "holdout.json"
    assert main(["split", "--check", str(path)]) == 0

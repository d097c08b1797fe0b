"""`split`: a held-out part chosen by a hash of each video's first file name, with a manifest."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from tests.helpers.vis_cases import make_gt, public
from vis_bench.cli import main
from vis_bench.data.holdout import (
    read_manifest,
    resolve_split,
    split_annotations,
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

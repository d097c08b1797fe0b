"""Released checkpoints are names: every variant builds, states its test size, published numbers
and licence, and runs from a config or `--set method=NAME --checkpoint FILE` with nothing else."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vis_bench.api.registration import available_methods, get_method, pretrained_variants
from vis_bench.api.release_match import describe_match, matching_variants
from vis_bench.api.state_dict_keys import meta_plugin
from vis_bench.api.tables import PRETRAINED
from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult
from vis_bench.cli import main
from vis_bench.config import load_config
from vis_bench.config_overrides import expand_method_shorthand
from vis_bench.errors import InputError, VisBenchError
from vis_bench.published import canonical_backbone, default_published, published_match
from vis_bench.sweep.methods import resolve_method

VARIANTS = pretrained_variants()
SUPPORTED = [v for v in VARIANTS if not v.unsupported]
#: methods whose authors released no weights (docs/methods/mssts.md): named with the reason
WITHOUT_RELEASE = {"mssts", "mssts-release"}


def test_every_method_names_its_released_checkpoints():
    assert len(SUPPORTED) >= 11
    named = {v.method for v in VARIANTS}
    # the in-tree methods (tests register toy plugins of their own beside them)
    in_tree = {m for m in available_methods() if get_method(m).__module__.startswith("vis_bench.")}
    assert in_tree - WITHOUT_RELEASE <= named
    for variant in VARIANTS:
        assert variant.licence.code and variant.licence.weights and variant.licence.source
        assert variant.release_file and variant.summary
        assert variant.published, f"{variant.name} states no published number"


@pytest.mark.parametrize("variant", SUPPORTED, ids=lambda v: v.name)
def test_a_variant_builds_its_architecture_and_its_test_size(variant):
    plugin = meta_plugin(variant.method, variant.options)
    assert plugin.preprocessing.shorter_side == variant.resolution, variant.name
    assert plugin.preprocessing.max_size == variant.max_size, variant.name
    options = dataclasses.asdict(plugin.options)
    for key, value in variant.options.items():
        assert options[key] == value, (variant.name, key)
    assert canonical_backbone(variant.backbone_name()) in {
        canonical_backbone(e["setting"]["backbone"]) for e in variant.published_entries()
    }


def test_published_numbers_come_from_the_declarations_with_their_sources():
    published = default_published()
    ids = [e["id"] for e in published.entries]
    assert len(ids) == len(set(ids)) >= len(VARIANTS)
    ap = {e["id"]: e["metrics"].get("AP") for e in published.entries}
    assert ap["seqformer-r50-coco-joint"] == 47.4 and ap["seqformer-swin-l"] == 59.3
    assert published.by_id("ifc-r50-t5")["metrics"]["FPS"] == 46.5
    assert published.by_id("ifc-r50-t36")["metrics"]["FPS"] == 107.1
    assert ap["mssts-r50"] == 50.1 and ap["minvis-r50-ytvis2019-model-zoo"] == 47.3
    for entry in published.entries:
        assert entry["source"].get("repository") or entry["source"].get("paper")
        assert entry["kind"] in ("checkpoint", "paper") and entry["variant"] in PRETRAINED


def _record(**changes):
    record = {
        "method": "mask2former-vis",
        "dataset": "ytvis2019:valid.json",
        "model_options": {"backbone": "swin_l"},
        "clip_length": "all",
        "stride": None,
        "resolution": None,
    }
    return {**record, **changes}


def test_a_named_variant_matches_its_own_entry_at_its_own_test_size():
    # Swin-L tests at 480: a record of the variant without a resolution is at 480
    entry = published_match(_record(variant="mask2former-vis.swinl_ytvis19"))
    assert entry is not None and entry["id"] == "mask2former-vis-swinl-ytvis2019"
    assert published_match(_record(variant="mask2former-vis.swinl_ytvis19", resolution=360)) is None
    assert published_match(_record(variant="mask2former-vis.r50_ytvis19")) is None


def test_dvis_plus_names_the_twelve_rows_of_its_model_zoo(capsys):
    """Online and offline, R50 (100 queries) and ViT-L (200), YouTube-VIS 2019 / 2021 and OVIS;
    AP, AP50 and AP75 of each file; a file name and checksum only where they were read."""
    dvis = [v for v in VARIANTS if v.method in ("dvis-plus-online", "dvis-plus-offline")]
    assert len(dvis) == 12 and not any(v.unsupported for v in dvis)
    for variant in dvis:
        assert (variant.resolution, variant.max_size) == (480, 1333)
        queries = 200 if variant.variant.startswith("vitl_") else 100
        classes = 25 if variant.dataset == "ovis" else 40
        assert variant.options["num_queries"] == queries
        assert variant.options["num_classes"] == classes
        assert variant.licence.code == "MIT"
        (result,) = variant.published
        assert set(result.metrics) == {"AP", "AP50", "AP75"} and result.kind == "checkpoint"
    published = default_published()
    assert published.by_id("dvis-plus-offline-r50-ovis")["metrics"] == {
        "AP": 41.2,
        "AP50": 68.9,
        "AP75": 40.9,
    }
    assert published.by_id("dvis-plus-online-vitl-ytvis2021")["metrics"]["AP"] == 62.3
    assert published.by_id("dvis-plus-offline-vitl-ytvis2019")["metrics"]["AP75"] == 76.1
    named = {v.name: (v.release_file, v.sha256) for v in dvis if v.sha256}
    assert named == {
        "dvis-plus-offline.r50_ovis": (
            "offline_r50_ovis_412.pth",
            "ed812bffdc52e4830b0058a0ddacca06c81239e9a1b464c66c23c04003326af8",
        ),
        "dvis-plus-online.vitl_ytvis21": (
            "online_vitl_ytvis21_623.pth",
            "db6e76b886ecd5d22b66065af697268828564bb523494e3608432868f04cb60a",
        ),
    }
    assert all("not confirmed" in v.release_file for v in dvis if v.name not in named)
    assert main(["methods", "--pretrained", "dvis-plus*"]) == 0
    assert "12 released checkpoint(s)" in capsys.readouterr().out


def test_a_bad_declaration_is_refused_naming_the_variant_and_field():
    licence = Licence("MIT", "MIT", "LICENSE")
    good = PretrainedVariant(
        "toy.small", "a toy", {}, "ytvis2019", "ytvis2019", 360, 1333, "toy.pth", licence
    )
    good.check("toy")
    with pytest.raises(VisBenchError, match="its name must be 'other.<variant>'"):
        good.check("other")
    with pytest.raises(VisBenchError, match="checksum of 5 characters"):
        dataclasses.replace(good, sha256="abcde").check("toy")
    with pytest.raises(VisBenchError, match="checksum of 6 characters 'abcdeg'"):
        dataclasses.replace(good, sha256="abcdeg").check("toy")
    dataclasses.replace(good, sha256="abcdef").check("toy")  # a file name's prefix
    source = {"kind": "README", "table": "t"}  # neither a repository nor a paper
    bad = PublishedResult("x", "ytvis2019", {"AP": 1.0}, source)
    with pytest.raises(VisBenchError, match=r"published 'x': the source needs"):
        dataclasses.replace(good, published=(bad,)).check("toy")


def test_methods_lists_released_checkpoints_by_pattern(capsys):
    assert main(["methods", "--pretrained"]) == 0
    out = capsys.readouterr().out
    for variant in VARIANTS:
        assert variant.name in out
    assert main(["methods", "--pretrained", "*_ovis"]) == 0
    out = capsys.readouterr().out
    assert all(("_ovis" in line) for line in out.splitlines()[2:-1])
    assert main(["methods", "--pretrained", "no_such_*"]) == 2  # an input error (docs/commands.md)


def test_methods_describes_one_released_checkpoint_in_full(capsys):
    variant = SUPPORTED[0]
    assert main(["methods", "--pretrained", variant.name]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{variant.name}: {variant.summary}")
    assert variant.release_file in out and variant.licence.code in out
    assert f"shorter side {variant.resolution}" in out and "published (" in out


def test_a_config_entry_naming_a_variant_needs_nothing_else(tmp_path):
    from vis_bench.config import MethodConfig

    variant = PRETRAINED.get("mask2former-vis.swinl_ytvis19")
    entry = resolve_method(MethodConfig(name=variant.name), 0, "config.yaml")
    assert entry.name == "mask2former-vis" and entry.variant == variant.name
    assert entry.label_space == variant.label_space
    assert entry.model_options["backbone"] == "swin_l"
    assert entry.model_options["num_queries"] == 200
    with pytest.raises(InputError, match=r"did you mean .*'mask2former-vis.swinl_ytvis19'"):
        resolve_method(MethodConfig(name="mask2former-vis.swinl_ytvis91"), 0, "config.yaml")


def test_set_method_and_checkpoint_run_one_variant_at_its_own_size(tmp_path):
    assert expand_method_shorthand(["method=minvis.r50_ovis"]) == [
        'methods=[{name: "minvis.r50_ovis"}]',
        "sweep.resolution=[null]",
    ]
    assert expand_method_shorthand(["method=minvis", "sweep.resolution=[200]"]) == [
        'methods=[{name: "minvis"}]',
        "sweep.resolution=[200]",
    ]
    weights = tmp_path / "model_final.pth"
    weights.write_bytes(b"")
    config = load_config(
        "configs/default.yaml", ["method=minvis.r50_ovis"], checkpoint=str(weights)
    )
    (entry,) = config.methods
    assert entry.name == "minvis.r50_ovis" and entry.checkpoint == str(weights)
    assert config.sweep.resolution == [None]
    with pytest.raises(InputError, match="--checkpoint gives the file of a single method"):
        load_config("configs/default.yaml", [], checkpoint=str(weights))


def test_an_unsupported_variant_is_refused_with_its_reason():
    from vis_bench.config import MethodConfig

    unsupported = [v for v in VARIANTS if v.unsupported]
    assert unsupported
    with pytest.raises(InputError, match="cannot run in vis-bench"):
        resolve_method(MethodConfig(name=unsupported[0].name), 0, "config.yaml")


def _release_state(variant: PretrainedVariant) -> dict[str, torch.Tensor]:
    """A release file's state dict for the variant's architecture, as meta tensors."""
    return meta_plugin(variant.method, variant.options).model.state_dict()


def test_a_file_is_named_by_its_keys_and_shapes_then_its_checksum(tmp_path):
    variant = PRETRAINED.get("minvis.r50_ovis")
    plugin = get_method("minvis")
    path = tmp_path / "file.pth"
    path.write_bytes(b"release bytes")
    match = matching_variants(plugin, _release_state(variant), path)
    # OVIS has 25 classes: only the OVIS variants of that backbone fit
    assert [v.name for v in match.by_shape] == ["minvis.r50_ovis"]
    assert "released checkpoint: minvis.r50_ovis (keys and shapes fit)" in describe_match(match)[0]
    # two variants of one architecture are told apart by a published checksum only
    import hashlib

    digest = hashlib.sha256(b"release bytes").hexdigest()
    twin = dataclasses.replace(variant, name="minvis.r50_ovis_twin", sha256=digest)
    other = dataclasses.replace(variant, name="minvis.r50_ovis_other", sha256="0" * 64)
    spec = dataclasses.replace(plugin.spec, variants=(twin, other))
    fake = type("Fake", (plugin,), {"spec": spec})
    match = matching_variants(fake, _release_state(variant), path)
    assert [v.name for v in match.by_checksum] == ["minvis.r50_ovis_twin"]

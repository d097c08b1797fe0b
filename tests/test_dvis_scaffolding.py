"""What the DVIS++ and DVIS-DAQ families share (methods/common, member_spec): one override
reader refusing an unmapped key for both, one declaration that tells online from offline."""

from __future__ import annotations

import json

import pytest

from vis_bench.api import CarriedState, InputError, WholeVideoRefinement
from vis_bench.api.registration import get_method
from vis_bench.methods.families.dvis.base_plugin import REFINER_SIGNATURE
from vis_bench.methods.families.dvis.fixtures import read_fixture as read_dvis
from vis_bench.methods.families.dvis_daq.fixtures import read_fixture as read_daq


@pytest.mark.parametrize(
    ("read", "meta"),
    [
        (read_dvis, {"variant": "online", "window_size": 3}),
        (read_daq, {"variant": "online", "num_new_ins": 100}),
    ],
)
def test_both_fixture_readers_refuse_an_override_they_do_not_map(tmp_path, read, meta):
    overrides = ["MODEL.TRACKER.DECODER_LAYERS", "2", "MODEL.UNKNOWN_KEY", "1"]
    (tmp_path / "meta.json").write_text(json.dumps({**meta, "overrides": overrides}))
    with pytest.raises(InputError) as caught:
        read(tmp_path, "online")
    assert caught.value.field == "overrides.MODEL.UNKNOWN_KEY"
    assert caught.value.path == str(tmp_path / "meta.json")


@pytest.mark.parametrize("read", [read_dvis, read_daq])
def test_both_fixture_readers_refuse_the_other_variant(tmp_path, read):
    (tmp_path / "meta.json").write_text(json.dumps({"variant": "offline", "num_new_ins": 100}))
    with pytest.raises(InputError, match="--fixture") as caught:
        read(tmp_path, "online")
    assert caught.value.field == "variant"


@pytest.mark.parametrize(
    ("method", "linking", "offline"),
    [
        ("dvis-plus-online", CarriedState, False),
        ("dvis-plus-offline", WholeVideoRefinement, True),
        ("dvis-daq-online", WholeVideoRefinement, False),
        ("dvis-daq-offline", WholeVideoRefinement, True),
    ],
)
def test_a_member_is_declared_by_its_package_online_or_offline(method, linking, offline):
    spec = get_method(method).spec
    assert spec.name == method
    assert isinstance(spec.linking, linking)
    assert (REFINER_SIGNATURE in spec.checkpoint_signature) is offline
    assert spec.training.frame_sampler.reverse is offline
    assert spec.parity.target == f"vis_bench.methods.{method.replace('-', '_')}.parity:run_parity"

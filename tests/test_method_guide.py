"""The method guide states every rule the conformance test holds a method to, each with an
in-tree method that follows it, and a failure of each rule names its section."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from tests.helpers.toy_method import ToyPlugin
from vis_bench.api import ClipResult
from vis_bench.api.capabilities import CapabilityError, check_capabilities
from vis_bench.api.guide import GUIDE, RULES, anchor, see
from vis_bench.api.linking import CarriedState, EmbeddingAssociation, most_likely_class
from vis_bench.engine.query_tracks import QueryTrackLinker

REPO = Path(__file__).resolve().parents[1]


def _sections() -> dict[str, str]:
    """The guide's `###` sections: heading -> text."""
    text = (REPO / GUIDE).read_text()
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_rule_has_its_section_with_a_method_that_follows_it():
    sections = _sections()
    for rule, heading in RULES.items():
        assert heading in sections, f"{GUIDE} has no section {heading!r} (rule {rule!r})"
        followed = re.split(r"Follows\s+it:", sections[heading], maxsplit=1)
        assert len(followed) == 2, f"{heading}: names no in-tree method that follows it"
        paths = re.findall(r"`((?:methods|examples)/[^`]+\.py)`", followed[1].replace("\n", " "))
        assert paths and all((REPO / p).is_file() for p in paths), (heading, paths)
    assert anchor("Rule: video predictions from the mean logits") == (
        "rule-video-predictions-from-the-mean-logits"
    )


def test_every_rule_the_conformance_test_names_is_in_the_guide():
    text = (REPO / "tests" / "test_conformance.py").read_text()
    named = set(re.findall(r"""see\(["']([^"']+)["']\)""", text))
    assert named and named <= set(RULES)


def _carried_state_class(**members):
    """A toy class declaring a carried state, with per-frame stages whose functions are given."""
    spec = dataclasses.replace(ToyPlugin.spec, name="toy-carried", linking=CarriedState())
    return type("ToyCarried", (ToyPlugin,), {"spec": spec, **members})


def test_per_frame_stages_without_state_fail_registration_naming_the_rule():
    def infer_clip(self, frames, state=None, seen=0): ...

    def infer_clip_features(self, features): ...  # the user's case: no state=, seen=

    plugin = _carried_state_class(
        per_frame_stages=("backbone",),
        frame_features=lambda self, frames: list(frames),
        infer_clip=infer_clip,
        infer_clip_features=infer_clip_features,
    )
    with pytest.raises(CapabilityError) as err:
        check_capabilities(plugin)
    message = str(err.value)
    assert "infer_clip_features does not take state=" in message
    assert message.endswith(f"({see('registration')})")


def _clip(frames: int, tracks: int, classes: int = 3, logits_dims: int = 3) -> ClipResult:
    logits_shape = (frames, tracks, classes + 1) if logits_dims == 3 else (tracks, classes + 1)
    return ClipResult(
        scores=torch.zeros(tracks),
        labels=torch.ones(tracks, dtype=torch.long),
        masks=torch.zeros(tracks, frames, 4, 4),
        mask_logits=torch.zeros(tracks, frames, 4, 4),
        frame_logits=torch.zeros(logits_shape),
        frame_embeddings=torch.zeros(frames, tracks, 8),
    )


def test_query_track_results_in_other_shapes_name_the_rule():
    rule = see("query-track results")
    linker = QueryTrackLinker(EmbeddingAssociation(), most_likely_class)
    with pytest.raises(ValueError, match="must be \\[T, N, K\\+1\\]") as err:
        linker.add_clip([0, 1], _clip(2, 5, logits_dims=2))  # logits without their frames
    assert rule in str(err.value)
    mismatched = dataclasses.replace(_clip(2, 5), frame_embeddings=torch.zeros(2, 4, 8))
    with pytest.raises(ValueError, match="hold 5, 4 and 5 tracks") as err:
        linker.add_clip([0, 1], mismatched)
    assert rule in str(err.value)


def test_a_carried_state_method_keeps_its_slots_from_clip_to_clip():
    linker = QueryTrackLinker(CarriedState(), most_likely_class)
    linker.add_clip([0, 1], _clip(2, 5))
    with pytest.raises(ValueError, match="fixed order: this clip has 4 tracks, the previous one 5"):
        linker.add_clip([2, 3], _clip(2, 4))  # a top-k of the slots, not every slot


def test_the_video_predictions_come_from_the_mean_logits_not_the_clip_scores():
    """The rule the guide states, as the linker applies it: ClipResult.scores and labels are
    never read for the video's predictions."""
    linker = QueryTrackLinker(CarriedState(), most_likely_class)
    clip = _clip(2, 2)
    clip.frame_logits[:, 0, 2] = 5.0  # slot 0: category 3
    clip.frame_logits[:, 1, 0] = 5.0  # slot 1: category 1
    clip = dataclasses.replace(clip, scores=torch.tensor([0.0, 0.0]), labels=torch.tensor([2, 2]))
    linker.add_clip([0, 1], clip)
    assert [(t.track_id, t.label) for t in linker.finish()] == [(0, 3), (1, 1)]

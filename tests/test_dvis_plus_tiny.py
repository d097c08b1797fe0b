"""The shipped tiny DVIS++ models: the online one gives the same tracks, labels and masks at every
clip schedule through the harness, and both have learnt something on the synthetic split."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vis_bench.config import load_config
from vis_bench.inference.runner import run_method
from vis_bench.inference.sources import open_source
from vis_bench.sweep.methods import resolve_methods
from vis_bench.sweep.worker import build_plugin

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default_run():
    """The default run's DVIS++ entries (their tiny checkpoints) and 3 of its videos."""
    config = load_config(
        REPO / "configs" / "default.yaml",
        ["dataset.videos=3", f"dataset.cache_dir={REPO / '.cache' / 'vis_bench'}"],
    )
    entries = {entry.name: entry for entry in resolve_methods(config)}
    return open_source(config.dataset, config.source), entries


def _results(plugin, source, clip_length, stride):
    outcome = run_method(plugin, source, clip_length=clip_length, stride=stride, resolution=144)
    return sorted(outcome.results, key=lambda r: (r["video_id"], r["category_id"], r["score"]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dvis-plus-online", "dvis-plus-offline"])
def test_the_tiny_model_gives_the_same_results_at_every_clip_schedule(default_run, name):
    torch.set_num_threads(2)
    source, entries = default_run
    plugin, _ = build_plugin(entries[name])
    reference = _results(plugin, source, "all", None)
    assert reference
    for clip_length, stride in ((1, 1), (3, 3), (5, 3)):
        other = _results(plugin, source, clip_length, stride)
        assert [(r["video_id"], r["category_id"]) for r in other] == [
            (r["video_id"], r["category_id"]) for r in reference
        ]
        assert [r["segmentations"] for r in other] == [r["segmentations"] for r in reference]
        gaps = [abs(a["score"] - b["score"]) for a, b in zip(other, reference, strict=True)]
        assert max(gaps) <= 1e-5, (clip_length, stride)

"""The parity layer: what a method's parity modules use to check it against its authors' code.

A method's spec names its check lazily (`vis_bench.api.parity.ParityReference`, "module:function"),
so only its parity modules import this layer, and loading a method to run it never does
(import-linter holds both: pyproject.toml, scripts/lint_imports.py). Here are the comparison
helpers (report.py, compare.py, capture.py, fixtures.py) and the engine's pieces a parity module
replays to check the harness's own path against the authors' (the clip schedule, the stitcher
and its arithmetic hook, the query-track and refined-video linkers, the final-frame encoder).
"""

from vis_bench.engine.finalise import EncodedFrames, TrackPostprocessing
from vis_bench.engine.query_tracks import QueryTrackLinker
from vis_bench.engine.refinement import RefinedVideoLinker, refinement_windows
from vis_bench.engine.schedule import clip_windows
from vis_bench.engine.stitching import (
    MATCH_THRESHOLD,
    Arithmetic,
    ClipMatch,
    ClipStitcher,
    MeanMasks,
)
from vis_bench.parity.capture import captured_outputs
from vis_bench.parity.compare import compare_results, compare_tree, tracks_as_fixture_results
from vis_bench.parity.fixtures import load_fixture_file, load_fixture_weights, save_produced
from vis_bench.parity.report import ParityCheck, ParityReport

__all__ = [
    "MATCH_THRESHOLD",
    "Arithmetic",
    "ClipMatch",
    "ClipStitcher",
    "EncodedFrames",
    "MeanMasks",
    "ParityCheck",
    "ParityReport",
    "QueryTrackLinker",
    "RefinedVideoLinker",
    "TrackPostprocessing",
    "captured_outputs",
    "clip_windows",
    "compare_results",
    "compare_tree",
    "load_fixture_file",
    "load_fixture_weights",
    "refinement_windows",
    "save_produced",
    "tracks_as_fixture_results",
]

"""Comparisons of what a method produced with what its authors' code produced.

`compare_tree` compares nested outputs leaf by leaf with per-leaf tolerances; `compare_results`
compares a video's final results (the (id, label) pairs, scores, masks);
`tracks_as_fixture_results` puts what the harness wrote for a video (its linker's tracks, the
RLEs of `EncodedFrames`) in the layout of a query-tracking fixture's `final`, so a parity module
that replays the engine compares it the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from vis_bench.engine.finalise import EncodedFrames, TrackPostprocessing
from vis_bench.formats.rle import decode
from vis_bench.parity.report import ParityReport


def compare_tree(
    report: ParityReport,
    name: str,
    produced: Any,
    expected: Any,
    tolerance: Callable[[str], float],
) -> None:
    """Compare every tensor of `produced` with the same path of `expected`.

    A produced path the fixture lacks is listed as produced-only; an expected path the model did
    not produce is a failed check naming it. `tolerance(path)` gives each leaf's absolute
    tolerance.
    """
    if isinstance(produced, Mapping):
        expected = expected if isinstance(expected, Mapping) else {}
        for key, value in produced.items():
            child = f"{name}.{key}" if name else str(key)
            if key in expected:
                compare_tree(report, child, value, expected[key], tolerance)
            else:
                report.produced_only.append(child)
        for key in expected:
            if key not in produced:
                child = f"{name}.{key}" if name else str(key)
                report.add_exact(child, False, "expected in the fixture, not produced by the model")
        return
    report.add_tensor(name, produced.detach().float(), expected.float(), tolerance(name))


#: the default score tolerance and mask pixels allowed to flip per result of `compare_results`
SCORE_TOLERANCE = 1e-5
FLIPPED_PIXELS = 8


def _results_by_track(results: Mapping[str, Any]) -> dict[tuple[int, int], tuple[float, list]]:
    """(track or query id, label) -> (score, RLEs), in the results' order."""
    return {
        (int(q), int(label)): (float(score), rles)
        for q, label, score, rles in zip(
            results["pred_ids"],
            results["pred_labels"],
            results["pred_scores"],
            results["pred_masks_rle"],
            strict=True,
        )
    }


def _flipped_pixels(mine: list, theirs: list) -> int:
    return sum(
        int((decode(a).astype(bool) != decode(b).astype(bool)).sum())
        for a, b in zip(mine, theirs, strict=True)
    )


def compare_results(
    report: ParityReport,
    name: str,
    produced: Mapping[str, Any],
    expected: Mapping[str, Any],
    exact: bool = False,
    ordered: bool = False,
) -> None:
    """A video's final results against the expected ones (`pred_ids`, `pred_labels`,
    `pred_scores`, `pred_masks_rle`): the same (id, label) pairs as a set, and in the same order
    where `ordered` (a top-k whose order the method keeps); scores identical (`exact`) or within
    `SCORE_TOLERANCE`; RLEs identical (`exact`) or at most `FLIPPED_PIXELS` pixels apart per
    result (a mask logit within float noise of 0 may land on either side)."""
    mine, theirs = _results_by_track(produced), _results_by_track(expected)
    same = sorted(mine) == sorted(theirs) and len(mine) == len(produced["pred_ids"])
    report.add_exact(f"{name}.pred_ids and pred_labels (as a set)", same, f"{len(theirs)} results")
    if not same:
        return
    if ordered:
        report.add_exact(f"{name}.order (topk sorted=False)", list(mine) == list(theirs))
    diff = max(abs(mine[k][0] - theirs[k][0]) for k in theirs)
    tolerance = 0.0 if exact else SCORE_TOLERANCE
    report.add_exact(
        f"{name}.pred_scores", diff <= tolerance, f"max |diff| {diff:.1e} (tol {tolerance:.0e})"
    )
    if exact:
        rles = all(
            [r["counts"] for r in mine[k][1]] == [r["counts"] for r in theirs[k][1]] for k in theirs
        )
        report.add_exact(f"{name}.pred_masks_rle", rles, "RLE of every result and frame")
        return
    flips = max(_flipped_pixels(mine[k][1], theirs[k][1]) for k in theirs)
    report.add_exact(
        f"{name}.pred_masks",
        flips <= FLIPPED_PIXELS,
        f"at most {flips} pixels differ per result (allowed {FLIPPED_PIXELS})",
    )


def tracks_as_fixture_results(encoded: EncodedFrames, tracks: list, length: int) -> dict[str, Any]:
    """What the harness wrote for a video (its linker's tracks, `EncodedFrames`' RLEs) in the
    layout of a query-tracking fixture's `final`, ready for `compare_results`."""

    post = TrackPostprocessing(track_predictions=lambda track: track.predictions)
    entries = encoded.results(tracks, 0, length, post)
    return {
        "pred_scores": torch.tensor([e["score"] for e in entries]),
        "pred_labels": torch.tensor([e["category_id"] - 1 for e in entries]),
        "pred_ids": torch.tensor([track.track_id for track in tracks]),
        "pred_masks_rle": [e["segmentations"] for e in entries],
    }

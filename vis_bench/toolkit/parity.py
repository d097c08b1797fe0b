"""Parity against golden fixtures made by running the authors' code: "does my install reproduce it?".

A method declares a `ParityReference` in its spec: a function `run(fixture_dir, out_path)` that
builds the model from the fixture's meta.json, runs it on the stored inputs, writes what it
produced to `out_path` (when given) and fills a `ParityReport`. The helpers here are what every
method's parity uses: comparing nested outputs leaf by leaf with per-leaf tolerances, capturing
intermediate outputs with forward hooks (no instrumentation inside a forward pass), and the rule
that a report passes only when something was compared: a fixture without expected outputs, or an
expected output the model did not produce, is a failure that names the files or outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vis_bench.atomic import atomic_file
from vis_bench.errors import InputError
from vis_bench.toolkit.finalise import EncodedFrames, TrackPostprocessing


@dataclass
class ParityCheck:
    """One compared quantity: its max absolute difference (or an exact-equality verdict)."""

    name: str
    max_abs_diff: float | None
    tolerance: float | None
    passed: bool
    detail: str = ""
    #: structural checks (key sets, counts) do not count as a comparison of outputs
    structural: bool = False


@dataclass
class ParityReport:
    method: str
    fixture: str
    checks: list[ParityCheck] = field(default_factory=list)
    #: quantities produced but not compared because the fixture holds no expected value
    produced_only: list[str] = field(default_factory=list)
    #: expected-output files the fixture lacks
    missing_files: list[str] = field(default_factory=list)

    @property
    def compared(self) -> int:
        """How many produced outputs were compared with an expected value."""
        return sum(not check.structural for check in self.checks)

    @property
    def passed(self) -> bool:
        """Every check passed, at least one output was compared and no expected-output file
        was missing (a fixture that lost a file must not pass on what is left)."""
        return (
            self.compared > 0
            and not self.missing_files
            and all(check.passed for check in self.checks)
        )

    def add_tensor(
        self, name: str, produced: torch.Tensor, expected: torch.Tensor, atol: float
    ) -> ParityCheck:
        """Compare two tensors with an absolute tolerance (rtol 0); shapes must match exactly."""
        if tuple(produced.shape) != tuple(expected.shape):
            check = ParityCheck(
                name,
                None,
                atol,
                False,
                f"shape {tuple(produced.shape)} != expected {tuple(expected.shape)}",
            )
        else:
            if not expected.numel():
                # equal empty shapes are right (e.g. the first clip has no tracks to match) but
                # compare no value: structural, so a report of empty tensors alone never passes
                check = ParityCheck(
                    name, None, atol, True, "empty tensor: shapes compared, no values", True
                )
            else:
                diff = (produced.double() - expected.double()).abs()
                max_diff = float(diff.max())
                check = ParityCheck(name, max_diff, atol, bool(max_diff <= atol))
        self.checks.append(check)
        return check

    def add_exact(
        self, name: str, equal: bool, detail: str = "", structural: bool = False
    ) -> ParityCheck:
        check = ParityCheck(name, None, None, bool(equal), detail, structural)
        self.checks.append(check)
        return check

    def expect_files(self, fixture_dir: Path, names: tuple[str, ...]) -> list[str]:
        """Note which expected-output files are missing; returns the present ones."""
        present = [n for n in names if (fixture_dir / n).is_file()]
        self.missing_files += [n for n in names if n not in present]
        return present

    def to_json(self) -> dict[str, object]:
        """The report as data (`parity --json`; the docs quote the maxima from it)."""
        return {
            "method": self.method,
            "fixture": self.fixture,
            "passed": self.passed,
            "compared": self.compared,
            "checks": [dataclasses.asdict(c) for c in self.checks],
            "produced_only": list(self.produced_only),
            "missing_files": list(self.missing_files),
        }

    def format(self) -> str:
        """A plain-text table of every check, then the verdict."""
        lines = [f"parity of {self.method} against {self.fixture}"]
        width = max([len(c.name) for c in self.checks] + [8])
        for c in self.checks:
            status = "ok" if c.passed else "MISMATCH"
            if c.max_abs_diff is not None:
                value = f"max |diff| {c.max_abs_diff:.3e} (tol {c.tolerance:.0e})"
            else:
                value = "identical" if c.passed else "different"
            extra = f"  {c.detail}" if c.detail else ""
            lines.append(f"  {c.name:<{width}}  {value:<36} {status}{extra}")
        if self.produced_only:
            lines.append(
                "  produced, no expected value in the fixture: " + ", ".join(self.produced_only)
            )
        if self.missing_files:
            lines.append("  expected-output files missing: " + ", ".join(self.missing_files))
        if self.compared == 0:
            missing = ", ".join(self.missing_files) or "every expected output"
            lines.append(f"  nothing to compare: {missing} missing")
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


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


@contextlib.contextmanager
def captured_outputs(
    model: torch.nn.Module,
    modules: Mapping[str, str],
    inputs: Mapping[str, str | tuple[str, int]] | None = None,
) -> Iterator[dict[str, list[Any]]]:
    """Forward hooks recording what the named sub-modules return, call by call.

    `modules` maps a label to a dotted sub-module path; the yielded dict maps each label to the
    list of that module's outputs during the `with` block. `inputs` does the same for a
    module's positional input: a path alone means the first, `(path, i)` the i-th (a value
    computed by code that is not a module call and handed to one, e.g. a fused kernel's
    output). Hooks are removed on exit, so the forward itself carries no parity flag.
    """
    inputs = inputs or {}
    captured: dict[str, list[Any]] = {label: [] for label in (*modules, *inputs)}
    handles = []
    try:
        for label, path in modules.items():
            module = model.get_submodule(path)
            handles.append(
                module.register_forward_hook(
                    lambda _m, _args, output, label=label: captured[label].append(output)
                )
            )
        for label, where in inputs.items():
            path, index = (where, 0) if isinstance(where, str) else where
            module = model.get_submodule(path)
            handles.append(
                module.register_forward_pre_hook(
                    lambda _m, args, label=label, index=index: captured[label].append(args[index])
                )
            )
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def load_fixture_file(path: Path) -> Any:
    """A fixture's `.pt` file (weights only, on CPU)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_fixture_weights(
    report: ParityReport,
    model: torch.nn.Module,
    path: Path,
    *,
    check_order: bool = False,
    check_name: str = "state_dict keys",
) -> dict[str, torch.Tensor]:
    """Load a fixture's state dict into `model`; one structural check says whether keys match.

    Every parity module loads its weights here, so a renamed, missing or extra key is reported
    the same way for every method (counts and the first names of each kind) instead of each
    module checking keys its own way. Floating tensors load as float32 (fixtures store float16).
    `check_order` also requires the fixture's key order (the authors' module order). A tensor
    whose shape does not fit the built model is an input error. Returns the loaded tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("fixture file missing", path=str(path))
    stored = load_fixture_file(path)
    state = {k: v.float() if v.is_floating_point() else v for k, v in stored.items()}
    try:
        load = model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise InputError(f"weights do not fit the built model: {err}", path=str(path)) from err
    problems = []
    if load.missing_keys:
        problems.append(f"{len(load.missing_keys)} missing {load.missing_keys[:5]}")
    if load.unexpected_keys:
        problems.append(f"{len(load.unexpected_keys)} unexpected {load.unexpected_keys[:5]}")
    if check_order and not problems:
        own = list(model.state_dict())
        moved = [a for a, b in zip(state, own, strict=False) if a != b]
        if moved:
            problems.append(f"same keys in another order; first differences: {moved[:3]}")
    report.add_exact(check_name, not problems, "; ".join(problems), structural=True)
    return state


def save_produced(obj: Any, path: Path | None) -> None:
    """Write what the model produced (atomically), when asked to."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)


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
    from vis_bench.formats.rle import decode

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

"""The check of a training stage's starting file, for methods trained in stages (the DVIS
families): the previous stage's file may lack only what this stage trains from scratch."""

from __future__ import annotations

from vis_bench.api import InputError
from vis_bench.api.checkpoints import CheckpointError, LoadReport


def check_stage_start(report: LoadReport, new: tuple[str, ...], stage: str, path: str) -> None:
    """Refuse a start whose file misses more than the keys under `new` (what `stage` trains
    from scratch and what comes after it), or has unexpected or mis-shaped tensors; the
    report's missing keys become those that count."""
    missing = [k for k in report.missing if not k.startswith(new)]
    if missing or report.unexpected or report.mismatched:
        report.missing = missing
        problems = "\n  ".join(report.problems())
        raise CheckpointError(f"cannot start the {stage} stage from it:\n  {problems}", path=path)


def check_stage_trained(method: str, stages: tuple[str, ...], stage: str) -> None:
    """A method trains only the stages its model has the parts for (`train_stage`)."""
    if stage not in stages:
        raise InputError(
            f"{method} trains the stages {list(stages)}, not {stage!r}", field="train_stage"
        )

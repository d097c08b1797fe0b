"""The MS-STS release's parity: its fixture (made with the MS-STS repository) through SeqFormer's
procedure, the release's model built as its code builds it."""

from __future__ import annotations

from pathlib import Path

from vis_bench.methods.families.seqformer.parity import run_parity
from vis_bench.methods.mssts.release import build_release
from vis_bench.parity import ParityReport


def run_release_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """The release fixture through SeqFormer's procedure (`parity --method mssts-release`)."""
    return run_parity(fixture_dir, out_path, method="mssts-release", build_model=build_release)

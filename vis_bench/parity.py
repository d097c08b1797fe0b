"""Parity against golden fixtures made by running the authors' code: "does my install reproduce it?".

A method plugin that supports parity exposes a classmethod
`run_parity(fixture_dir: Path, out_path: Path | None) -> ParityReport`. It builds the model from the
fixture's meta.json, runs it on the stored inputs, writes what it produced to `out_path` (when given)
and fills the report with one `ParityCheck` per compared quantity. The `parity` command prints the
report and exits 1 on any mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ParityCheck:
    """One compared quantity: its max absolute difference (or an exact-equality verdict)."""

    name: str
    max_abs_diff: float | None
    tolerance: float | None
    passed: bool
    detail: str = ""


@dataclass
class ParityReport:
    method: str
    fixture: str
    checks: list[ParityCheck] = field(default_factory=list)
    #: quantities produced but not compared because the fixture holds no expected value
    produced_only: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

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
            diff = (produced.double() - expected.double()).abs()
            max_diff = float(diff.max()) if diff.numel() else 0.0
            check = ParityCheck(name, max_diff, atol, bool(max_diff <= atol))
        self.checks.append(check)
        return check

    def add_exact(self, name: str, equal: bool, detail: str = "") -> ParityCheck:
        check = ParityCheck(name, None, None, bool(equal), detail)
        self.checks.append(check)
        return check

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
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)

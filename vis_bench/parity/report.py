"""A parity run's verdict: every compared quantity, and the rule that a report passes only when
something was compared.

A fixture without expected outputs, or an expected output the model did not produce, is a failure
that names the files or outputs: a check that compared nothing must not pass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch


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

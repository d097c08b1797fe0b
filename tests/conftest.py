"""Shared test fixtures: where the golden data lives and how to skip when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
GOLDEN = SHARED / "golden"


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """../shared/golden beside the clone (CI always has it)."""
    if not GOLDEN.is_dir():
        pytest.fail(f"golden fixtures not found at {GOLDEN}: clone vis-bench next to shared/")
    return GOLDEN


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run much faster on one thread on a shared, busy CPU (opt in per module)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

"""Shared test fixtures: where the golden data lives, and the opt-in single-thread fixture."""

from __future__ import annotations

import os
from pathlib import Path

# The fast tier runs in two pytest-xdist workers (pyproject's addopts) that inherit this: a test
# running torch on two threads shares the cores with the other worker, and OpenMP threads that
# spin while waiting would make it several times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
#: the vendored copy of the public golden fixtures: every test reads these
GOLDEN = REPO_ROOT / "tests" / "fixtures" / "golden"
#: the team's upstream copy, used only to check that the vendored one is current
SHARED = Path(os.environ.get("VIS_BENCH_SHARED", REPO_ROOT.parent / "shared"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `heavy` first: pytest-xdist hands tests out in collection order, and a
    test of minutes started last keeps one worker busy long after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    """tests/fixtures/golden: the public fixtures made with the authors' code."""
    if not GOLDEN.is_dir():
        pytest.fail(f"vendored golden fixtures missing at {GOLDEN}: is the checkout complete?")
    return GOLDEN


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run much faster on one thread on a shared, busy CPU (opt in per module)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

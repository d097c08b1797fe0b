"""Run by tests/test_distributed.py under torchrun: `run_bench.py run` with the toy method.

Usage: dist_sweep_script.py CONFIG RUN_DIR SHARD. With FAIL_ON_RANK=r, rank r's method fails to
build (a rank-local error, like a broken GPU).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.helpers.toy_method as toy  # noqa: E402
from vis_bench.cli import main  # noqa: E402


def _fail_here(cls, cfg=None):
    raise RuntimeError(f"rank {os.environ['RANK']} exploded")


if __name__ == "__main__":
    config, run_dir, shard = sys.argv[1:4]
    if os.environ.get("FAIL_ON_RANK") == os.environ.get("RANK"):
        toy.ToyPlugin.build = classmethod(_fail_here)
    sys.exit(main(["run", "--config", config, "--run-dir", run_dir, "--shard", shard]))

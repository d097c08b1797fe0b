"""Run by tests/test_distributed.py under torchrun: `run_bench.py run` with the toy method.

Usage: dist_sweep_script.py CONFIG RUN_DIR SHARD. With VIS_BENCH_TOY_FAIL_ON_RANK=r, rank r's
method fails to build in its worker (a rank-local error, like a broken GPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.helpers.toy_method  # noqa: E402, F401  (registers "toy")
from vis_bench.cli import main  # noqa: E402

if __name__ == "__main__":
    config, run_dir, shard = sys.argv[1:4]
    sys.exit(main(["run", "--config", config, "--run-dir", run_dir, "--shard", shard]))

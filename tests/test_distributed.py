"""Sweeps under torchrun (gloo on CPU): same predictions as one process; failures do not hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers.quick_rounds import QUICK_ROUNDS
from vis_bench.distributed import shard_by_frames
from vis_bench.records.store import read_records

SCRIPT = Path(__file__).with_name("dist_sweep_script.py")
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class V:
    id: int
    length: int


def test_shards_balance_frames_and_keep_order():
    videos = [V(1, 30), V(2, 10), V(3, 10), V(4, 10), V(5, 20), V(6, 5)]
    shards = shard_by_frames(videos, 2)
    loads = [sum(v.length for v in s) for s in shards]
    assert sorted(loads) == [40, 45]  # longest-first greedy
    for shard in shards:
        assert [v.id for v in shard] == sorted(v.id for v in shard)
    assert sorted(v.id for s in shards for v in s) == [1, 2, 3, 4, 5, 6]
    assert shard_by_frames(videos, 1) == [videos]


@pytest.fixture()
def tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "dist",
                "dataset": {
                    "kind": "synthetic",
                    "videos": 5,
                    "seed": 5,
                    "min_frames": 3,
                    "max_frames": 8,
                    "cache_dir": str(tmp_path / "cache"),
                },
                "methods": [{"name": "toy"}],
                "sweep": {"clip_length": ["all", 3], "resolution": [48]},
                "measure": {**QUICK_ROUNDS, "warmup": 0, "repeats": 1, "flops": False},
            }
        )
    )
    return path


def torchrun(
    nproc: int, config: Path, run_dir: Path, mode: str = "videos", env: dict | None = None
):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(SCRIPT),
        str(config),
        str(run_dir),
        mode,
    ]
    full_env = {**os.environ, "VIS_BENCH_DIST_TIMEOUT": "60", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        command, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=240
    )


def results_of(run_dir: Path) -> dict[str, list]:
    out = {}
    for record in read_records(run_dir):
        results = json.loads(Path(record["results_path"]).read_text())
        out[str(record["clip_length"])] = sorted(json.dumps(r, sort_keys=True) for r in results)
    return out


@pytest.mark.slow
@pytest.mark.heavy
def test_two_processes_match_one(tmp_path, tiny_config):
    one, two = tmp_path / "one", tmp_path / "two"
    first = torchrun(1, tiny_config, one)
    assert first.returncode == 0, first.stderr[-3000:]
    second = torchrun(2, tiny_config, two)
    assert second.returncode == 0, second.stderr[-3000:]
    assert results_of(one) == results_of(two)
    rec_one = {str(r["clip_length"]): r for r in read_records(one)}
    rec_two = {str(r["clip_length"]): r for r in read_records(two)}
    assert set(rec_two) == {"all", "3"}
    for key, record in rec_two.items():
        assert record["status"] == "ok"
        assert record["world_size"] == 2
        for metric in ("AP", "AP50", "AP75", "AR1", "AR10"):
            assert record[metric] == rec_one[key][metric]
        assert record["num_frames"] == rec_one[key]["num_frames"]
        assert record["num_videos"] == 5


@pytest.mark.slow
def test_a_failing_rank_fails_the_cell_everywhere_without_hanging(tmp_path, tiny_config):
    run = torchrun(2, tiny_config, tmp_path / "run", env={"VIS_BENCH_TOY_FAIL_ON_RANK": "1"})
    assert run.returncode == 1, run.stderr[-3000:]  # every cell failed
    records = read_records(tmp_path / "run")
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert all("rank 1 failed" in r["error"] and "rank 1 exploded" in r["error"] for r in records)


@pytest.mark.slow
def test_cells_mode_spreads_cells_over_ranks(tmp_path, tiny_config):
    run = torchrun(2, tiny_config, tmp_path / "run", mode="cells")
    assert run.returncode == 0, run.stderr[-3000:]
    records = read_records(tmp_path / "run")
    assert sorted(str(r["clip_length"]) for r in records) == ["3", "all"]
    assert all(r["status"] == "ok" for r in records)

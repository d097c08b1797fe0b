"""Running a sweep over several processes with torch.distributed (launched by torchrun).

Two ways to spread work, both with the single-process resume rules:

- `videos` (default): every cell's videos are sharded over the ranks, balanced by frame count;
  each rank predicts its share on its own device (GPU i on local rank i, or CPU with gloo), the
  predictions are gathered on rank 0, which evaluates and writes the record. The metric is
  identical to a single-process run because the gathered results are put back in video order.
- `cells`: each rank runs whole cells (cell i on rank i mod world size) and appends its own
  records; no collective is needed, so a dying rank leaves every finished cell intact.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from vis_bench.errors import VisBenchError

DEFAULT_TIMEOUT_S = 1800


class RankFailedError(VisBenchError):
    """Another rank (or this one) failed a collective step; carries that rank's error text."""


@dataclass
class DistContext:
    """This process's place in the group."""

    rank: int
    world_size: int
    local_rank: int
    mode: str = "videos"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def shards_videos(self) -> bool:
        return self.world_size > 1 and self.mode == "videos"

    def device_for(self, device: str) -> str:
        """`cuda` on rank i means that node's GPU `local_rank`; CPU stays CPU."""
        if device.startswith("cuda") and self.world_size > 1:
            return f"cuda:{self.local_rank}"
        return device

    def all_gather(self, obj: Any) -> list[Any]:
        if self.world_size == 1:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.world_size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def check_all(self, error: str | None) -> None:
        """Every rank says whether its step failed; all raise the first failing rank's error.

        Called after each rank's local work in a collective step, so one rank raising never
        leaves the others waiting forever in the next collective.
        """
        errors = self.all_gather(error)
        for rank, message in enumerate(errors):
            if message is not None:
                raise RankFailedError(f"rank {rank} failed: {message}")


def single_process() -> DistContext:
    return DistContext(rank=0, world_size=1, local_rank=0)


def init_from_env(device: str = "cpu", mode: str = "videos") -> DistContext:
    """Join the process group torchrun describes in the environment (or run alone)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return single_process()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if mode not in ("videos", "cells"):
        raise VisBenchError(f"unknown sharding mode {mode!r}; use 'videos' or 'cells'")
    if not dist.is_initialized():
        use_nccl = device.startswith("cuda") and torch.cuda.is_available()
        if use_nccl:
            torch.cuda.set_device(local_rank)
        timeout = float(os.environ.get("VIS_BENCH_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
        dist.init_process_group(
            backend="gloo" if not use_nccl else "nccl",
            timeout=datetime.timedelta(seconds=timeout),
        )
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, mode=mode)


def shard_by_frames(videos: list[Any], world_size: int) -> list[list[Any]]:
    """Split videos over ranks so each gets about the same number of frames.

    Longest video first onto the least-loaded rank (ties to the lower rank); each shard keeps
    the dataset's video order. Deterministic, so every rank computes the same split.
    """
    loads = [0] * world_size
    owner: dict[int, int] = {}
    order = sorted(range(len(videos)), key=lambda i: (-int(videos[i].length), i))
    for i in order:
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        owner[i] = rank
        loads[rank] += int(videos[i].length)
    return [[v for i, v in enumerate(videos) if owner[i] == r] for r in range(world_size)]


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

"""What a number was measured on: versions, threads, CPU, GPU (via NVML when present), commit."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(repo: str | Path | None = None) -> str | None:
    """The checkout's commit (with '-dirty' when it has local changes), or None outside git."""
    cwd = Path(repo) if repo else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def gpu_info(device: str) -> dict[str, Any]:
    """GPU name, driver and power limit through nvidia-ml-py; empty when there is no GPU."""
    if not (device.startswith("cuda") and torch.cuda.is_available()):
        return {}
    index = torch.device(device).index or 0
    info: dict[str, Any] = {"gpu_name": torch.cuda.get_device_name(index)}
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            info["driver"] = pynvml.nvmlSystemGetDriverVersion()
            info["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # NVML missing or not permitted: the name from torch is still useful
        pass
    return info


def environment(device: str = "cpu") -> dict[str, Any]:
    """Everything a record needs to say where it was measured."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }
    env.update(gpu_info(device))
    return env

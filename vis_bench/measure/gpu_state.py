"""What a GPU was doing around a timed round: its clocks, temperature, throttling and the other
processes on it, read through NVML.

A GPU shared with a training job, or one that has clocked down when hot or power-capped, gives a
lower FPS for reasons that have nothing to do with the method. The reference workload
(reference.py) shows that the device was slower; these readings say why, where NVML can tell.
"""

from __future__ import annotations

import os
from typing import Any


def _optional(call: Any, *args: Any) -> Any:
    """An NVML query that a driver or a GPU may not support: None then."""
    try:
        return call(*args)
    except Exception:  # NVMLError_NotSupported and kin, or a name this nvml-py lacks
        return None


def nvml_state(nvml: Any, handle: Any, own_pid: int | None = None) -> dict[str, Any]:
    """The device's state now: SM and memory clocks against their maxima (MHz), temperature (C),
    enforced power limit (W), the active throttle reasons (a bit mask) and the compute processes
    other than this one (their count and memory)."""
    own_pid = os.getpid() if own_pid is None else own_pid
    sm, mem = nvml.NVML_CLOCK_SM, nvml.NVML_CLOCK_MEM
    limit = _optional(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    throttle = getattr(nvml, "nvmlDeviceGetCurrentClocksThrottleReasons", None)
    processes = _optional(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or []
    others = [p for p in processes if int(getattr(p, "pid", -1)) != own_pid]
    used = [getattr(p, "usedGpuMemory", None) for p in others]
    return {
        "sm_clock_mhz": _optional(nvml.nvmlDeviceGetClockInfo, handle, sm),
        "sm_clock_max_mhz": _optional(nvml.nvmlDeviceGetMaxClockInfo, handle, sm),
        "memory_clock_mhz": _optional(nvml.nvmlDeviceGetClockInfo, handle, mem),
        "temperature_c": _optional(
            nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU
        ),
        "power_limit_w": None if limit is None else limit / 1000,
        "throttle_reasons": None if throttle is None else _optional(throttle, handle),
        "other_processes": len(others),
        "other_processes_mib": sum(u for u in used if u) / 2**20 if any(used) else 0.0,
    }


def device_state(device: str) -> dict[str, Any]:
    """`nvml_state` of the cell's CUDA device ({} on a CPU; the reason where NVML is missing)."""
    import torch

    from vis_bench.measure.environment import nvml_handle

    if not (device.startswith("cuda") and torch.cuda.is_available()):
        return {}
    props = torch.cuda.get_device_properties(torch.device(device).index or 0)
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return nvml_state(pynvml, nvml_handle(pynvml, props))
        finally:
            pynvml.nvmlShutdown()
    except Exception as err:  # NVML missing or not permitted: the reference still says enough
        return {"nvml": f"unavailable ({type(err).__name__})"}

"""What a number was measured on: versions, threads, CPU, GPU (via NVML when present), commit."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from vis_bench.measure.provenance import code_state, commit_label, cpu_model


def git_commit(repo: str | Path | None = None) -> str | None:
    """The checkout's full commit, with '-dirty' when its code differs from it (outputs such as
    results/ do not count: see `provenance.code_state`), or None outside git."""
    return commit_label(code_state(repo))


def nvml_handle(pynvml, props) -> object:
    """The NVML handle of the device torch calls `props`: by UUID, else by PCI bus id.

    Never by CUDA index: under CUDA_VISIBLE_DEVICES torch's index 0 can be NVML's index 3.
    """
    uuid = getattr(props, "uuid", None)
    if uuid is not None:
        text = str(uuid)
        return pynvml.nvmlDeviceGetHandleByUUID(text if text.startswith("GPU-") else f"GPU-{text}")
    bus = getattr(props, "pci_bus_id", None)
    if bus is None:
        raise LookupError("torch reports neither the UUID nor the PCI bus id of the device")
    pci = f"{getattr(props, 'pci_domain_id', 0):08X}:{bus:02X}:{props.pci_device_id:02X}.0"
    return pynvml.nvmlDeviceGetHandleByPciBusId(pci)


def gpu_info(device: str) -> dict[str, Any]:
    """GPU name (torch), and driver, power limit and identity through nvidia-ml-py."""
    if not (device.startswith("cuda") and torch.cuda.is_available()):
        return {}
    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    info: dict[str, Any] = {"gpu_name": props.name}
    if getattr(props, "uuid", None) is not None:
        info["gpu_uuid"] = str(props.uuid)
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = nvml_handle(pynvml, props)
            info["driver"] = pynvml.nvmlSystemGetDriverVersion()
            info["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1000
            info["gpu_pci_bus_id"] = pynvml.nvmlDeviceGetPciInfo(handle).busId
        finally:
            pynvml.nvmlShutdown()
    except Exception as err:  # NVML missing or not permitted: the name from torch is still useful
        info["nvml"] = f"unavailable ({type(err).__name__})"
    return info


def environment(device: str = "cpu", code: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a record needs to say where it was measured; `code` is a code state already
    read (a provenance block), so a caller that has one runs git once."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "git_commit": commit_label(code) if code is not None else git_commit(),
    }
    env.update(gpu_info(device))
    return env

"""Energy of a timed region, where the machine can tell: joules, and joules per frame.

FPS ignores what a frame costs in power. On a GPU the NVML total-energy counter is read before and
after the region. GPUs without that counter are sampled for power on a thread, and the samples
are integrated. On a CPU the kernel's powercap (RAPL) package counters are read where they are
readable, with their wrap-around handled. Anywhere else the reading says "not available here" and
why, and never gives a number it does not have.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POWERCAP = Path("/sys/class/powercap")
#: seconds between power samples where NVML has no energy counter
SAMPLE_INTERVAL_S = 0.02


@dataclass(frozen=True)
class EnergyReading:
    """Joules over the region (None where the machine cannot tell), how they were read, and why
    not where they were not."""

    joules: float | None
    source: str
    note: str = ""

    def per_frame(self, frames: int) -> float | None:
        return None if self.joules is None or frames <= 0 else self.joules / frames

    def as_dict(self, frames: int) -> dict[str, Any]:
        return {
            "joules": self.joules,
            "joules_per_frame": self.per_frame(frames),
            "source": self.source,
            "note": self.note,
        }


def _package_zones(root: Path) -> list[Path]:
    """Top-level powercap zones (one per CPU package: `intel-rapl:0`, not `intel-rapl:0:0`)."""
    if not root.is_dir():
        return []
    return sorted(
        z for z in root.iterdir() if z.name.count(":") == 1 and (z / "energy_uj").exists()
    )


class _PowercapCounter:
    def __init__(self, zones: list[Path]):
        self.zones = zones
        self.ranges = [int((z / "max_energy_range_uj").read_text()) for z in zones]
        self.start = self._read()

    def _read(self) -> list[int]:
        return [int((z / "energy_uj").read_text()) for z in self.zones]

    def joules(self) -> float:
        total = 0
        for before, after, span in zip(self.start, self._read(), self.ranges, strict=True):
            total += after - before if after >= before else after + span - before
        return total / 1e6


class _NvmlCounter:
    """The device's total-energy counter (millijoules since the driver loaded)."""

    def __init__(self, nvml: Any, handle: Any):
        self.nvml, self.handle = nvml, handle
        self.start = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)

    def joules(self) -> float:
        return (self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) - self.start) / 1e3


class _NvmlPowerSampler:
    """Power samples (milliwatts) on a thread, integrated with the trapezoid rule."""

    def __init__(self, nvml: Any, handle: Any, interval_s: float):
        self.nvml, self.handle, self.interval_s = nvml, handle, interval_s
        self.samples: list[tuple[float, float]] = [self._sample()]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self) -> tuple[float, float]:
        return time.perf_counter(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append(self._sample())

    def joules(self) -> float:
        self._stop.set()
        self._thread.join()
        self.samples.append(self._sample())
        return sum(
            (t1 - t0) * (w0 + w1) / 2
            for (t0, w0), (t1, w1) in zip(self.samples, self.samples[1:], strict=False)
        )


class EnergyMeter:
    """`with EnergyMeter(device) as meter: ...` then `meter.reading`.

    `nvml` is the nvidia-ml-py module (a stand-in in tests); `handle_of` maps it and the device
    to an NVML handle (environment.nvml_handle by default).
    """

    def __init__(
        self,
        device: str,
        nvml: Any = None,
        handle_of: Any = None,
        powercap: Path = POWERCAP,
        interval_s: float = SAMPLE_INTERVAL_S,
    ):
        self.device, self.nvml, self.handle_of = device, nvml, handle_of
        self.powercap, self.interval_s = powercap, interval_s
        self.reading = EnergyReading(None, "none", "not measured yet")
        self._counter: Any = None
        self._source = "none"

    def __enter__(self) -> EnergyMeter:
        try:
            if self.device.startswith("cuda"):
                self._start_nvml()
            else:
                self._start_powercap()
        except _Unavailable as why:
            self.reading = EnergyReading(None, "none", f"not available here: {why}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._counter is not None:
            self.reading = EnergyReading(self._counter.joules(), self._source)
            self._counter = None

    def _start_powercap(self) -> None:
        zones = _package_zones(self.powercap)
        if not zones:
            raise _Unavailable(f"no powercap package zone under {self.powercap} (no RAPL)")
        try:
            self._counter = _PowercapCounter(zones)
        except (PermissionError, OSError) as err:
            raise _Unavailable(
                f"{err.filename or zones[0]} is not readable ({type(err).__name__}; the kernel "
                "lets only root read RAPL counters)"
            ) from None
        self._source = "powercap " + ", ".join(z.name for z in zones)

    def _start_nvml(self) -> None:
        nvml, handle = self._nvml_handle()
        try:
            self._counter = _NvmlCounter(nvml, handle)
            self._source = "nvml total energy counter"
        except Exception:  # noqa: BLE001 - a GPU without the counter: sample its power instead
            self._counter = _NvmlPowerSampler(nvml, handle, self.interval_s)
            self._source = f"nvml power samples every {self.interval_s * 1e3:g} ms"

    def _nvml_handle(self) -> tuple[Any, Any]:
        try:
            nvml = self.nvml
            if nvml is None:
                import pynvml as nvml
            nvml.nvmlInit()
            if self.handle_of is not None:
                return nvml, self.handle_of(nvml, self.device)
            import torch

            from vis_bench.measure.environment import nvml_handle

            index = torch.device(self.device).index or 0
            return nvml, nvml_handle(nvml, torch.cuda.get_device_properties(index))
        except Exception as err:  # noqa: BLE001 - no NVML, no permission, no device
            raise _Unavailable(f"NVML cannot be read ({type(err).__name__}: {err})") from None


class _Unavailable(Exception):
    """Why energy cannot be read on this machine."""

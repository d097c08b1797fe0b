"""Energy readings: NVML's counter or power samples on a GPU, powercap on a CPU, else a reason."""

from __future__ import annotations

import pytest

from vis_bench.measure.energy import EnergyMeter


class FakeNvml:
    """nvidia-ml-py's calls the meter makes, on a counter that advances by `step_mj` a read."""

    class NVMLError(Exception):
        pass

    def __init__(self, step_mj=2500, counter=True, power_mw=100_000):
        self.energy_mj, self.step_mj, self.counter, self.power_mw = (
            1_000_000,
            step_mj,
            counter,
            power_mw,
        )

    def nvmlInit(self):
        pass

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.counter:
            raise self.NVMLError("Not Supported")
        self.energy_mj += self.step_mj
        return self.energy_mj

    def nvmlDeviceGetPowerUsage(self, handle):
        return self.power_mw


def _handle(nvml, device):
    return "gpu0"


def test_nvml_energy_counter_difference_in_joules():
    with EnergyMeter("cuda:0", nvml=FakeNvml(), handle_of=_handle) as meter:
        pass
    assert meter.reading.joules == pytest.approx(2.5)  # one step of 2500 mJ between the reads
    assert meter.reading.source == "nvml total energy counter"
    assert meter.reading.per_frame(10) == pytest.approx(0.25)


def test_nvml_without_a_counter_integrates_power_samples():
    import time

    with EnergyMeter(
        "cuda", nvml=FakeNvml(counter=False), handle_of=_handle, interval_s=0.005
    ) as m:
        start = time.perf_counter()
        time.sleep(0.05)
        elapsed = time.perf_counter() - start
    # 100 W over the region: about 100 J/s times its length (the samples bracket the region)
    assert m.reading.joules == pytest.approx(100 * elapsed, rel=0.5)
    assert m.reading.source.startswith("nvml power samples")


def test_no_nvml_says_why():
    def broken(nvml, device):
        raise RuntimeError("driver not loaded")

    with EnergyMeter("cuda", nvml=FakeNvml(), handle_of=broken) as meter:
        pass
    assert meter.reading.joules is None and "driver not loaded" in meter.reading.note
    assert meter.reading.as_dict(5)["joules_per_frame"] is None


def _zone(root, name, values, span=10_000_000):
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(str(values))
    (zone / "max_energy_range_uj").write_text(str(span))
    return zone


def test_powercap_packages_summed_with_wraparound(tmp_path):
    a = _zone(tmp_path, "intel-rapl:0", 9_000_000)
    b = _zone(tmp_path, "intel-rapl:1", 100)
    _zone(tmp_path, "intel-rapl:0:0", 5)  # a sub-zone: already inside package 0
    with EnergyMeter("cpu", powercap=tmp_path) as meter:
        (a / "energy_uj").write_text("1_000_000".replace("_", ""))  # wrapped: +2 J
        (b / "energy_uj").write_text(str(100 + 500_000))  # +0.5 J
    assert meter.reading.joules == pytest.approx(2.5)
    assert meter.reading.source == "powercap intel-rapl:0, intel-rapl:1"


def test_cpu_without_powercap_is_not_a_number(tmp_path):
    with EnergyMeter("cpu", powercap=tmp_path / "absent") as meter:
        pass
    assert meter.reading.joules is None and meter.reading.note.startswith("not available here")

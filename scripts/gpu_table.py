"""The Python steps of scripts/gpu_table.sh (the GPU table, docs/gpu_table.md).

    python scripts/gpu_table.py machine --json OUT/machine.json [--dry-run] [--allow-dirty]
    python scripts/gpu_table.py kernel-tests --json OUT/kernel_tests.json [--dry-run]
    python scripts/gpu_table.py sweep-overrides CONFIG [--dry-run]

`machine` writes what the table was measured on (GPU, driver, CUDA, torch, and through NVML the
power limit and clocks) and builds the kernels first, so the sweeps' workers find them built; on
a GPU it refuses uncommitted code (a table is committed only from a clean commit) and a machine
without CUDA. `kernel-tests` runs the deformable-attention kernel tests (fp32, fp64, fp16, bf16,
forward and backward, CPU and CUDA) and writes each test's outcome with counts per dtype; on a GPU
a test skipped for want of CUDA fails the step. `sweep-overrides` prints the `--set` arguments a
sweep of configs/gpu_table/ runs with, one per line: none on a GPU; in a dry run the CPU, fp32,
each method at its tiny options (configs/tiny/) with random weights, two short videos of small
frames, the first clip schedule and one round, so the same commands run in minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the checkout's tools/ (tools/tiny_configs.py)
KERNEL_TESTS = (
    "tests/test_cuda_ops_ms_deform_attn.py",
    "tests/test_cuda_ops_ms_deform_attn_half.py",
)
#: a dry run runs only the kernel tests named for CUDA: they skip on a CPU, the runner still runs
CUDA_TEST_PREFIX = "test_cuda_"
#: ... except the nvcc build of the CUDA source, which runs wherever nvcc is installed, GPU or
#: not (a minute on 2 cores): the slow tier runs it, a dry run checks the step, not the build
DRY_RUN_LEAVES_OUT = ("test_cuda_source_compiles_with_nvcc",)
#: the reason the kernel tests give when they skip for want of a GPU
NO_CUDA_SKIP = "needs a CUDA device"
DTYPE_WORDS = {"float32": "fp32", "float64": "fp64", "float16": "fp16", "bfloat16": "bf16"}
DTYPE_PATTERN = re.compile(r"(bfloat16|float16|float32|float64|bf16|fp16|fp32|fp64)")
#: the dry run's data: two videos of a few small frames
DRY_RUN_DATASET = {"videos": 2, "min_frames": 6, "max_frames": 6, "sizes": ["96x160"]}
#: one round a cell: no further rounds for the FPS's precision (its default target adds up to
#: `max_rounds` where one round's interval is wide, as it always is)
DRY_RUN_MEASURE = {
    "rounds": 1,
    "round_frames": 1,
    "round_seconds": 0,
    "precision": 0,
    "cell_timeout_s": 240,
}


class StepError(Exception):
    """A step that must not go on, with the reason and what to do (exit 2)."""


# ------------------------------------------------------------------------------ machine


def _nvml_readings() -> dict[str, Any]:
    """Power limits, clocks and persistence of device 0 through NVML (what can be read)."""
    import torch

    from vis_bench.measure.environment import nvml_handle
    from vis_bench.measure.gpu_state import nvml_state

    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as err:  # no NVML here: the rest of the record still stands
        return {"nvml": f"unavailable ({type(err).__name__}: {err})"}
    try:
        handle = nvml_handle(pynvml, torch.cuda.get_device_properties(0))
        readings = nvml_state(pynvml, handle)

        def optional(call: Any, *args: Any) -> Any:
            try:
                return call(*args)
            except Exception:  # not supported by this driver or GPU
                return None

        default_limit = optional(pynvml.nvmlDeviceGetPowerManagementDefaultLimit, handle)
        draw = optional(pynvml.nvmlDeviceGetPowerUsage, handle)
        readings.update(
            power_limit_default_w=None if default_limit is None else default_limit / 1000,
            power_draw_w=None if draw is None else draw / 1000,
            memory_clock_max_mhz=optional(
                pynvml.nvmlDeviceGetMaxClockInfo, handle, pynvml.NVML_CLOCK_MEM
            ),
            sm_application_clock_mhz=optional(
                pynvml.nvmlDeviceGetApplicationsClock, handle, pynvml.NVML_CLOCK_SM
            ),
            persistence_mode=optional(pynvml.nvmlDeviceGetPersistenceMode, handle),
            compute_mode=optional(pynvml.nvmlDeviceGetComputeMode, handle),
        )
        return readings
    finally:
        pynvml.nvmlShutdown()


def _nvcc_version() -> str | None:
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else None


def _build_kernels(devices: list[str]) -> dict[str, Any]:
    """Build (or load from torch's extension cache) the kernels for `devices`, timed."""
    import warnings

    from vis_bench.cuda_ops.ms_deform_attn import fast_kernel_available

    built: dict[str, Any] = {}
    for device in devices:
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            available = fast_kernel_available(device)
        built[device] = {
            "available": available,
            "seconds": round(time.perf_counter() - started, 2),
            "warnings": [str(w.message) for w in caught],
        }
    return built


def machine(args: argparse.Namespace) -> int:
    """What the table is measured on, with the kernels built first (see the module docstring)."""
    import torch

    from vis_bench.measure.environment import environment
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    if not args.dry_run:
        if not torch.cuda.is_available():
            raise StepError(
                f"no CUDA device is visible to torch {torch.__version__} (CUDA build "
                f"{torch.version.cuda}); run the GPU table on a GPU machine, or --dry-run here"
            )
        if (provenance.get("dirty") or provenance.get("commit") is None) and not args.allow_dirty:
            raise StepError(
                "the checkout is not a clean commit (commit "
                f"{provenance.get('commit')}, dirty {provenance.get('dirty')}): the table is "
                "committed only from a clean commit (docs/gpu_table.md); commit first, or pass "
                "--allow-dirty to measure anyway"
            )
    device = "cpu" if args.dry_run else "cuda"
    report: dict[str, Any] = {
        "dry_run": args.dry_run,
        "environment": environment(device, code=provenance),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "nvcc": _nvcc_version(),
        "kernels": _build_kernels(["cpu"] if args.dry_run else ["cpu", "cuda"]),
    }
    if not args.dry_run:
        props = torch.cuda.get_device_properties(0)
        report.update(
            gpu_name=props.name,
            capability=".".join(map(str, torch.cuda.get_device_capability(0))),
            multiprocessors=props.multi_processor_count,
            memory_gib=round(props.total_memory / 2**30, 1),
            nvml=_nvml_readings(),
        )
    write_json_with_provenance(args.json, report, provenance, indent=2)
    print(f"wrote {args.json}")
    return 0


# ------------------------------------------------------------------------- kernel tests


class _Outcomes:
    """A pytest plugin keeping each test's outcome (the call phase, or the phase that failed)."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}

    def pytest_itemcollected(self, item: Any) -> None:
        """The dtype a test runs in: its `dtype` parameter, else the one its name says."""
        params = getattr(getattr(item, "callspec", None), "params", {})
        self.tests[item.nodeid] = {
            "outcome": "not run",
            "seconds": 0.0,
            "dtype": dtype_of(str(params.get("dtype", "")) or item.nodeid),
        }

    def pytest_runtest_logreport(self, report: Any) -> None:
        entry = self.tests.setdefault(report.nodeid, {"outcome": "passed", "seconds": 0.0})
        if entry["outcome"] == "not run":
            entry["outcome"] = "passed"
        entry["seconds"] = round(entry["seconds"] + report.duration, 4)
        if report.skipped:
            entry["outcome"] = "skipped"
            longrepr = report.longrepr
            entry["reason"] = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        elif report.failed:
            entry["outcome"] = "failed" if report.when == "call" else "error"
            entry["reason"] = str(report.longrepr)[-2000:]


def cuda_test_ids() -> list[str]:
    """The node ids of the kernel tests a dry run runs: those named for CUDA (`test_cuda_*`) but
    the nvcc build, read from the files."""
    import ast

    ids = []
    for relative in KERNEL_TESTS:
        tree = ast.parse((REPO / relative).read_text())
        ids += [
            f"{relative}::{node.name}"
            for node in tree.body
            if isinstance(node, ast.FunctionDef)
            and node.name.startswith(CUDA_TEST_PREFIX)
            and node.name not in DRY_RUN_LEAVES_OUT
        ]
    return ids


def dtype_of(text: str) -> str:
    """The dtype a text names (fp32, fp64, fp16, bf16: `torch.float16`, `..._fp64`), or "-"."""
    found = DTYPE_PATTERN.search(text)
    return DTYPE_WORDS.get(found.group(1), found.group(1)) if found else "-"


def summarise(tests: dict[str, dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    """Counts by outcome and by dtype, and whether the step passed: every test ran, none failed,
    and on a GPU none skipped for want of CUDA (that would mean the GPU was not used)."""
    counts: dict[str, int] = {}
    by_dtype: dict[str, dict[str, int]] = {}
    for nodeid, entry in tests.items():
        outcome = entry["outcome"]
        counts[outcome] = counts.get(outcome, 0) + 1
        per = by_dtype.setdefault(entry.get("dtype") or dtype_of(nodeid), {})
        per[outcome] = per.get(outcome, 0) + 1
    no_cuda = sorted(n for n, e in tests.items() if NO_CUDA_SKIP in e.get("reason", ""))
    broken = sum(counts.get(outcome, 0) for outcome in ("failed", "error", "not run"))
    return {
        "counts": counts,
        "by_dtype": by_dtype,
        "skipped_without_cuda": len(no_cuda),
        "passed": bool(tests) and broken == 0 and (dry_run or not no_cuda),
    }


def kernel_tests(args: argparse.Namespace) -> int:
    """Run the kernel tests, write every outcome and the counts (see the module docstring)."""
    import pytest
    import torch

    from vis_bench.measure.environment import environment
    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    selection = cuda_test_ids() if args.dry_run else list(KERNEL_TESTS)
    argv = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", *selection]
    plugin = _Outcomes()
    started = time.perf_counter()
    exit_code = int(pytest.main(argv, plugins=[plugin]))
    report = {
        "dry_run": args.dry_run,
        "pytest_args": argv,
        "pytest_exit_code": exit_code,
        "seconds": round(time.perf_counter() - started, 1),
        **summarise(plugin.tests, args.dry_run),
        "environment": environment("cpu" if args.dry_run else "cuda", code=provenance),
        "cuda": torch.version.cuda,
        "tests": plugin.tests,
    }
    write_json_with_provenance(args.json, report, provenance, indent=2)
    print(f"wrote {args.json}: {report['counts']}, passed: {report['passed']}")
    return 0 if report["passed"] else 1


# ----------------------------------------------------------------------- sweep overrides


def _tiny_options(method: str) -> dict[str, Any]:
    """The options of the method's tiny model, found as the shared tests find them
    (tools/tiny_configs.py)."""
    from tools.tiny_configs import tiny_config_options

    options = tiny_config_options(method, REPO)
    if options is None:
        stem = method.replace("-", "_")
        raise StepError(
            f"no tiny config {stem}.yaml or {stem}_untrained.yaml of method {method} in "
            "configs/tiny/ for the dry run"
        )
    return options


def dry_run_overrides(config: dict[str, Any]) -> list[str]:
    """`--set` arguments turning a GPU-table config into its CPU dry run."""
    sweep = config.get("sweep") or {}
    first = (sweep.get("clip_schedule") or [["all"]])[0]
    sets = [
        "sweep.device=[cpu]",
        "sweep.dtype=[fp32]",
        f"sweep.clip_schedule={json.dumps([first])}",
    ]
    sets += [f"dataset.{key}={json.dumps(value)}" for key, value in DRY_RUN_DATASET.items()]
    sets += [f"measure.{key}={json.dumps(value)}" for key, value in DRY_RUN_MEASURE.items()]
    sets.append(f"methods={json.dumps(_dry_run_methods(config.get('methods') or []))}")
    return sets


def _dry_run_methods(entries: list[Any]) -> list[dict[str, Any]]:
    """The config's method entries at their method's tiny options (a `multi_cls` choice kept).
    Entries that differ only in the sizes the tiny options replace (the three VidEoMT backbones)
    become the same cell: it runs once."""
    kept: dict[str, dict[str, Any]] = {}
    for entry in entries:
        entry = dict(entry) if isinstance(entry, dict) else {"name": str(entry)}
        options = _tiny_options(entry["name"])
        if "multi_cls" in (entry.get("options") or {}):
            options["multi_cls"] = entry["options"]["multi_cls"]
        entry["options"] = options
        same = {key: value for key, value in entry.items() if key != "label"}
        kept.setdefault(json.dumps(same, sort_keys=True), entry)
    return list(kept.values())


def sweep_overrides(args: argparse.Namespace) -> int:
    import yaml

    config = yaml.safe_load(Path(args.config).read_text()) or {}
    for line in dry_run_overrides(config) if args.dry_run else []:
        print(line)
    return 0


# ---------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    one = steps.add_parser("machine", help="what the table is measured on; builds the kernels")
    one.add_argument("--json", type=Path, required=True)
    one.add_argument("--allow-dirty", action="store_true", help="measure uncommitted code")
    one.set_defaults(run=machine)
    one = steps.add_parser("kernel-tests", help="the kernel tests, each outcome as JSON")
    one.add_argument("--json", type=Path, required=True)
    one.set_defaults(run=kernel_tests)
    one = steps.add_parser("sweep-overrides", help="a sweep's --set arguments, one per line")
    one.add_argument("config", type=Path)
    one.set_defaults(run=sweep_overrides)
    for sub in steps.choices.values():
        sub.add_argument("--dry-run", action="store_true", help="the CPU dry run")
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except StepError as err:
        print(f"gpu_table {args.step}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

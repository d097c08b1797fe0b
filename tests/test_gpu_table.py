"""The GPU table (docs/gpu_table.md): scripts/gpu_table.sh, its configs, its CPU dry run and the
generated block, so the script cannot rot while no GPU is available."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.tiny import tiny_options
from tools.doc_numbers import provenance_line, regenerate
from tools.gpu_table_block import gpu_table_block, published_fps
from vis_bench.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_table.sh"
CONFIGS = sorted((REPO / "configs" / "gpu_table").glob("*.yaml"))
sys.path.insert(0, str(REPO / "scripts"))
import gpu_table  # noqa: E402  (scripts/gpu_table.py, the script's Python steps)

#: where the package's own methods live (tests register toy methods elsewhere)
PACKAGED = "vis_bench.methods."
CLEAN = {"commit": "a" * 40, "dirty": False, "diff_sha256": None, "command": "gpu_table.sh"}
BLOCK = "<!-- numbers: gpu-table -->\n<!-- end numbers -->\n"
#: the script runs this interpreter's environment, activated or not
SCRIPT_ENV = {**os.environ, "PYTHON": sys.executable}


def _config(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _steps() -> list[str]:
    listed = subprocess.run([str(SCRIPT), "--list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in listed.stdout.splitlines() if " estimate " in line]


# ---------------------------------------------------------------------------- configs


def test_every_config_is_a_step_of_the_script_and_every_sweep_step_a_config():
    sweeps = [s.removeprefix("sweep-") for s in _steps() if s.startswith("sweep-")]
    assert sorted(sweeps) == [p.stem for p in CONFIGS]
    assert _steps()[:3] == ["machine", "kernel-tests", "kernel-bench"]


def test_the_configs_share_their_data_and_measure_settings():
    first = _config(CONFIGS[0])
    for path in CONFIGS[1:]:
        config = _config(path)
        assert config["dataset"] == first["dataset"], path.name
        rest = {k: v for k, v in config["measure"].items() if k != "protocols"}
        assert rest == {k: v for k, v in first["measure"].items() if k != "protocols"}, path.name
        assert config["sweep"]["device"] == ["cuda"] and config["measure"]["ap"] is False


def test_every_registered_method_is_in_the_table():
    """Every method of the package (methods/; tests register toy plugins of their own)."""
    from vis_bench.api.registration import available_methods, get_method

    packaged = {m for m in available_methods() if get_method(m).__module__.startswith(PACKAGED)}
    named = {m["name"] for path in CONFIGS for m in _config(path)["methods"]}
    assert named == packaged and len(named) >= 9


def test_each_dtype_of_each_method_is_measured_and_authors_at_the_declared_precision():
    """fp32, fp16 and bf16 for every method; a method's authors' protocol runs in a config of
    the precision it declares (it ignores the cell's dtype, so elsewhere it would repeat)."""
    from vis_bench.api.registration import get_method

    dtypes: dict[str, set] = {}
    for path in CONFIGS:
        config = _config(path)
        for entry in config["methods"]:
            dtypes.setdefault(entry["name"], set()).update(config["sweep"]["dtype"])
            declared = get_method(entry["name"]).spec.timing_protocol
            if declared is not None and declared.stated and declared.precision:
                runs_authors = "authors" in config["measure"]["protocols"]
                assert runs_authors == (declared.precision in config["sweep"]["dtype"]), path.name
    assert all(found == {"fp32", "fp16", "bf16"} for found in dtypes.values()), dtypes


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_each_full_size_config_loads_and_its_models_build(path: Path):
    """What the GPU runs (not the dry run's tiny options): options valid, every model built on
    the meta device at full size."""
    from vis_bench.api.state_dict_keys import meta_model
    from vis_bench.config import parse_config
    from vis_bench.sweep.methods import resolve_methods

    config = parse_config(_config(path), str(path))
    for entry in resolve_methods(config):
        model = meta_model(entry.name, entry.model_options)
        assert sum(p.numel() for p in model.parameters()) > 10_000_000, entry.label


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_the_dry_run_overrides_make_a_cpu_config_of_tiny_models(path: Path):
    from vis_bench.config import load_config

    sets = gpu_table.dry_run_overrides(_config(path))
    config = load_config(path, sets)
    assert config.sweep.device == ["cpu"] and config.sweep.dtype == ["fp32"]
    # a tiny backbone, or (a method without a backbone option) its tiny options whole
    assert all(
        m.options.get("backbone") in ("tiny", "vit_s") or m.options == tiny_options(m.name)
        for m in config.methods
    )
    assert len(config.sweep.clip_schedule) == 1 and config.measure.rounds == 1
    assert config.measure.precision == 0  # one round: none added for precision


def test_entries_that_differ_only_in_the_sizes_the_dry_run_replaces_run_once():
    from vis_bench.config import load_config

    def dry(name: str) -> list:
        path = REPO / "configs" / "gpu_table" / f"{name}.yaml"
        return load_config(path, gpu_table.dry_run_overrides(_config(path))).methods

    videomt = dry("videomt")  # three backbones, one tiny shape: one cell
    assert len(_config(REPO / "configs" / "gpu_table" / "videomt.yaml")["methods"]) == 3
    assert [m.name for m in videomt] == ["videomt"]
    assert videomt[0].options == tiny_options("videomt")
    # different methods stay apart
    assert [m.name for m in dry("mssts")] == ["mssts", "mssts-release"]
    assert [m.name for m in dry("seqformer_half")] == ["seqformer", "mssts", "mssts-release"]


def test_an_unknown_step_or_option_is_refused_with_the_usage(tmp_path: Path):
    for args in (["--nope", str(tmp_path)], [str(tmp_path), "no-such-step"], []):
        result = subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, env=SCRIPT_ENV
        )
        assert result.returncode == 2, args
        assert "gpu_table.sh" in result.stderr


def test_an_interpreter_without_vis_bench_is_refused_before_any_step(tmp_path: Path):
    env = {**SCRIPT_ENV, "PYTHON": str(tmp_path / "no-python")}
    result = subprocess.run(
        [str(SCRIPT), "--dry-run", str(tmp_path / "out")], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2
    assert "cannot import torch and vis_bench" in result.stderr and "PYTHON=" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_a_step_whose_estimate_exceeds_the_budget_is_left_for_the_next_call(tmp_path: Path):
    result = subprocess.run(
        [str(SCRIPT), "--dry-run", "--budget", "1", str(tmp_path), "sweep-seqformer"],
        capture_output=True,
        text=True,
        env=SCRIPT_ENV,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "sweep-seqformer: left for the next call" in result.stdout
    assert not (tmp_path / "seqformer").exists()


# ----------------------------------------------------------------------- kernel tests


def test_kernel_test_counts_fail_a_gpu_run_that_skipped_for_want_of_cuda():
    tests = {
        "t.py::test_a[dtype0]": {"outcome": "passed", "dtype": "fp32"},
        "t.py::test_b[torch.float16]": {"outcome": "passed", "dtype": "fp16"},
        "t.py::test_cuda_c": {"outcome": "skipped", "reason": "Skipped: needs a CUDA device"},
    }
    dry = gpu_table.summarise(tests, dry_run=True)
    assert dry["passed"] and dry["counts"] == {"passed": 2, "skipped": 1}
    assert dry["by_dtype"] == {"fp32": {"passed": 1}, "fp16": {"passed": 1}, "-": {"skipped": 1}}
    assert not gpu_table.summarise(tests, dry_run=False)["passed"]
    failed = {**tests, "t.py::test_d": {"outcome": "failed"}}
    assert not gpu_table.summarise(failed, dry_run=True)["passed"]
    assert gpu_table.dtype_of("torch.bfloat16") == "bf16"
    assert gpu_table.dtype_of("test_cuda_gradcheck_fp64") == "fp64"


def test_the_dry_run_selects_the_cuda_tests_by_name():
    ids = gpu_table.cuda_test_ids()
    assert ids and all("::test_cuda_" in i for i in ids)
    assert not any(i.endswith("::test_cuda_source_compiles_with_nvcc") for i in ids)  # slow tier
    assert any(i.startswith("tests/test_cuda_ops_ms_deform_attn_half.py") for i in ids)


# ---------------------------------------------------------------------- the docs block


def test_before_any_gpu_run_the_block_says_so_and_lists_the_published_fps(tmp_path: Path):
    shutil.copytree(REPO / "configs" / "gpu_table", tmp_path / "configs" / "gpu_table")
    text = regenerate(BLOCK, tmp_path, "docs/gpu_table.md")
    assert "No GPU measurement has been made yet" in text
    assert (
        "| ifc.r50_ytvis19 | T=5 S=1, 360 px | 46.5 | not stated | sweep-ifc, sweep-ifc_half |"
        in text
    )
    assert "| ifc.r101_ytvis19 | T=36/all, 360 px | 89.4 | not stated | not in the table |" in text
    assert re.search(r"\| videomt.vitl_ytvis19 \| T=1/all, 448 px \| 160 \| NVIDIA H100", text)
    assert "Provenance: no source yet: no GPU run has been committed." in text


def _record(method: str, options: dict, length, stride, dtype: str, **extra) -> dict:
    record = {
        "key": f"{method}-{options['backbone']}-{length}-{stride}-{dtype}",
        "status": "ok",
        "method": method,
        "model_options": options,
        "clip_length": length,
        "stride": stride,
        "dtype": dtype,
        "fps_end_to_end": 40.0,
        "fps_model": 80.0,
        "fps_authors": None,
        "speed": {"fps_range": [39.0, 41.0], "reference_gflops": 5000.0, "noisy": False},
        "stream": {"latency_ms": {"p50": 120.0, "p99": 300.0}},
        "cuda_max_allocated_mb": 2048.0,
        "energy": {"joules_per_frame": 1.5},
        "harness": {"model_s": 2.5},
        "seconds_end_to_end": 10.0,
        "num_predictions": 60,
        "num_videos": 6,
        "config": {
            "dataset": {"videos": 6, "min_frames": 36, "max_frames": 36, "sizes": ["720x1280"]},
            "measure": {"rounds": 2, "stream_fps": 30},
        },
        "provenance": CLEAN,
    }
    return {**record, **extra}


def _fake_run(root: Path) -> Path:
    """results/gpu_table/ as a GPU run writes it: the machine, the kernels, two sweeps."""
    folder = root / "results" / "gpu_table"
    (folder / "ifc").mkdir(parents=True)
    (folder / "videomt").mkdir()
    shutil.copytree(REPO / "configs" / "gpu_table", root / "configs" / "gpu_table")
    machine = {
        "dry_run": False,
        "gpu_name": "NVIDIA H100 80GB HBM3",
        "cuda": "13.0",
        "cudnn": 91000,
        "environment": {"torch": "2.11.0+cu130", "driver": "580.1", "cpu": "x", "threads": 16},
        "nvml": {"power_limit_w": 700.0, "sm_clock_mhz": 1980, "sm_clock_max_mhz": 1980},
        "provenance": CLEAN,
    }
    tests = {
        "counts": {"passed": 80},
        "by_dtype": {"fp32": {"passed": 30}, "bf16": {"passed": 11}},
        "passed": True,
        "provenance": CLEAN,
    }
    bench = {
        "passed": True,
        "max_rel_error": 1e-5,
        "timings": [
            {
                "case": "encoder T=5",
                "mode": "forward",
                "kernel_median_ms": 0.2,
                "reference_median_ms": 2.0,
                "speedup": 10.0,
            }
        ],
        "provenance": CLEAN,
    }
    for name, data in (("machine", machine), ("kernel_tests", tests), ("kernel_bench", bench)):
        (folder / f"{name}.json").write_text(json.dumps(data))
    authors = {"applied": {"precision": "fp32", "compile": None, "notes": []}}
    ifc = [
        _record("ifc", {"backbone": "resnet50"}, 5, 1, "fp32", fps_authors=93.0),
        _record("ifc", {"backbone": "resnet50"}, 5, 1, "fp16"),
        _record("ifc", {"backbone": "resnet50"}, 10, 5, "fp32"),
    ]
    ifc[0]["protocols"] = {"authors": authors}
    vitl = {"backbone": "vit_l", "min_size_test": 448}
    videomt = [_record("videomt", vitl, 1, 1, "fp16", fps_authors=320.0)]
    for name, records in (("ifc", ifc), ("videomt", videomt)):
        lines = "".join(json.dumps(r) + "\n" for r in records)
        (folder / name / "records.jsonl").write_text(lines)
    return folder


def test_the_block_sets_each_cell_beside_its_published_fps_and_gpu(tmp_path: Path):
    _fake_run(tmp_path)
    text = regenerate(BLOCK, tmp_path, "docs/gpu_table.md")
    assert "Measured on NVIDIA H100 80GB HBM3 (driver 580.1, CUDA 13.0" in text
    row = "| ifc | resnet50 | 5 | 1 | fp32 | 40.0 [39.0, 41.0] | 80.0 | 25 % | 10 | 93.0 (fp32) "
    row += "| 120 / 300 "
    assert row + "| 2048 | 1.500 | 5000 | 46.5 | 0.86x | 2.00x |" in text
    assert "| ifc | resnet50 | 10 | 5 | fp32 |" in text and "| - | - | - |" in text
    assert "| videomt | vit_l | 1 | 1 | fp16 |" in text and "| 160 | 0.25x | 2.00x |" in text
    assert "(ifc-r50-t5): its declaration names no GPU (not stated), so the ratio" in text
    assert re.search(r"videomt.vitl_ytvis19 .*: published on NVIDIA H100.*the GPU class of", text)
    assert "Not measured yet: sweep-dvis_daq, sweep-dvis_plus, sweep-ifc_half, sweep-mask2" in text
    assert "Kernel tests (passed): bf16 11 passed; fp32 30 passed" in text
    assert "| encoder T=5 | forward | 0.200 | 2.000 | 10.0x |" in text
    assert f"Provenance: commit {'a' * 40} by `gpu_table.sh`." in text


def test_a_gpu_table_of_uncommitted_code_or_several_commits_is_refused(tmp_path: Path):
    folder = _fake_run(tmp_path)
    machine = json.loads((folder / "machine.json").read_text())
    machine["provenance"] = {**CLEAN, "dirty": True, "diff_sha256": "f" * 64}
    (folder / "machine.json").write_text(json.dumps(machine))
    with pytest.raises(InputError, match="not made from one clean commit"):
        provenance_line("gpu-table", tmp_path, allow_dirty=False)
    machine["provenance"] = {**CLEAN, "commit": "b" * 40}
    (folder / "machine.json").write_text(json.dumps(machine))
    with pytest.raises(InputError, match="a{40}, b{40}"):
        provenance_line("gpu-table", tmp_path, allow_dirty=False)


def test_a_published_gpu_of_another_class_is_named():
    from tools.gpu_table_block import gpu_lines

    entry = {"id": "x", "variant": "m.v", "setting": {"gpu": "NVIDIA Tesla V100"}}
    line = gpu_lines([entry, entry], "NVIDIA H100 80GB HBM3")
    assert line == [
        "- m.v (x): published on NVIDIA Tesla V100; this run's GPU (NVIDIA H100 80GB HBM3) is of "
        "another class."
    ]


def test_published_fps_match_setting_not_dtype():
    assert published_fps("ifc", {"backbone": "resnet50"}, 36, 36)["metrics"]["FPS"] == 107.1
    assert published_fps("ifc", {"backbone": "resnet50"}, 5, 3) is None
    assert published_fps("ifc", {"backbone": "resnet101"}, "all", None)["metrics"]["FPS"] == 89.4
    assert published_fps("seqformer", {"backbone": "resnet50"}, "all", None) is None
    vits = {"backbone": "vit_s", "min_size_test": 448}
    assert published_fps("videomt", vits, 1, 1)["metrics"]["FPS"] == 294


# ------------------------------------------------------------------------- the dry run


#: the steps the slow test runs: the three kernel steps, the AP check and one sweep of each kind (a clip-level
#: method and the config with the authors' protocol); every other sweep's dry-run overrides and
#: config are checked above without running it, which keeps CI inside its budget
DRY_RUN_STEPS = [
    "machine",
    "kernel-tests",
    "kernel-bench",
    "ap-check",
    "sweep-ifc",
    "sweep-videomt",
]


@pytest.mark.slow
@pytest.mark.heavy
def test_the_dry_run_runs_its_steps_on_the_cpu_and_the_block_renders_them(tmp_path: Path):
    out = tmp_path / "results" / "gpu_table"
    command = [str(SCRIPT), "--dry-run", str(out), *DRY_RUN_STEPS]
    result = subprocess.run(command, capture_output=True, text=True, env=SCRIPT_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    machine = json.loads((out / "machine.json").read_text())
    assert machine["dry_run"] and machine["kernels"]["cpu"]["available"]
    tests = json.loads((out / "kernel_tests.json").read_text())
    assert tests["passed"] and tests["counts"].get("skipped", 0) > 0
    swept = [s.removeprefix("sweep-") for s in DRY_RUN_STEPS if s.startswith("sweep-")]
    for name in swept:
        records = [json.loads(line) for line in (out / name / "records.jsonl").open()]
        assert records and all(r["status"] == "ok" for r in records), name
        assert all(r["fps_end_to_end"] and r["stream"]["latency_ms"] for r in records)
        assert (out / "steps" / f"sweep-{name}.json").is_file()
    checked = [json.loads(line) for line in (out / "ap_check" / "records.jsonl").open()]
    assert checked and all(r["status"] == "ok" and r["AP"] is not None for r in checked)
    assert not (out / "mask2former").exists()  # a step not named is not run
    again = subprocess.run(command, capture_output=True, text=True, env=SCRIPT_ENV)
    assert again.returncode == 0 and again.stdout.count("done already") == len(DRY_RUN_STEPS)
    shutil.copytree(REPO / "configs" / "gpu_table", tmp_path / "configs" / "gpu_table")
    block = gpu_table_block(tmp_path)
    assert "**A dry run on a CPU**" in block
    not_run = sorted(f"sweep-{p.stem}" for p in CONFIGS if p.stem not in swept)
    assert f"Not measured yet: {', '.join(not_run)}." in block
    assert block.count("| ifc | tiny |") == 1 and "| videomt | vit_s |" in block


def test_the_h200_block_names_its_machine_and_groups_the_precisions_that_tracked_alike(
    tmp_path: Path,
):
    from tools.gpu_table_block import H200_FOLDER, gpu_table_h200_block

    folder = tmp_path / H200_FOLDER
    (folder / "sam3").mkdir(parents=True)
    (folder / "machine.json").write_text(json.dumps({"gpu_name": "NVIDIA H200", "cuda": "13.0"}))
    shutil.copytree(REPO / "configs" / "gpu_table", tmp_path / "configs" / "gpu_table")
    records = [
        {
            "key": dtype, "method": "sam3", "status": "ok", "dtype": dtype, "clip_length": 36,
            "stride": 36, "model_options": {}, "prompts": 8, "fps_end_to_end": fps,
            "objects_tracked": {"frames": 216, "max": tracked, "mean": float(tracked)},
        }
        for dtype, fps, tracked in (("bf16", 7.1, 0), ("fp32", 3.0, 0), ("fp16", 7.6, 2))
    ]  # fmt: skip
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (folder / "sam3" / "records.jsonl").write_text(lines)
    block = gpu_table_h200_block(tmp_path)
    assert "Measured on NVIDIA H200" in block and "Not measured yet" not in block
    assert "| sam3 | - | 36 | 36 | fp32 | 3.0 [" in block  # no backbone option: a dash
    assert "- sam3 fp32, bf16: 8 prompts, at most 0 objects tracked" in block
    assert "- sam3 fp16: 8 prompts, at most 2 objects tracked in a frame (mean 2.0)." in block
    assert f"Sources: `{H200_FOLDER}/`" in block

"""Every writer of a committed JSON other than records and baselines puts one provenance block in
it: the size and FLOPs tables (`sizes`, `flops`, whose markdown also names the commit and the
command) and each benchmark's `--json` report. Benchmarks run on a tiny case where that is fast,
else with their measuring functions replaced, so what is checked is the report they write."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import yaml

from vis_bench.cli import main
from vis_bench.measure.provenance import commit_label

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"


def _provenance(path: Path, command: list[str] | None = None) -> dict:
    """The provenance block of a written JSON, checked for the fields every block has."""
    block = json.loads(path.read_text())["provenance"]
    assert {"commit", "dirty", "diff_sha256", "machine", "threads", "torch"} <= set(block)
    assert block["commit"] is None or len(block["commit"]) == 40
    assert block["dirty"] in (True, False, None)
    assert isinstance(block["load_before"], float) and isinstance(block["load_after"], float)
    if command is not None:
        assert block["command"] == " ".join(command)
    return block


def _written_by(markdown: str, block: dict) -> None:
    """The markdown's line naming the command and the full commit."""
    assert f"Written by `{block['command']}` at commit {commit_label(block)}." in markdown


def _bench(monkeypatch, name: str, argv: list[str]) -> ModuleType:
    """A benchmark script as a module (its folder on sys.path, as when run), with `argv`."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *argv])
    return importlib.import_module(name)


# -- run_bench.py sizes and flops -------------------------------------------------------------


def test_sizes_writes_rows_and_provenance(monkeypatch, tmp_path):
    """The command's outputs; the model's measurement replaced (it takes seconds per model)."""
    from vis_bench.measure import model_sizes

    config = {
        "name": "tiny",
        "output": str(tmp_path / "sizes"),
        "input": {"frames": 1, "height": 64, "width": 64},
        "models": [{"method": "ifc", "options": {"backbone": "tiny"}, "label": "tiny"}],
    }
    path = tmp_path / "sizes.yaml"
    path.write_text(yaml.safe_dump(config))
    row = {"method": "ifc", "label": "tiny", "parameters": 10, "state_dict_numbers": 12}
    row |= {"authors_code": None, "paper": None, "input": "1x64x64", "gmacs_per_frame": 0.5}
    row |= {"backbone_gmacs_per_frame": None}
    monkeypatch.setattr(model_sizes, "measure_row", lambda *args: row)
    argv = ["run_bench.py", "sizes", "--config", str(path), "--out", str(tmp_path / "sizes")]
    monkeypatch.setattr(sys, "argv", argv)
    assert main(argv[1:]) == 0
    assert json.loads((tmp_path / "sizes.json").read_text())["rows"] == [row]
    block = _provenance(tmp_path / "sizes.json", argv)
    _written_by((tmp_path / "sizes.md").read_text(), block)


def test_flops_writes_rows_and_provenance(monkeypatch, tmp_path):
    cfg = yaml.safe_load((REPO / "configs/ifc_encoder_flops.yaml").read_text())
    cfg["cells"] = cfg["cells"][:1]
    cfg["variants"] = [{"arguments": {"comm": "ifc"}, "label": "IFC", "paper": [5.52]}]
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "table"
    argv = ["run_bench.py", "flops", "--config", str(path), "--output", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert main(argv[1:]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert rows[0]["measured_macs"] == 5_515_653_120 and rows[0]["matches_2dp"] is True
    block = _provenance(out.with_suffix(".json"), argv)
    _written_by(out.with_suffix(".md").read_text(), block)
    assert "provenance" not in out.with_suffix(".csv").read_text()


# -- the evaluation benchmarks, on a tiny generated case -------------------------------------


def _tiny_ytvis(monkeypatch, module: ModuleType, cache: Path) -> None:
    from ytvis_scale_case import CaseSpec, build_case

    spec = CaseSpec(n_videos=3, min_frames=3, max_frames=4, height=48, width=64, n_categories=3)
    monkeypatch.setattr(module, "build_case", lambda *args, **kw: build_case(cache, spec))


def test_bench_bootstrap_report(monkeypatch, tmp_path):
    argv = ["--replicates", "5", "--repeat", "1", "--json", str(tmp_path / "b.json")]
    bench = _bench(monkeypatch, "bench_bootstrap", argv)
    _tiny_ytvis(monkeypatch, bench, tmp_path)
    bench.main()
    assert json.loads((tmp_path / "b.json").read_text())["videos"] == 3
    _provenance(tmp_path / "b.json", ["bench_bootstrap.py", *argv])


def test_bench_eval_report(monkeypatch, tmp_path):
    argv = ["--repeat", "1", "--json", str(tmp_path / "e.json")]
    bench = _bench(monkeypatch, "bench_eval", argv)
    _tiny_ytvis(monkeypatch, bench, tmp_path)
    bench.main()
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["modes"]) == {"cold", "gt-cache hit", "GT preloaded"}
    assert "loadavg_before" in report
    _provenance(tmp_path / "e.json", ["bench_eval.py", *argv])


def test_bench_ovis_eval_report(monkeypatch, tmp_path):
    argv = ["--repeat", "1", "--json", str(tmp_path / "o.json")]
    bench = _bench(monkeypatch, "bench_ovis_eval", argv)
    from ovis_scale_case import OvisCaseSpec, build_case

    spec = OvisCaseSpec(n_videos=3, min_frames=3, max_frames=4, height=48, width=64)
    monkeypatch.setattr(bench, "build_case", lambda *args, **kw: build_case(tmp_path, spec))
    bench.main()
    assert "ovis cold" in json.loads((tmp_path / "o.json").read_text())["modes"]
    _provenance(tmp_path / "o.json", ["bench_ovis_eval.py", *argv])


def test_bench_eval_process_report(monkeypatch, tmp_path):
    """The two processes replaced by one that writes its stats file (the command's last word)."""
    argv = ["--official", str(tmp_path), "--repeat", "1", "--json", str(tmp_path / "p.json")]
    bench = _bench(monkeypatch, "bench_eval_process", argv)
    monkeypatch.setattr(bench, "build_case", lambda *a: (tmp_path / "gt.json", tmp_path / "r.json"))
    compiled = []
    monkeypatch.setattr(bench, "compile_sources", compiled.append)

    def process(command: list[str]) -> float:
        # the official process writes YTVOSeval.stats in order; ours, named numbers
        stats = [0.5] * len(bench.STAT_NAMES)
        if "official_eval_process.py" not in command[1]:
            stats = dict(zip(bench.STAT_NAMES, stats, strict=True))
        Path(command[-1]).write_text(json.dumps(stats))
        return 0.25

    monkeypatch.setattr(bench, "_timed", process)
    bench.main()
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["max_stat_difference"] == 0 and "loadavg_after" in report
    assert compiled == [tmp_path] and "compiled beforehand" in report["bytecode"]
    _provenance(tmp_path / "p.json", ["bench_eval_process.py", *argv])


def test_bench_cell_bootstrap_report(monkeypatch, tmp_path):
    """A run folder of one cell; the sweep's scorer replaced by one that writes its two files."""
    results = tmp_path / "results.json"
    results.write_text("[]")
    record = {"key": "k", "status": "ok", "method": "ifc", "clip_length": 5, "num_predictions": 0}
    record |= {"results_path": str(results), "started": "2026-01-01T00:00:00"}
    record |= {"finished": "2026-01-01T00:00:02"}
    argv = [str(tmp_path), "--replicates", "3", "--repeat", "1", "--json", str(tmp_path / "c.json")]
    bench = _bench(monkeypatch, "bench_cell_bootstrap", argv)

    class Scorer:
        def __init__(self, *args):
            pass

        def score(self, path: Path) -> None:
            for name in (bench.VIDEO_MATCHES_FILE, bench.REPLICATES_FILE):
                (path.parent / name).write_bytes(b"x")

    monkeypatch.setattr(bench, "read_records", lambda run_dir: [record])
    monkeypatch.setattr(bench, "_gt_path", lambda run_dir: tmp_path / "gt.json")
    monkeypatch.setattr(bench, "Scorer", Scorer)
    monkeypatch.setattr(bench, "write_reports", lambda *args: None)
    bench.main()
    summary = json.loads((tmp_path / "c.json").read_text())
    assert summary["run_cell_seconds"] == 2 and summary["cells"][0]["cell"] == "ifc T=5"
    _provenance(tmp_path / "c.json", ["bench_cell_bootstrap.py", *argv])


# -- the model and kernel benchmarks, their measurements replaced ------------------------------


def test_bench_model_forward_paths_report(monkeypatch, tmp_path):
    import torch

    bench = _bench(monkeypatch, "bench_model_forward", ["paths"])
    times = {"ifc": {"all on": [(1.0, 1.5)], "all off": [(2.0, 3.0)], "-fold_bn": [(1.2, 1.6)]}}
    monkeypatch.setattr(bench, "build_case", lambda *args: (None, None))
    monkeypatch.setattr(bench, "count_gmacs", lambda *args: 10.0)
    monkeypatch.setattr(bench, "time_variants", lambda *args: (times, [(20e9, 10e9)]))
    args = argparse.Namespace(
        threads=torch.get_num_threads(),
        methods=["ifc"],
        frames=1,
        device="cpu",
        dtype="fp32",
        rounds=1,
        gemm_size=8,
        json=str(tmp_path / "f.json"),
    )
    bench.run_paths(args)
    report = json.loads((tmp_path / "f.json").read_text())
    assert report["gemm_peak_gmacs_per_s"] == 20.0 and "environment" in report
    _provenance(tmp_path / "f.json", ["bench_model_forward.py", "paths"])


def test_bench_ms_deform_attn_revisions_report(monkeypatch, tmp_path):
    argv = ["--dtypes", "float32", "--rounds", "1", "--json", str(tmp_path / "r.json")]
    bench = _bench(monkeypatch, "bench_ms_deform_attn_revisions", argv)
    monkeypatch.setattr(bench, "fast_kernel_available", lambda device: True)
    monkeypatch.setattr(
        bench, "build_baseline", lambda rev, workdir: ("base", {bench.torch.float32})
    )
    monkeypatch.setattr(bench, "calls_for", lambda namespace, mode: None)
    monkeypatch.setattr(bench, "case_inputs", lambda shape, dtype: ())
    pairs = {"baseline": [2.0], "current": [1.0]}
    monkeypatch.setattr(bench, "time_pair", lambda calls, args, rounds: pairs)
    assert bench.main(argv) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows"][0]["ratio"] == 0.5 and "environment" in report
    _provenance(tmp_path / "r.json", ["bench_ms_deform_attn_revisions.py", *argv])


def test_bench_ms_deform_attn_cuda_report(monkeypatch, tmp_path):
    """Its report's fields, without a GPU: the checks and timings replaced."""
    argv = ["--json", str(tmp_path / "k.json"), "--seed", "1"]
    bench = _bench(monkeypatch, "bench_ms_deform_attn_cuda", argv)
    monkeypatch.setattr(bench.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(bench, "fast_kernel_available", lambda device: True)
    monkeypatch.setattr(bench, "environment", lambda: {"gpu_name": "test"})
    monkeypatch.setattr(bench, "check_correctness", lambda seed: [])
    monkeypatch.setattr(bench, "copy_bandwidth_gbs", lambda: 1.0)
    monkeypatch.setattr(bench, "run_timings", lambda *args: [])
    assert bench.main(argv) == 0
    report = json.loads((tmp_path / "k.json").read_text())
    assert report["passed"] is True and report["environment"] == {"gpu_name": "test"}
    _provenance(tmp_path / "k.json", ["bench_ms_deform_attn_cuda.py", *argv])


# -- the long-video report: its own provenance and the records' code states -------------------


def test_long_video_report_names_the_records_code_states(monkeypatch, tmp_path):
    lines = (REPO / "results/long_video/records.jsonl").read_text().splitlines()[:3]
    records = [json.loads(line) for line in lines]
    states = [{"commit": "a" * 40, "dirty": False}, {"commit": "b" * 40, "dirty": True}]
    states[1]["diff_sha256"] = "c" * 64
    for record, provenance in zip(records, [*states, states[0]], strict=True):
        record["provenance"] = provenance
        record["peak_rss_mb"] = None  # no plot: nothing to draw
    run = tmp_path / "run"
    run.mkdir()
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    bench = _bench(monkeypatch, "long_video_report", [str(run), "--out", str(out)])
    bench.main()
    written = json.loads((out / "provenance.json").read_text())
    expected = ["a" * 40, f"{'b' * 40}-dirty ({'c' * 12})"]
    assert written["source_states"] == expected and written["records"] == 3
    block = _provenance(
        out / "provenance.json", ["long_video_report.py", str(run), "--out", str(out)]
    )
    header = (out / "memory.md").read_text().splitlines()[2]
    assert header.startswith(f"Code of the records (their provenance): {', '.join(expected)}.")
    assert f"`{block['command']}` at commit {commit_label(block)}." in header
    assert [json.loads(line)["provenance"] for line in (out / "records.jsonl").open()][:2] == states

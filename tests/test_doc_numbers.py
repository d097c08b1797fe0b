"""The measured numbers in the README and docs are generated from committed JSON, and current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers.tracked import repo_relative, tracked, tracked_params
from tools.doc_numbers import (
    DOCUMENTS,
    GENERATORS,
    REPO_ROOT,
    regenerate,
    stale_documents,
)
from vis_bench.errors import InputError


def test_every_generated_block_in_the_docs_is_up_to_date():
    stale = stale_documents(REPO_ROOT, write=False)
    assert stale == [], f"run `python -m tools docs`: out of date: {stale}"


def test_the_readme_quotes_every_generator():
    text = "".join((REPO_ROOT / d).read_text() for d in DOCUMENTS if (REPO_ROOT / d).is_file())
    unused = [name for name in GENERATORS if f"<!-- numbers: {name}" not in text]
    assert unused == []


def test_every_document_with_a_generated_block_is_maintained():
    """A block moved to another file is regenerated and checked only where DOCUMENTS lists it."""
    from tools.doc_numbers import BLOCK

    pages = [repo_relative(p) for p in tracked("README.md", "benchmarks/README.md", "docs/**/*.md")]
    holding = {p for p in pages if BLOCK.search((REPO_ROOT / p).read_text())}
    assert holding - set(DOCUMENTS) == set()


def test_a_changed_source_makes_the_readme_stale(tmp_path: Path):
    _tree_with_sizes(tmp_path, CLEAN)
    text = "<!-- numbers: model-sizes -->\nold\n<!-- end numbers -->\n"
    (tmp_path / "README.md").write_text(text)
    assert stale_documents(tmp_path) == ["README.md"]
    assert stale_documents(tmp_path, write=True) == ["README.md"]
    assert stale_documents(tmp_path) == []
    assert "| seqformer | resnet50 |" in (tmp_path / "README.md").read_text()


def test_unknown_block_and_missing_source_are_named_errors(tmp_path: Path):
    with pytest.raises(InputError, match="unknown generated block 'nope'"):
        regenerate("<!-- numbers: nope -->\n<!-- end numbers -->", tmp_path, "README.md")
    with pytest.raises(InputError, match="missing"):
        regenerate("<!-- numbers: model-sizes -->\n<!-- end numbers -->", tmp_path, "README.md")


def _tree_with_sizes(tmp_path: Path, provenance: dict | None) -> Path:
    """A copy of the model-sizes source with the given provenance block."""
    import json

    rows = json.loads((REPO_ROOT / "results/tables/model_sizes.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    source = tmp_path / "results/tables/model_sizes.json"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps({"rows": rows, "provenance": provenance}))
    return tmp_path


CLEAN = {"commit": "a" * 40, "dirty": False, "diff_sha256": None, "command": "run_bench.py sizes"}
BLOCK = "<!-- numbers: model-sizes -->\n<!-- end numbers -->\n"


def test_a_block_names_the_full_commit_and_command_of_a_clean_source(tmp_path: Path):
    root = _tree_with_sizes(tmp_path, CLEAN)
    text = regenerate(BLOCK, root, "README.md")
    assert f"Provenance: commit {'a' * 40} by `run_bench.py sizes`." in text


def test_a_dirty_source_is_refused_unless_allowed(tmp_path: Path):
    dirty = {**CLEAN, "dirty": True, "diff_sha256": "f" * 64}
    root = _tree_with_sizes(tmp_path, dirty)
    with pytest.raises(InputError, match="not made from one clean commit"):
        regenerate(BLOCK, root, "README.md")
    allowed = regenerate(BLOCK, root, "README.md", allow_dirty=True)
    assert f"commit {'a' * 40}-dirty (ffffffffffff)" in allowed
    marked = BLOCK.replace("model-sizes -->", "model-sizes (allow-dirty) -->")
    assert "-dirty" in regenerate(marked, root, "README.md")


def test_a_source_without_provenance_is_refused(tmp_path: Path):
    root = _tree_with_sizes(tmp_path, None)
    with pytest.raises(InputError, match="unknown"):
        regenerate(BLOCK, root, "README.md")


def test_records_of_several_commits_are_refused(tmp_path: Path):
    import json

    lines = [{"status": "ok", "provenance": {**CLEAN, "commit": c * 40}} for c in ("a", "b")]
    path = tmp_path / "results/default_run/records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    from tools.doc_numbers import provenance_line

    with pytest.raises(InputError, match="a{40}, b{40}"):
        provenance_line("default-run", tmp_path, allow_dirty=False)


def _write_json(path: Path, data: Any) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_the_tiny_models_block_reads_the_backbone_from_its_training_record(tmp_path: Path):
    from vis_bench.formats.checkpoints import save_project_checkpoint

    weights = {"w": torch.zeros(1)}
    backbone = "results/checkpoints/bb.pth"
    (tmp_path / "results/checkpoints").mkdir(parents=True)
    save_project_checkpoint(
        weights,
        tmp_path / backbone,
        "seqformer",
        {},
        {
            "task": "per-pixel object category",
            "iterations": 50,
            "seconds": 90.0,
            "accuracy": 0.5,
            "unseen_accuracy": 0.25,
        },
    )
    for name in ("a", "b"):  # two models on one backbone: one backbone line
        save_project_checkpoint(
            weights,
            tmp_path / f"results/checkpoints/{name}.pth",
            "seqformer",
            {},
            {"iterations": 7, "seconds": 120.0, "config": {"backbone_init": backbone}},
        )
    # a model joined from runs records its first run's config, trained on a file elsewhere:
    # the config of that name in configs/tiny gives the backbone's shipped name
    save_project_checkpoint(
        weights,
        tmp_path / "results/checkpoints/c.pth",
        "seqformer",
        {},
        {"iterations": 9, "seconds": 60.0, "config": {"name": "c-run", "backbone_init": "/x.pth"}},
    )
    (tmp_path / "configs/tiny").mkdir(parents=True)
    (tmp_path / "configs/tiny/c.yaml").write_text(
        f"name: c-run\noutput: results/checkpoints/c_part.pth\nbackbone_init: {backbone}\n"
    )
    metrics = {"AP": 0.25, "AP50": 0.5, "AP75": 0.2, "AR1": 0.3, "AR10": 0.4}
    cells = [
        {"method": n, "checkpoint": f"results/checkpoints/{n}.pth", "metrics": metrics}
        for n in ("a", "b", "c")
    ]
    _write_json(
        tmp_path / "results/baselines/synthetic.json",
        {
            "cells": cells,
            "dataset": "d",
            "provenance": CLEAN,
        },
    )
    text = regenerate("<!-- numbers: tiny-models -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "| a | 7 | 2.0 min | 25.0 | 50.0 | 20.0 | 30.0 | 40.0 |" in text
    line = f"Backbone `{backbone}` (per-pixel object category): 50 steps, 1.5 min, 50.0 %"
    assert text.count(line) == 1 and "/x.pth" not in text
    assert (
        "of object pixels right in other draws of its training videos, 25.0 % in unseen videos."
        in text
    )


#: one cell of a default run's records, as the default-run block reads them
DEFAULT_RUN_RECORD = {
    "status": "ok",
    "method": "m",
    "clip_length": "all",
    "AP": 0.3,
    "fps_end_to_end": 1.0,
    "fps_model": 2.0,
    "provenance": CLEAN,
}


def test_the_default_run_block_gives_the_time_its_cells_took(tmp_path: Path):
    import json

    lines = [
        {
            **DEFAULT_RUN_RECORD,
            "key": "k1",
            "started": "2026-01-01T10:00:00",
            "finished": "2026-01-01T11:05:00",
            "timings": {"accuracy_pass": 40.0, "timed_rounds": 10.0},
        },
        {
            **DEFAULT_RUN_RECORD,
            "key": "k2",
            "clip_length": 5,
            "started": "2026-01-01T10:01:00",
            "finished": "2026-01-01T11:05:00",
            "timings": {"accuracy_pass": 45.0, "timed_rounds": 15.0},
        },
    ]
    path = tmp_path / "results/default_run/records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    text = regenerate("<!-- numbers: default-run -->\n<!-- end numbers -->", tmp_path, "R.md")
    # the sum of the cells' phases (50 s + 60 s), not their start-to-end spans, which the
    # interleaved timed rounds stretch to the end of the sweep
    assert "its 2 cells took 1 min 50 s in all" in text


def test_the_default_run_block_marks_a_method_whose_checkpoint_changed_since(tmp_path: Path):
    from vis_bench.hashing import file_sha256

    weights = tmp_path / "results/checkpoints/m_tiny.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"the weights the run was made with")
    made_with = file_sha256(weights)
    record = {
        **DEFAULT_RUN_RECORD,
        "key": "k1",
        "checkpoint": "results/checkpoints/m_tiny.pth",
        "checkpoint_source": {"found": "shipped", "sha256": made_with},
    }
    path = tmp_path / "results/default_run/records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record) + "\n")
    block = "<!-- numbers: default-run -->\n<!-- end numbers -->"
    same = regenerate(block, tmp_path, "R.md")
    assert "| m | 30.00" in same and "§" not in same
    weights.write_bytes(b"weights trained again")  # the shipped file replaced, the run not
    changed = regenerate(block, tmp_path, "R.md")
    assert "| m § | 30.00" in changed
    assert f"sha256 {made_with[:12]} then, {file_sha256(weights)[:12]} now" in changed
    assert "its numbers are the earlier file's" in changed


@pytest.mark.parametrize(
    ("data_s", "state"),
    [
        (0.004, "in a warm checkout (the dataset already generated)"),
        (2.5, "with the dataset generated first (2.5 s of it)"),
    ],
)
def test_the_default_run_block_says_the_load_and_the_state_its_times_hold_for(
    tmp_path: Path, data_s: float, state: str
):
    """A time read without its load and starting state misleads: the block gives the load
    the cells' rounds read and whether the dataset was generated in the command's time."""
    import json

    def record(key: str, start: float, peak: float) -> dict:
        load = {"load1_start": start, "load1_max": peak, "load1_end": peak}
        fields = {"status": "ok", "method": "m", "clip_length": "all", "key": key, "AP": 0.3}
        return {**fields, "provenance": CLEAN, "timings": {"inference": 30.0}, "load": load}

    run = tmp_path / "results/default_run"
    run.mkdir(parents=True)
    lines = [record("k1", 1.48, 1.75), record("k2", 1.6, 3.21)]
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    timings = {"cells": 2, "phases_s": {"data": data_s, "inference": 60.0}, "total_s": 75.0}
    (run / "run.json").write_text(json.dumps({"last_run_timings": timings}))
    text = regenerate("<!-- numbers: default-run -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "under a 1-minute load average of 1.5 to 3.2 (read at their timed rounds)" in text
    assert f"The command as a whole took 1 min 15 s {state}: " in text
    assert "A fresh clone adds the install and the CPU kernel's first build" in text
    # a record from before the load was read: the block says nothing of it rather than guess
    del lines[1]["load"]
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    text = regenerate("<!-- numbers: default-run -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "load average" not in text


def test_the_default_run_block_gives_the_machine_s_reference_speed(tmp_path: Path):
    """The same run takes twice as long on a machine half as fast: the block gives the median
    reference speed its timed rounds read, so a reader can scale its times to a machine."""
    import json

    def record(key: str, readings: list[float]) -> dict:
        rounds = [{"round": i, "reference_gflops": g} for i, g in enumerate(readings, 1)]
        fields = {"status": "ok", "method": "m", "clip_length": "all", "key": key, "AP": 0.3}
        return {**fields, "provenance": CLEAN, "speed": {"rounds": rounds}}

    run = tmp_path / "results/default_run"
    run.mkdir(parents=True)
    lines = [record("k1", [90.0, 97.0, 120.0]), record("k2", [96.0, 101.0])]
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    text = regenerate("<!-- numbers: default-run -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "its reference matrix product at a median 97 GFLOP/s over the timed rounds" in text
    for line in lines:
        line["speed"] = {"rounds": []}  # no round timed (FPS off): nothing said
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    text = regenerate("<!-- numbers: default-run -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert "GFLOP/s" not in text


def test_the_interval_example_is_a_real_cell_of_the_default_run(tmp_path: Path):
    import json

    record = {
        "status": "ok",
        "method": "seqformer",
        "clip_length": "all",
        "AP": 0.30,
        "AP_ci": [0.25, 0.40],
        "provenance": CLEAN,
    }
    path = tmp_path / "results/default_run/records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record) + "\n")
    text = regenerate("<!-- numbers: interval-example -->\n<!-- end numbers -->", tmp_path, "R")
    assert "`30.00 [25.00, 40.00]`" in text
    assert "5.00 below the value and 10.00 above" in text
    assert "`value ± 7.50`" in text and "[22.50, 37.50]" in text
    assert f"Provenance: commit {'a' * 40}" in text


def test_the_prompts_axis_block_shows_fps_by_prompts_beside_flat_lines(tmp_path: Path):
    """The committed prompts-axis run: SAM 3's FPS and objects tracked at each number of prompts,
    every method without prompts the same figure in each column."""
    source = tmp_path / "results/prompts_axis/records.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text((REPO_ROOT / "results/prompts_axis/records.jsonl").read_text())
    text = regenerate("<!-- numbers: prompts-axis -->\n<!-- end numbers -->", tmp_path, "R")
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in text.splitlines()
            if line.startswith("| ") and "---" not in line}  # fmt: skip
    assert [cell.strip() for cell in rows["method"]] == ["P=1", "P=4", "P=8"]
    assert all("obj." in cell for cell in rows["sam3"])
    for method in ("seqformer", "minvis", "videomt"):
        assert len({cell.strip() for cell in rows[method]}) == 1
    assert "Provenance: commit" in text and "configs/prompts_axis.yaml" in text


def test_the_sweep_bootstrap_cost_block(tmp_path: Path):
    cells = [
        {
            "cell": f"c{i}",
            "results": 100 * i,
            "score": 0.02 * i,
            "score_with_bootstrap": 0.5 + 0.02 * i,
            "video_matches_bytes": 1024 * i,
            "replicates_bytes": 2048,
            "record_line_bytes": 3072,
        }
        for i in (1, 2)
    ]
    report = {
        "cells": cells,
        "replicates": 1000,
        "repeat": 3,
        "bootstrap_seconds_total": 1.0,
        "score_seconds_total": 0.06,
        "reports_seconds": 0.5,
        "run_cell_seconds": 200.0,
        "provenance": CLEAN,
    }
    _write_json(tmp_path / "benchmarks/results/cell_bootstrap_default_run.json", report)
    block = "<!-- numbers: sweep-bootstrap-cost -->\n<!-- end numbers -->"
    text = regenerate(block, tmp_path, "R.md")
    assert "| scoring 2 cells without intervals | 0.06 in all (0.020-0.040 per cell) |" in text
    assert "| bootstrap intervals, B = 1000, 2 cells | 1.00 in all (0.50 per cell) |" in text
    assert "| the run's 2 cells (inference, timing, FLOPs, scoring) | 200 |" in text
    assert "The intervals cost 0.5 % of the cells' time" in text
    assert "1.0-2.0 KiB (100-200 results), the replicate values 2.0 KiB" in text


#: README and docs, scanned outside their generated blocks for hand-typed measurements (the
#: committed pages: git's list, never a note of one's own beside them)
SCANNED = tracked_params("README.md", "benchmarks/README.md", "docs/**/*.md")
#: what a measured number looks like: a time, a size, a speed-up, a share, a frame rate
MEASURED = re.compile(
    r"\b\d+(?:[.,]\d+)? ?(?:s|ms|us|min|minutes?|hours?|MiB|GiB|KiB|GB|MB|KB|FPS)\b"
    r"|\b\d+(?:\.\d+)?x\b"
    r"|\b\d+(?:\.\d+)? ?%"
)
#: settings and quoted sources that look like measurements; each must match at the hit
ALLOWED = {
    r"4x(?: faster)? (?:encoder check|on the\s+encoder shape)": (
        "the encoder speed-up test_encoder_speedup_target asserts, a target"
    ),
    r"95 ?%": "the intervals' confidence level, a setting",
    r"2x\s+upsampling": "an upsampling factor of the architecture",
    r"(?:46\.5|107\.1) FPS": "IFC's published FPS, quoted with its source (methods/ifc/variants.py)",
    r"(?:29 FPS|18 FPS ViT-L) in the VidEoMT paper|18 FPS\) with the same": (
        "FPS the VidEoMT paper lists for MinVIS and DVIS++, quoted and marked not verified"
    ),
    r"115 FPS probably": "VidEoMT's published OVIS FPS (model_zoo/dinov2.md), quoted",
    r"99 % upper bound": "the latency bound's confidence level (measure/stream.py), a setting",
    r"\d+%\s+(?:of\s+the\s+steps|instead|single)": "a config's share of single-frame steps",
    r"30 minutes": "the training budget the tiny configs are held to, a setting",
    r"50 %\)": "the GEMM-peak share the fast-paths issue asked for, a target",
    r"1\.5 s per case": "bench_ms_deform_attn_cuda.py's --max-seconds default, a setting",
    r"512 KB of text": "count_lists._CHUNK_BYTES, the parser's chunk size, a setting",
}


def hand_typed_measurements(text: str) -> list[str]:
    """Hits of MEASURED outside the generated blocks that no ALLOWED pattern explains."""
    from tools.doc_numbers import BLOCK

    text = BLOCK.sub("", text)
    hits = []
    for match in MEASURED.finditer(text):
        rest = text[match.start() :]
        if not any(re.match(allowed, rest) for allowed in ALLOWED):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(f"line {line}: {text[match.start() : match.end() + 30]!r}")
    return hits


@pytest.mark.parametrize("document", SCANNED, ids=repo_relative)
def test_no_hand_typed_measured_number_outside_the_generated_blocks(document: Path):
    hits = hand_typed_measurements(document.read_text())
    assert hits == [], (
        f"{repo_relative(document)}: a measured number outside a generated block; generate it from the "
        f"committed JSON that holds it (tools/doc_numbers.py) or remove it: {hits}"
    )


def test_the_scan_finds_a_hand_typed_time_and_skips_blocks_and_settings():
    text = (
        "It took 1 min 38 s and is 11x faster.\n"
        "<!-- numbers: eval-speed -->\n6.10 s\n<!-- end numbers -->\n"
        "95 % intervals over a budget of 30 minutes.\n"
    )
    assert [h.split(":")[0] for h in hand_typed_measurements(text)] == ["line 1"] * 3


def test_the_docs_command_runs_from_the_repository_tooling_and_run_bench(capsys):
    """`python -m tools docs --check` (and a checkout's `run_bench.py docs --check`, passed on to
    it) exits 0 on the committed docs; `docs` is no command of the installed package."""
    import runpy
    import sys

    from tools.__main__ import main
    from vis_bench.cli import build_parser

    assert main(["docs", "--check"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"checked \d+ generated blocks against their sources: README.md \(", printed)
    assert "checked pictures docs/report.png, docs/show_sheet.png: drawn from " in printed
    assert "docs" not in build_parser()[1]
    argv = sys.argv
    sys.argv = ["run_bench.py", "docs", "--check"]
    try:
        with pytest.raises(SystemExit) as exit_:
            runpy.run_path(str(REPO_ROOT / "run_bench.py"), run_name="__main__")
    finally:
        sys.argv = argv
    assert exit_.value.code == 0


def _picture_checkout(tmp_path: Path) -> Path:
    """The committed pictures, their sidecar and the run's records, in a folder of their own."""
    from tools.picture_provenance import RUN_RECORDS, SIDECAR

    document = json.loads((REPO_ROOT / SIDECAR).read_text())
    for relative in (SIDECAR, RUN_RECORDS, *document["pictures"]):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((REPO_ROOT / relative).read_bytes())
    return tmp_path


def test_the_docs_pictures_come_from_the_committed_run(tmp_path: Path):
    """docs/pictures.json names the committed run's records (sha256) and each picture; a record
    changed since, or a picture replaced by hand, makes `docs --check` fail naming the fix."""
    from tools.picture_provenance import RUN_RECORDS, check_pictures

    root = _picture_checkout(tmp_path)
    problems, checked = check_pictures(root)
    assert problems == [] and "drawn from results/default_run/records.jsonl" in checked[0]
    document = json.loads((root / "docs" / "pictures.json").read_text())
    assert "ground truth" in document["pictures"]["docs/show_sheet.png"]["columns"]
    records = root / RUN_RECORDS
    records.write_text(records.read_text() + "\n")
    (root / "docs" / "report.png").write_bytes(b"a screenshot taken by hand")
    problems, _ = check_pictures(root)
    assert len(problems) == 2 and all("python -m tools pictures" in p for p in problems)
    assert "drawn from another results/default_run/records.jsonl" in problems[0]
    (root / "docs" / "pictures.json").unlink()
    assert "docs/pictures.json is missing" in check_pictures(root)[0][0]


def test_the_tiny_models_block_names_the_backbone_its_config_ships(tmp_path: Path):
    """A model trained from a backbone file outside the repository (its record names that path)
    gets the line of the backbone its config names (configs/tiny/*.yaml `backbone_init`)."""
    from vis_bench.formats.checkpoints import save_project_checkpoint

    weights = {"w": torch.zeros(1)}
    backbone = "results/checkpoints/bb.pth"
    (tmp_path / "configs/tiny").mkdir(parents=True)
    save_project_checkpoint(weights, tmp_path / backbone, "seqformer", {}, {"iterations": 50})
    save_project_checkpoint(
        weights,
        tmp_path / "results/checkpoints/a.pth",
        "seqformer",
        {},
        {"iterations": 7, "seconds": 60.0, "config": {"backbone_init": "/scratch/bb.pth"}},
    )
    (tmp_path / "configs/tiny/a.yaml").write_text(
        f"output: results/checkpoints/a.pth\nbackbone_init: {backbone}\n"
    )
    metrics = {"AP": 0.25, "AP50": 0.5, "AP75": 0.2, "AR1": 0.3, "AR10": 0.4}
    cell = {"method": "a", "checkpoint": "results/checkpoints/a.pth", "metrics": metrics}
    _write_json(
        tmp_path / "results/baselines/synthetic.json",
        {"cells": [cell], "dataset": "d", "provenance": CLEAN},
    )
    text = regenerate("<!-- numbers: tiny-models -->\n<!-- end numbers -->", tmp_path, "R.md")
    assert f"Backbone `{backbone}` (pretraining): 50 steps" in text
    assert "/scratch/bb.pth" not in text

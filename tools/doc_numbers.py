"""Numbers in the README and docs, generated from the committed JSON files commands wrote.

A measured number pasted by hand goes stale the day the code changes, so the docs hold generated
blocks instead:

    <!-- numbers: NAME -->
    ...generated markdown...
    <!-- end numbers -->

`python -m tools docs` rewrites every block from its source (each block's text says which
command wrote that source); `docs --check` exits 1 when a block differs from what its source
gives (a test runs it). The sources are records and reports committed under results/ and
benchmarks/results/, so regenerating needs no model and no GPU.

Every block ends with the provenance of its sources: the full commit they were made from and the
command that made them (`measure/provenance.py`). A block is generated only from sources made
from one clean commit: a source made from uncommitted code, sources made from several code
states, or a source without provenance is refused with the file named, unless `--allow-dirty`
(the block then prints each state, `-dirty` included).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.benchmark_blocks import (
    authors_side_by_side_block,
    backbone_category_probe_block,
    burst_speed_block,
    dvis_offline_mask_features_block,
    eval_speed_block,
    fast_paths_block,
    fast_tier_block,
    feature_reuse_block,
    frames_identity_cost_block,
    kernel_dtypes_block,
    lvvis_speed_block,
    mask_encoding_block,
    render_speed_block,
    sam3_authors_loop_block,
    sam3_transformers_parity_block,
)
from tools.default_run_block import default_run_block
from tools.doc_sources import fmt, read_source
from tools.gpu_table_block import H200_SOURCES as GPU_TABLE_H200_SOURCES
from tools.gpu_table_block import SOURCES as GPU_TABLE_SOURCES
from tools.gpu_table_block import gpu_table_block, gpu_table_h200_block
from tools.sam3_objects_block import SOURCES as SAM3_OBJECTS_SOURCES
from tools.sam3_objects_block import sam3_objects_block
from tools.speed_blocks import (
    AA_TARGET_SOURCE,
    COMPILE_SOURCE,
    PROMPTS_AXIS_SOURCE,
    PROTOCOLS_SOURCE,
    compile_block,
    fps_precision_aa_block,
    fps_protocols_block,
    prompts_axis_block,
)
from vis_bench.errors import InputError

#: the checkout this tooling belongs to
REPO_ROOT = Path(__file__).resolve().parents[1]
#: the files whose blocks `docs` maintains (a block moved to another file is found there only
#: once that file is listed here; tests/test_doc_numbers.py checks that no block is left out)
DOCUMENTS = (
    "README.md",
    "docs/training.md",
    "docs/statistics.md",
    "docs/ovis.md",
    "docs/lvvis.md",
    "docs/burst.md",
    "docs/backbones.md",
    "docs/fast_paths.md",
    "docs/methods/mssts.md",
    "docs/methods/dvis_plus.md",
    "docs/methods/dvis_daq.md",
    "docs/methods/videomt.md",
    "docs/methods/sam3.md",
    "docs/gpu_table.md",
    "docs/timing_protocols.md",
    "docs/show_and_report.md",
    "docs/metric.md",
    "docs/methods/README.md",
    "docs/long_videos.md",
    "docs/kernels.md",
    "docs/fps.md",
    "docs/runs.md",
    "docs/testing.md",
    "benchmarks/README.md",
)
#: a block: its header names the generator, and `(allow-dirty)` after the name lets that one
#: block print sources not made from one clean commit (shown as such in the block itself)
BLOCK = re.compile(
    r"(<!-- numbers: ([\w-]+)( \(allow-dirty\))? -->\n)(.*?)(<!-- end numbers -->)", re.S
)


#: each block's sources (relative paths; a path with "*" is a glob)
SOURCES: dict[str, tuple[str, ...]] = {
    "parity": ("results/parity/*.json",),
    "tiny-models": ("results/baselines/synthetic.json",),
    "default-run": ("results/default_run/records.jsonl",),
    "eval-speed": ("benchmarks/results/eval_process.json",),
    "lvvis-speed": ("benchmarks/results/lvvis_eval.json",),
    "burst-speed": ("benchmarks/results/burst_eval.json",),
    "kernel-dtypes": ("benchmarks/results/ms_deform_attn_cpu_revisions.json",),
    "model-sizes": ("results/tables/model_sizes.json",),
    "fast-paths": ("benchmarks/results/model_forward_paths.json",),
    "long-video": ("results/long_video/records.jsonl",),
    "dvis-plus-memory": ("results/long_video_dvis_plus/records.jsonl",),
    "dvis-daq-memory": ("results/long_video_dvis_daq/records.jsonl",),
    "interval-example": ("results/default_run/records.jsonl",),
    "sweep-bootstrap-cost": ("benchmarks/results/cell_bootstrap_default_run.json",),
    "render-speed": ("benchmarks/results/show_render.json",),
    "feature-reuse": ("benchmarks/results/feature_reuse.json",),
    "mask-encoding": ("benchmarks/results/mask_encoding.json",),
    "dvis-offline-mask-features": ("benchmarks/results/dvis_offline_mask_features.json",),
    "backbone-category-probe": ("benchmarks/results/backbone_category_probe.json",),
    "sam3-transformers-parity": ("benchmarks/results/sam3_transformers_parity.json",),
    "sam3-authors-loop": ("benchmarks/results/sam3_authors_loop.json",),
    "sam3-objects": SAM3_OBJECTS_SOURCES,
    "authors-side-by-side": ("benchmarks/results/authors_side_by_side.json",),
    "fps-protocols": (PROTOCOLS_SOURCE,),
    "compile": (COMPILE_SOURCE, PROTOCOLS_SOURCE),
    "gpu-table": GPU_TABLE_SOURCES,
    "gpu-table-h200": GPU_TABLE_H200_SOURCES,
    "fps-precision-aa": (AA_TARGET_SOURCE,),
    "frames-identity-cost": ("benchmarks/results/frames_identity.json",),
    "prompts-axis": (PROMPTS_AXIS_SOURCE,),
    "fast-tier": ("benchmarks/results/first_command.json",),
}
#: blocks whose sources may not exist yet (a measurement still to be made on other hardware):
#: the block then says so itself, and its provenance line says there is no source
NOT_YET_MEASURED = {
    "gpu-table": "no source yet: no GPU run has been committed",
    "fast-tier": "no source yet: the fresh-clone timing is not committed",
}


def _legacy_block(record: dict[str, Any]) -> dict[str, Any] | None:
    """What a record made before provenance blocks says of its code: environment.git_commit."""
    commit = (record.get("environment") or {}).get("git_commit")
    if not commit:
        return None
    return {
        "commit": commit.removesuffix("-dirty"),
        "dirty": commit.endswith("-dirty"),
        "diff_sha256": "unknown",
        "command": None,
    }


def source_provenance(root: Path, relative: str) -> list[dict[str, Any] | None]:
    """The provenance block(s) of one source: one per record of a .jsonl, else the file's."""
    paths = sorted(root.glob(relative)) if "*" in relative else [root / relative]
    blocks: list[dict[str, Any] | None] = []
    for path in paths:
        data = read_source(root, str(path.relative_to(root)))
        if isinstance(data, list) and path.suffix == ".jsonl":
            blocks += [r.get("provenance") or _legacy_block(r) for r in data]
        else:
            blocks.append(data.get("provenance") if isinstance(data, dict) else None)
    return blocks


def provenance_line(name: str, root: Path, allow_dirty: bool) -> str:
    """The block's closing line: the sources' commit and command; refuses a source made from
    uncommitted code, several code states or no provenance unless `allow_dirty`."""
    from vis_bench.measure.provenance import source_states

    present = [r for r in SOURCES[name] if "*" in r or (root / r).is_file()]
    if name not in NOT_YET_MEASURED:
        present = list(SOURCES[name])
    blocks = [b for relative in present for b in source_provenance(root, relative)]
    if not blocks and name in NOT_YET_MEASURED:
        return f"Provenance: {NOT_YET_MEASURED[name]}."
    states = source_states(blocks)
    clean = len(states) == 1 and all(b and b.get("commit") and not b.get("dirty") for b in blocks)
    if not clean and not allow_dirty:
        raise InputError(
            f"the sources of the {name!r} block were not made from one clean commit: "
            f"{', '.join(states)}; regenerate them from a clean commit (or pass --allow-dirty)",
            path=", ".join(SOURCES[name]),
        )
    commands = sorted({b["command"] for b in blocks if b and b.get("command")})
    made_by = f" by `{'`, `'.join(commands)}`" if commands else ""
    return f"Provenance: commit {', '.join(states)}{made_by}."


def parity_block(root: Path) -> str:
    """Largest difference per compared group, per fixture (results/parity/*.json)."""
    lines = [
        "| fixture | compared outputs | largest difference (tolerance) | verdict |",
        "|---|---|---|---|",
    ]
    for path in sorted((root / "results" / "parity").glob("*.json")):
        report = read_source(root, str(path.relative_to(root)))
        numeric = [c for c in report["checks"] if c["max_abs_diff"] is not None]
        worst = max(numeric, key=lambda c: c["max_abs_diff"] / c["tolerance"], default=None)
        largest = (
            "-"
            if worst is None
            else f"{worst['max_abs_diff']:.1e} on {worst['name']} ({worst['tolerance']:.0e})"
        )
        verdict = "PASS" if report["passed"] else "FAIL"
        lines.append(f"| {report['method']} | {report['compared']} | {largest} | {verdict} |")
    lines.append("")
    lines.append(
        "Source: `results/parity/<name>.json`, written by `python run_bench.py parity --method "
        "NAME --fixture tests/fixtures/golden/<name>/public --json results/parity/NAME.json` "
        "(fixture folder `mssts` for mssts-release, `mask2former_vis` for mask2former-vis; "
        "`--backbone swin` for the Swin fixture)."
    )
    return "\n".join(lines)


def tiny_models_block(root: Path) -> str:
    """The shipped tiny models: training steps and time (from each checkpoint's own training
    record) and their baseline AP/AR (results/baselines/synthetic.json)."""
    from vis_bench.formats.checkpoints import read_project_checkpoint

    baseline = read_source(root, "results/baselines/synthetic.json")
    lines = [
        "| model | steps | training time | AP | AP50 | AP75 | AR1 | AR10 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cell in baseline["cells"]:
        training = read_project_checkpoint(root / cell["checkpoint"]).training or {}
        metrics = cell["metrics"]
        lines.append(
            f"| {cell['method']} | {training.get('iterations', '-')} | "
            f"{fmt(training.get('seconds'), 1 / 60)} min | "
            + " | ".join(fmt(metrics.get(k), 100) for k in ("AP", "AP50", "AP75", "AR1", "AR10"))
            + " |"
        )
    lines.append("")
    lines += _backbone_lines(root, [cell["checkpoint"] for cell in baseline["cells"]])
    lines.append(
        f"Source: `results/baselines/synthetic.json` (`regress --update`, dataset "
        f"{baseline.get('dataset_label') or baseline.get('dataset')}) and each checkpoint's "
        "training record."
    )
    return "\n".join(lines)


def _backbone_lines(root: Path, checkpoints: list[str]) -> list[str]:
    """One line per pretrained backbone the tiny models start from (their configs'
    `backbone_init`), from that backbone's own training record: its steps, time and held-out
    accuracy (other draws of the training videos, and unseen videos where it was given
    `validation`) are measurements, so they are read from the file rather than typed."""
    from vis_bench.formats.checkpoints import read_project_checkpoint

    backbones: list[str] = []
    shipped = _config_backbone_inits(root)
    for checkpoint in checkpoints:
        config = (read_project_checkpoint(root / checkpoint).training or {}).get("config") or {}
        # a model joined from runs (SAM 3) records its first run's config, named as in configs/
        init = (
            shipped.get(checkpoint)
            or shipped.get(f"name:{config.get('name')}")
            or config.get("backbone_init")
        )
        if init and init not in backbones:
            backbones.append(init)
    lines = []
    for backbone in backbones:
        record = read_project_checkpoint(root / backbone).training or {}
        task = record.get("task", "pretraining")
        unit = "object pixels" if "pixel" in task else "object crops"
        unseen = record.get("unseen_accuracy")
        unseen_part = "" if unseen is None else f", {fmt(unseen, 100)} % in unseen videos"
        lines.append(
            f"Backbone `{backbone}` ({task}): {record.get('iterations', '-')} steps, "
            f"{fmt(record.get('seconds'), 1 / 60)} min, {fmt(record.get('accuracy'), 100)} % "
            f"of {unit} right in other draws of its training videos{unseen_part}."
        )
    return lines + ([""] if lines else [])


def _config_backbone_inits(root: Path) -> dict[str, str]:
    """`output` (and `name:` + `name`) -> `backbone_init` of the tiny-model configs
    (configs/tiny/*.yaml): the shipped name of each model's backbone, where the training record
    holds the path the run was given (which may be a file outside the repository)."""
    import yaml

    inits = {}
    for path in sorted((root / "configs" / "tiny").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if isinstance(data, dict) and data.get("output") and data.get("backbone_init"):
            inits[str(data["output"])] = str(data["backbone_init"])
            inits[f"name:{data.get('name')}"] = str(data["backbone_init"])
    return inits


def model_sizes_block(root: Path) -> str:
    """Parameters and GMACs per frame of each released model (results/tables/model_sizes.json)."""
    data = read_source(root, "results/tables/model_sizes.json")
    rows = data["rows"] if isinstance(data, dict) else data
    lines = [
        "| method | backbone | parameters (M) | state dict (M) | authors' code (M) | paper (M) "
        "| GMACs/frame |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        paper = row.get("paper") or {}
        quoted = f"{paper['value'] / 1e6:.1f} ({paper['counts']})" if paper.get("value") else ""
        authors = row.get("authors_code")
        lines.append(
            f"| {row['method']} | {row['label']} | {row['parameters'] / 1e6:.2f} | "
            f"{row['state_dict_numbers'] / 1e6:.2f} | "
            f"{'' if authors is None else f'{authors / 1e6:.2f}'} | {quoted} | "
            f"{row['gmacs_per_frame']:.1f} |"
        )
    lines.append("")
    lines.append(
        "Source: `results/tables/model_sizes.json`, written by `python run_bench.py sizes "
        "--config configs/model_sizes.yaml --out results/tables/model_sizes` (GMACs over one "
        "360x640 frame of each method's clip "
        "inference, random weights)."
    )
    return "\n".join(lines)


def memory_by_length_block(root: Path, folder: str, config: str, run_prefix: str) -> str:
    """Peak memory against video length (`folder`/records.jsonl, runs of `config` in
    results/runs/`run_prefix`_rN): the median run of each cell, the spread of the repeated
    runs, and growth with length judged against it."""
    from vis_bench.records import CellRecord
    from vis_bench.records.parts import Environment
    from vis_bench.report.memory_plot import memory_table
    from vis_bench.report.memory_repeats import growth_lines, median_records, spread_table
    from vis_bench.report.record_set import RecordSet

    records = [CellRecord.from_json(r) for r in read_source(root, f"{folder}/records.jsonl")]
    env = (records[0].environment if records else None) or Environment()
    runs = len({r.repeat for r in records}) if records else 0
    growth = growth_lines(records)
    return "\n".join(
        [
            memory_table(RecordSet.from_records(median_records(records))),
            "",
            f"Peak RSS over the {runs} run(s) of each cell:",
            "",
            spread_table(records),
            "",
            *(["Peak memory growth with video length:", "", *growth, ""] if growth else []),
            f"Source: `{folder}/records.jsonl` (table and plot: `{folder}/memory.md`), written "
            f"by `python run_bench.py run --config {config} --run-dir "
            f"results/runs/{run_prefix}_rN` for each run N and `python "
            f"benchmarks/long_video_report.py results/runs/{run_prefix}_r* --repeats --out "
            f"{folder}` on {env.cpu} with {env.threads} threads; the first table "
            "is each cell's median run.",
        ]
    )


def long_video_block(root: Path) -> str:
    """Peak memory against video length of the default methods (results/long_video)."""
    return memory_by_length_block(
        root, "results/long_video", "configs/long_video_quick.yaml", "long_video"
    )


def dvis_plus_memory_block(root: Path) -> str:
    """Peak memory against video length of DVIS++ online and offline
    (results/long_video_dvis_plus): the offline refiner holds every frame's queries."""
    return memory_by_length_block(
        root,
        "results/long_video_dvis_plus",
        "configs/long_video_dvis_plus.yaml",
        "long_video_dvis_plus",
    )


def dvis_daq_memory_block(root: Path) -> str:
    """Peak memory against video length of DVIS-DAQ online and offline, the tiny trained
    models (results/long_video_dvis_daq): what their sequences keep grows with the video."""
    return memory_by_length_block(
        root,
        "results/long_video_dvis_daq",
        "configs/long_video_dvis_daq.yaml",
        "long_video_dvis_daq",
    )


def interval_example_block(root: Path) -> str:
    """How a skewed percentile interval reads, on the default run's SeqFormer T = all cell
    (results/default_run/records.jsonl): the example in the docs is a real cell's interval, so
    it changes with the run instead of going stale."""
    records = [
        r for r in read_source(root, "results/default_run/records.jsonl") if r["status"] == "ok"
    ]
    cells = [r for r in records if r.get("AP_ci")]
    preferred = [r for r in cells if r["method"] == "seqformer" and str(r["clip_length"]) == "all"]
    if not (preferred or cells):
        return "No cell of `results/default_run/records.jsonl` has an AP interval."
    cell = (preferred or cells)[-1]
    ap, (low, high) = 100 * cell["AP"], (100 * cell["AP_ci"][0], 100 * cell["AP_ci"][1])
    half = (high - low) / 2
    return "\n".join(
        [
            f"`{ap:.2f} [{low:.2f}, {high:.2f}]`: AP [low, high] of {cell['method']} "
            f"T = {cell['clip_length']} in the default run. The interval reaches {ap - low:.2f} "
            f"below the value and {high - ap:.2f} above; printed as `value ± {half:.2f}` (its "
            f"half-width) it would read [{ap - half:.2f}, {ap + half:.2f}], a range the "
            "bootstrap did not give.",
            "",
            "Source: `results/default_run/records.jsonl` (`AP`, `AP_ci`), written by `python "
            "run_bench.py run --run-dir results/default_run`.",
        ]
    )


def sweep_bootstrap_cost_block(root: Path) -> str:
    """What the per-cell intervals cost in the default run, and the size of the files they keep
    (benchmarks/results/cell_bootstrap_default_run.json)."""
    report = read_source(root, "benchmarks/results/cell_bootstrap_default_run.json")
    # each cell's interval time: its scoring with B replicates less its scoring without
    cells = [{**c, "intervals": c["score_with_bootstrap"] - c["score"]} for c in report["cells"]]
    n = len(cells)

    def span(key: str, scale: float = 1.0, digits: int = 2) -> str:
        low, high = (
            f"{v * scale:.{digits}f}"
            for v in (min(c[key] for c in cells), max(c[key] for c in cells))
        )
        return low if low == high else f"{low}-{high}"

    bootstrap, run = report["bootstrap_seconds_total"], report["run_cell_seconds"]
    return "\n".join(
        [
            "| | seconds |",
            "|---|---|",
            f"| scoring {n} cells without intervals | {report['score_seconds_total']:.2f} in all "
            f"({span('score', digits=3)} per cell) |",
            f"| bootstrap intervals, B = {report['replicates']}, {n} cells | {bootstrap:.2f} in "
            f"all ({span('intervals')} per cell) |",
            f"| all reports of the run (paired comparisons included) | "
            f"{report['reports_seconds']:.2f} |",
            f"| the run's {n} cells (inference, timing, FLOPs, scoring) | {run:,.0f} |",
            "",
            f"The intervals cost {100 * bootstrap / run:.1f} % of the cells' time. Per cell, the "
            f"per-video matching file takes {span('video_matches_bytes', 1 / 1024, 1)} KiB "
            f"({span('results', digits=0)} results), the replicate values "
            f"{span('replicates_bytes', 1 / 1024, 1)} KiB, the record line "
            f"{span('record_line_bytes', 1 / 1024, 1)} KiB.",
            "",
            "Source: `benchmarks/results/cell_bootstrap_default_run.json`, written by `python "
            "benchmarks/bench_cell_bootstrap.py RUN_DIR --json "
            f"benchmarks/results/cell_bootstrap_default_run.json` (median of {report['repeat']} "
            "repeats, interleaved).",
        ]
    )


GENERATORS: dict[str, Callable[[Path], str]] = {
    "parity": parity_block,
    "tiny-models": tiny_models_block,
    "default-run": default_run_block,
    "eval-speed": eval_speed_block,
    "lvvis-speed": lvvis_speed_block,
    "burst-speed": burst_speed_block,
    "kernel-dtypes": kernel_dtypes_block,
    "model-sizes": model_sizes_block,
    "fast-paths": fast_paths_block,
    "long-video": long_video_block,
    "dvis-plus-memory": dvis_plus_memory_block,
    "dvis-daq-memory": dvis_daq_memory_block,
    "interval-example": interval_example_block,
    "sweep-bootstrap-cost": sweep_bootstrap_cost_block,
    "render-speed": render_speed_block,
    "feature-reuse": feature_reuse_block,
    "mask-encoding": mask_encoding_block,
    "dvis-offline-mask-features": dvis_offline_mask_features_block,
    "backbone-category-probe": backbone_category_probe_block,
    "sam3-transformers-parity": sam3_transformers_parity_block,
    "sam3-authors-loop": sam3_authors_loop_block,
    "sam3-objects": sam3_objects_block,
    "authors-side-by-side": authors_side_by_side_block,
    "fps-protocols": fps_protocols_block,
    "compile": compile_block,
    "gpu-table": gpu_table_block,
    "gpu-table-h200": gpu_table_h200_block,
    "fps-precision-aa": fps_precision_aa_block,
    "frames-identity-cost": frames_identity_cost_block,
    "prompts-axis": prompts_axis_block,
    "fast-tier": fast_tier_block,
}


def regenerate(text: str, root: Path, source: str, allow_dirty: bool = False) -> str:
    """`text` with every generated block rewritten from its source, provenance last."""

    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in GENERATORS:
            raise InputError(
                f"unknown generated block {name!r}; known: {', '.join(sorted(GENERATORS))}",
                path=source,
            )
        body = GENERATORS[name](root).rstrip()
        line = provenance_line(name, root, allow_dirty or bool(match.group(3)))
        return f"{match.group(1)}{body}\n{line}\n{match.group(5)}"

    return BLOCK.sub(replace, text)


def generated_blocks(root: Path = REPO_ROOT) -> dict[str, list[str]]:
    """The names of the generated blocks of each document that has any."""
    found = {}
    for relative in DOCUMENTS:
        path = root / relative
        if path.is_file():
            names = [match.group(2) for match in BLOCK.finditer(path.read_text())]
            if names:
                found[relative] = names
    return found


def stale_documents(
    root: Path = REPO_ROOT, write: bool = False, allow_dirty: bool = False
) -> list[str]:
    """Documents whose generated blocks differ from their sources (rewritten when `write`)."""
    stale = []
    for relative in DOCUMENTS:
        path = root / relative
        if not path.is_file():
            continue
        text = path.read_text()
        fresh = regenerate(text, root, relative, allow_dirty)
        if fresh != text:
            stale.append(relative)
            if write:
                from vis_bench.atomic import write_atomic

                write_atomic(path, fresh)
    return stale

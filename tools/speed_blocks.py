"""Generated docs blocks of speed by timing protocol (results/protocols/records.jsonl), of
torch.compile on the default cells (results/compile_cpu/records.jsonl beside the protocols run's
eager cells) and by number of prompts (results/prompts_axis/records.jsonl). doc_numbers.py
registers them with the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.doc_sources import fmt, read_source
from vis_bench.report.axis_tables import axis_table
from vis_bench.report.record_set import RecordSet

PROTOCOLS_SOURCE = "results/protocols/records.jsonl"
COMPILE_SOURCE = "results/compile_cpu/records.jsonl"
PROMPTS_AXIS_SOURCE = "results/prompts_axis/records.jsonl"
PROTOCOLS_COMMAND = (
    'python run_bench.py run --set "measure.protocols=[end_to_end,model,authors]" --set '
    "measure.stream=true --set measure.stream_fps=6 --set measure.bootstrap=0 --run-dir "
    "results/protocols"
)
COMPILE_COMMAND = (
    'python run_bench.py run --set measure.compile=true --set measure.bootstrap=0 --set "sweep.'
    'clip_length=[all]" --run-dir results/compile_cpu'
)


def _latest(root: Path, source: str) -> list[dict[str, Any]]:
    """The latest ok record of each cell, ordered by method then clip length (all first)."""
    latest = {r["key"]: r for r in read_source(root, source) if r.get("status") == "ok"}

    def order(record: dict[str, Any]) -> tuple[str, float]:
        t = record["clip_length"]
        return record["method"], float("-inf") if t == "all" else -float(t)

    return sorted(latest.values(), key=order)


def _authors(record: dict[str, Any]) -> tuple[str, list[str]]:
    """The authors' protocol as run ("name, precision") or why there is no number, and the
    notes of what this machine could not apply."""
    entry = (record.get("protocols") or {}).get("authors") or {}
    declared = entry.get("protocol")
    if declared is None:
        return "not declared", []
    if not declared.get("stated", True):
        return "not stated by the authors", []
    if entry.get("fps") is None:
        return str(entry.get("not_measured")), []
    applied = entry.get("applied") or {}
    return f"{declared['name']}, {applied.get('precision')}", list(applied.get("notes") or [])


def _latency(record: dict[str, Any]) -> str:
    stream = record.get("stream") or {}
    ms = stream.get("latency_ms") or {}
    return f"{fmt(ms.get('p50'), 1, 0)} / {fmt(ms.get('p99'), 1, 0)}" if ms else "-"


def fps_protocols_block(root: Path) -> str:
    """FPS end to end, model only and by the authors' protocol per default cell, the ratio, the
    live stream's latency and what the CPU could not apply."""
    records = _latest(root, PROTOCOLS_SOURCE)
    lines = [
        "| method | T | end to end | model | authors | authors / e2e | latency p50 / p99 (ms) "
        "| authors' protocol as run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes: dict[str, list[str]] = {}
    for r in records:
        e2e, authors = r.get("fps_end_to_end"), r.get("fps_authors")
        ratio = "-" if authors is None or not e2e else f"{authors / e2e:.2f}x"
        text, applied = _authors(r)
        for note in applied:
            if note not in notes.setdefault(r["method"], []):
                notes[r["method"]].append(note)
        lines.append(
            f"| {r['method']} | {r['clip_length']} | {fmt(e2e)} | {fmt(r.get('fps_model'))} | "
            f"{fmt(authors)} | {ratio} | {_latency(r)} | {text} |"
        )
    env = (records[0].get("environment") or {}) if records else {}
    energy = next((r.get("energy") for r in records if r.get("energy")), None) or {}
    lines.append("")
    lines += [f"Applied on this CPU, {m}: {'; '.join(n)}." for m, n in notes.items()]
    if energy:
        joules = energy.get("joules_per_frame")
        lines.append(
            f"Energy: {joules:.3f} J/frame ({energy.get('source')})."
            if joules is not None
            else f"Energy: {energy.get('note')}."
        )
    lines.append(
        "FPS per protocol (docs/timing_protocols.md); latency of a live stream at 6 frames per "
        "second (YouTube-VIS's annotated rate), replayed from the end-to-end run. Source: "
        f"`{PROTOCOLS_SOURCE}`, written by `{PROTOCOLS_COMMAND}` on {env.get('cpu')} with "
        f"{env.get('threads')} threads."
    )
    return "\n".join(lines)


def compile_block(root: Path) -> str:
    """End-to-end FPS of each default cell eager and compiled, the compile time kept apart,
    graphs and breaks, and whether the AP moved."""
    eager = {(r["method"], str(r["clip_length"])): r for r in _latest(root, PROTOCOLS_SOURCE)}
    lines = [
        "| method | T | FPS eager | FPS compiled | compiled / eager | compile s (in the timed "
        "region, left out) | graphs | graph breaks | parts run eagerly | AP eager / compiled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    compiled_records = _latest(root, COMPILE_SOURCE)
    for r in compiled_records:
        base = eager.get((r["method"], str(r["clip_length"]))) or {}
        info = (r.get("execution") or {}).get("compile") or {}
        fast, slow = r.get("fps_end_to_end"), base.get("fps_end_to_end")
        ratio = "-" if fast is None or not slow else f"{fast / slow:.2f}x"
        lines.append(
            f"| {r['method']} | {r['clip_length']} | {fmt(slow)} | {fmt(fast)} | {ratio} | "
            f"{fmt(info.get('compile_s'))} ({fmt(info.get('compile_s_in_timed_region'))}) | "
            f"{info.get('graphs', '-')} | {info.get('graph_breaks', '-')} | "
            f"{info.get('frames_failed', '-')} | {fmt(base.get('AP'), 100, 2)} / "
            f"{fmt(r.get('AP'), 100, 2)} |"
        )
    first = compiled_records[0] if compiled_records else {}
    info = (first.get("execution") or {}).get("compile") or {}
    env = first.get("environment") or {}
    lines += [
        "",
        f"torch.compile mode {info.get('mode')}, dynamic {info.get('dynamic')}, errors "
        f"suppressed: {info.get('suppress_errors')} (a part that fails runs eagerly, counted). "
        f"Sources: `{COMPILE_SOURCE}`, written by `{COMPILE_COMMAND}`, and the eager cells of "
        f"`{PROTOCOLS_SOURCE}` (`{PROTOCOLS_COMMAND}`), on {env.get('cpu')} with "
        f"{env.get('threads')} threads.",
    ]
    return "\n".join(lines)


AA_TARGET_SOURCE = "benchmarks/results/fps_precision_aa_target.json"


def fps_precision_aa_block(root: Path) -> str:
    """The quiet A/A run given the time the precision target asks for: per twin pair, the
    difference of the two figures and the rounds each had; the machine's jitter while it ran
    (benchmarks/results/fps_precision_aa_target.json)."""
    report = read_source(root, AA_TARGET_SOURCE)
    run = report["runs"]["quiet"]
    cells = {cell["cell"]: cell for cell in run["cells"]}
    lines = [
        "| cell | FPS twin 1 | FPS twin 2 | difference | rounds (counted) |",
        "|---|---:|---:|---:|---|",
    ]
    for name, difference in run["twins_difference"].items():
        method, _, setting = name.rpartition(" T=")
        one, two = (cells[f"{method} twin {i} T={setting}"] for i in (1, 2))
        rounds = " / ".join(f"{c['rounds_timed']} ({c['rounds_counted']})" for c in (one, two))
        lines.append(
            f"| {name} | {one['fps']:.1f} ±{100 * one['precision']:.1f}% | "
            f"{two['fps']:.1f} ±{100 * two['precision']:.1f}% | {100 * difference:.1f} % | {rounds} |"
        )
    differences = list(run["twins_difference"].values())
    within = sum(d <= 0.05 for d in differences)
    jitter = run["machine_jitter"]
    given = report["measure_given"]
    lines += [
        "",
        f"{within} of {len(differences)} twin pairs within a twentieth (largest "
        f"{100 * max(differences):.1f} %). Given {given['cell_budget_s']:g} s and at most "
        f"{given['max_rounds']} rounds a cell, target {100 * given['precision']:g} %; the run took "
        f"{run['wall_s'] / 60:.0f} minutes, load average {fmt(run['loadavg_before'][0])} -> "
        f"{fmt(run['loadavg_after'][0])}. The machine's jitter meanwhile: the reference readings "
        f"varied by {100 * jitter['reference_cv']:.1f} % (coefficient of variation, "
        f"{jitter['readings']} readings; the 10th percentile at "
        f"{jitter['reference_p10_over_median']:.2f} of the median), a cell's rounds by "
        f"{100 * jitter['round_fps_cv_median']:.1f} % (median over cells). Source: "
        f"`{AA_TARGET_SOURCE}`, written by `python benchmarks/bench_fps_precision.py aa --load 0 "
        f"--cell-budget-s {given['cell_budget_s']:g} --max-rounds {given['max_rounds']} "
        f"--precision {given['precision']:g}`.",
    ]
    return "\n".join(lines)


def prompts_axis_block(root: Path) -> str:
    """End-to-end FPS by number of prompts, with the objects each prompted cell tracked, beside
    the methods without prompts (configs/prompts_axis.yaml)."""
    records = RecordSet.from_records(read_source(root, PROMPTS_AXIS_SOURCE))
    table = axis_table(records, "fps_end_to_end", "prompts")
    return (
        f"{table}\n`*` / `†` after an FPS: measured on a loaded machine / one whose speed moved "
        "during the cell (`tables.md` gives by how much).\n\n"
        f"Source: `{PROMPTS_AXIS_SOURCE}` (tables: `results/prompts_axis/tables.md`), written "
        "by `python run_bench.py run --config configs/prompts_axis.yaml --set output=results`."
    )

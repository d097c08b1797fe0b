"""The README's default-run block: AP and FPS per method and clip length of the committed
`results/default_run/`, with what its times hold for (the cells' phases, the load, the command's
wall time, the fresh clone's first command) and a mark on a method whose checkpoint changed since."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.doc_sources import fmt, read_source


def default_run_block(root: Path) -> str:
    """AP / end-to-end FPS / model FPS per method and clip length of the default run."""
    records = [
        r for r in read_source(root, "results/default_run/records.jsonl") if r["status"] == "ok"
    ]
    latest = {r["key"]: r for r in records}
    lengths = sorted(
        {str(r["clip_length"]) for r in latest.values()},
        key=lambda t: (0, 0) if t == "all" else (1, -int(t)),  # all, then longest first
    )
    stale = _stale_checkpoints(root, list(latest.values()))
    lines = ["| method | " + " | ".join(f"T={t}" for t in lengths) + " |"]
    lines.append("|---|" + "---|" * len(lengths))
    for method in sorted({r["method"] for r in latest.values()}):
        cells = []
        for t in lengths:
            match = [
                r for r in latest.values() if r["method"] == method and str(r["clip_length"]) == t
            ]
            r = match[0] if match else {}
            cells.append(
                f"{fmt(r.get('AP'), 100, 2)} / {fmt(r.get('fps_end_to_end'))} / "
                f"{fmt(r.get('fps_model'))}"
            )
        mark = " §" if method in stale else ""
        lines.append(f"| {method}{mark} | " + " | ".join(cells) + " |")
    first = next(iter(latest.values()), {})
    env, execution = first.get("environment") or {}, first.get("execution") or {}
    passes = execution.get("accuracy_pass_threads")
    threads = f"{execution.get('threads', env.get('threads'))} threads" + (
        f" (the accuracy passes {passes} each, side by side)" if passes else ""
    )
    lines.append("")
    lines.append(
        f"AP / FPS end to end / FPS model. Source: `results/default_run/records.jsonl`, written by "
        f"`python run_bench.py run --run-dir results/default_run` on {env.get('cpu')} with "
        f"{threads}{_cells_time(list(latest.values()))}"
        f"{_load_clause(list(latest.values()))}{_speed_clause(list(latest.values()))}."
    )
    for method, (path, then, now) in sorted(stale.items()):
        lines.append(
            f"§ {method}: its cells were made with another file than the `{path}` in this "
            f"checkout (sha256 {then[:12]} then, {now[:12]} now), so its numbers are the "
            "earlier file's until the default run is made again; the current file's AP: "
            "`regress` (docs/training.md)."
        )
    phases = _phase_line(list(latest.values()))
    if phases:
        lines.append(phases)
    whole = _whole_run_line(root / "results/default_run/run.json")
    if whole:
        lines.append(whole)
    fresh = _first_command_line(root / "benchmarks/results/first_command.json")
    if fresh:
        lines.append(fresh)
    return "\n".join(lines)


def _stale_checkpoints(root: Path, records: list[dict[str, Any]]) -> dict[str, tuple]:
    """Methods whose records name a checkpoint of this checkout whose bytes changed since:
    method -> (path, sha256 recorded, sha256 now). A table of a committed run must not pass
    off an earlier file's numbers as the shipped file's."""
    from vis_bench.hashing import file_sha256

    hashes: dict[str, str] = {}  # each file read once: a method's cells share their file
    stale = {}
    for record in records:
        path, then = record.get("checkpoint"), (record.get("checkpoint_source") or {}).get("sha256")
        if not path or not then or Path(path).is_absolute() or not (root / path).is_file():
            continue
        if path not in hashes:
            hashes[path] = file_sha256(root / path)
        now = hashes[path]
        if now != then:
            stale[record["method"]] = (path, then, now)
    return stale


def _first_command_line(path: Path) -> str:
    """The README's first command timed on a fresh clone (bench_first_command.py), "" without
    its JSON."""
    if not path.is_file():
        return ""
    report = json.loads(path.read_text())
    parts = report["parts"]
    loads = [p[k] for p in parts.values() if p for k in ("load_before", "load_after")]
    minutes, rest = divmod(round(float(report["seconds"])), 60)
    commit = (report.get("provenance") or {}).get("commit", "?")[:7]
    return (
        f"On a fresh clone the first command took {minutes} min {rest} s in all (install "
        f"{parts['install']['seconds']:.0f} s; run {parts['run']['seconds']:.0f} s, with the "
        f"kernel's build and the dataset's generation), 1-minute load {min(loads):.1f} to "
        f"{max(loads):.1f}: `python benchmarks/bench_first_command.py` at {commit}."
    )


def _whole_run_line(run_json: Path) -> str:
    """The command's own wall time by phase (run.json's `last_run_timings`), "" without it."""
    if not run_json.is_file():
        return ""
    timings = json.loads(run_json.read_text()).get("last_run_timings") or {}
    if not timings.get("total_s"):
        return ""
    from vis_bench.sweep.phase_clock import LABELS

    data = float(timings["phases_s"].get("data", 0.0))
    state = (
        "in a warm checkout (the dataset already generated)"
        if data < 1.0
        else f"with the dataset generated first ({data:.1f} s of it)"
    )
    minutes, rest = divmod(round(float(timings["total_s"])), 60)
    parts = [f"{LABELS.get(k, k)} {v:.1f} s" for k, v in timings["phases_s"].items() if v >= 0.05]
    return (
        f"The command as a whole took {minutes} min {rest} s {state}: " + ", ".join(parts) + ". "
        "A fresh clone adds the install and the CPU kernel's first build (docs/kernels.md)."
    )


def _load_clause(records: list[dict[str, Any]]) -> str:
    """ ", under a 1-minute load average of A to B (...)": the machine's load where the records
    read it, at their timed rounds, so that a reader tells a quiet machine's time from a loaded
    one's; "" when a record lacks it."""
    try:
        low = min(float(r["load"]["load1_start"]) for r in records)
        high = max(float(r["load"]["load1_max"]) for r in records)
    except (KeyError, TypeError, ValueError):
        return ""  # no records, or one from before the load was read
    return (
        f", under a 1-minute load average of {low:.1f} to {high:.1f} (read at their timed rounds)"
    )


def _speed_clause(records: list[dict[str, Any]]) -> str:
    """ ", its reference matrix product at a median N GFLOP/s (...)": the machine's own speed
    read before and after every timed round (docs/fps.md, Reference speed), so that a reader
    can scale the times to a machine of theirs; "" when no round read it."""
    import statistics

    readings = [
        float(r["reference_gflops"])
        for record in records
        for r in (record.get("speed") or {}).get("rounds") or []
        if r.get("reference_gflops")
    ]
    if not readings:
        return ""
    return (
        f", its reference matrix product at a median {statistics.median(readings):.0f} GFLOP/s "
        "over the timed rounds (docs/fps.md: the cells' times scale with it)"
    )


def _phase_line(records: list[dict[str, Any]]) -> str:
    """The cells' seconds by phase (each record's `timings`), "" when a record has none."""
    if not records or any(not r.get("timings") for r in records):
        return ""
    from vis_bench.sweep.phase_clock import LABELS

    total: dict[str, float] = {}
    for record in records:
        for phase, seconds in record["timings"].items():
            total[phase] = total.get(phase, 0.0) + float(seconds)
    parts = [f"{LABELS.get(k, k)} {v:.1f} s" for k, v in total.items() if v >= 0.05]
    return "The cells' time by phase: " + ", ".join(parts) + "."


def _cells_time(records: list[dict[str, Any]]) -> str:
    """ ", its N cells took X min Y s in all": the sum of each record's phases (sweep/phase_clock.py),
    or "" when a record lacks them. A cell's start and end no longer bound its work: its timed
    rounds are interleaved with the other cells' until the sweep ends. The sum of the cells, not
    the command's wall time: start-up and dataset generation are not in any record."""
    try:
        seconds = sum(sum(float(v) for v in r["timings"].values()) for r in records)
    except (KeyError, TypeError, ValueError, AttributeError):
        return ""
    minutes, rest = divmod(round(seconds), 60)
    return (
        f"; its {len(records)} cells took {minutes} min {rest} s in all (the sum of their phases)"
    )

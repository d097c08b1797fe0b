"""The README's first command on a fresh clone, timed as a new user meets it.

    python benchmarks/bench_first_command.py [--json benchmarks/results/first_command.json]
        [--python /usr/bin/python3.11] [--workdir /tmp/vis_bench_first_command]

Clones this checkout's HEAD into an empty folder (committed files only, as `git clone` gives a
user), makes a virtual environment there (not part of the README's command, timed apart), then
runs the command the README's set-up block gives as its first (read from README.md, so the
figure is of the command users copy) inside it: the install, the kernel's first build, the
synthetic data's generation and the default run with its reports. The seconds of the whole
command and of its parts (the install; the run, with the phases the run itself reports in its
run folder's run.json) go to the JSON with the load before and after and the code state. The
pip cache is as this machine has it (a user who installed PyTorch before has it too). With
`--tests` the README's second command (the fast tier) then runs in the same, now warm, clone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from vis_bench.measure.load import read_load
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

REPO = Path(__file__).resolve().parents[1]
#: the README's line that introduces the first command (the command is the line after it)
FIRST_COMMAND_MARK = "# 1."
#: the line that introduces the second command (the tests' fast tier)
SECOND_COMMAND_MARK = "# 2."


def readme_first_command(readme: Path = REPO / "README.md", mark: str = FIRST_COMMAND_MARK) -> str:
    """The set-up command after the README's line starting with `mark`."""
    lines = readme.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(mark):
            return lines[i + 1].strip()
    raise SystemExit(f"{readme}: no line starting with {mark!r} before the command")


def split_install(command: str) -> tuple[str, str]:
    """The command's install part and its run part (the last `&&` step)."""
    install, sep, run = command.rpartition("&&")
    if not sep:
        raise SystemExit(f"the first command has no install step before the run: {command!r}")
    return install.strip(), run.strip()


def timed_shell(command: str, cwd: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run `command` in bash; its seconds, exit status and the load around it."""
    before, start = read_load().load1, time.perf_counter()
    with log.open("ab") as out:
        status = subprocess.call(["bash", "-c", command], cwd=cwd, env=env, stdout=out, stderr=out)
    seconds = time.perf_counter() - start
    return {
        "command": command,
        "seconds": round(seconds, 2),
        "exit_status": status,
        "load_before": before,
        "load_after": read_load().load1,
    }


def _last_line(log: Path) -> str:
    """The log's last non-empty line (pytest's summary after the second command)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venv")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vis_bench_first_command"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--tests",
        action="store_true",
        help="then run the README's second command (the fast tier) in the same clone",
    )
    args = parser.parse_args()
    provenance = start_provenance()
    command = readme_first_command()
    install, run = split_install(command)
    shutil.rmtree(args.workdir, ignore_errors=True)
    clone = args.workdir / "vis-bench"
    subprocess.check_call(["git", "clone", "-q", str(REPO), str(clone)])
    log = args.workdir / "first_command.log"
    venv = timed_shell(f"{args.python} -m venv .venv", clone, dict(os.environ), log)
    env = {**os.environ, "VIRTUAL_ENV": str(clone / ".venv")}
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("PYTHONPATH", None)
    parts = {"install": timed_shell(install, clone, env, log), "run": None}
    if parts["install"]["exit_status"] == 0:
        parts["run"] = timed_shell(run, clone, env, log)
    run_json = clone / "results" / "runs" / "default" / "run.json"
    phases = (
        json.loads(run_json.read_text()).get("last_run_timings") if run_json.is_file() else None
    )
    seconds = sum(p["seconds"] for p in parts.values() if p)
    tests = None
    if args.tests and parts["run"] and parts["run"]["exit_status"] == 0:
        tests = timed_shell(readme_first_command(mark=SECOND_COMMAND_MARK), clone, env, log)
        tests["last_line"] = _last_line(log)
    report = {
        "readme_command": command,
        "venv": venv,
        "parts": parts,
        "seconds": round(seconds, 2),
        "ok": all(p and p["exit_status"] == 0 for p in parts.values()),
        "run_phases": phases,
        "second_command": tests,
    }
    print(f"the README's first command: {seconds:.0f} s ({'ok' if report['ok'] else 'FAILED'})")
    for name, part in parts.items():
        if part:
            print(f"  {name:8s} {part['seconds']:7.1f} s  load {part['load_before']}")
    if tests:
        print(f"  the second command (fast tier) {tests['seconds']:.1f} s: {tests['last_line']}")
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


if __name__ == "__main__":
    main()

"""Commands import only what they need: building the CLI and running the evaluation-side
commands never loads torch (seconds of start-up) or pandas.

Every command module (and vis_bench.cli, vis_bench.commands and its helper modules) imports only
the standard library at module level, so `run_bench.py --help` works on an install without the
numeric stack: a subprocess blocks tabulate, numpy, torch and pandas with a `sys.meta_path` finder,
imports every module of vis_bench.commands and runs `run_bench.py --help`.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "tests" / "fixtures" / "golden" / "ytvis_eval" / "public" / "case_01"


def _loaded_after(args: list[str], cwd: Path) -> dict[str, bool]:
    code = (
        "import json, sys\n"
        "from vis_bench.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'pandas')}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "command", ["eval", "validate", "synth", "leaderboard", "compare", "split"]
)
def test_help_of_a_light_command_imports_neither_torch_nor_pandas(command, tmp_path):
    assert _loaded_after([command, "--help"], tmp_path) == {"torch": False, "pandas": False}


def test_eval_and_validate_run_without_torch(tmp_path):
    gt, results = str(CASE / "gt.json"), str(CASE / "results.json")
    out = str(tmp_path / "stats.json")
    assert _loaded_after(["eval", "--gt", gt, "--results", results, "--out", out], tmp_path) == {
        "torch": False,
        "pandas": False,
    }
    assert json.loads(Path(out).read_text())["AP"] >= 0
    loaded = _loaded_after(["validate", "--gt", gt, results], tmp_path)
    assert loaded == {"torch": False, "pandas": False}


def test_eval_of_the_largest_lvvis_case_imports_no_table_library(tmp_path):
    """A whole `eval` process on LV-VIS's 1,196 categories starts in about the time its
    imports take: its tables are printed without tabulate (which imports importlib.metadata
    and wcwidth, more time than scoring the case)."""
    case = REPO / "tests" / "fixtures" / "golden" / "lvvis_eval" / "public" / "case_07"
    args = ["eval", "--gt", str(case / "gt.json"), "--results", str(case / "results.json")]
    args += ["--metric", "lvvis", "--per-category", "--out", str(tmp_path / "stats.json")]
    code = (
        "import json, sys\n"
        "from vis_bench.cli import main\n"
        f"main({args!r})\n"
        "names = ('tabulate', 'importlib.metadata', 'wcwidth', 'torch', 'pandas', 'yaml')\n"
        "print(json.dumps([m for m in names if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], out.stderr
    assert "|     41.14 |" in out.stdout  # AP, as a percentage, right-aligned


def test_the_installed_command_ends_eval_without_a_teardown(tmp_path):
    """`vis-bench eval` (the console script, cli.console_main) ends as run_bench.py does:
    outputs written and flushed, then no interpreter teardown (an atexit hook never runs)."""
    out_file = tmp_path / "stats.json"
    args = ["vis-bench", "eval", "--gt", str(CASE / "gt.json"), "--results"]
    args += [str(CASE / "results.json"), "--allow-dropped", "--out", str(out_file)]
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('torn down'))\n"
        f"sys.argv = {args!r}\n"
        "from vis_bench.cli import console_main\n"
        "console_main()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.endswith(f"wrote {out_file}\n") and "torn down" not in run.stdout
    assert json.loads(out_file.read_text())["AP"] >= 0


def test_synth_runs_without_torch(tmp_path):
    args = ["synth", "--out", str(tmp_path / "d"), "--videos", "1"]
    assert _loaded_after(args, tmp_path) == {"torch": False, "pandas": False}


BLOCKED = ("tabulate", "numpy", "torch", "pandas")
#: the vis_bench modules a command may load at import time: the CLI and the commands package
#: itself, and the standard-library-only modules they build on
ALLOWED_OWN = (
    "vis_bench",
    "vis_bench.cli",
    "vis_bench.errors",
    "vis_bench.exit_codes",
    "vis_bench.signals",
    "vis_bench.commands",
    # the metric and dataset-kind declarations (`eval --metric` choices): they import no metric
    # code, only the standard library and vis_bench.errors
    "vis_bench.eval",
    "vis_bench.eval.benchmarks",
    "vis_bench.eval.declared",
)

_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {blocked!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: commands import it only when they run")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]
    sys.meta_path.insert(0, Blocker())
    """
)


def _run_blocked(body: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run `body` in a fresh interpreter where importing a BLOCKED package raises ImportError."""
    code = _BLOCKER.format(blocked=BLOCKED) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)


def _command_module_names() -> list[str]:
    import vis_bench.commands as package

    return sorted(f"vis_bench.commands.{i.name}" for i in pkgutil.iter_modules(package.__path__))


def test_the_blocker_blocks():
    """The check below would pass vacuously if the blocker let the packages through."""
    for name in BLOCKED:
        out = _run_blocked(f"import {name}\n")
        assert out.returncode != 0 and "is blocked" in out.stderr, name


def test_command_modules_import_only_the_standard_library():
    modules = ["vis_bench.cli", "vis_bench.commands", *_command_module_names()]
    out = _run_blocked(
        f"""
        import importlib, json, sys
        before = set(sys.modules)
        for name in {modules!r}:
            importlib.import_module(name)
        print(json.dumps(sorted(set(sys.modules) - before)))
        """
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    stdlib = sys.stdlib_module_names
    foreign = [
        name
        for name in loaded
        if name.split(".")[0] not in stdlib
        and name not in ALLOWED_OWN
        and not name.startswith("vis_bench.commands.")
    ]
    assert foreign == [], f"imported at module level by a command: {foreign}"


def test_run_bench_help_works_without_the_numeric_stack():
    out = _run_blocked(
        """
        import runpy, sys
        sys.argv = ["run_bench.py", "--help"]
        runpy.run_path("run_bench.py", run_name="__main__")
        """
    )
    assert out.returncode == 0, out.stderr
    for command in ("run", "eval", "leaderboard", "regress", "synth", "keys"):
        assert f"\n  {command} " in out.stdout, command


def test_help_constants_agree_with_the_code_they_mirror():
    from vis_bench.commands import _statistics, synth
    from vis_bench.data.synthetic import DEFAULT_SIZES, SyntheticSpec
    from vis_bench.eval.stats import bootstrap

    assert _statistics.DEFAULT_REPLICATES == bootstrap.DEFAULT_REPLICATES
    assert _statistics.DEFAULT_CONFIDENCE == bootstrap.DEFAULT_CONFIDENCE
    assert synth.DEFAULT_SIZES_TEXT == ",".join(f"{h}x{w}" for h, w in DEFAULT_SIZES)
    spec = SyntheticSpec()
    for name in ("min_frames", "max_frames", "min_objects", "max_objects", "jpeg_quality"):
        assert f"(default {getattr(spec, name)})" in _option_help(synth, name), name


def _option_help(module, dest: str) -> str:
    import argparse

    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return next(a.help for a in parser._actions if a.dest == dest)

"""The external example method (examples/my_method/): a package of its own, under 100 lines, that
imports only the thin method API and runs through the harness.

CI installs it (`pip install ./examples/my_method`), lists it, runs a sweep cell on it and the
conformance test (tests/test_conformance.py), which finds it through its entry point; here it
is checked as files, and run from its folder without being installed.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import vis_bench.api
from vis_bench.api.tables import ENTRY_POINT_GROUP

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "my_method"
SOURCES = sorted((EXAMPLE / "my_method").glob("*.py"))


def test_it_is_under_100_lines_of_code():
    lines = sum(len(path.read_text().splitlines()) for path in SOURCES)
    assert SOURCES and lines < 100, lines


def test_it_imports_only_the_thin_api():
    imported = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                imported += [(alias.name, None) for alias in node.names]
    ours = [(module, name) for module, name in imported if module.split(".")[0] == "vis_bench"]
    assert ours and all(module == "vis_bench.api" for module, _ in ours), ours
    assert {name for _, name in ours} <= set(vis_bench.api.__all__)


def test_its_entry_point_names_its_plugin_class():
    text = (EXAMPLE / "pyproject.toml").read_text()
    section = text.split(f'[project.entry-points."{ENTRY_POINT_GROUP}"]', 1)[1].split("\n[", 1)[0]
    (name, target), *more = re.findall(r'^([\w-]+) = "([^"]+)"$', section, re.MULTILINE)
    assert not more and target == "my_method.plugin:MyMethod"
    assert f'@register_method("{name}")' in (EXAMPLE / "my_method" / "plugin.py").read_text()


def test_it_runs_through_the_harness_without_being_installed():
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(EXAMPLE)!r}, {str(REPO)!r}]\n"
        "import my_method.plugin\n"
        "from tests.helpers.memory_source import MemorySource\n"
        "from vis_bench.api.registration import get_method\n"
        "from vis_bench.inference.pass_hooks import NO_WARM_UP\n"
        "from vis_bench.inference.runner import run_method\n"
        "plugin = get_method('my-method').build({})\n"
        "out = run_method(plugin, MemorySource(), clip_length=2, stride=1,\n"
        "                 resolution=32, untimed=NO_WARM_UP)\n"
        "print(json.dumps([out.num_videos, len(out.results)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    videos, results = json.loads(result.stdout.splitlines()[-1])
    assert videos == 2 and results >= 2

"""The report is a pure function of its record set: the committed default run's tables,
leaderboard, plots and HTML page are written again from a copy of its records.jsonl and the
files its cells kept (per-video matching, bootstrap replicates, cells/index.json) alone, and no
two report modules import each other."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from vis_bench.records import CellRecord
from vis_bench.report.outputs import write_reports
from vis_bench.report.record_set import CellFiles, Missing, RecordSet

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "results" / "default_run"
REPORT = ROOT / "vis_bench" / "report"
TITLE = "vis-bench: default"  # `run` titles a run's reports with its config's name
SIDE_FILES = ("video_matches.json", "bootstrap_replicates.npz")
PLOTS = ("plots/ap_vs_clip_length.png", "plots/ap_vs_fps.png")


def _committed_cells() -> list[str]:
    """The run's cell folders as its committed index names them (not whatever else a re-run
    left beside them)."""
    index = json.loads((RUN / "cells" / "index.json").read_text())
    return sorted(entry["folder"] for entry in index.values())


def _copy_run(to: Path) -> Path:
    """records.jsonl, cells/index.json and each cell's side files; nothing the reports wrote."""
    to.mkdir(parents=True)
    shutil.copy2(RUN / "records.jsonl", to / "records.jsonl")
    (to / "cells").mkdir()
    shutil.copy2(RUN / "cells" / "index.json", to / "cells" / "index.json")
    for folder in _committed_cells():
        (to / "cells" / folder).mkdir()
        for name in SIDE_FILES:
            shutil.copy2(RUN / "cells" / folder / name, to / "cells" / folder / name)
    return to


def _regenerate(workdir: Path, monkeypatch) -> Path:
    """The reports `run` writes, from a copy of the run in `workdir`/run, read from `workdir`
    (where the records' own side-file paths, relative to the checkout, lead nowhere)."""
    run = _copy_run(workdir / "run")
    monkeypatch.chdir(workdir)
    record_set = RecordSet.read([Path("run")])
    written = write_reports(record_set, Path("run"), TITLE, html=True)
    assert {p.name for p in written} >= {"tables.md", "leaderboard.md", "report.html"}
    return run


def _matplotlib_of(png: Path) -> str:
    """The `Software` text matplotlib writes into a PNG (its version)."""
    found = re.search(rb"Matplotlib version[^,\x00]*", png.read_bytes())
    return found.group().decode() if found else "unknown"


#: what a table says for a cell whose per-video matching or bootstrap values were not read
SIDE_FILE_REASONS = ("per-video matching", "bootstrap replicate values", "malformed JSON")


def _page(text: str) -> str:
    """report.html without what the records do not decide: the run folder's path, the code's
    commit, the per-video browser (its overlays need the cells' predictions, which the
    repository does not keep) and the plot images (the plots are compared on their own)."""
    text = re.sub(r'<section id="videos">.*?</section>', "<videos/>", text, flags=re.S)
    text = re.sub(r"Run folder: <code>[^<]*</code>", "Run folder: <code/>", text)
    text = re.sub(r"vis-bench at commit [^)]*", "vis-bench at commit -", text)
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "data:image/png", text)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Two regenerations in separate folders."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        first = _regenerate(tmp_path_factory.mktemp("first"), monkeypatch)
        second = _regenerate(tmp_path_factory.mktemp("second"), monkeypatch)
    return first, second


def test_a_copied_run_gives_the_committed_tables_and_leaderboard(regenerated):
    first, second = regenerated
    for name in ("tables.md", "leaderboard.md"):
        produced = (first / name).read_text()
        # the copied side files were found and read (a speed ratio may be unpaired: FPS)
        assert not any(reason in produced for reason in SIDE_FILE_REASONS), name
        assert produced == (RUN / name).read_text(), name
        assert (second / name).read_bytes() == (first / name).read_bytes()


def test_a_copied_run_gives_the_committed_page_but_for_the_predictions(regenerated):
    first, _ = regenerated
    produced = (first / "report.html").read_text()
    assert "overlays left out" in produced  # no predictions in the copy, as in the repository
    # no cell of the synthetic run has a published setting: one line, the entries folded away
    assert "so nothing here is compared" in produced and "entries for these methods" in produced
    assert "`" not in re.sub(r"<(script|style)>.*?</\1>", "", produced, flags=re.S)
    assert _page(produced) == _page((RUN / "report.html").read_text())


def test_regenerating_is_deterministic_byte_for_byte(regenerated):
    """Page (browser and plot images included) and plots, from the same records twice."""
    first, second = regenerated
    for name in ("report.html", *PLOTS):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_copied_run_gives_the_committed_plots(regenerated):
    first, _ = regenerated
    committed = _matplotlib_of(RUN / PLOTS[0])
    if committed != _matplotlib_of(first / PLOTS[0]):
        pytest.skip(f"the committed plots were drawn by {committed}; this is another version")
    for name in PLOTS:
        assert (first / name).read_bytes() == (RUN / name).read_bytes(), name


def test_a_set_reads_its_cells_files_once_and_marks_what_is_missing(tmp_path, monkeypatch):
    run = _copy_run(tmp_path / "run")
    monkeypatch.chdir(tmp_path)  # the records' own paths (from the checkout) lead nowhere
    gone = next(p for p in (run / "cells").iterdir() if p.is_dir())
    (gone / "video_matches.json").unlink()
    (gone / "bootstrap_replicates.npz").write_bytes(b"not an archive")
    record_set = RecordSet.read([run])
    cells = len((run / "records.jsonl").read_text().splitlines())  # one record per cell
    assert len(record_set) == cells and record_set.folder == run
    files = {key: record_set.cells[key] for key in record_set.cells}
    broken = [f for f in files.values() if f.folder == gone]
    assert len(broken) == 1
    assert isinstance(broken[0].matches, Missing) and "not found" in broken[0].matches.reason
    assert isinstance(broken[0].replicates, Missing)
    assert all(not isinstance(f.matches, Missing) for f in files.values() if f.folder != gone)
    assert record_set.files(CellRecord(key="no such cell")) == CellFiles()
    subset = record_set.where(lambda r: r.method == "ifc")
    assert len(subset) == 2 and set(subset.cells) == {r.key for r in subset}  # T = all and 5


def test_a_set_keeps_the_latest_record_of_each_cell_in_first_seen_order():
    ok = {"key": "a", "status": "ok", "AP": 0.5}
    failed = {"key": "a", "status": "failed", "error": "later"}
    other = {"key": "b", "status": "failed", "error": "x"}
    retried = {"key": "b", "status": "ok", "AP": 0.2}
    record_set = RecordSet.from_records([ok, other, failed, retried, {"status": "ok"}])
    assert [r.to_json() for r in record_set] == [ok, retried]  # typed, read back as written
    assert record_set.record("b").metric("AP") == 0.2 and record_set.record("c") is None


# -- no import circle among the report's modules ----------------------------------------------


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def report_imports(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, at module level or inside a
    function (a deferred import still ties the two modules together)."""
    modules = {_module_name(p, root, package): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found - {package}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the modules around it (depth-first search)."""
    cycles, state = [], dict.fromkeys(graph, 0)  # 0 unseen, 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state[target] == 1:
                cycles.append([*path[path.index(target) :], target])
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    return cycles


def test_no_two_report_modules_import_each_other():
    graph = report_imports(REPORT, "vis_bench.report")
    assert "vis_bench.report.record_set" in graph["vis_bench.report.tables"]
    assert import_cycles(graph) == []


def test_the_cycle_check_finds_a_circle_through_a_deferred_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "outputs.py").write_text("from pkg.html_report import write_html_report\n")
    (package / "html_report.py").write_text(
        "def page():\n    from pkg.outputs import tables_markdown\n    return tables_markdown\n"
    )
    (package / "tables.py").write_text("import pkg.outputs\n")
    cycles = import_cycles(report_imports(package, "pkg"))
    assert cycles == [["pkg.html_report", "pkg.outputs", "pkg.html_report"]]

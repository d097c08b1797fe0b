"""Tables by one axis never average over another: a sweep of two resolutions, two strides and
three clip lengths, and a folder holding two configs, as a researcher's run left them."""

from __future__ import annotations

import pytest

from tests.helpers.scored_records import ScoredCells
from tests.helpers.vis_cases import make_gt, predict
from vis_bench.records import CellRecord
from vis_bench.report.axis_tables import axis_table, has_axis_table
from vis_bench.report.breakdowns import error_table, per_category_table
from vis_bench.report.record_set import RecordSet
from vis_bench.report.significance import with_interval
from vis_bench.report.speed import latency_table
from vis_bench.report.speed_trust import paired_table, rounds_table
from vis_bench.report.tables import comparison_table
from vis_bench.report.tables_document import tables_markdown
from vis_bench.report.twins import twins_table

as_set = RecordSet.from_records
RESOLUTIONS = (240, 360)
STRIDES = (1, 3)
LENGTHS = ("all", 10, 5)
METHODS = ("ifc", "seqformer")


def _speed(fps: float) -> dict:
    """Three timed rounds of one sweep call: the FPS, its interval and every round counted."""
    rounds = [
        {"round": i, "fps": fps * (1 + 0.01 * i), "used": True, "counted": True} for i in (1, 2, 3)
    ]
    return {
        "session": "sweep-1",
        "fps": fps,
        "fps_range": [fps, fps * 1.03],
        "fps_ci": [fps * 0.99, fps * 1.03],
        "fps_ci_confidence": 0.75,
        "fps_precision": 0.02,
        "precision_target": 0.03,
        "wider_than_target": True,
        "rounds_timed": 3,
        "rounds_counted": 3,
        "rounds_used": [1, 2, 3],
        "comparable": True,
        "rounds": rounds,
    }


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """methods x T (all, 10, 5) x S (1, 3) x resolution (240, 360): at 240 every cell scores the
    worse predictions, at 360 the good ones, except seqformer T=5 at 360 (worse: a real
    clip-length effect at that resolution only). FPS falls with resolution and clip length."""
    gt = make_gt(n_videos=30, seed=2)
    cells = ScoredCells(tmp_path_factory.mktemp("sweep"), gt, replicates=200)
    good = predict(gt, seed=5, jitter=0)
    worse = predict(gt, seed=5, jitter=2, miss=0.3)
    records = []
    for method in METHODS:
        for resolution in RESOLUTIONS:
            for clip in LENGTHS:
                for stride in (None,) if clip == "all" else STRIDES:
                    bad = resolution == 240 or (method == "seqformer" and clip == 5)
                    fps = (300.0 if clip == "all" else 100.0 + clip) * 240 / resolution
                    fps += stride or 0
                    record = cells.record(method, worse if bad else good, clip=clip)
                    key = f"{method}-{clip}-{stride}-{resolution}"
                    record.update(key=key, stride=stride, resolution=resolution)
                    record.update(fps_end_to_end=fps, speed=_speed(fps))
                    records.append(record)
    return as_set(records), {r["key"]: CellRecord.from_json(r) for r in records}


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end > 0 else None]


def _rows(table: str) -> list[list[str]]:
    lines = [line for line in table.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


def _ap(record: CellRecord) -> str:
    return with_interval(100 * float(record.metric("AP")), record, "AP", 2)


def test_ap_by_clip_length_holds_resolution_and_stride_fixed_with_intervals_and_marks(sweep):
    record_set, by_key = sweep
    document = tables_markdown(record_set, "sweep")
    assert "mean of" not in document
    header, *rows = _rows(axis_table(record_set, "AP", "clip_length"))
    assert header == ["method", "S", "resolution", "all", "10", "5"]
    assert len(rows) == len(METHODS) * len(STRIDES) * len(RESOLUTIONS)  # one per combination
    for method, stride, resolution, *cells in rows:
        for clip, text in zip(LENGTHS, cells, strict=True):
            # every number is the one cell of that method, stride and resolution: T = all
            # (one clip, no stride) stands in each stride's row of its resolution
            own = by_key[f"{method}-{clip}-{None if clip == 'all' else stride}-{resolution}"]
            assert text.startswith(_ap(own)), (method, stride, resolution, clip)
            identical = resolution == "240" or not (method == "seqformer" and clip == 5)
            if clip != "all":
                assert text.endswith("n.s.") == identical  # paired with the row's T = all
    notes = _section(document, "AP by clip length")
    assert "every other axis held fixed" in notes and "none is a mean" in notes
    assert "contains 0" in notes and "Every cell here: cpu, fp32." in notes


def test_fps_by_clip_length_is_each_cells_figure_with_its_interval(sweep):
    record_set, by_key = sweep
    header, *rows = _rows(axis_table(record_set, "fps_end_to_end", "clip_length"))
    assert header == ["method", "S", "resolution", "all", "10", "5"]
    first = rows[0]
    own = by_key[f"{first[0]}-5-{first[1]}-{first[2]}"]
    low, high = own.speed.rounds.fps_ci
    assert first[-1] == f"{own.speed.fps_end_to_end:.2f} [{low:.2f}, {high:.2f}]"


def test_tables_by_stride_and_by_resolution_exist_and_pair_with_their_reference(sweep):
    record_set, by_key = sweep
    document = tables_markdown(record_set, "sweep")
    for title in ("AP by stride", "End-to-end FPS by stride", "AP by resolution"):
        assert f"## {title}\n" in document
    header, *rows = _rows(axis_table(record_set, "AP", "stride"))
    assert header == ["method", "T", "resolution", "S=1", "S=3"]  # T = all has no stride
    assert len(rows) == len(METHODS) * 2 * len(RESOLUTIONS)
    assert all(row[-1].endswith("n.s.") for row in rows)  # the stride changes no prediction
    header, *rows = _rows(axis_table(record_set, "AP", "resolution"))
    assert header == ["method", "T", "S", "240", "360"]
    row = next(r for r in rows if r[:3] == ["seqformer", "10", "1"])
    assert row[3] == _ap(by_key["seqformer-10-1-240"])  # worse, told apart from 360
    assert row[4] == _ap(by_key["seqformer-10-1-360"])  # the reference: the largest
    assert "largest resolution" in _section(document, "AP by resolution")


def test_every_speed_table_has_a_column_for_every_varied_axis(sweep):
    record_set, _ = sweep
    for table in (rounds_table(record_set.ok), paired_table(record_set.ok)):
        header, *rows = _rows(table)
        assert header[:4] == ["method", "T", "S", "resolution"]
        cells = [tuple(row[:4]) for row in rows]
        assert len(cells) == len(set(cells))  # no (method, T, S) twice without its resolution
        assert {row[3] for row in rows} == {"240", "360"}
        assert "Every cell here: cpu, fp32." in table


def test_a_run_with_one_resolution_grows_no_column_and_says_its_value(sweep):
    record_set, _ = sweep
    one = record_set.where(lambda r: r.resolution == 360 and r.stride in (None, 3))
    document = tables_markdown(one, "one resolution")
    assert "## AP by resolution" not in document and "## AP by stride" not in document
    assert not has_axis_table(one, "AP", "resolution")
    header = _rows(rounds_table(one.ok))[0]
    assert "resolution" not in header and header[:3] == ["method", "T", "S"]
    assert "Every cell here: resolution 360, cpu, fp32." in rounds_table(one.ok)
    # each T has one stride: no stride column in the clip-length table, the stride in the head
    header = _rows(axis_table(one, "AP", "clip_length"))[0]
    assert header == ["method", "all", "10 (S=3)", "5 (S=3)"]
    assert "Every cell here: resolution 360, cpu, fp32." in axis_table(one, "AP", "clip_length")


def test_two_configs_in_one_folder_show_no_clip_length_effect_that_is_not_there(sweep):
    """Config A ran T=all and T=5 at 360, config B T=5 at 240: averaged, T=5 looked worse
    than T=all; at equal resolution they are the same."""
    _, by_key = sweep
    a = [by_key["ifc-all-None-360"], by_key["ifc-5-3-360"]]
    b = [by_key["ifc-5-3-240"]]
    records = [r.to_json() | {"config_hash": "aaaa1111"} for r in a]
    records += [r.to_json() | {"config_hash": "bbbb2222"} for r in b]
    header, *rows = _rows(axis_table(as_set(records), "AP", "clip_length"))
    assert header == ["method", "resolution", "all", "5 (S=3)"]
    assert rows == [
        ["ifc", "240", "", _ap(b[0])],
        ["ifc", "360", _ap(a[0]), _ap(a[1]) + " n.s."],
    ]
    # two configs alike on every axis (another option, say): the config tells them apart
    twin = by_key["ifc-5-3-240"].to_json() | {"key": "other", "config_hash": "cccc3333"}
    header, *rows = _rows(axis_table(as_set([*records, twin]), "AP", "clip_length"))
    assert header == ["method", "resolution", "config", "all", "5 (S=3)"]
    assert [row[:3] for row in rows] == [
        ["ifc", "240", "bbbb2222"],
        ["ifc", "240", "cccc3333"],
        ["ifc", "360", "aaaa1111"],
    ]
    table = rounds_table([CellRecord.from_json(r) for r in [*records, twin]])
    assert _rows(table)[0][:5] == ["method", "T", "S", "resolution", "config"]
    header, *rows = _rows(comparison_table(as_set([*records, twin])))
    assert header[:5] == ["method", "T", "S", "resolution", "config"] and len(rows) == 4


def test_each_breakdown_names_the_setting_of_the_cell_it_reads(sweep):
    """The error and category tables read each method's ranked cell: its T, S and resolution
    stand beside it where the ranked cells differ on them."""
    _, by_key = sweep
    breakdown = {"ap50": 0.5, "gains": {"cls": 0.01}, "counts": {"cls": 2}}
    extra = {"error_breakdown": breakdown, "per_category_ap": {"car": 0.5}}
    records = [
        by_key["ifc-all-None-360"].to_json() | extra,
        by_key["seqformer-10-1-360"].to_json() | extra,
    ]
    header, *rows = _rows(error_table(as_set(records)))
    assert header[:4] == ["method", "T", "S", "AP50"]
    assert {tuple(row[:3]) for row in rows} == {
        ("ifc", "all", "one clip"),
        ("seqformer", "10", "1"),
    }
    header = _rows(per_category_table(as_set(records)))[0]
    assert sorted(header[1:]) == ["ifc (T=all)", "seqformer (T=10 S=1)"]


def test_the_latency_table_names_the_resolution_too(sweep):
    _, by_key = sweep
    stream = {"arrival": "15 fps", "latency_ms": {"p50": 10.0}, "frames": 10, "dropped": 0}
    records = [by_key[key].to_json() | {"stream": stream} for key in ("ifc-5-3-240", "ifc-5-3-360")]
    header, *rows = _rows(latency_table(as_set(records)))
    assert header[:2] == ["method", "resolution"] and [r[1] for r in rows] == ["240", "360"]


def test_the_twins_table_names_the_resolution_of_each_pair(sweep):
    _, by_key = sweep
    records = [
        CellRecord.from_json(by_key[key].to_json() | {"key": f"{key}-{twin}", "twin": twin})
        for key in ("ifc-5-3-240", "ifc-5-3-360")
        for twin in (1, 2)
    ]
    header, *rows = _rows(twins_table(records))
    assert header[:2] == ["method", "resolution"] and [r[:2] for r in rows] == [
        ["ifc", "240"],
        ["ifc", "360"],
    ]
    assert "Every cell here: T 5, S 3, cpu, fp32." in twins_table(records)


def test_cells_alike_on_every_axis_without_a_config_are_told_apart_by_their_key(sweep):
    """Older records (no config hash) of two cells alike on every axis: the key's start is the
    column that tells them apart; no config column of dashes."""
    _, by_key = sweep
    one = by_key["ifc-5-3-240"].to_json() | {"config_hash": None}
    records = [one | {"key": "1111aaaa-x"}, one | {"key": "2222bbbb-y"}]
    header, *rows = _rows(axis_table(as_set(records), "AP", "clip_length"))
    assert header == ["method", "cell", "5"]
    assert [row[1] for row in rows] == ["1111aaaa", "2222bbbb"]


def test_the_html_report_carries_the_same_tables(sweep):
    from vis_bench.report.html_report import report_context
    from vis_bench.report.video_browser import BrowserLimits

    record_set, _ = sweep
    context = report_context(record_set, "sweep", BrowserLimits(videos=0))
    assert "mean of" not in context["tables_html"]
    for title in ("AP by clip length", "AP by stride", "AP by resolution"):
        assert f"<h2>{title}</h2>" in context["tables_html"]
    assert "<th>resolution</th>" in context["speed"]  # the timed rounds and paired ratios
    assert "6 are needed for 95%" in context["speed"]


def test_two_datasets_in_one_folder_are_never_set_in_one_cell(sweep):
    _, by_key = sweep
    records = [
        by_key[key].to_json() | {"dataset": name, "dataset_label": name, "key": f"{key}-{name}"}
        for key in ("ifc-all-None-360", "ifc-5-3-360")
        for name in ("ovis", "ytvis")
    ]
    header, *rows = _rows(axis_table(as_set(records), "AP", "clip_length"))
    assert header == ["method", "dataset", "all", "5 (S=3)"]
    assert [row[:2] for row in rows] == [["ifc", "ovis"], ["ifc", "ytvis"]]
    assert _rows(rounds_table([CellRecord.from_json(r) for r in records]))[0][:4] == [
        "method", "dataset", "T", "S",
    ]  # fmt: skip

"""`run_bench.py flops --config FILE [--out STEM]`: reproduce a paper's FLOPs table on the real
modules.

See vis_bench/measure/flops_table.py for the config. Writes, each atomically, `<STEM>.md`
(paper | measured | difference, ending with the commit and the command that wrote it),
`<STEM>.csv` (one row per cell) and `<STEM>.json` (the same rows and the provenance block: a
CSV has no place for it), and exits 1 when a cell differs from the paper at the printed two
decimals. Without `--out` the table goes to results/runs/flops/<name> (beside the sweeps' runs,
never committed): the config's `output` is where the repository keeps the committed table, which
only `--out` with that path writes again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vis_bench.commands._tables import (
    add_table_arguments,
    report_written,
    start_table,
    write_rows_json,
)

HELP = "measure a FLOPs table a method declares (a config names it) and compare with the paper"
GROUP = "model developer"
#: its tables go to results/runs/flops/<name> unless --out names a stem
TABLE_KIND = "flops"
#: the files a table is written as
SUFFIXES = (".md", ".csv", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_arguments(parser, TABLE_KIND, "FLOPs table YAML")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.flops_table import load_table_config, measure_table, to_markdown
    from vis_bench.measure.provenance import written_by

    cfg = load_table_config(args.config)
    out, given, provenance = start_table(
        args, TABLE_KIND, cfg.name or Path(cfg.output).name, SUFFIXES
    )
    table = measure_table(cfg, str(args.config))
    title = cfg.name or out.name
    markdown = to_markdown(table, title, written_by(provenance))
    write_atomic(out.with_suffix(".md"), markdown)
    write_atomic(out.with_suffix(".csv"), table.to_csv(index=False))
    rows = json.loads(table.to_json(orient="records"))  # numpy scalars and NaN as JSON
    write_rows_json(out, title, rows, provenance)
    print(markdown)
    report_written(out, SUFFIXES, given, cfg.output)
    mismatched = table[table["matches_2dp"] == False]  # noqa: E712 (None = no paper value)
    if len(mismatched):
        print(f"{len(mismatched)} cell(s) differ from the paper at 2 decimals")
        return 1
    return 0

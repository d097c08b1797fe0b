"""`run_bench.py sizes --config configs/model_sizes.yaml`: parameters and GMACs per frame per model.

One row per (method, options) of the config (vis_bench/measure/model_sizes.py); writes
`<STEM>.json` ({"name", "rows", "provenance"}: exact numbers and where they came from) and
`<STEM>.md` (the table, ending with the commit and the command that wrote it), atomically.
Without `--out` the table goes to results/runs/sizes/<name> (beside the sweeps' runs, never
committed): the config's `output` is where the repository keeps the committed table, which only
`--out` with that path writes again (as `flops` does).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vis_bench.commands._tables import (
    add_table_arguments,
    report_written,
    start_table,
    write_rows_json,
)

HELP = "parameters and GMACs per frame of each (method, backbone) in a table config"
GROUP = "model developer"
#: its tables go to results/runs/sizes/<name> unless --out names a stem
TABLE_KIND = "sizes"
#: the files a table is written as
SUFFIXES = (".md", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_arguments(parser, TABLE_KIND, "table YAML")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.model_sizes import load_sizes_config, measure_row, millions, to_markdown
    from vis_bench.measure.provenance import written_by

    cfg = load_sizes_config(args.config)
    out, given, provenance = start_table(args, TABLE_KIND, Path(cfg.output).name, SUFFIXES)
    rows = []
    for row in cfg.models:
        measured = measure_row(row, cfg.input)
        print(
            f"{measured['method']:<14} {measured['label']:<22} "
            f"{millions(measured['parameters']):>8}M  {measured['gmacs_per_frame']:9.1f} GMACs/frame"
        )
        rows.append(measured)
    title = cfg.name or out.name
    write_rows_json(out, title, rows, provenance)
    write_atomic(
        out.with_suffix(".md"), to_markdown(rows, title, list(cfg.notes), written_by(provenance))
    )
    report_written(out, SUFFIXES, given, cfg.output)
    return 0

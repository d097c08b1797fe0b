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

from vis_bench.commands._options import add_table_arguments, start_table

NAME = "sizes"
HELP = "parameters and GMACs per frame of each (method, backbone) in a table config"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_arguments(parser, NAME, "table YAML")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.model_sizes import load_sizes_config, measure_row, millions, to_markdown
    from vis_bench.measure.provenance import write_json_with_provenance, written_by

    cfg = load_sizes_config(args.config)
    out, given, provenance = start_table(args, NAME, Path(cfg.output).name, (".md", ".json"))
    rows = []
    for row in cfg.models:
        measured = measure_row(row, cfg.input)
        print(
            f"{measured['method']:<14} {measured['label']:<22} "
            f"{millions(measured['parameters']):>8}M  {measured['gmacs_per_frame']:9.1f} GMACs/frame"
        )
        rows.append(measured)
    title = cfg.name or out.name
    write_json_with_provenance(out.with_suffix(".json"), {"name": title, "rows": rows}, provenance)
    write_atomic(
        out.with_suffix(".md"), to_markdown(rows, title, list(cfg.notes), written_by(provenance))
    )
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    if not given:
        print(f"(the committed table is {cfg.output}: `--out {cfg.output}` rewrites it)")
    return 0

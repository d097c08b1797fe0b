"""`run_bench.py sizes --config configs/model_sizes.yaml`: parameters and GMACs per frame per model.

One row per (method, options) of the config (vis_bench/measure/model_sizes.py); writes
`<output>.json` ({"name", "rows", "provenance"}: exact numbers and where they came from) and
`<output>.md` (the table, ending with the commit and the command that wrote it), atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "sizes"
HELP = "parameters and GMACs per frame of each (method, backbone) in a table config"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file, write_atomic
    from vis_bench.measure.model_sizes import load_sizes_config, measure_row, millions, to_markdown
    from vis_bench.measure.provenance import (
        start_provenance,
        write_json_with_provenance,
        written_by,
    )

    cfg = load_sizes_config(args.config)
    out = Path(args.output or cfg.output)
    for suffix in (".md", ".json"):
        check_output_file(out.with_suffix(suffix), "--output" if args.output else "output")
    provenance = start_provenance()  # the config is valid: the work starts
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
    return 0

"""`run_bench.py sizes --config configs/model_sizes.yaml`: parameters and GMACs per frame per model.

One row per (method, options) of the config (vis_bench/measure/model_sizes.py); writes
`<output>.json` (exact numbers) and `<output>.md`, atomically.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "sizes"
HELP = "parameters and GMACs per frame of each (method, backbone) in a table config"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.model_sizes import load_sizes_config, measure_row, millions, to_markdown

    cfg = load_sizes_config(args.config)
    rows = []
    for row in cfg.models:
        measured = measure_row(row, cfg.input)
        print(
            f"{measured['method']:<14} {measured['label']:<22} "
            f"{millions(measured['parameters']):>8}M  {measured['gmacs_per_frame']:9.1f} GMACs/frame"
        )
        rows.append(measured)
    out = Path(args.output or cfg.output)
    title = cfg.name or out.name
    write_atomic(out.with_suffix(".json"), json.dumps(rows, indent=1) + "\n")
    write_atomic(out.with_suffix(".md"), to_markdown(rows, title, list(cfg.notes)))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0

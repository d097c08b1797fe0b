"""`run_bench.py flops --config FILE`: reproduce a paper's FLOPs table on the real modules.

See vis_bench/measure/flops_table.py for the config. Writes `<output>.md` (paper | measured |
difference) and `<output>.csv`, each atomically, and exits 1 when a cell differs from the paper
at the printed two decimals.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "flops"
HELP = "measure a FLOPs table (e.g. configs/ifc_encoder_flops.yaml) and compare with the paper"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="FLOPs table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import write_atomic
    from vis_bench.measure.flops_table import load_table_config, measure_table, to_markdown

    cfg = load_table_config(args.config)
    table = measure_table(cfg, str(args.config))
    out = Path(args.output or cfg.output)
    markdown = to_markdown(table, cfg.name or out.name)
    write_atomic(out.with_suffix(".md"), markdown)
    write_atomic(out.with_suffix(".csv"), table.to_csv(index=False))
    print(markdown)
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")
    mismatched = table[table["matches_2dp"] == False]  # noqa: E712 (None = no paper value)
    if len(mismatched):
        print(f"{len(mismatched)} cell(s) differ from the paper at 2 decimals")
        return 1
    return 0

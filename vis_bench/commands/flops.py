"""`run_bench.py flops --config FILE`: reproduce a paper's FLOPs table on the real modules.

See vis_bench/measure/flops_table.py for the config. Writes, each atomically, `<output>.md`
(paper | measured | difference, ending with the commit and the command that wrote it),
`<output>.csv` (one row per cell) and `<output>.json` (the same rows and the provenance block: a
CSV has no place for it), and exits 1 when a cell differs from the paper at the printed two
decimals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "flops"
HELP = "measure a FLOPs table a method declares (a config names it) and compare with the paper"
GROUP = "model developer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="FLOPs table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def run(args: argparse.Namespace) -> int:
    from vis_bench.atomic import check_output_file, write_atomic
    from vis_bench.measure.flops_table import load_table_config, measure_table, to_markdown
    from vis_bench.measure.provenance import (
        start_provenance,
        write_json_with_provenance,
        written_by,
    )

    cfg = load_table_config(args.config)
    out = Path(args.output or cfg.output)
    for suffix in (".md", ".csv", ".json"):
        check_output_file(out.with_suffix(suffix), "--output" if args.output else "output")
    provenance = start_provenance()  # the config is valid: the work starts
    table = measure_table(cfg, str(args.config))
    title = cfg.name or out.name
    markdown = to_markdown(table, title, written_by(provenance))
    write_atomic(out.with_suffix(".md"), markdown)
    write_atomic(out.with_suffix(".csv"), table.to_csv(index=False))
    rows = json.loads(table.to_json(orient="records"))  # numpy scalars and NaN as JSON
    write_json_with_provenance(out.with_suffix(".json"), {"name": title, "rows": rows}, provenance)
    print(markdown)
    print(
        f"wrote {out.with_suffix('.md')}, {out.with_suffix('.csv')} and {out.with_suffix('.json')}"
    )
    mismatched = table[table["matches_2dp"] == False]  # noqa: E712 (None = no paper value)
    if len(mismatched):
        print(f"{len(mismatched)} cell(s) differ from the paper at 2 decimals")
        return 1
    return 0

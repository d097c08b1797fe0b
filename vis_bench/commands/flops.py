"""`run_bench.py flops --config FILE`: reproduce a paper's FLOPs table on the real modules.

The config names a method and one of the table measurements its spec declares, the table cells
(input size, frames) and the variants (the measurement's arguments) with the paper's values; the
method measures each cell. Writes
`<output>.md` (paper | measured | difference) and `<output>.csv`, each atomically, and exits 1
when a cell differs from the paper at the printed two decimals.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from vis_bench.atomic import write_atomic
from vis_bench.config import read_yaml_config
from vis_bench.errors import InputError
from vis_bench.plugin import TableMeasurement
from vis_bench.registry import get_method

NAME = "flops"
HELP = "measure a FLOPs table (e.g. configs/ifc_encoder_flops.yaml) and compare with the paper"

_TOP_KEYS = {"name", "method", "measurement", "fixed", "cells", "variants", "output"}
_CELL_KEYS = {"height", "width", "frames"}
_VARIANT_KEYS = {"label", "arguments", "paper"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="FLOPs table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def _check_keys(obj: Any, allowed: set[str], required: set[str], where: str, path: str) -> None:
    if not isinstance(obj, dict):
        raise InputError(f"expected a mapping, got {type(obj).__name__}", path=path, field=where)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown}; allowed {sorted(allowed)}", path=path, field=where
        )
    missing = sorted(required - set(obj))
    if missing:
        raise InputError(f"missing key(s) {missing}", path=path, field=where)


def load_table_config(path: Path) -> dict[str, Any]:
    """Parse and validate the YAML; every error names the file and the offending key."""
    cfg = read_yaml_config(path)
    p = str(path)
    _check_keys(
        cfg, _TOP_KEYS, {"method", "measurement", "cells", "variants", "output"}, "<top level>", p
    )
    if not isinstance(cfg.get("fixed", {}), dict):
        raise InputError("must be a mapping of measurement arguments", path=p, field="fixed")
    cells, variants = cfg["cells"], cfg["variants"]
    if not isinstance(cells, list) or not cells:
        raise InputError("must be a non-empty list", path=p, field="cells")
    if not isinstance(variants, list) or not variants:
        raise InputError("must be a non-empty list", path=p, field="variants")
    for i, cell in enumerate(cells):
        _check_keys(cell, _CELL_KEYS, _CELL_KEYS, f"cells.{i}", p)
        for key in _CELL_KEYS:
            if not isinstance(cell[key], int) or cell[key] < 1:
                raise InputError("must be a positive integer", path=p, field=f"cells.{i}.{key}")
    for i, var in enumerate(variants):
        _check_keys(var, _VARIANT_KEYS, {"label", "arguments"}, f"variants.{i}", p)
        if not isinstance(var["arguments"], dict):
            raise InputError("must be a mapping", path=p, field=f"variants.{i}.arguments")
        paper = var.get("paper")
        if paper is not None and (
            not isinstance(paper, list)
            or len(paper) != len(cells)
            or not all(isinstance(v, (int, float)) for v in paper)
        ):
            raise InputError(
                f"must be a list of {len(cells)} numbers (one per cell)",
                path=p,
                field=f"variants.{i}.paper",
            )
    return cfg


def _measurement(cfg: dict[str, Any], path: str) -> TableMeasurement:
    plugin = get_method(cfg["method"])
    offered = plugin.spec.measurements
    if cfg["measurement"] not in offered:
        known = ", ".join(sorted(offered)) or "none"
        raise InputError(
            f"method {plugin.name!r} offers no measurement {cfg['measurement']!r} (it offers: "
            f"{known})",
            path=path,
            field="measurement",
        )
    measurement = offered[cfg["measurement"]]
    for i, var in enumerate(cfg["variants"]):
        given = {*var["arguments"], *cfg.get("fixed", {}), *_CELL_KEYS}
        unknown = sorted(given - set(measurement.arguments))
        if unknown:
            raise InputError(
                f"unknown argument(s) {unknown}; {cfg['measurement']} takes "
                f"{list(measurement.arguments)}",
                path=path,
                field=f"variants.{i}.arguments",
            )
    return measurement


def measure_table(cfg: dict[str, Any], path: str = "<config>") -> pd.DataFrame:
    """One row per (variant, cell): paper, measured, difference (GFLOPs) and the exact count."""
    measurement = _measurement(cfg, path)
    rows = []
    for i, var in enumerate(cfg["variants"]):
        paper = var.get("paper") or [None] * len(cfg["cells"])
        for cell, ref in zip(cfg["cells"], paper, strict=True):
            arguments = {**cfg.get("fixed", {}), **var["arguments"], **cell}
            try:
                report, tokens = measurement.run(**arguments)
            except (TypeError, ValueError) as err:
                raise InputError(str(err), path=path, field=f"variants.{i}.arguments") from err
            measured = report.total / 1e9
            rows.append(
                {
                    "variant": var["label"],
                    "arguments": ", ".join(f"{k}={v}" for k, v in var["arguments"].items()),
                    "height": cell["height"],
                    "width": cell["width"],
                    "frames": cell["frames"],
                    "tokens_per_frame": tokens,
                    "paper_gflops": ref,
                    "measured_gflops": round(measured, 6),
                    "difference": None if ref is None else round(measured - ref, 6),
                    "matches_2dp": None if ref is None else f"{measured:.2f}" == f"{ref:.2f}",
                    "measured_flops": report.total,
                }
            )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, title: str) -> str:
    """Variants as rows, one `paper | measured | diff` triple per cell."""
    cells = table[["height", "width", "frames"]].drop_duplicates().values.tolist()
    header = ["variant"]
    for h, w, t in cells:
        header += [f"{h}x{w} T={t} paper", "measured", "diff"]
    lines = [
        f"# {title}",
        "",
        "GFLOPs (1 multiply-add = 1 FLOP), measured on the real modules with meta tensors.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for label, group in table.groupby("variant", sort=False):
        row = [str(label)]
        for _, r in group.iterrows():
            paper = "" if pd.isna(r.paper_gflops) else f"{r.paper_gflops:.2f}"
            diff = "" if pd.isna(r.difference) else f"{r.difference:+.4f}"
            row += [paper, f"{r.measured_gflops:.4f}", diff]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    cfg = load_table_config(args.config)
    table = measure_table(cfg, str(args.config))
    out = Path(args.output or cfg["output"])
    markdown = to_markdown(table, cfg.get("name", out.name))
    write_atomic(out.with_suffix(".md"), markdown)
    write_atomic(out.with_suffix(".csv"), table.to_csv(index=False))
    print(markdown)
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')}")
    mismatched = table[table["matches_2dp"] == False]  # noqa: E712 (None = no paper value)
    if len(mismatched):
        print(f"{len(mismatched)} cell(s) differ from the paper at 2 decimals")
        return 1
    return 0

"""A paper's FLOPs table reproduced on the real modules: a method's table measurement per cell.

The config (YAML, validated as typed sections) names a method and one of the table measurements
its spec declares, the table cells (input size, frames) and the variants (the measurement's
arguments) with the paper's values. Counts are multiply-adds (GMACs), which is what the papers'
tables call GFLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vis_bench.api.measurements import TableMeasurement
from vis_bench.api.options import build_dataclass
from vis_bench.api.registration import get_method
from vis_bench.config_overrides import read_yaml_config
from vis_bench.errors import InputError
from vis_bench.measure.model_flops import ClipSize


@dataclass
class TableVariant:
    label: str
    arguments: dict[str, Any]
    #: the paper's value per cell (GMACs; null where it gives none)
    paper: list[float | None] | None = None


@dataclass
class FlopsTableConfig:
    method: str
    measurement: str
    cells: list[ClipSize]
    variants: list[TableVariant]
    output: str
    name: str = ""
    #: arguments every variant shares
    fixed: dict[str, Any] = field(default_factory=dict)

    def check(self, where: str, source: str) -> None:
        if not self.cells or not self.variants:
            raise InputError("needs at least one cell and one variant", path=source, field="cells")
        for i, variant in enumerate(self.variants):
            if variant.paper is not None and len(variant.paper) != len(self.cells):
                raise InputError(
                    f"must be a list of {len(self.cells)} numbers (one per cell)",
                    path=source,
                    field=f"variants[{i}].paper",
                )


def load_table_config(path: Path) -> FlopsTableConfig:
    """Parse and validate the YAML; every error names the file and the offending key."""
    return build_dataclass(FlopsTableConfig, read_yaml_config(path), "", str(path))


def _measurement(cfg: FlopsTableConfig, path: str) -> TableMeasurement:
    plugin = get_method(cfg.method)
    offered = plugin.spec.measurements
    if cfg.measurement not in offered:
        known = ", ".join(sorted(offered)) or "none"
        raise InputError(
            f"method {plugin.name!r} offers no measurement {cfg.measurement!r} (it offers: {known})",
            path=path,
            field="measurement",
        )
    measurement = offered[cfg.measurement]
    for i, variant in enumerate(cfg.variants):
        given = {*variant.arguments, *cfg.fixed, "height", "width", "frames"}
        unknown = sorted(given - set(measurement.arguments))
        if unknown:
            raise InputError(
                f"unknown argument(s) {unknown}; {cfg.measurement} takes "
                f"{list(measurement.arguments)}",
                path=path,
                field=f"variants[{i}].arguments",
            )
    return measurement


def measure_table(cfg: FlopsTableConfig, path: str = "<config>") -> pd.DataFrame:
    """One row per (variant, cell): paper, measured, difference (GMACs) and the exact count."""
    measurement = _measurement(cfg, path)
    rows = []
    for i, variant in enumerate(cfg.variants):
        paper = variant.paper or [None] * len(cfg.cells)
        for cell, ref in zip(cfg.cells, paper, strict=True):
            size = {"height": cell.height, "width": cell.width, "frames": cell.frames}
            try:
                report, tokens = measurement.run(**{**cfg.fixed, **variant.arguments, **size})
            except (TypeError, ValueError) as err:
                raise InputError(str(err), path=path, field=f"variants[{i}].arguments") from err
            measured = report.total / 1e9
            rows.append(
                {
                    "variant": variant.label,
                    "arguments": ", ".join(f"{k}={v}" for k, v in variant.arguments.items()),
                    **size,
                    "tokens_per_frame": tokens,
                    "paper_gmacs": ref,
                    "measured_gmacs": round(measured, 6),
                    "difference": None if ref is None else round(measured - ref, 6),
                    "matches_2dp": None if ref is None else f"{measured:.2f}" == f"{ref:.2f}",
                    "measured_macs": report.total,
                }
            )
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, title: str, written_by: str = "") -> str:
    """Variants as rows, one `paper | measured | diff` triple per cell, then `written_by` (the
    provenance line)."""
    cells = table[["height", "width", "frames"]].drop_duplicates().values.tolist()
    header = ["variant"]
    for h, w, t in cells:
        header += [f"{h}x{w} T={t} paper", "measured", "diff"]
    lines = [
        f"# {title}",
        "",
        "GMACs (multiply-adds, what the papers' tables call GFLOPs), measured on the real modules "
        "with meta tensors.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for label, group in table.groupby("variant", sort=False):
        row = [str(label)]
        for _, r in group.iterrows():
            paper = "" if pd.isna(r.paper_gmacs) else f"{r.paper_gmacs:.2f}"
            diff = "" if pd.isna(r.difference) else f"{r.difference:+.4f}"
            row += [paper, f"{r.measured_gmacs:.4f}", diff]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", written_by] if written_by else []
    return "\n".join(lines) + "\n"

"""Parameters and GMACs per frame of each (method, options) of a table config, beside the counts
the config quotes from the authors' code and papers (`run_bench.py sizes`).

Parameters and state-dict numbers are counted on the built model; GMACs per frame are measured
the way a sweep measures them (the method's `infer_clip` under the project's counter,
`vis_bench.measure.model_flops.clip_flops`, 1 multiply-add = 1 MAC) on random frames of the row's
input size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vis_bench.api.options import build_dataclass
from vis_bench.api.registration import get_method
from vis_bench.config_overrides import read_yaml_config
from vis_bench.errors import InputError
from vis_bench.measure.model_flops import ClipSize, clip_flops


@dataclass
class QuotedSize:
    """A size published elsewhere: its value, what it counts, and where it comes from."""

    value: int
    counts: str = "parameters"
    source: str = ""


@dataclass
class SizeRow:
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    #: this row's changes to the config's input size, e.g. {frames: 5}
    input: dict[str, int] = field(default_factory=dict)
    #: parameters of the model the authors' code builds
    authors_code: int | None = None
    paper: QuotedSize | None = None


@dataclass
class SizesConfig:
    output: str
    input: ClipSize
    models: list[SizeRow]
    name: str = ""
    notes: list[str] = field(default_factory=list)

    def check(self, where: str, source: str) -> None:
        if not self.models:
            raise InputError("needs at least one model", path=source, field="models")
        for i, row in enumerate(self.models):  # each row's own size, checked as a whole
            build_dataclass(
                ClipSize, {**vars(self.input), **row.input}, f"models[{i}].input", source
            )


def load_sizes_config(path: Path) -> SizesConfig:
    """Parse and validate; errors name the file and the key (`models[3].input.width`)."""
    return build_dataclass(SizesConfig, read_yaml_config(path, kind="sizes config"), "", str(path))


def measure_row(row: SizeRow, default_input: ClipSize) -> dict[str, Any]:
    """Build the method (random weights), count its parameters and one clip's GMACs."""
    options = dict(row.options)
    torch.manual_seed(0)
    plugin = get_method(row.method).build(dict(options))
    model = plugin.model
    size = ClipSize(**{**vars(default_input), **row.input})
    frames = torch.randint(0, 256, (size.frames, 3, size.height, size.width))
    clip = plugin.preprocess(frames.to(torch.uint8), min(size.height, size.width))
    flops = clip_flops(plugin, clip)
    by_module = flops["gmacs_per_frame_by_module"]
    backbone = next((v for k, v in by_module.items() if k.endswith("backbone")), None)
    return {
        "method": row.method,
        "label": row.label or options.get("backbone") or "",
        "options": options,
        "parameters": sum(p.numel() for p in model.parameters()),
        "state_dict_numbers": sum(v.numel() for v in model.state_dict().values()),
        "authors_code": row.authors_code,
        "paper": None if row.paper is None else vars(row.paper),
        "input": f"{size.frames}x{clip.shape[-2]}x{clip.shape[-1]}",
        "gmacs_per_frame": round(flops["gmacs_per_frame"], 3),
        "backbone_gmacs_per_frame": None if backbone is None else round(backbone, 3),
    }


def millions(value: int | float | None) -> str:
    return "" if value is None else f"{value / 1e6:.2f}"


def _quoted(entry: dict[str, Any] | None) -> str:
    """`49.30 (state dict)` from {"value": 49300000, "counts": "state dict", "source": ...}."""
    if not entry:
        return ""
    return f"{millions(entry['value'])} ({entry.get('counts', 'parameters')})"


def to_markdown(
    rows: list[dict[str, Any]], title: str, notes: list[str], written_by: str = ""
) -> str:
    """The table, its notes and sources as a list, then `written_by` (the provenance line)."""
    header = (
        "| method | backbone | parameters (M) | state dict (M numbers) | authors' code "
        "parameters (M) | paper (M) | GMACs/frame | backbone GMACs/frame | input T x H x W |"
    )
    lines = [f"# {title}", "", header, "|" + "---|" * 9]
    for r in rows:
        cells = [
            r["method"],
            r["label"],
            millions(r["parameters"]),
            millions(r["state_dict_numbers"]),
            millions(r["authors_code"]),
            _quoted(r["paper"]),
            f"{r['gmacs_per_frame']:.1f}",
            "" if r["backbone_gmacs_per_frame"] is None else f"{r['backbone_gmacs_per_frame']:.1f}",
            r["input"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    sources = [r["paper"]["source"] for r in rows if r["paper"] and r["paper"].get("source")]
    lines += [""] + [f"- {line}" for line in [*notes, *sources]] if notes or sources else []
    lines += ["", written_by] if written_by else []
    return "\n".join(lines) + "\n"

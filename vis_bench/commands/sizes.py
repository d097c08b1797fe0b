"""`run_bench.py sizes --config configs/model_sizes.yaml`: parameters and GMACs per frame per model.

One row per (method, options) of the config: parameters and state-dict numbers counted on the
built model, GMACs per frame measured the way a sweep measures them (the method's `infer_clip`
under the project's counter, `vis_bench.measure.model_flops.clip_flops`, 1 multiply-add = 1 MAC)
on random frames of the row's input size, and beside them the counts the config quotes from the
authors' code and papers. Writes `<output>.json` (exact numbers) and `<output>.md`, atomically.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from vis_bench.atomic import write_atomic
from vis_bench.config import read_yaml_config
from vis_bench.errors import InputError
from vis_bench.measure.model_flops import clip_flops
from vis_bench.registry import get_method

NAME = "sizes"
HELP = "parameters and GMACs per frame of each (method, backbone) in a table config"

_TOP_KEYS = {"name", "output", "input", "models", "notes"}
_ROW_KEYS = {"method", "options", "label", "input", "authors_code", "paper"}
_INPUT_KEYS = {"frames", "height", "width"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="table YAML")
    parser.add_argument("--output", default=None, help="output path without suffix (overrides)")


def _check(obj: Any, allowed: set[str], required: set[str], where: str, path: str) -> None:
    if not isinstance(obj, dict):
        raise InputError("expected a mapping", path=path, field=where)
    unknown, missing = sorted(set(obj) - allowed), sorted(required - set(obj))
    if unknown:
        raise InputError(
            f"unknown key(s) {unknown}; allowed {sorted(allowed)}", path=path, field=where
        )
    if missing:
        raise InputError(f"missing key(s) {missing}", path=path, field=where)


def load_sizes_config(path: Path) -> dict[str, Any]:
    """Parse and validate; every row gets its input size (its own or the top-level one)."""
    cfg = read_yaml_config(path, kind="sizes config")
    p = str(path)
    _check(cfg, _TOP_KEYS, {"models", "output", "input"}, "<top level>", p)
    rows = cfg["models"]
    if not isinstance(rows, list) or not rows:
        raise InputError("must be a non-empty list", path=p, field="models")
    for i, row in enumerate(rows):
        _check(row, _ROW_KEYS, {"method"}, f"models.{i}", p)
        row["input"] = {**cfg["input"], **row.get("input", {})}
        _check(row["input"], _INPUT_KEYS, _INPUT_KEYS, f"models.{i}.input", p)
        if not isinstance(row.get("authors_code", 0), int):
            raise InputError("must be a parameter count", path=p, field=f"models.{i}.authors_code")
        if "paper" in row:
            _check(row["paper"], {"value", "counts", "source"}, {"value"}, f"models.{i}.paper", p)
        for key, value in row["input"].items():
            if not isinstance(value, int) or value < 1:
                raise InputError(
                    "must be a positive integer", path=p, field=f"models.{i}.input.{key}"
                )
    return cfg


def measure_row(row: dict[str, Any]) -> dict[str, Any]:
    """Build the method (random weights), count its parameters and one clip's GMACs."""
    options = dict(row.get("options") or {})
    torch.manual_seed(0)
    plugin = get_method(row["method"]).build(dict(options))
    model = plugin.model
    size = row["input"]
    frames = torch.randint(0, 256, (size["frames"], 3, size["height"], size["width"]))
    clip = plugin.preprocess(frames.to(torch.uint8), min(size["height"], size["width"]))
    flops = clip_flops(plugin, clip)
    by_module = flops["gmacs_per_frame_by_module"]
    backbone = next((v for k, v in by_module.items() if k.endswith("backbone")), None)
    return {
        "method": row["method"],
        "label": row.get("label") or options.get("backbone") or "",
        "options": options,
        "parameters": sum(p.numel() for p in model.parameters()),
        "state_dict_numbers": sum(v.numel() for v in model.state_dict().values()),
        "authors_code": row.get("authors_code"),
        "paper": row.get("paper"),
        "input": f"{size['frames']}x{clip.shape[-2]}x{clip.shape[-1]}",
        "gmacs_per_frame": round(flops["gmacs_per_frame"], 3),
        "backbone_gmacs_per_frame": None if backbone is None else round(backbone, 3),
    }


def _millions(value: int | float | None) -> str:
    return "" if value is None else f"{value / 1e6:.2f}"


def _quoted(entry: dict[str, Any] | None) -> str:
    """`49.30 (state dict)` from {"value": 49300000, "counts": "state dict", "source": ...}."""
    if not entry:
        return ""
    return f"{_millions(entry['value'])} ({entry.get('counts', 'parameters')})"


def to_markdown(rows: list[dict[str, Any]], title: str, notes: list[str]) -> str:
    header = (
        "| method | backbone | parameters (M) | state dict (M numbers) | authors' code "
        "parameters (M) | paper (M) | GMACs/frame | backbone GMACs/frame | input T x H x W |"
    )
    lines = [f"# {title}", "", header, "|" + "---|" * 9]
    for r in rows:
        cells = [
            r["method"],
            r["label"],
            _millions(r["parameters"]),
            _millions(r["state_dict_numbers"]),
            _millions(r["authors_code"]),
            _quoted(r["paper"]),
            f"{r['gmacs_per_frame']:.1f}",
            "" if r["backbone_gmacs_per_frame"] is None else f"{r['backbone_gmacs_per_frame']:.1f}",
            r["input"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    sources = [r["paper"]["source"] for r in rows if r["paper"] and r["paper"].get("source")]
    lines += [""] + [f"- {line}" for line in [*notes, *sources]] if notes or sources else []
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    cfg = load_sizes_config(args.config)
    rows = []
    for row in cfg["models"]:
        measured = measure_row(row)
        print(
            f"{measured['method']:<14} {measured['label']:<22} "
            f"{_millions(measured['parameters']):>8}M  {measured['gmacs_per_frame']:9.1f} GMACs/frame"
        )
        rows.append(measured)
    out = Path(args.output or cfg["output"])
    title = cfg.get("name", out.name)
    write_atomic(out.with_suffix(".json"), json.dumps(rows, indent=1) + "\n")
    write_atomic(out.with_suffix(".md"), to_markdown(rows, title, list(cfg.get("notes") or [])))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0

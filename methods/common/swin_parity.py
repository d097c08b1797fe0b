"""Parity of the Swin backbone alone against a fixture made with the authors' SwinTransformer.

Fixture layout (tests/fixtures/golden/backbones/README.md, section 2): `meta.json` with the
`constructor_kwargs` the authors' class was built with, `state_dict.pt` (its own key names, floats
stored as float16), `inputs.pt` {"x"}, and the expected `outputs.pt` {"0".."3"} and
`intermediates.pt` (patch embedding, every block, stage and patch merging output, the shift
masks). Tolerances are the README's, fixed here rather than read from the fixture: outputs 1e-5,
intermediates 5e-5, masks exact. A fixture without expected outputs fails: passing must mean
that every feature map was compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from vis_bench.api import InputError
from vis_bench.methods.common.swin import SwinTransformer, relative_position_index
from vis_bench.parity import ParityReport, captured_outputs, load_fixture_weights, save_produced

OUTPUT_TOLERANCE = 1e-5
INTERMEDIATE_TOLERANCE = 5e-5
EXPECTED_FILES = ("outputs.pt", "intermediates.pt")


def _load(path: Path) -> Any:
    if not path.is_file():
        raise InputError("fixture file missing", path=str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def build_from_meta(meta: dict[str, Any], meta_path: Path) -> SwinTransformer:
    kwargs = meta.get("constructor_kwargs")
    if not isinstance(kwargs, dict):
        raise InputError(
            "no 'constructor_kwargs' mapping", path=str(meta_path), field="constructor_kwargs"
        )
    try:
        return SwinTransformer(**kwargs).eval()
    except (TypeError, ValueError) as err:
        raise InputError(str(err), path=str(meta_path), field="constructor_kwargs") from err


def _load_weights(report: ParityReport, model: SwinTransformer, path: Path) -> None:
    """Load through the shared helper (keys in the authors' order), then check the stored
    relative position indices against the ones this code builds."""
    state = load_fixture_weights(
        report, model, path, check_order=True, check_name="state_dict keys (names and order)"
    )
    indices = [k for k in state if k.endswith("relative_position_index")]
    equal = all(
        torch.equal(state[k], relative_position_index(int(state[k].shape[0] ** 0.5)))
        for k in indices
    )
    report.add_exact("relative_position_index", equal, f"{len(indices)} buffers")


def intermediate_modules(model: SwinTransformer) -> dict[str, str]:
    """Fixture names -> sub-modules whose output the fixture stores (`.out`: the stage's
    first output, `attn_mask.`: its shift regions)."""
    modules = {"patch_embed": "patch_embed"}
    for i, layer in enumerate(model.layers):
        for j in range(len(layer.blocks)):
            modules[f"layers.{i}.blocks.{j}"] = f"layers.{i}.blocks.{j}"
        modules[f"layers.{i}.out"] = f"layers.{i}"
        if layer.downsample is not None:
            modules[f"layers.{i}.downsample"] = f"layers.{i}.downsample"
        modules[f"attn_mask.layers.{i}"] = f"layers.{i}.shift_regions"
    return modules


def _intermediates(captured: dict[str, list[Any]]) -> dict[str, torch.Tensor]:
    """One forward's captured outputs under the fixture's names."""
    trace = {}
    for name, outputs in captured.items():
        value = outputs[0]
        trace[name] = value[0] if name.endswith(".out") else value  # (out, down, h, w)
    return trace


def _compare(
    report: ParityReport, produced: dict[str, torch.Tensor], expected: dict, prefix: str, atol
) -> None:
    """Every expected entry must have been produced and match; bool tensors exactly."""
    for name, want in expected.items():
        label = f"{prefix}{name}"
        got = produced.get(name)
        if got is None:
            report.add_exact(label, False, "not produced")
        elif want.dtype == torch.bool:
            same = tuple(got.shape) == tuple(want.shape) and torch.equal(got, want)
            report.add_exact(label, same, f"shape {tuple(got.shape)}")
        else:
            report.add_tensor(label, got.float(), want.float(), atol)


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run inputs.pt; compare outputs/intermediates."""
    fixture_dir = Path(fixture_dir)
    meta_path = fixture_dir / "meta.json"
    report = ParityReport(method="swin backbone", fixture=str(fixture_dir))
    model = build_from_meta(json.loads(meta_path.read_text()), meta_path)
    _load_weights(report, model, fixture_dir / "state_dict.pt")
    inputs = _load(fixture_dir / "inputs.pt")
    if "x" not in inputs:
        raise InputError("no 'x' entry", path=str(fixture_dir / "inputs.pt"), field="x")
    with torch.no_grad(), captured_outputs(model, intermediate_modules(model)) as captured:
        outputs = model(inputs["x"].float())
    trace = _intermediates(captured)

    missing = [name for name in EXPECTED_FILES if not (fixture_dir / name).is_file()]
    if "outputs.pt" in missing:
        report.add_exact("outputs", False, f"nothing to compare: {', '.join(missing)} missing")
    else:
        expected = _load(fixture_dir / "outputs.pt")
        _compare(report, outputs, expected, "output ", OUTPUT_TOLERANCE)
        for name in outputs:
            if name not in expected:
                report.add_exact(f"output {name}", False, "no expected value in outputs.pt")
    if "intermediates.pt" in missing:
        report.produced_only.append("intermediates (intermediates.pt missing)")
    else:
        expected = _load(fixture_dir / "intermediates.pt")
        _compare(report, trace, expected, "", INTERMEDIATE_TOLERANCE)
        report.produced_only += [k for k in trace if k not in expected]

    save_produced({"outputs": outputs, "intermediates": trace}, out_path)
    return report

"""`run_bench.py profile`: top operators, shares, FLOP/s, Chrome trace and summary on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import tests.helpers.toy_method  # noqa: F401  (registers "toy")
from vis_bench.api.plugin import ClipResult, MethodPlugin
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.api.registration import register_method
from vis_bench.api.spec import MethodSpec
from vis_bench.cli import main
from vis_bench.measure.profiler import operator_table, profile_method, random_frames

METHOD = "profile-test-convattn"


@dataclass
class NoOptions:
    pass


@register_method(METHOD)
class ConvAttnPlugin(MethodPlugin):
    """Convolutions (FLOPs known to the profiler) plus the deformable-attention custom op."""

    spec = MethodSpec(
        name=METHOD,
        summary="convolutions and deformable attention, for the profiler's tests",
        options=NoOptions,
        preprocessing=Preprocessing(shorter_side=32),
    )

    def __init__(self) -> None:
        self.options = NoOptions()
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3)
        )

    @classmethod
    def create(cls, options: NoOptions) -> ConvAttnPlugin:
        return cls()

    def load_checkpoint(self, checkpoint: Any, strict: bool = True) -> Any:
        raise NotImplementedError

    def preprocess(self, frames: torch.Tensor, shorter_side: int | None = None) -> torch.Tensor:
        frames = frames.float() / 255
        if shorter_side:
            scale = shorter_side / min(frames.shape[-2:])
            frames = F.interpolate(frames, scale_factor=scale, mode="bilinear")
        return frames

    def infer_clip(self, frames: torch.Tensor) -> ClipResult:
        from vis_bench.cuda_ops.ms_deform_attn import ms_deform_attn_reference

        feat = self.model(frames)  # [T, 8, h, w]
        T, C, h, w = feat.shape
        value = feat.flatten(2).transpose(1, 2).reshape(T, h * w, 2, C // 2)
        shapes = torch.tensor([[h, w]])
        loc = torch.rand(T, 10, 2, 1, 2, 2)
        out = ms_deform_attn_reference(
            value, shapes, shapes.new_zeros(1), loc, torch.ones(T, 10, 2, 1, 2)
        )
        masks = (feat.mean(1, keepdim=True) > 0).float().transpose(0, 1)
        return ClipResult(torch.tensor([out.abs().mean().clamp(max=1)]), torch.tensor([1]), masks)


def _run(tmp_path, *extra: str) -> int:
    return main(
        ["profile", "--method", METHOD, "--clip", "2", "--size", "24", "--repeats", "2"]
        + ["--out-dir", str(tmp_path), *extra]
    )


def test_profile_writes_trace_and_summary(tmp_path, capsys) -> None:
    assert _run(tmp_path, "--top", "5") == 0
    out = capsys.readouterr().out
    traces = list(tmp_path.glob("*.trace.json"))
    summaries = list(tmp_path.glob("*.md"))
    assert len(traces) == 1 and len(summaries) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([traces[0].name, summaries[0].name])
    events = json.loads(traces[0].read_text())["traceEvents"]
    assert any("conv" in str(e.get("name", "")) for e in events)
    summary = summaries[0].read_text()
    assert summary in out
    assert f"# Profile: {METHOD} on cpu" in summary
    assert "2 random frames of 24x42" in summary
    table = summary.split("## Top 5 operators by self CPU time")[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == 5
    self_ms = [float(r.split("|")[3]) for r in rows]
    assert self_ms == sorted(self_ms, reverse=True)
    assert "vis_bench::infer_clip" not in summary


def test_profile_result_has_flops_and_shares() -> None:
    plugin = ConvAttnPlugin.build()
    result = profile_method(plugin, method=METHOD, clip=2, shorter_side=16, repeats=2)
    assert result.repeats == 2 and len(result.clip_seconds) == 2
    conv = [op for op in result.operators if op.name == "aten::conv2d"]
    assert conv and conv[0].calls == 4 and conv[0].flops > 0
    rate = conv[0].flops_per_second(on_device=False)
    assert rate is not None and rate > 0
    # first conv: 2 FLOPs x (8 out x 3 in x 3 x 3) per output pixel, T=2 frames of 16x28, 2 clips
    assert conv[0].flops >= 2 * 8 * 3 * 9 * 16 * 28 * 2 * 2
    table = operator_table(result, top=1000)
    shares = [float(line.split("|")[4].strip(" %")) for line in table.splitlines()[2:]]
    assert sum(shares) == pytest.approx(100, abs=0.05 * len(shares))  # each rounded to 0.1
    top = result.top(1)[0]
    assert shares[0] == pytest.approx(100 * top.self_cpu_us / result.total_self_cpu_us, abs=0.05)
    assert (
        "FLOP/s"
        in table.splitlines()[2 + [op.name for op in result.top(1000)].index("aten::conv2d")]
    )
    assert any("grid_sampler" in op.name for op in result.operators)


def test_profile_builtin_toy_method(tmp_path) -> None:
    assert (
        main(
            [
                "profile",
                "--method",
                "toy",
                "--clip",
                "1",
                "--size",
                "16",
                "--repeats",
                "1",
                "--warmup",
                "0",
                "--out-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert len(list(tmp_path.glob("toy-cpu-T1-S16-*.md"))) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "no-such-method"], "unknown method"),
        (["--method", METHOD, "--repeats", "0"], "--repeats"),
        (["--method", METHOD, "--device", "tpu"], "--device"),
    ],
)
def test_profile_rejects_bad_arguments(tmp_path, capsys, args, message) -> None:
    assert main(["profile", *args, "--out-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_random_frames_shape() -> None:
    frames = random_frames(3, 360)
    assert frames.shape == (3, 3, 360, 640) and frames.dtype == torch.uint8

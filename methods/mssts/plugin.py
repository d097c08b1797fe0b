"""The MS-STS plugins: `mssts-release` (what the released code runs) and `mssts` (the paper).

Everything but the model tree is SeqFormer's (preprocessing, the whole clip in one forward,
inference.py's post-processing, the harness hooks): the release's inference.py is byte-identical
to SeqFormer's. Depth is configuration (3+3 by default, as main.py trains it); a checkpoint of the
other depth the repository's scripts disagree on (6+6, inference.py's default) is recognised from
its keys and the model is rebuilt to match before a strict load.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from vis_bench.methods.common.checkpoint import LoadReport, extract_state_dict, read_checkpoint
from vis_bench.methods.mssts.paper import build_mssts
from vis_bench.methods.mssts.release import RELEASE_DEPTH, build_release, depth_of
from vis_bench.methods.seqformer.checkpoint import load_seqformer_checkpoint
from vis_bench.methods.seqformer.model import SeqFormerConfig
from vis_bench.methods.seqformer.plugin import SeqFormerPlugin, run_parity

from vis_bench.parity import ParityReport
from vis_bench.registry import register_method

RELEASE_NOTE = (
    "MS-STS released code: SeqFormer at depth 3+3 with an unused decoder module; "
    "it contains no MS-STS attention (see docs/mssts.md)"
)


@register_method("mssts-release")
class MSSTSReleasePlugin(SeqFormerPlugin):
    name = "mssts-release"
    notes = RELEASE_NOTE

    @classmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> MSSTSReleasePlugin:
        cfg = {"enc_layers": RELEASE_DEPTH, "dec_layers": RELEASE_DEPTH, **(cfg or {})}
        options = {k: cfg.pop(k) for k in cls.PLUGIN_OPTIONS if k in cfg}
        config = SeqFormerConfig.from_dict(cfg, source="methods[mssts-release].options")
        return cls(build_release(config), config, options)

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """The backbone and the depth (3+3 or 6+6) a release state dict was saved with."""
        options = super().checkpoint_options(state_dict)
        enc, dec = depth_of(state_dict)
        if enc and dec:
            options.update(enc_layers=enc, dec_layers=dec)
        return options

    def load_checkpoint(self, path: str, strict: bool = True) -> LoadReport:
        """Strict load of a release-layout checkpoint of either depth (3+3 or 6+6)."""
        state_dict, _ = extract_state_dict(read_checkpoint(path), path, method=self.name)
        enc, dec = depth_of(state_dict)
        if enc and dec and (enc, dec) != (self.config.enc_layers, self.config.dec_layers):
            self.config.enc_layers, self.config.dec_layers = enc, dec
            self.model = build_release(self.config)
        self.load_report = load_seqformer_checkpoint(
            self.model, path, strict=strict, method=self.name
        )
        return self.load_report

    @classmethod
    def run_parity(cls, fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
        """The release fixture (made with the MS-STS repository) through SeqFormer's procedure."""
        return run_parity(
            Path(fixture_dir),
            None if out_path is None else Path(out_path),
            method=cls.name,
            build_model=build_release,
        )


RECONSTRUCTION_NOTE = "reconstruction from the paper; no reference implementation exists"


@register_method("mssts")
class MSSTSPlugin(SeqFormerPlugin):
    """The paper's MS-STS (intra/inter-scale temporal attention, decoder temporal block)."""

    name = "mssts"
    notes = RECONSTRUCTION_NOTE

    @classmethod
    def build(cls, cfg: dict[str, Any] | None = None) -> MSSTSPlugin:
        cfg = dict(cfg or {})
        options = {k: cfg.pop(k) for k in cls.PLUGIN_OPTIONS if k in cfg}
        config = SeqFormerConfig.from_dict(cfg, source="methods[mssts].options")
        return cls(build_mssts(config), config, options)

"""The MS-STS methods: `mssts-release` (what the released code runs) and `mssts` (the paper).

Everything but the model tree is SeqFormer's (preprocessing, the whole clip in one forward,
inference.py's post-processing, the harness hooks): the release's inference.py is byte-identical
to SeqFormer's. Depth is configuration (3+3 by default, as main.py trains it); a checkpoint of the
other depth the repository's scripts disagree on (6+6, inference.py's default) is recognised from
its keys and the model is rebuilt to match before a strict load. No MS-STS checkpoint was ever
released for download (the repository's README links point back to the repository).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from vis_bench.api import register_method
from vis_bench.api.parity import ParityReference
from vis_bench.methods.families.seqformer.base_plugin import (
    CHECKPOINT_SIGNATURE,
    SeqFormerBase,
    SeqFormerOptions,
)
from vis_bench.methods.mssts.paper import build_mssts
from vis_bench.methods.mssts.release import RELEASE_DEPTH, build_release, depth_of
from vis_bench.methods.mssts.timing import PAPER_TIMING, RELEASE_TIMING
from vis_bench.methods.mssts.variants import VARIANTS

RELEASE_REFERENCE = "OmkarThawakar/MSSTS-VIS @ 82b2c1bcd6d99fdc1413719a37b7a42736078c6e"
RELEASE_NOTE = (
    "MS-STS released code: SeqFormer at depth 3+3 with an unused decoder module; "
    "it contains no MS-STS attention (see docs/methods/mssts.md)"
)
RECONSTRUCTION_NOTE = "reconstruction from the paper; no reference implementation exists"


@dataclasses.dataclass
class MSSTSReleaseOptions(SeqFormerOptions):
    """SeqFormer's options at the release's default depth (main.py: 3 encoder, 3 decoder)."""

    enc_layers: int = RELEASE_DEPTH
    dec_layers: int = RELEASE_DEPTH


@register_method("mssts-release")
class MSSTSReleasePlugin(SeqFormerBase):
    spec = dataclasses.replace(
        SeqFormerBase.spec,
        name="mssts-release",
        summary="the MS-STS repository's released model (SeqFormer with an inert module)",
        options=MSSTSReleaseOptions,
        reference=RELEASE_REFERENCE,
        notes=RELEASE_NOTE,
        checkpoint_signature=(*CHECKPOINT_SIGNATURE, r"\.temp_attn_box\."),
        parity=ParityReference(f"{__package__}.parity:run_release_parity", RELEASE_REFERENCE),
        timing_protocol=RELEASE_TIMING,
    )
    build_network = staticmethod(build_release)

    @classmethod
    def checkpoint_options(cls, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        """The backbone and the depth (3+3 or 6+6) a release state dict was saved with."""
        options = super().checkpoint_options(state_dict)
        enc, dec = depth_of(state_dict)
        if enc and dec:
            options.update(enc_layers=enc, dec_layers=dec)
        return options

    def adapt_to_checkpoint(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A release checkpoint of the other depth (3+3 or 6+6) rebuilds the model to match."""
        enc, dec = depth_of(state_dict)
        if enc and dec and (enc, dec) != (self.config.enc_layers, self.config.dec_layers):
            self.options = dataclasses.replace(self.options, enc_layers=enc, dec_layers=dec)
            self.config = self.options.network()
            self.model = build_release(self.config)
        return state_dict


@register_method("mssts")
class MSSTSPlugin(SeqFormerBase):
    """The paper's MS-STS (intra/inter-scale temporal attention, decoder temporal block)."""

    spec = dataclasses.replace(
        SeqFormerBase.spec,
        name="mssts",
        summary="MS-STS as the paper describes it (intra/inter-scale temporal attention)",
        reference="reconstruction from the paper (docs/methods/mssts.md)",
        notes=RECONSTRUCTION_NOTE,
        checkpoint_signature=(*CHECKPOINT_SIGNATURE, r"\.intra_scale\.", r"\.temporal\."),
        parity=None,
        variants=VARIANTS,
        timing_protocol=PAPER_TIMING,
    )
    # its encoder's temporal blocks attend across frames: only what precedes it is per frame
    per_frame_stages = ("backbone", "input_proj")
    build_network = staticmethod(build_mssts)

"""The `seqformer` method: SeqFormer's declaration and inference as its authors run them."""

from __future__ import annotations

import dataclasses

from vis_bench.api import register_method
from vis_bench.methods.families.seqformer.base_plugin import SeqFormerBase
from vis_bench.methods.seqformer.variants import VARIANTS


@register_method("seqformer")
class SeqFormerPlugin(SeqFormerBase):
    """SeqFormer (Wu et al., ECCV 2022) as its authors' inference.py runs it."""

    spec = dataclasses.replace(SeqFormerBase.spec, variants=VARIANTS)

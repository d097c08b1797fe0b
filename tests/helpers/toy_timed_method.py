"""A toy method that declares its authors' timing protocol (detectron2's evaluator under fp16
autocast), as a method evaluated with detectron2 would: defined entirely here. Its preprocessing
is the declared one (resize, then normalise), so a protocol can keep the resize outside its timer.
"""

from __future__ import annotations

import dataclasses

from tests.helpers.toy_method import ToyPlugin
from vis_bench.api import MethodPlugin, register_method
from vis_bench.api.timing import detectron2_protocol

TIMING = detectron2_protocol(
    precision="fp16",
    source="tests/helpers/toy_timed_method.py (a test's declaration)",
    published="none: a test method",
)


@register_method("toy-timed")
class ToyTimedPlugin(ToyPlugin):
    spec = dataclasses.replace(
        ToyPlugin.spec,
        name="toy-timed",
        summary="test-only toy method declaring its authors' timing protocol",
        timing_protocol=TIMING,
    )
    preprocess = MethodPlugin.preprocess

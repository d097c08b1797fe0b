"""MS-STS's authors published no timing code: both its methods' protocols are "not stated".

Read from OmkarThawakar/MSSTS-VIS @ 82b2c1bc (docs/timing_protocols.md).
"""

from __future__ import annotations

from vis_bench.api.timing import not_stated

SOURCE = (
    "OmkarThawakar/MSSTS-VIS @ 82b2c1bc: inference.py has no timing code (SeqFormer's script: "
    "Resize(360) L144, the whole video as one clip L194, top-10 L209, upsampling L221, RLE L237)"
)
RELEASE_TIMING = not_stated(
    source=SOURCE,
    published="none: the README's abstract (L21) says 'comparable in model size and speed'",
)
PAPER_TIMING = not_stated(
    source=SOURCE,
    published=(
        "none in the repository; whether the paper (arXiv 2203.13253) has an FPS column, and "
        "how it was measured, is not verified"
    ),
)

"""SeqFormer's authors published no timing code: its protocol is "not stated".

Read from wjf5203/SeqFormer @ 94272384 (docs/timing_protocols.md).
"""

from __future__ import annotations

from vis_bench.api.timing import not_stated

AUTHORS_TIMING = not_stated(
    source=(
        "wjf5203/SeqFormer @ 94272384: inference.py has no timing code (L175-243: PIL load, "
        "Resize(360), the whole video as one clip, top-10, upsampling, RLE; fp32, no warm-up, "
        "no synchronisation)"
    ),
    published=(
        "none in the repository; 72.3 FPS (R-50) per a third-party summary of the paper, "
        "not verified"
    ),
)

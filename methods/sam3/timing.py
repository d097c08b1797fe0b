"""SAM 3's authors published no timing code for their video inference: its protocol is "not
stated". Read from facebookresearch/sam3 @ 99d02f28: no timer around the video model's passes
(`sam3/model/sam3_video_inference.py`); the only clock is a session's start time in
`sam3_video_predictor.py:124`, and a comment gives 27 -> 24 FPS for a 768 x 768 test model
(`sam3_tracking_predictor.py:74-75`)."""

from __future__ import annotations

from vis_bench.api.timing import not_stated

AUTHORS_TIMING = not_stated(
    source=(
        "facebookresearch/sam3 @ 99d02f28: sam3/model/sam3_video_inference.py has no timing "
        "code (bf16 autocast on CUDA, the detector once per frame and prompt, one pass per prompt)"
    ),
    published=(
        "none in the repository; the authors' FPS against tracked objects (H100) is a chart, "
        "not numbers"
    ),
)

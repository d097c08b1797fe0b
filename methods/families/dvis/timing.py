"""How DVIS++'s evaluation times itself: detectron2's evaluator under fp16 autocast, for the
online and the offline model alike.

Read from zhang-tao-whu/DVIS_Plus @ c0eb2495 (docs/timing_protocols.md). The model zoo publishes
AP, AP50 and AP75 only: no FPS.
"""

from __future__ import annotations

from vis_bench.api.timing import detectron2_protocol

AUTHORS_TIMING = detectron2_protocol(
    precision="fp16",
    source=(
        "zhang-tao-whu/DVIS_Plus @ c0eb2495: DVIS_Plus/train_net_video.py L232 (torch.cuda.amp "
        "autocast), L259-260 (with autocast(): inference_on_dataset); the timed forward: "
        "DVIS_Plus_online.forward, dvis_Plus/meta_architecture.py L591-706, the segmenter's "
        "windows of 3 frames L774-816, upsampling on the CPU L838-851 (DVIS_Plus_offline adds "
        "its refiner at the video's end)"
    ),
    published="none: MODEL_ZOO.md gives AP, AP50 and AP75 only",
)

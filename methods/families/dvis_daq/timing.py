"""How DVIS-DAQ's evaluation times itself: detectron2's evaluator under fp16 autocast (the
DVIS_Plus repository's `train_net_video.py`, which DVIS_DAQ/ keeps).

Read from zhang-tao-whu/DVIS_Plus @ c0eb2495. The model zoo publishes AP, AP50 and AP75 only.
"""

from __future__ import annotations

from vis_bench.api.timing import detectron2_protocol

AUTHORS_TIMING = detectron2_protocol(
    precision="fp16",
    source=(
        "zhang-tao-whu/DVIS_Plus @ c0eb2495: DVIS_DAQ/train_net_video.py L244 (torch.cuda.amp "
        "autocast), L271 (with autocast(): inference_on_dataset); the timed forward: DVIS_DAQ_online.forward, "
        "dvis_daq/meta_architecture.py, the segmenter and tracker in windows of 5 frames "
        "(run_window_inference L488-596), DVIS_DAQ_offline adds the refiner at the video's end"
    ),
    published="none: MODEL_ZOO.md gives AP, AP50 and AP75 only",
)

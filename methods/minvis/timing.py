"""How MinVIS's evaluation times itself: detectron2's evaluator under fp16 autocast.

Read from NVlabs/MinVIS @ d039c54b (docs/timing_protocols.md). The repository publishes no FPS.
"""

from __future__ import annotations

from vis_bench.api.timing import detectron2_protocol

AUTHORS_TIMING = detectron2_protocol(
    precision="fp16",
    source=(
        "NVlabs/MinVIS @ d039c54b: train_net_video.py L205, L231-232 (with autocast(): "
        "inference_on_dataset); the timed forward: minvis/video_maskformer_model.py L192-203 "
        "(the whole video in one batch unless WINDOW_INFERENCE), L265-317 (query matching on "
        "the CPU), L376-394 (top-10, masks upsampled to the video size, copied to the CPU)"
    ),
    published=(
        "none in the repository; the 29 FPS a summary of the VidEoMT paper lists is that "
        "paper's re-measurement (not verified), not MinVIS's own"
    ),
)

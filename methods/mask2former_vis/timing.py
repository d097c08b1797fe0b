"""How Mask2Former-VIS's evaluation times itself: detectron2's evaluator under fp16 autocast.

Read from facebookresearch/Mask2Former @ 9b0651c6 (docs/timing_protocols.md). The repository
publishes no FPS; this is the timer its evaluation runs, the one a user of its code sees.
"""

from __future__ import annotations

from vis_bench.api.timing import detectron2_protocol

AUTHORS_TIMING = detectron2_protocol(
    precision="fp16",
    source=(
        "facebookresearch/Mask2Former @ 9b0651c6: train_net_video.py L198, L224-225 (with "
        "autocast(): inference_on_dataset); the timed forward: "
        "mask2former_video/video_maskformer_model.py L180-225, L255-287 (every frame at once, "
        "top-10, masks upsampled to the video size and copied to the CPU)"
    ),
    published="none in the repository; whether the tech report gives one is not verified",
    notes="the deformable-attention pixel decoder runs in fp32 inside the autocast (L314)",
)

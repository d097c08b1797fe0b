"""How VidEoMT's authors timed the FPS they published: `benchmark.py --task fps`.

One frame per call of the network (ViT, queries, their propagation, heads, upscale), between CUDA
events, fp16 autocast, torch.compile(dynamic=True) with compile errors suppressed; loading,
resizing, the copy to the GPU, normalisation, padding and all post-processing outside. Read from
tue-mps/videomt @ 39411e94 (docs/timing_protocols.md).
"""

from __future__ import annotations

from vis_bench.api.timing import CompileSetting, TimingProtocol

AUTHORS_TIMING = TimingProtocol(
    name="VidEoMT benchmark.py --task fps",
    region="frame_forward",
    timed=("backbone", "heads", "linking"),
    precision="fp16",
    matmul_precision="medium",
    compile=CompileSetting(mode="default", dynamic=True, fullgraph=False, suppress_errors=True),
    frames_per_call="1 frame",
    warmup=100,
    warmup_unit="videos",
    mean="frames_over_time",
    clock="CUDA events around each call, torch.cuda.synchronize() before and after",
    source=(
        "tue-mps/videomt @ 39411e94 benchmark.py: L184-186 (capture_scalar_outputs, "
        "suppress_errors, float32 matmul precision medium), L196 torch.compile(model.backbone, "
        "fullgraph=False, dynamic=True), L144-148 fp16 autocast and no_grad, L150-160 warm-up "
        "videos, L161-177 each frame's model.backbone(image) between CUDA events, L179-180 FPS = "
        "frames / total time; --warmup-iters defaults to 200 (L219), the README's commands pass "
        "100 (L104, L112)"
    ),
    published=(
        "model_zoo/dinov2.md: YouTube-VIS 2019 ViT-S 294, ViT-B 251, ViT-L 160 FPS (L23, L31, "
        "L39), OVIS ViT-L 115 (L105); 'FPS measured on NVIDIA H100 with default torch.compile' "
        "(L3)"
    ),
    notes=(
        "the harness's per-frame call is infer_clip on one frame: it also pads the frame and "
        "packages the outputs (softmax of the mean logits, sigmoid of the mask logits), which "
        "the authors' timed call leaves out; its clock is the host's with the device "
        "synchronised on both sides; capture_scalar_outputs is not set"
    ),
)

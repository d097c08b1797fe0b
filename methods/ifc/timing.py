"""How IFC's authors timed the FPS they published: detectron2's evaluator, in fp32.

Read from sukjunhwang/IFC @ 880d6463 (docs/timing_protocols.md has the whole reading).
"""

from __future__ import annotations

from vis_bench.api.timing import detectron2_protocol

AUTHORS_TIMING = detectron2_protocol(
    precision="fp32",
    source=(
        "sukjunhwang/IFC @ 880d6463: projects/IFC/train_net.py L157-163 (--eval-only runs "
        "Trainer.test without autocast; vendored detectron2/engine/defaults.py L608 calls "
        "inference_on_dataset); the timed forward: projects/IFC/ifc/ifc.py L188-231 (backbone "
        "over all frames, clips of T frames at stride 1, matching and merging, masks upsampled "
        "to the video size and copied to the CPU)"
    ),
    published=(
        "README L89-92: R-50 T=5 46.5 FPS, T=36 107.1 FPS, R-101 T=36 89.4 FPS (no GPU named); "
        "the paper's footnote 2 and its stride table (72.7-95.7 FPS) not verified"
    ),
    notes=(
        "no FPS script in the repository: how seconds per video became frames per second is "
        "not stated; clip stride 1 by default (ifc/config.py L39)"
    ),
)

"""DVIS++ (online, offline), DVIS-DAQ (online, offline) and VidEoMT side by side with their
authors' code on the same weights.

    python benchmarks/bench_authors_side_by_side.py --authors-python /path/to/their/venv/bin/python \
        --detectron2 SRC/detectron2 --dvis-plus SRC/DVIS_Plus/DVIS_Plus \
        --dvis-daq SRC/DVIS_Plus/DVIS_DAQ --videomt SRC/videomt \
        [--path SHIMS] [--methods ROW ...] [--rounds 5] [--merge] \
        [--threads 2] [--frames 12 --height 360 --width 640] \
        [--json benchmarks/results/authors_side_by_side.json]

Needs the authors' repositories (zhang-tao-whu/DVIS_Plus, whose DVIS_Plus/ and DVIS_DAQ/ folders
are two code roots with the same package names, tue-mps/videomt, and detectron2 from source) and
an interpreter that imports them (`--authors-python`); nothing of theirs is in this project. Only
the code root of a row's own method is put on their import path (with `--path` and detectron2).
Where their compiled deformable-attention op cannot be built (a CPU-only machine), its import has
to be made optional (an empty `MultiScaleDeformableAttention` module on `--path` does): their
code then takes its PyTorch path on the CPU.

For each method the authors' model is built from their own config (DVIS++ R50 online and offline
and DVIS-DAQ R50 online on YouTube-VIS 2019; DVIS-DAQ R50 offline on OVIS, its only R50 offline
release: there is no YouTube-VIS R50 offline config; VidEoMT ViT-S at its released 448 short edge)
with random weights (seed 0; nothing is downloaded) and saved in their checkpoint format;
vis-bench loads that file by its release format. Both sides then get the same random 12-frame
360x640 uint8 video, held in memory. Each round runs three fresh processes: the authors' code as
it starts, the authors' code with the allocator setting vis-bench's `reuse_memory` fast path makes
(vis_bench/api/host_memory.py: glibc's M_MMAP_MAX 0 and trim threshold 1 GiB, given to their
process as `MALLOC_MMAP_MAX_` and `MALLOC_TRIM_THRESHOLD_`: like for like, since vis-bench's
process turns it on for itself), and vis-bench (which goes first rotates from round to round).
Each process builds its model, runs the video's first two frames untimed (the warm-up) and then
the whole video, timed: wall seconds, the process's CPU seconds (user and system) and its minor
page faults. The authors' timed pass is their test-time resize (the dataset mapper's) and
`model(inputs)`, which returns full-resolution boolean masks; vis-bench's is `run_method` at
T=all, which also RLE-encodes the masks (work the authors' timer leaves out). Reported per row:
medians over the rounds and the ratios (authors / vis-bench, above 1: vis-bench faster) with and
without the same allocator setting, each ratio also per round (a round's two processes ran one
after the other) with the median's distribution-free interval over the rounds (the rule every
FPS interval follows, vis_bench/measure/precision.py; at least 3 rounds), the load average and
the project's reference workload speed (vis_bench/measure/reference.py) read by the driver before
and after each process, and the outputs of the last round compared with the parity fixtures'
tolerances (the same tracks in the same order, scores within 1e-5, at most 8 mask pixels apart
per track).

Every process gets the same OpenMP wait policy (`--omp-wait-policy`, passive by default, as
vis-bench's sweeps run their workers): with the runtime's default, threads spin at each barrier,
and on a machine shared with other work a spinning thread burns CPU seconds while its partner
waits for a core, which on a loaded machine doubled the authors' VidEoMT process's CPU seconds
and left vis-bench's unchanged: the ratio then measured the load, not the code.

The DVIS-DAQ rows run trained weights on a synthetic video instead: random weights put every
anchor query at one place and keep every sequence alive (100 per frame, none dropped), which
times both codes' per-sequence bookkeeping in a case no trained model makes. The project's tiny
trained checkpoints (results/checkpoints/dvis_daq_{online,offline}_tiny.pth, configs/tiny/) are
the weights where tracks are born, live and die as a trained model's do; the golden fixtures'
calibrated weights were tuned on 5 frames of noise and say nothing of a longer video. The
authors' model is built from their config with the tiny model's sizes and test settings as
config overrides (`authors_overrides`) and the tiny ResNet as a detectron2 backbone made of
detectron2's own ResNet blocks (the same layers and names as their ResNet-50, a quarter of
ResNet-18's width); the driver renames the checkpoint's backbone keys to detectron2's and their
process copies every tensor in by name (the same keys and shapes, or it stops). Both sides get a
video of the project's synthetic generator (`--synthetic-frames` frames at `--height` x
`--width`, objects entering and leaving), and the authors' process reports, from one more
untimed pass, the sequences its tracker started, how long they lived and how many it dropped.

DVIS-DAQ's inference hard-codes `.to("cuda")` and draws its sequence ids from Python's `random`.
Their tree is left as it is: in their process this script wraps `torch.Tensor.to` so that a
"cuda" destination means the CPU (placement only; the wrapper is a few Python calls per `.to`),
and seeds `random` with 0 before each pass. The ids name sequences and never change a score, a
label or a mask.

DVIS++ offline has three rows: `dvis-plus-offline` as vis-bench runs it by default (the first
pass writes each frame's mask features to a temporary file and the second pass reads them, so
memory stays flat in the video's length), `dvis-plus-offline-remade` (`keep_mask_features: no`:
the second pass computes the mask features again) and `dvis-plus-offline-kept` (`float32`: every
frame's mask features held in memory, as the authors' code holds them). VidEoMT has two:
`videomt` with the authors' process started as their README's command starts it
(`TIMM_FUSED_ATTN=0`: timm computes attention as two matrix products and a softmax) and
`videomt-fused` with timm's default fused attention, the kernel vis-bench calls (the same
kernels on both sides). vis-bench's last round of each row also profiles one more untimed pass
(`torch.profiler`): the share of its CPU time in matrix products and attention, and its ten
costliest ops. For VidEoMT those are the ViT's, which both sides call alike with fused
attention: they bound the lead there.

`--merge` measures only `--methods` and writes them into the existing `--json` beside the rows
already there (a long run in parts); each row keeps the provenance of the invocation that
measured it, and the file's own block is the latest invocation's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: each row: vis-bench's method and options, the authors' package, code root (the option naming
#: it) and config (relative to that root), and what their process's environment sets. DVIS++ offline runs as vis-bench runs
#: it by default (the first pass writes each frame's mask features to a temporary file, which
#: the second pass reads: memory flat in video length), with the features made again in the
#: second pass (`keep_mask_features: no`), and holding them in memory as the authors' code does
#: (`float32`). VidEoMT's authors run timm with `TIMM_FUSED_ATTN=0` (their README's command:
#: attention as two matrix products and a softmax); timm's own default is the fused kernel that
#: vis-bench calls. Both are rows: the first what the authors' instructions run, the second the
#: floor where both sides call the same kernels.
DVIS_PLUS = {"package": "dvis_Plus", "root": "dvis_plus"}
DVIS_OFFLINE = {
    **DVIS_PLUS,
    "method": "dvis-plus-offline",
    "config": "configs/dvis_Plus/ytvis19/DVIS_Plus_Offline_R50.yaml",
}
#: DVIS-DAQ's code root keeps DVIS++'s packages beside its own (the config helpers, the mapper)
DVIS_DAQ = {"package": "dvis_daq", "root": "dvis_daq", "augmentation": "dvis_Plus"}
#: the tiny models' sizes (configs/tiny/dvis_daq_online.yaml) as the authors' config keys; the
#: segmenter's DEC_LAYERS counts the learnable queries' prediction as a layer (6 + 1)
TINY_DAQ_OVERRIDES = [
    "MODEL.BACKBONE.NAME", "build_tiny_resnet_backbone",
    "MODEL.SEM_SEG_HEAD.NUM_CLASSES", "8", "MODEL.SEM_SEG_HEAD.CONVS_DIM", "128",
    "MODEL.SEM_SEG_HEAD.MASK_DIM", "128", "MODEL.SEM_SEG_HEAD.TRANSFORMER_ENC_LAYERS", "2",
    "MODEL.MASK_FORMER.HIDDEN_DIM", "128", "MODEL.MASK_FORMER.NUM_OBJECT_QUERIES", "20",
    "MODEL.MASK_FORMER.DIM_FEEDFORWARD", "512", "MODEL.MASK_FORMER.NHEADS", "8",
    "MODEL.MASK_FORMER.DEC_LAYERS", "7", "MODEL.MASK_FORMER.REID_HIDDEN_DIM", "128",
    "MODEL.TRACKER.DECODER_LAYERS", "2", "MODEL.VIDEO_HEAD.NUM_NEW_INS", "20",
    "INPUT.MIN_SIZE_TEST", "144",
]  # fmt: skip
#: the tiny offline model decides as the YouTube-VIS configs do (configs/tiny/dvis_daq_offline.yaml)
TINY_DAQ_OFFLINE_OVERRIDES = [
    *TINY_DAQ_OVERRIDES, "MODEL.REFINER.DECODER_LAYERS", "2",
    "MODEL.VIDEO_HEAD.INFERENCE_SELECT_THRESHOLD", "0.01",
    "MODEL.VIDEO_HEAD.OVIS_INFER", "False", "MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM", "8",
]  # fmt: skip
#: the tiny ResNet's base width (vis_bench/methods/common/tiny_backbone.py DEFAULT_WIDTH)
TINY_WIDTH = 32
#: what the DVIS-DAQ rows' weights are, in the JSON and the docs' table
TINY_WEIGHTS = "tiny trained checkpoint on a synthetic video"
VIDEOMT = {
    "method": "videomt",
    "package": "videomt",
    "root": "videomt",
    "config": "configs/ytvis19/videomt/dinov2/vit-small/videomt_online_ViTS.yaml",
    "options": {"backbone": "vit_s"},
}
METHODS: dict[str, dict[str, Any]] = {
    "dvis-plus-online": {
        **DVIS_PLUS,
        "method": "dvis-plus-online",
        "config": "configs/dvis_Plus/ytvis19/DVIS_Plus_Online_R50_4wIter.yaml",
        "options": {},
    },
    "dvis-plus-offline": {**DVIS_OFFLINE, "options": {}},
    "dvis-plus-offline-remade": {**DVIS_OFFLINE, "options": {"keep_mask_features": "no"}},
    "dvis-plus-offline-kept": {**DVIS_OFFLINE, "options": {"keep_mask_features": "float32"}},
    "dvis-daq-online": {
        **DVIS_DAQ,
        "method": "dvis-daq-online",
        "config": "configs/dvis_daq/ytvis19/DAQ_Online_R50.yaml",
        "options": {},
        "checkpoint": "results/checkpoints/dvis_daq_online_tiny.pth",
        "authors_overrides": TINY_DAQ_OVERRIDES,
    },
    # the only R50 offline release is OVIS's (vis-bench's dvis-daq-offline defaults to it)
    "dvis-daq-offline": {
        **DVIS_DAQ,
        "method": "dvis-daq-offline",
        "config": "configs/dvis_daq/ovis/DAQ_Offline_R50.yaml",
        "options": {},
        "checkpoint": "results/checkpoints/dvis_daq_offline_tiny.pth",
        "authors_overrides": TINY_DAQ_OFFLINE_OVERRIDES,
    },
    "videomt": {**VIDEOMT, "authors_env": {"TIMM_FUSED_ATTN": "0"}},
    "videomt-fused": {**VIDEOMT, "authors_env": {"TIMM_FUSED_ATTN": "1"}},
}
#: the allocator setting vis-bench's `reuse_memory` fast path makes in its own process
#: (vis_bench/api/host_memory.py: mallopt M_MMAP_MAX 0, M_TRIM_THRESHOLD 1 GiB), as glibc's
#: environment variables for the authors' process
SAME_ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
#: the processes of a round, in the order of the first round (the order rotates)
SIDES = ("authors", "authors_same_allocator", "vis_bench")
#: frames of the untimed warm-up pass (one-time costs: allocators, kernels built on first use)
WARMUP_FRAMES = 2
#: the repository (vis-bench's side runs here: configs/default.yaml)
ROOT = Path(__file__).resolve().parent.parent
#: the ViT's kernels, which both sides call alike (the floor a faster harness cannot lower):
#: matrix products and attention (op names containing these; self times, so none counted twice)
VIT_KERNELS = {
    "matrix products": ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm"),
    "attention": ("scaled_dot_product", "flash_attention"),
}


# --- the authors' side: runs in their interpreter, imports only numpy, torch and their code ---


def authors_config(method: str, root: str) -> Any:
    """Their config, built as their train_net_video.py's setup() builds it (random weights)."""
    from detectron2.config import get_cfg
    from detectron2.projects.deeplab import add_deeplab_config

    cfg = get_cfg()
    add_deeplab_config(cfg)
    if METHODS[method]["package"] in ("dvis_Plus", "dvis_daq"):
        from dvis_Plus import add_ctvis_config, add_dvis_config, add_minvis_config
        from mask2former import add_maskformer2_config
        from mask2former_video import add_maskformer2_video_config

        for add in (add_maskformer2_config, add_maskformer2_video_config, add_minvis_config):
            add(cfg)
        add_dvis_config(cfg)
        add_ctvis_config(cfg)
        if METHODS[method]["package"] == "dvis_daq":
            from dvis_daq import add_daq_config

            add_daq_config(cfg)
    else:
        from videomt import add_videomt_config

        add_videomt_config(cfg)
    cfg.merge_from_file(os.path.join(root, METHODS[method]["config"]))
    cfg.merge_from_list(METHODS[method].get("authors_overrides", []))
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    return cfg


def register_tiny_backbone() -> None:
    """The tiny ResNet (vis_bench/methods/common/tiny_backbone.py: one basic block per stage,
    widths TINY_WIDTH x 1, 2, 4, 8, FrozenBN) made of detectron2's ResNet parts, registered as
    `build_tiny_resnet_backbone` (detectron2's own builder accepts only depth 18's width 64)."""
    from detectron2.modeling import BACKBONE_REGISTRY
    from detectron2.modeling.backbone.resnet import BasicBlock, BasicStem, ResNet

    def build_tiny_resnet_backbone(cfg: Any, input_shape: Any) -> Any:
        stem = BasicStem(input_shape.channels, TINY_WIDTH, norm="FrozenBN")
        stages, channels = [], TINY_WIDTH
        for index in range(4):
            out = TINY_WIDTH * 2**index
            stride = [1 if index == 0 else 2]
            stages.append(ResNet.make_stage(BasicBlock, 1, in_channels=channels,
                                            out_channels=out, stride_per_block=stride,
                                            norm="FrozenBN"))  # fmt: skip
            channels = out
        return ResNet(stem, stages, out_features=["res2", "res3", "res4", "res5"])

    BACKBONE_REGISTRY.register(build_tiny_resnet_backbone)


def load_by_name(model: Any, state: dict[str, Any]) -> None:
    """Copy every tensor in by name (a converted checkpoint has no module version metadata, which
    detectron2's heads would read as an old layout and rename); the keys must be the model's."""
    import torch

    own = model.state_dict()
    if set(own) != set(state):
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        raise SystemExit(f"the converted checkpoint's keys differ: missing {missing[:5]}, "
                         f"unexpected {extra[:5]}")  # fmt: skip
    with torch.no_grad():
        for key, tensor in own.items():
            tensor.copy_(state[key])


def sequence_lives(model: Any, one_pass: Any, frames: np.ndarray) -> dict[str, Any]:
    """One more untimed pass, counting the sequences DVIS-DAQ's tracker starts (each a
    `VideoInstanceSequence`): started, started after the first frame, dropped after
    kick_out_frame_num invalid frames in a row (dead), and their lengths in frames."""
    from dvis_daq import track_module

    started: list[Any] = []
    init = track_module.VideoInstanceSequence.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        started.append(self)

    track_module.VideoInstanceSequence.__init__ = counted
    try:
        one_pass(frames)
    finally:
        track_module.VideoInstanceSequence.__init__ = init
    lengths = sorted(len(s.pred_masks) for s in started)
    return {
        "frames": int(len(frames)),
        "started": len(started),
        "started_after_frame_0": sum(s.sT > 0 for s in started),
        "dead": sum(bool(s.dead) for s in started),
        "frames_lived": {
            "min": lengths[0] if lengths else 0,
            "median": float(statistics.median(lengths)) if lengths else 0.0,
            "max": lengths[-1] if lengths else 0,
        },
    }


def no_timm_download() -> None:
    """VidEoMT's ViT asks timm for pretrained DINOv2 weights: build it randomly initialised."""
    import timm

    create = timm.create_model

    def create_model(*args: Any, **kwargs: Any) -> Any:
        return create(*args, **{**kwargs, "pretrained": False})

    timm.create_model = create_model


def is_cuda(device: Any) -> bool:
    """Whether a `.to` argument names a CUDA device ("cuda", "cuda:0", torch.device)."""
    import torch

    if isinstance(device, str):
        return device.split(":")[0] == "cuda"
    return isinstance(device, torch.device) and device.type == "cuda"


def cuda_as_cpu(to: Any) -> Any:
    """`Tensor.to` with a CUDA destination read as the CPU (DVIS-DAQ's hard-coded "cuda")."""

    def to_cpu(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = tuple("cpu" if is_cuda(a) else a for a in args)
        if is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return to(self, *args, **kwargs)

    return to_cpu


def process_times() -> dict[str, float]:
    """The process's wall clock, CPU seconds (user and system) and minor page faults so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_s": time.perf_counter(),
        "cpu_s": time.process_time(),
        "user_s": usage.ru_utime,
        "system_s": usage.ru_stime,
        "minor_faults": float(usage.ru_minflt),
    }


#: the environment variable naming a `perf record --control` fifo (profile_side_by_side.py)
PERF_CONTROL_ENV = "SIDE_BY_SIDE_PERF_CONTROL"


def perf_control(word: str) -> None:
    """Tell the `perf record` around this process to start ("enable") or stop ("disable")
    sampling, so that its profile is the timed pass alone; nothing without one."""
    fifo = os.environ.get(PERF_CONTROL_ENV)
    if fifo:
        with open(fifo, "w") as control:
            control.write(word + "\n")


def timed_since(start: dict[str, float]) -> dict[str, float]:
    """What the process spent since `start` (process_times)."""
    now = process_times()
    return {key: now[key] - start[key] for key in start}


def authors_side(args: argparse.Namespace) -> None:
    """Build their model; write random weights (`--make-weights`) or time one video and save
    its outputs."""
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    root = args.root
    if METHODS[args.method]["package"] == "videomt":
        no_timm_download()
    if METHODS[args.method]["package"] == "dvis_daq":
        torch.Tensor.to = cuda_as_cpu(torch.Tensor.to)
    __import__(METHODS[args.method]["package"])
    converted = "checkpoint" in METHODS[args.method]
    if converted:
        register_tiny_backbone()
    from detectron2.data import transforms as T
    from detectron2.modeling import build_model

    cfg = authors_config(args.method, root)
    model = build_model(cfg).eval()
    if args.make_weights:
        torch.save({"model": model.state_dict()}, args.weights)
        return
    state = torch.load(args.weights, map_location="cpu")["model"]
    if converted:
        load_by_name(model, state)
    else:
        model.load_state_dict(state)
    package = METHODS[args.method].get("augmentation", METHODS[args.method]["package"])
    augmentation = __import__(package + ".data_video.augmentation", fromlist=["x"])
    resize = T.AugmentationList(augmentation.build_augmentation(cfg, is_train=False))
    frames = np.load(args.frames_file)

    def one_pass(frames: np.ndarray) -> dict[str, Any]:
        images = []
        for frame in frames:
            item = T.AugInput(frame)
            resize(item)
            images.append(torch.as_tensor(np.ascontiguousarray(item.image.transpose(2, 0, 1))))
        height, width = frames.shape[1:3]
        video = {"image": images, "height": height, "width": width, "length": len(frames)}
        random.seed(0)  # DVIS-DAQ's sequence ids
        with torch.no_grad():
            return model([{**video, "video_id": 0, "file_names": [""] * len(frames)}])

    one_pass(frames[:WARMUP_FRAMES])
    perf_control("enable")
    start = process_times()
    output = one_pass(frames)
    timed = timed_since(start)
    perf_control("disable")
    masks = [torch.as_tensor(m).numpy().astype(bool) for m in output["pred_masks"]]
    np.savez_compressed(
        args.out,
        scores=np.asarray(output["pred_scores"], dtype=np.float64),
        labels=np.asarray(output["pred_labels"], dtype=np.int64),
        masks=np.stack(masks) if masks else np.zeros((0, *frames.shape[:3]), dtype=bool),
    )
    if converted:
        timed["sequences"] = sequence_lives(model, one_pass, frames)
    print(json.dumps(timed))


# --- vis-bench's side ---


class InMemoryVideo:
    """One video held in memory, as the runner reads a dataset (`FrameSource`)."""

    def __init__(self, frames: np.ndarray) -> None:
        self.frames = frames
        self.id, self.length = 0, int(frames.shape[0])
        self.height, self.width = int(frames.shape[1]), int(frames.shape[2])

    def videos(self) -> list[Any]:
        return [self]

    def read_frames(self, video: Any, indices: list[int]) -> np.ndarray:
        return self.frames[indices]


def project_plugin(row: str, weights: str) -> Any:
    """vis-bench's method of a row on the authors' checkpoint file, as a sweep builds it."""
    method = METHODS[row]
    entry = {"name": method["method"], "checkpoint": weights, "options": method["options"]}
    return project_plugin_of(entry)


def project_plugin_of(entry: dict[str, Any]) -> Any:
    """A config's `methods` entry (name, checkpoint, options) built as a sweep builds it."""
    from vis_bench.config import load_config
    from vis_bench.sweep.methods import resolve_methods
    from vis_bench.sweep.worker import build_plugin

    config = load_config("configs/default.yaml", [f"methods=[{json.dumps(entry)}]"])
    return build_plugin(resolve_methods(config)[0])[0]


def project_side(args: argparse.Namespace) -> None:
    """Time one video through `run_method` (after an untimed pass) and save its outputs."""
    import torch

    from vis_bench.inference.pass_hooks import NO_WARM_UP
    from vis_bench.inference.runner import run_method

    torch.set_num_threads(args.threads)
    plugin = project_plugin(args.method, args.weights)
    source = InMemoryVideo(np.load(args.frames_file))

    def one_pass(video: InMemoryVideo = source) -> Any:
        return run_method(
            plugin, video, clip_length="all", stride=None, resolution=None, untimed=NO_WARM_UP
        )

    one_pass(InMemoryVideo(source.frames[:WARMUP_FRAMES]))
    perf_control("enable")
    start = process_times()
    outcome = one_pass()
    timed: dict[str, Any] = timed_since(start)
    perf_control("disable")
    if args.profile:
        timed["vit_share"] = vit_share(one_pass)
    from pycocotools import mask as mask_utils

    results = outcome.results
    masks = [
        np.stack([mask_utils.decode(rle).astype(bool) for rle in r["segmentations"]])
        for r in results
    ]
    np.savez_compressed(
        args.out,
        scores=np.asarray([r["score"] for r in results], dtype=np.float64),
        labels=np.asarray([r["category_id"] - 1 for r in results], dtype=np.int64),
        masks=np.stack(masks) if masks else np.zeros((0, source.length, 1, 1), dtype=bool),
    )
    print(json.dumps(timed))


def vit_share(one_pass: Any) -> dict[str, Any]:
    """The share of one pass's CPU time (every op's self time) in the ViT's matrix products and
    attention, and the pass's ten costliest ops."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        one_pass()
    events = list(prof.key_averages())
    total = sum(e.self_cpu_time_total for e in events)
    shares = {
        kind: sum(e.self_cpu_time_total for e in events if any(n in e.key for n in names)) / total
        for kind, names in VIT_KERNELS.items()
    }
    costliest = sorted(events, key=lambda e: -e.self_cpu_time_total)[:10]
    return {
        **{kind: round(share, 4) for kind, share in shares.items()},
        "both": round(sum(shares.values()), 4),
        "costliest_ops": {e.key: round(e.self_cpu_time_total / total, 4) for e in costliest},
    }


# --- the driver: weights, rotating rounds, comparison, the JSON ---


def run_side(command: list[str], env: dict[str, str], what: str) -> dict[str, Any]:
    """One side's process; its last stdout line is its JSON (an error names the side)."""
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{tail}")
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def code_root(args: argparse.Namespace, row: str) -> str:
    """The authors' code root of a row (the option that names it: --dvis-plus, --dvis-daq,
    --videomt)."""
    return str(getattr(args, METHODS[row]["root"]))


def side_envs(args: argparse.Namespace, row: str) -> dict[str, dict[str, str]]:
    """A row's three processes' environments (SIDES): the same thread count and OpenMP wait
    policy; for the authors' two, their import path (`--path`, detectron2, the row's code root
    only) and what the row sets (`authors_env`), and for the second of them vis-bench's allocator
    setting."""
    threads = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    base = {**os.environ, **threads, "HF_HUB_OFFLINE": "1"}
    for name in SAME_ALLOCATOR_ENV:
        base.pop(name, None)
    base.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy != "default":
        base["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    paths = [*args.path, args.detectron2, code_root(args, row)]
    authors = {**base, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    authors.update(METHODS[row].get("authors_env", {}))
    return {
        "authors": authors,
        "authors_same_allocator": {**authors, **SAME_ALLOCATOR_ENV},
        "vis_bench": base,
    }


def round_order(round_index: int) -> list[str]:
    """The sides in the order a round starts them: each goes first once in len(SIDES) rounds."""
    shift = round_index % len(SIDES)
    return [*SIDES[shift:], *SIDES[:shift]]


def compare_outputs(authors: Path, project: Path) -> dict[str, Any]:
    """The last round's outputs: the same tracks in the same order, with the parity tolerances."""
    from vis_bench.parity.compare import FLIPPED_PIXELS, SCORE_TOLERANCE

    theirs, mine = np.load(authors), np.load(project)
    same = len(theirs["labels"]) == len(mine["labels"]) and bool(
        np.array_equal(theirs["labels"], mine["labels"])
    )
    result: dict[str, Any] = {"tracks": int(len(theirs["labels"])), "same_labels_in_order": same}
    if not same or theirs["masks"].shape != mine["masks"].shape:
        return {**result, "equal_within_tolerance": False}
    score = float(np.abs(theirs["scores"] - mine["scores"]).max(initial=0.0))
    flips = (theirs["masks"] != mine["masks"]).reshape(len(mine["labels"]), -1).sum(1)
    flipped = int(flips.max(initial=0))
    return {
        **result,
        "max_score_diff": score,
        "max_pixels_apart_per_track": flipped,
        "tolerances": {"score": SCORE_TOLERANCE, "pixels_per_track": FLIPPED_PIXELS},
        "equal_within_tolerance": score <= SCORE_TOLERANCE and flipped <= FLIPPED_PIXELS,
    }


def side_command(args: argparse.Namespace, python: str, side: str, method: str) -> list[str]:
    work = Path(args.work)
    weights = str(work / (Path(METHODS[method]["config"]).stem + ".pth"))
    if side == "project" and "checkpoint" in METHODS[method]:
        weights = str(ROOT / METHODS[method]["checkpoint"])  # the file the authors' is made from
    video = "synthetic.npy" if "checkpoint" in METHODS[method] else "video.npy"
    return [
        python, __file__, "--side", side, "--method", method, "--threads", str(args.threads),
        "--root", code_root(args, method), "--weights", weights,
        "--frames-file", str(work / video), "--out", str(work / f"{method}.{side}.npz"),
    ]  # fmt: skip


def authors_names(key: str) -> str:
    """A tiny checkpoint's key as the authors' detectron2 model names it: the tiny ResNet's
    torchvision names (conv1, bn1, layerN.B.convJ / bnJ, downsample.0 / .1) become detectron2's
    (stem.conv1, stem.conv1.norm, res(N+1).B.convJ / convJ.norm, shortcut / shortcut.norm); the
    heads' names are the authors' already."""
    if not key.startswith("backbone."):
        return key
    name = key.removeprefix("backbone.")
    name = re.sub(r"^conv1\.", "stem.conv1.", re.sub(r"^bn1\.", "stem.conv1.norm.", name))
    block = re.match(r"layer(\d)\.(\d+)\.(.*)", name)
    if block:
        rest = re.sub(r"^bn(\d)\.", r"conv\1.norm.", block.group(3))
        rest = re.sub(r"^downsample\.0\.", "shortcut.", rest)
        rest = re.sub(r"^downsample\.1\.", "shortcut.norm.", rest)
        name = f"res{int(block.group(1)) + 1}.{block.group(2)}.{rest}"
    return "backbone." + name


def write_authors_weights(row: str, out: Path) -> None:
    """A row's trained checkpoint as the authors' checkpoint: vis-bench's model loaded from it
    (its base files resolved), every tensor under the authors' name."""
    import torch

    plugin = project_plugin(row, str(ROOT / METHODS[row]["checkpoint"]))
    state = {authors_names(k): v for k, v in plugin.model.state_dict().items()}
    torch.save({"model": state}, out)


def write_synthetic_video(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One video of the project's synthetic generator (objects entering and leaving the frame),
    decoded to memory as the sides read it; returns its spec for the JSON."""
    from PIL import Image

    from vis_bench.data.synthetic import generate_dataset

    spec = {
        "frames": args.synthetic_frames, "height": args.height, "width": args.width,
        "seed": 0, "enter_leave": 1.0, "min_objects": 3, "max_objects": 5,
    }  # fmt: skip
    folder = generate_dataset(
        out.parent / "synthetic", videos=1, seed=spec["seed"], min_frames=spec["frames"],
        max_frames=spec["frames"], sizes=[(args.height, args.width)],
        min_objects=spec["min_objects"], max_objects=spec["max_objects"],
        enter_leave=spec["enter_leave"],
    )  # fmt: skip
    video = json.loads((folder / "annotations.json").read_text())["videos"][0]
    frames = [np.asarray(Image.open(folder / "JPEGImages" / f).convert("RGB"))
              for f in video["file_names"]]  # fmt: skip
    np.save(out, np.stack(frames))
    return spec


def measure_method(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """Weights from the authors' model, then the rotating rounds, then the comparisons."""
    envs = side_envs(args, method)
    authors = side_command(args, args.authors_python, "authors", method)
    commands = {
        "authors": authors,
        "authors_same_allocator": [*authors[:-1], authors[-1].replace(".authors.", ".alloc.")],
        "vis_bench": side_command(args, sys.executable, "project", method),
    }
    weights = Path(authors[authors.index("--weights") + 1])
    if "checkpoint" in METHODS[method] and not weights.is_file():
        write_authors_weights(method, weights)
    if not weights.is_file():
        run_side([*authors, "--make-weights"], envs["authors"], f"{method}: the authors' weights")
    times: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    loads = []
    for round_index in range(args.rounds):
        last = round_index == args.rounds - 1
        for name in round_order(round_index):
            command = commands[name]
            if name == "vis_bench" and last and args.profile:
                command = [*command, "--profile"]
            before = machine_now()
            loads.append(before["load1"])
            timed = run_side(command, envs[name], f"{method}: {name}, round {round_index}")
            times[name].append({**timed, "machine_before": before, "machine_after": machine_now()})
        print(f"{method} round {round_index + 1}/{args.rounds}: " + ", ".join(
            f"{n} {t[-1]['wall_s']:.2f} s wall {t[-1]['cpu_s']:.2f} s CPU" for n, t in times.items()
        ), flush=True)  # fmt: skip
    work = Path(args.work)
    ours = work / f"{method}.project.npz"
    return summary(times, loads, {
        "authors": compare_outputs(work / f"{method}.authors.npz", ours),
        "authors_same_allocator": compare_outputs(work / f"{method}.alloc.npz", ours),
    })  # fmt: skip


#: what each process reports of its timed pass (older reports: wall and CPU only)
TIMED_KEYS = ("wall_s", "cpu_s", "user_s", "system_s", "minor_faults")
#: the fewest rounds of a row: below this its ratios' interval is the range of one or two pairs
MIN_ROUNDS = 3


def machine_now() -> dict[str, float]:
    """The machine's state next to a process, read by the driver: the 1-minute load average and
    the project's reference workload's speed (vis_bench/measure/reference.py, the driver's
    threads set to the sides'), so that a round run on a busy machine shows as one."""
    from vis_bench.measure.reference import read_reference

    return {
        "load1": round(os.getloadavg()[0], 2),
        "reference_gflops": round(read_reference("cpu").gflops, 2),
    }


def paired_ratios(times: dict[str, list[dict[str, Any]]], side: str) -> dict[str, dict[str, Any]]:
    """Per round, `side`'s seconds over vis-bench's of the same round (the two ran back to back,
    on the same machine state as nearly as can be), and their median with its distribution-free
    interval (vis_bench/measure/precision.py: the same rule as every FPS's interval)."""
    from vis_bench.measure.precision import interval_confidence, median_interval

    result = {}
    for key in ("wall_s", "cpu_s"):
        ratios = [
            theirs[key] / mine[key]
            for theirs, mine in zip(times[side], times["vis_bench"], strict=True)
            if mine.get(key)
        ]
        interval = median_interval(ratios)
        if interval is None:
            continue
        median, low, high = interval
        result[key.removesuffix("_s")] = {
            "median": round(median, 3),
            "low": round(low, 3),
            "high": round(high, 3),
            "confidence": round(interval_confidence(len(ratios)), 3),
            "per_round": [round(r, 3) for r in ratios],
        }
    return result


def machine_summary(times: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The load and reference speed over a row's processes (before and after each): their range,
    and how far the reference moved (spread: (max - min) / median)."""
    from vis_bench.measure.reference import spread

    readings = [
        r[when] for rounds in times.values() for r in rounds for when in ("machine_before",
        "machine_after") if when in r
    ]  # fmt: skip
    if not readings:
        return {}
    loads = [m["load1"] for m in readings]
    speeds = [m["reference_gflops"] for m in readings]
    moved = spread(speeds)
    return {
        "load1": {"min": min(loads), "max": max(loads)},
        "reference_gflops": {
            "min": min(speeds),
            "max": max(speeds),
            "median": round(statistics.median(speeds), 2),
            "spread": None if moved is None else round(moved, 3),
        },
    }


def summary(
    times: dict[str, list[dict[str, Any]]], loads: list[float], parity: dict[str, Any]
) -> dict[str, Any]:
    """Medians per side, the ratios (authors / vis-bench, as they start and with the same
    allocator setting), the raw rounds and the comparisons."""
    medians = {
        side: {
            k: round(statistics.median(r[k] for r in rounds), 3)
            for k in TIMED_KEYS
            if all(k in r for r in rounds)
        }
        for side, rounds in times.items()
    }

    def ratio(side: str) -> dict[str, float]:
        return {
            k.removesuffix("_s"): round(medians[side][k] / medians["vis_bench"][k], 3)
            for k in ("wall_s", "cpu_s")
        }

    share = next((r["vit_share"] for r in times["vis_bench"] if "vit_share" in r), None)
    lives = [r["sequences"] for r in times["authors"] if "sequences" in r]
    machine_keys = ("machine_before", "machine_after")
    return {
        "median": medians,
        "speedup": ratio("authors"),
        "speedup_same_allocator": ratio("authors_same_allocator"),
        "speedup_interval": paired_ratios(times, "authors"),
        "speedup_same_allocator_interval": paired_ratios(times, "authors_same_allocator"),
        "machine": machine_summary(times),
        "rounds": {
            side: [
                {
                    **{k: round(r[k], 3) for k in TIMED_KEYS if k in r},
                    **{k: r[k] for k in machine_keys if k in r},
                }
                for r in rounds
            ]
            for side, rounds in times.items()
        },
        "load1_before_each_process": loads,
        "outputs": parity["authors"],
        "outputs_same_allocator": parity["authors_same_allocator"],
        **({} if share is None else {"vit_kernel_share_of_cpu": share}),
        **({"authors_sequences": lives[-1]} if lives else {}),
    }


def interval_text(ratio: dict[str, Any]) -> str:
    """`0.97x [0.93, 1.01] (75 %)`: a paired ratio's median, interval and its confidence."""
    return (
        f"{ratio['median']:.2f}x [{ratio['low']:.2f}, {ratio['high']:.2f}] "
        f"({100 * ratio['confidence']:.0f} %)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors-python", help="an interpreter that imports the authors' code")
    parser.add_argument("--detectron2", default="", help="detectron2's source tree (on the path)")
    parser.add_argument("--dvis-plus", default="", help="DVIS_Plus/DVIS_Plus (its code root)")
    parser.add_argument("--dvis-daq", default="", help="DVIS_Plus/DVIS_DAQ (its code root)")
    parser.add_argument("--videomt", default="", help="the videomt repository")
    parser.add_argument("--path", action="append", default=[], help="more on their import path")
    parser.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=list(METHODS))
    parser.add_argument(
        "--rounds", type=int, default=5, help=f"rounds per row (at least {MIN_ROUNDS})"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--omp-wait-policy",
        choices=("passive", "active", "default"),
        default="passive",
        help="every process's OMP_WAIT_POLICY (passive, as vis-bench's sweeps run: on a shared "
        "machine spinning threads burn CPU seconds while they wait for a core)",
    )
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument(
        "--synthetic-frames",
        type=int,
        default=36,
        help="frames of the synthetic video the trained-weights rows (DVIS-DAQ) run on",
    )
    parser.add_argument("--json", default="benchmarks/results/authors_side_by_side.json")
    parser.add_argument(
        "--merge", action="store_true", help="keep the --json file's other rows (a run in parts)"
    )
    # one side's process (the driver starts these)
    parser.add_argument("--side", choices=("authors", "project"), help=argparse.SUPPRESS)
    for name in ("--method", "--root", "--weights", "--frames-file", "--out", "--work"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--make-weights", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_sources(args: argparse.Namespace) -> None:
    """Each needed path exists, or an error naming the option and what to pass."""
    check_interpreter(args.authors_python, "DVIS++ / DVIS-DAQ / VidEoMT")
    if args.rounds < MIN_ROUNDS:
        raise SystemExit(
            f"--rounds {args.rounds}: a row needs at least {MIN_ROUNDS} rounds for its ratios' "
            f"interval; pass --rounds {MIN_ROUNDS} or more"
        )
    needed = {"--detectron2": args.detectron2}
    for method in args.methods:
        option = METHODS[method]["root"]
        needed["--" + option.replace("_", "-")] = getattr(args, option)
    for option, path in needed.items():
        if not path or not Path(path).is_dir():
            raise SystemExit(f"{option} {path!r}: not a folder; pass the authors' source tree")
    if args.merge and Path(args.json).exists():
        previous_rows(args.json)


def check_interpreter(python: str | None, code: str) -> None:
    """`--authors-python` names a file, or an error saying what to pass."""
    if not python or not Path(python).is_file():
        raise SystemExit(
            f"--authors-python {python!r}: not a file; pass the interpreter of an "
            f"environment where the authors' {code} code imports"
        )


def previous_rows(path: str) -> dict[str, Any]:
    """The rows of an earlier run's JSON (`--merge`), each with its provenance."""
    try:
        report = json.loads(Path(path).read_text())
        rows = report["methods"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(
            f"--json {path}: cannot merge into it ({error}); pass a report this script wrote, "
            "or leave out --merge"
        ) from None
    return {
        row: {**entry, "provenance": entry.get("provenance", report.get("provenance"))}
        for row, entry in rows.items()
    }


def merged_rows(previous: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """The earlier rows with the measured ones put in (replaced where measured again), in the
    order of METHODS (rows this script no longer has last)."""
    rows = {**previous, **measured}
    known = [row for row in METHODS if row in rows]
    return {row: rows[row] for row in [*known, *(r for r in rows if r not in METHODS)]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.side == "authors":
        authors_side(args)
        return 0
    if args.side == "project":
        project_side(args)
        return 0
    check_sources(args)
    import torch

    from vis_bench.measure.provenance import (
        finish_provenance,
        start_provenance,
        write_json_with_provenance,
    )

    provenance = start_provenance()
    torch.set_num_threads(args.threads)  # the reference workload's threads: the sides'
    args.profile = True
    with tempfile.TemporaryDirectory(prefix="side_by_side_") as work:
        args.work = work
        rng = np.random.default_rng(0)
        shape = (args.frames, args.height, args.width, 3)
        np.save(Path(work) / "video.npy", rng.integers(0, 256, size=shape, dtype=np.uint8))
        synthetic = None
        if any("checkpoint" in METHODS[m] for m in args.methods):
            synthetic = write_synthetic_video(args, Path(work) / "synthetic.npy")
        methods = {method: measure_method(args, method) for method in args.methods}
    for method, result in methods.items():
        cpu, same = result["speedup_interval"]["cpu"], result["speedup_same_allocator_interval"]
        print(f"{method}: authors / vis-bench per round {interval_text(cpu)} CPU time "
              f"({interval_text(same['cpu'])} with the same allocator setting), "
              f"{interval_text(result['speedup_interval']['wall'])} wall; "
              f"outputs equal within tolerance: {result['outputs']['equal_within_tolerance']}")  # fmt: skip
    done = finish_provenance(provenance)
    rows = {
        row: {
            "method": METHODS[row]["method"],
            "options": METHODS[row]["options"],
            "authors_config": METHODS[row]["config"],
            "authors_env": METHODS[row].get("authors_env", {}),
            **(
                {
                    "weights": TINY_WEIGHTS,
                    "checkpoint": METHODS[row]["checkpoint"],
                    "authors_overrides": METHODS[row]["authors_overrides"],
                    "synthetic_video": synthetic,
                }
                if "checkpoint" in METHODS[row]
                else {}
            ),
            "authors_same_allocator_env": SAME_ALLOCATOR_ENV,
            "rounds_measured": args.rounds,
            "omp_wait_policy": args.omp_wait_policy,
            "nice": os.nice(0),
            **result,
            "provenance": done,
        }
        for row, result in methods.items()
    }
    if args.merge and Path(args.json).exists():
        rows = merged_rows(previous_rows(args.json), rows)
    payload = {
        "what": "the authors' code and vis-bench on the same weights and the same video",
        "video": {"frames": args.frames, "height": args.height, "width": args.width, "seed": 0},
        "threads": args.threads,
        "rounds": min(row.get("rounds_measured", args.rounds) for row in rows.values()),
        "methods": rows,
    }
    write_json_with_provenance(args.json, payload, provenance)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

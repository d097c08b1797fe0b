"""SAM 3 side by side with the authors' evaluation loop on the same reduced weights, video and
prompts: vis-bench's `sam3` against `Sam3VideoInference.forward`, CPU time and wall, outputs
compared.

    python benchmarks/bench_sam3_authors_loop.py --authors-python /path/to/their/venv/bin/python \
        --sam3 SRC/sam3 [--path SHIMS] [--shapes fixture backbone] [--rounds 3] \
        [--threads 2] [--json benchmarks/results/sam3_authors_loop.json]

Needs the authors' code (facebookresearch/sam3 at the golden fixtures' commit, or PyPI
`sam3==0.1.4` with their tokenizer vocabulary) importable by `--authors-python` (with numpy,
torch, scikit-image, ftfy and regex); nothing of theirs is in this project. Their process runs
`benchmarks/sam3_authors_side.py`, which builds their video model with their builder at the
reduced sizes and puts in the CPU stand-ins of the fixture README's "Replay" (placement only).

Their evaluation (`Sam3VideoInference.forward`, used by their video eval configs) runs one full
pass per text prompt: `add_prompt` on frame 0, then every frame from 0, so with P prompts and T
frames each frame's backbone runs P times (frame 0 2P times) and the text encoder once per
prompt. vis-bench's `sam3` runs each frame's backbone once for every prompt and the text encoder
once for all of them, then every prompt's pass from those features (same masklets).

Prompts: OVIS's 25 category names (the raw names, `options.categories: ovis`; their process gets
the same names and ids). Video: the golden fixture's video (72 x 96), its first `--frames`
(all 8 by default), held in memory. Shapes
(`--shapes`):
- `fixture`: the golden fixture's reduced model and its weights (`weights.pt.gz`): a ViT of
  width 32 and depth 2 at 112 px, a sliver of the work beside each prompt's heads and tracker.
- `backbone`: the same input size, heads, tracker and text encoder with the ViT scaled up
  (width 384, depth 16, 6 heads, blocks 7 and 15 global), so that the backbone weighs in a frame
  as the released model's (a 32-layer ViT-L at 1008 px) does; the input stays at 112 px so
  that the prompt-conditioned parts stay as small as the fixture's (the JSON gives both shapes'
  GMACs per frame, shared and per prompt).
  Weights: their classes' own initialisation (seed 0) saved by their process, with the
  presence logit and the tracker's object score raised and the query scores spread
  (`sam3_authors_side.calibrated`: random heads would detect nothing).

Each round runs two fresh processes, one per side (which goes first alternates), with the same
thread count and OpenMP wait policy (passive). Each builds its model, loads the weights
strictly, runs the first `WARMUP_FRAMES` frames with every prompt untimed (one-time costs), then
the whole video timed: wall seconds, the process's CPU seconds (user and system) and minor
faults. Their timed call is `model(input)` (the frames as PIL images to their
`prep_for_evaluator`'s COCO RLE); vis-bench's is `run_method` at T=all (frames to RLE results).
Reported per shape: medians, the ratios (authors / vis-bench: above 1, vis-bench faster) with
their per-round values and distribution-free interval, the load and the project's reference
workload speed before and after each process, and the last round's outputs compared: the same
masklets in the same order with the same labels, scores within 1e-5 and masks within the
parity fixtures' pixel tolerance (their scores read as vis-bench reports them: in [0, 1]), and
vis-bench's GMACs per frame of the shape, shared and per prompt (`flops_split`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from bench_authors_side_by_side import (
    MIN_ROUNDS,
    TIMED_KEYS,
    InMemoryVideo,
    check_interpreter,
    compare_outputs,
    interval_text,
    machine_now,
    machine_summary,
    paired_ratios,
    process_times,
    project_plugin_of,
    run_side,
    timed_since,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "golden" / "sam3" / "public"
#: the authors' tokenizer vocabulary, relative to their source tree
BPE = "sam3/assets/bpe_simple_vocab_16e6.txt.gz"
#: the label space whose category names are the prompts
PROMPTS = "ovis"
#: the fixture video's length
FIXTURE_FRAMES = 8
#: frames of the untimed warm-up pass
WARMUP_FRAMES = 2
#: sides of a round, in the first round's order (the order alternates)
SIDES = ("authors", "vis_bench")
#: the scaled ViT of the `backbone` shape (the rest: the fixture's sizes)
BACKBONE_VIT = {
    "vit_dim": 384,
    "vit_depth": 16,
    "vit_heads": 6,
    "vit_global": [7, 15],
}
SHAPES = ("fixture", "backbone")
#: the fixture config's keys -> the method's options (the shape fields of Sam3Options)
OPTION_OF = {
    "img": "image",
    "patch": "patch",
    "pretrain_img": "pretrain_image",
    "vit_dim": "vit_dim",
    "vit_depth": "vit_depth",
    "vit_heads": "vit_heads",
    "vit_mlp_ratio": "vit_mlp_ratio",
    "vit_window": "window",
    "vit_global": "global_blocks",
    "txt_width": "text_width",
    "txt_heads": "text_heads",
    "txt_layers": "text_layers",
    "ctx": "context",
    "d": "d_model",
    "heads": "heads",
    "ffn": "ffn",
    "geo_layers": "geometry_layers",
    "enc_layers": "encoder_layers",
    "dec_layers": "decoder_layers",
    "queries": "queries",
    "mem_dim": "mem_dim",
    "trk_layers": "tracker_layers",
    "trk_ffn": "tracker_ffn",
    "num_maskmem": "num_maskmem",
}


def shape_config(shape: str) -> dict[str, Any]:
    """The authors' builder's sizes of a shape (the fixture's `config.json` names)."""
    cfg = json.loads((FIXTURE / "config.json").read_text(encoding="utf-8"))["cfg"]
    if cfg["prompt_mlp_hidden"] != cfg["ffn"]:
        raise SystemExit("the fixture's prompt MLP width differs from its FFN width")
    return {**cfg, **BACKBONE_VIT} if shape == "backbone" else cfg


def project_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """vis-bench's `sam3` options for the same model: the sizes, OVIS's names as prompts and
    every masklet kept (the authors keep all)."""
    return {
        **{option: cfg[key] for key, option in OPTION_OF.items()},
        "categories": PROMPTS,
        "max_masklets": 0,
    }


# --- vis-bench's side (this script with --side project) ---


def project_side(spec: dict[str, Any]) -> None:
    """Time the video through `run_method` after an untimed pass; save the results."""
    import torch
    from pycocotools import mask as mask_utils

    from vis_bench.inference.pass_hooks import NO_WARM_UP
    from vis_bench.inference.runner import run_method

    torch.set_num_threads(int(spec["threads"]))
    entry = {"name": "sam3", "checkpoint": spec["weights"], "options": spec["options"]}
    plugin = project_plugin_of(entry)
    source = InMemoryVideo(np.load(spec["frames"]))

    def one_pass(video: InMemoryVideo) -> Any:
        return run_method(
            plugin, video, clip_length="all", stride=None, resolution=None, untimed=NO_WARM_UP
        )

    one_pass(InMemoryVideo(source.frames[: spec["warmup_frames"]]))
    start = process_times()
    results = one_pass(source).results
    timed = timed_since(start)
    masks = [np.stack([mask_utils.decode(s) for s in r["segmentations"]]) for r in results]
    np.savez_compressed(
        spec["out"],
        scores=np.asarray([r["score"] for r in results], dtype=np.float64),
        labels=np.asarray([r["category_id"] for r in results], dtype=np.int64),
        masks=np.stack(masks).astype(bool)
        if masks
        else np.zeros((0, source.length, source.height, source.width), dtype=bool),
    )
    print(json.dumps(timed))


# --- the driver ---


def prompt_list() -> tuple[list[str], list[int]]:
    from vis_bench.api.label_spaces import label_space_categories

    pairs = label_space_categories(PROMPTS)
    return [name for _, name in pairs], [cid for cid, _ in pairs]


def environments(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """Both sides' environments: the same threads and OpenMP wait policy; the authors' import
    path (`--path`, their source tree)."""
    threads = {k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    base = {**os.environ, **threads, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    paths = [*args.path, args.sam3]
    return {"authors": {**base, "PYTHONPATH": os.pathsep.join(paths)}, "vis_bench": base}


def side_commands(args: argparse.Namespace, specs: dict[str, Path]) -> dict[str, list[str]]:
    here = Path(__file__).resolve().parent
    return {
        "authors": [args.authors_python, str(here / "sam3_authors_side.py"), str(specs["authors"])],
        "vis_bench": [sys.executable, __file__, "--side", "project", str(specs["vis_bench"])],
    }


def write_specs(args: argparse.Namespace, shape: str, work: Path) -> dict[str, Path]:
    """Each side's spec file (sizes, weights, frames, prompts, output); the `backbone` shape's
    weights made once by the authors' process."""
    cfg = shape_config(shape)
    prompts, ids = prompt_list()
    weights = FIXTURE / "weights.pt.gz" if shape == "fixture" else work / f"{shape}.pt"
    common = {"threads": args.threads, "frames": str(work / "video.npy")}
    common["warmup_frames"] = WARMUP_FRAMES
    authors = {
        **common,
        "cfg": cfg,
        "bpe": str(Path(args.sam3) / BPE),
        "weights": str(weights),
        "prompts": prompts,
        "category_ids": ids,
        "out": str(work / f"{shape}.authors.npz"),
    }
    project = {
        **common,
        "options": project_options(cfg),
        "weights": str(weights),
        "out": str(work / f"{shape}.vis_bench.npz"),
    }
    specs = {"authors": work / f"{shape}.authors.json", "vis_bench": work / f"{shape}.vis.json"}
    for side, spec in (("authors", authors), ("vis_bench", project)):
        specs[side].write_text(json.dumps(spec))
    if not weights.is_file():
        maker = work / f"{shape}.make.json"
        maker.write_text(json.dumps({**authors, "make_weights": True, "seed": 0}))
        envs = environments(args)
        command = side_commands(args, {**specs, "authors": maker})["authors"]
        run_side(command, envs["authors"], f"{shape}: the authors' weights")
    return specs


def measure_shape(args: argparse.Namespace, shape: str, work: Path) -> dict[str, Any]:
    """The alternating rounds of one shape, then the comparison of the last round's outputs."""
    commands = side_commands(args, write_specs(args, shape, work))
    envs = environments(args)
    times: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    versions: dict[str, str] = {}
    for round_index in range(args.rounds):
        order = SIDES if round_index % 2 == 0 else SIDES[::-1]
        for side in order:
            before = machine_now()
            timed = run_side(commands[side], envs[side], f"{shape}: {side}, round {round_index}")
            versions = timed.pop("environment", versions)
            times[side].append({**timed, "machine_before": before, "machine_after": machine_now()})
        print(f"{shape} round {round_index + 1}/{args.rounds}: " + ", ".join(
            f"{s} {t[-1]['wall_s']:.2f} s wall {t[-1]['cpu_s']:.2f} s CPU" for s, t in times.items()
        ), flush=True)  # fmt: skip
    theirs = clamped_scores(work / f"{shape}.authors.npz")
    outputs = compare_outputs(theirs, work / f"{shape}.vis_bench.npz")
    return {**summary(times, outputs), "authors_environment": versions}


def flops_split(cfg: dict[str, Any], frames: np.ndarray) -> dict[str, Any]:
    """vis-bench's GMACs per frame of the shape over the whole video as one clip (the sweep's
    counter, `clip_flops`): shared (backbone, text encoder once) and per prompt (the
    prompt-conditioned detector); the tracker's passes at the video's end are not in it."""
    import torch

    from vis_bench.api.registration import get_method
    from vis_bench.measure.model_flops import clip_flops

    plugin = get_method("sam3").build(project_options(cfg))
    clip = plugin.preprocess(torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous())
    counted = clip_flops(plugin, clip)
    return {
        "total": round(counted["gmacs_per_frame"], 6),
        **{k: round(v, 6) for k, v in counted["gmacs_per_frame_split"].items()},
        "by_module": {k: round(v, 6) for k, v in counted["gmacs_per_frame_by_module"].items()},
    }


def clamped_scores(path: Path) -> Path:
    """Their outputs with each score read as vis-bench reports it (`clamped_score`: a masklet
    hotstart removed, -1e4 in their code, as 0), beside the file."""
    from vis_bench.methods.sam3.plugin import clamped_score

    data = dict(np.load(path))
    data["scores"] = np.asarray([clamped_score(s) for s in data["scores"]], dtype=np.float64)
    out = path.with_suffix(".clamped.npz")
    np.savez_compressed(out, **data)
    return out


def summary(times: dict[str, list[dict[str, Any]]], outputs: dict[str, Any]) -> dict[str, Any]:
    """Medians per side, the ratios (authors / vis-bench) with their intervals, the machine's
    state, the raw rounds and the comparison."""
    medians = {
        side: {k: round(statistics.median(r[k] for r in rounds), 3) for k in TIMED_KEYS}
        for side, rounds in times.items()
    }
    return {
        "median": medians,
        "speedup": {
            k.removesuffix("_s"): round(medians["authors"][k] / medians["vis_bench"][k], 3)
            for k in ("wall_s", "cpu_s")
        },
        "speedup_interval": paired_ratios(times, "authors"),
        "machine": machine_summary(times),
        "rounds": {
            side: [
                {key: round(v, 3) if isinstance(v, float) else v for key, v in r.items()}
                for r in rounds
            ]
            for side, rounds in times.items()
        },
        "outputs": outputs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--authors-python", help="an interpreter that imports the authors' sam3")
    parser.add_argument("--sam3", default="", help="the authors' source tree (holds sam3/)")
    parser.add_argument("--path", action="append", default=[], help="more on their import path")
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--rounds", type=int, default=3, help=f"at least {MIN_ROUNDS}")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=8, help="the fixture video's first frames")
    parser.add_argument("--json", default="benchmarks/results/sam3_authors_loop.json")
    parser.add_argument("--side", choices=("project",), help=argparse.SUPPRESS)
    parser.add_argument("spec", nargs="?", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_sources(args: argparse.Namespace) -> None:
    """Each needed path exists, or an error naming the option and what to pass."""
    check_interpreter(args.authors_python, "sam3")
    if not (Path(args.sam3) / BPE).is_file():
        raise SystemExit(
            f"--sam3 {args.sam3!r}: no {BPE} in it; pass the authors' source tree "
            "(facebookresearch/sam3)"
        )
    if args.rounds < MIN_ROUNDS:
        raise SystemExit(f"--rounds {args.rounds}: pass {MIN_ROUNDS} or more")
    if not WARMUP_FRAMES < args.frames <= FIXTURE_FRAMES:
        raise SystemExit(
            f"--frames {args.frames}: pass {WARMUP_FRAMES + 1} to {FIXTURE_FRAMES} (the video's)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.side == "project":
        project_side(json.loads(Path(args.spec).read_text()))
        return 0
    check_sources(args)
    import torch

    from vis_bench.measure.provenance import start_provenance, write_json_with_provenance

    provenance = start_provenance()
    torch.set_num_threads(args.threads)  # the reference workload's threads: the sides'
    with tempfile.TemporaryDirectory(prefix="sam3_authors_loop_") as folder:
        work = Path(folder)
        from vis_bench.methods.sam3.fixtures import load_gz

        frames = load_gz(FIXTURE / "video_case.pt.gz")["frames_uint8"].numpy()[: args.frames]
        np.save(work / "video.npy", frames)
        shapes = {shape: measure_shape(args, shape, work) for shape in args.shapes}
    for shape, result in shapes.items():
        cpu, wall = result["speedup_interval"]["cpu"], result["speedup_interval"]["wall"]
        print(f"{shape}: authors / vis-bench per round {interval_text(cpu)} CPU time, "
              f"{interval_text(wall)} wall; outputs equal within tolerance: "
              f"{result['outputs']['equal_within_tolerance']}")  # fmt: skip
    prompts, _ = prompt_list()
    payload = {
        "what": "vis-bench's sam3 and the authors' evaluation loop (Sam3VideoInference.forward, "
        "one pass per prompt) on the same weights, video and prompts",
        "video": {"source": "tests/fixtures/golden/sam3/public/video_case.pt.gz"}
        | dict(zip(("frames", "height", "width"), map(int, frames.shape[:3]), strict=True)),
        "prompts": {"label_space": PROMPTS, "count": len(prompts), "names": prompts},
        "threads": args.threads,
        "omp_wait_policy": "passive",
        "rounds": args.rounds,
        "warmup_frames": WARMUP_FRAMES,
        "shapes": {
            shape: {
                "config": shape_config(shape),
                "gmacs_per_frame": flops_split(shape_config(shape), frames),
                **result,
            }
            for shape, result in shapes.items()
        },
    }
    write_json_with_provenance(args.json, payload, provenance)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The authors' side of `bench_sam3_authors_loop.py`: SAM 3's video model from the authors' own
classes at reduced sizes, run through their VIS evaluation entry point
(`Sam3VideoInference.forward`: one full pass per text prompt) on the CPU.

Runs in an interpreter that imports the authors' package `sam3` (facebookresearch/sam3, or PyPI
`sam3==0.1.4` with the tokenizer's vocabulary beside it) with numpy, torch and scikit-image; it
imports nothing of vis-bench. Nothing of theirs is copied here: their builder
`build_sam3_video_model` runs as released, with each class it calls given the reduced sizes in
place of the release's (`RESIZED`: a constructor argument equal to the release's value is
swapped for the reduced one), as the golden fixtures' generator built its model.

Their video code assumes CUDA; the stand-ins below change placement only, never a value (the
fixture README's "Replay" list): a "cuda" device is the CPU (`.cuda()`, `pin_memory()`, the
factory calls made while the model is built, the tracker's storage device), a bfloat16 operand
of a float32 convolution or linear layer is upcast exactly (on a GPU their autocast computes
those; the roundings to bfloat16 their code makes stay), and their CPU connected-components
fallback returns empty tensors for an empty batch (theirs raises), and torchvision's
`roi_align`, which their geometry encoder calls with no box, gives the empty result of
torchvision's PyTorch path. `pkg_resources` (imported by
their builder, absent from recent setuptools) is an empty module when missing; torchvision
(never called on this path) may be an import-only stand-in.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

#: the release's constructor value -> the reduced config's key, per class the builder calls
#: (`sam3/model_builder.py` at the fixtures' commit; a value not listed stays as released),
#: given or left to the class's default
RESIZED: dict[str, dict[str, list[tuple[Any, str]]]] = {
    "ViT": {
        "img_size": [(1008, "img")],
        "pretrain_img_size": [(336, "pretrain_img")],
        "patch_size": [(14, "patch")],
        "embed_dim": [(1024, "vit_dim")],
        "depth": [(32, "vit_depth")],
        "num_heads": [(16, "vit_heads")],
        "mlp_ratio": [(4.625, "vit_mlp_ratio")],
        "window_size": [(24, "vit_window")],
        "global_att_blocks": [((7, 15, 23, 31), "vit_global")],
    },
    "PositionEmbeddingSine": {
        "num_pos_feats": [(256, "d"), (64, "mem_dim")],
        "precompute_resolution": [(1008, "img")],
    },
    "Sam3DualViTDetNeck": {"d_model": [(256, "d")]},
    "VETextEncoder": {
        "d_model": [(256, "d")],
        "width": [(1024, "txt_width")],
        "heads": [(16, "txt_heads")],
        "layers": [(24, "txt_layers")],
    },
    "MultiheadAttention": {"embed_dim": [(256, "d")], "num_heads": [(8, "heads")]},
    "TransformerEncoderLayer": {"d_model": [(256, "d")], "dim_feedforward": [(2048, "ffn")]},
    "TransformerEncoderFusion": {"d_model": [(256, "d")], "num_layers": [(6, "enc_layers")]},
    "TransformerDecoderLayer": {
        "d_model": [(256, "d")],
        "dim_feedforward": [(2048, "ffn")],
        "n_heads": [(8, "heads")],
    },
    "TransformerDecoder": {
        "d_model": [(256, "d")],
        "num_layers": [(6, "dec_layers")],
        "num_queries": [(200, "queries")],
        "resolution": [(1008, "img")],
        "stride": [(14, "patch")],
    },
    "TransformerWrapper": {"d_model": [(256, "d")]},
    "MLP": {
        "input_dim": [(256, "d")],
        "hidden_dim": [(2048, "prompt_mlp_hidden")],
        "output_dim": [(256, "d")],
    },
    "DotProductScoring": {"d_model": [(256, "d")], "d_proj": [(256, "d")]},
    "PixelDecoder": {"hidden_dim": [(256, "d")]},
    "UniversalSegmentationHead": {"hidden_dim": [(256, "d")]},
    "CXBlock": {"dim": [(256, "d")]},
    "SequenceGeometryEncoder": {"d_model": [(256, "d")], "num_layers": [(3, "geo_layers")]},
    "SimpleMaskDownSampler": {
        "interpol_size": [([1152, 1152], "mask_input")],
        "embed_dim": [(256, "d")],
    },
    "SimpleMaskEncoder": {"out_dim": [(64, "mem_dim")], "in_dim": [(256, "d")]},
    "RoPEAttention": {
        "embedding_dim": [(256, "d")],
        "kv_in_dim": [(64, "mem_dim")],
        "feat_sizes": [([72, 72], "grid")],
    },
    "TransformerDecoderLayerv2": {"d_model": [(256, "d")], "dim_feedforward": [(2048, "trk_ffn")]},
    "TransformerEncoderCrossAttention": {
        "d_model": [(256, "d")],
        "num_layers": [(4, "trk_layers")],
    },
    "Sam3TrackerPredictor": {
        "image_size": [(1008, "img")],
        "num_maskmem": [(7, "num_maskmem")],
        "backbone_stride": [(14, "patch")],
    },
    "Sam3VideoInferenceWithInstanceInteractivity": {"image_size": [(1008, "img")]},
}
#: the release's LayerNorm width the builder writes out (`nn.LayerNorm(256)`)
RELEASE_D_MODEL = 256


def reduced_values(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config's sizes, with the ones derived from them (the tracker's token grid and the
    mask encoder's input side, 16 x the grid: 1152 at 1008)."""
    grid = cfg["img"] // cfg["patch"]
    return {
        **cfg,
        "vit_global": tuple(cfg["vit_global"]),
        "grid": [grid, grid],
        "mask_input": [grid * 16] * 2,
    }


def resized(cls: Any, table: dict[str, list[tuple[Any, str]]], values: dict[str, Any]) -> Any:
    """`cls` called with each release value of `table` (given, or its default) replaced by the
    reduced one."""
    import inspect

    defaults = {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }

    def build(*args: Any, **kwargs: Any) -> Any:
        for name, swaps in table.items():
            given = kwargs.get(name, defaults.get(name))
            for release, key in swaps:
                if same_value(given, release):
                    kwargs[name] = values[key]
        return cls(*args, **kwargs)

    return build


def same_value(given: Any, release: Any) -> bool:
    if isinstance(release, (tuple, list)):
        return isinstance(given, (tuple, list)) and list(given) == list(release)
    return isinstance(given, (int, float)) and not isinstance(given, bool) and given == release


class ReducedNn(types.ModuleType):
    """`torch.nn` as the builder sees it, with its literal `nn.LayerNorm(256)` at the reduced
    width."""

    def __init__(self, d_model: int) -> None:
        super().__init__("torch.nn")
        self._d_model = d_model

    def __getattr__(self, name: str) -> Any:
        import torch

        if name != "LayerNorm":
            return getattr(torch.nn, name)
        d = self._d_model

        def layer_norm(width: int, *args: Any, **kwargs: Any) -> Any:
            return torch.nn.LayerNorm(d if width == RELEASE_D_MODEL else width, *args, **kwargs)

        return layer_norm


@contextlib.contextmanager
def cuda_factories_on_cpu() -> Any:
    """While the model is built: factory calls naming a CUDA device make CPU tensors (their
    position-encoding and coordinate caches)."""
    from torch.overrides import TorchFunctionMode

    class CpuMode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = dict(kwargs or {})
            if is_cuda(kwargs.get("device")):
                kwargs["device"] = "cpu"
            return func(*args, **kwargs)

    with CpuMode():
        yield


def is_cuda(device: Any) -> bool:
    import torch

    if isinstance(device, str):
        return device.split(":")[0] == "cuda"
    return isinstance(device, torch.device) and device.type == "cuda"


class ImportOnly(types.ModuleType):
    """A module that imports and whose every attribute raises when called: a stand-in on the
    computed path shows as an error, never as a result."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def placeholder(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{self.__name__}.{attr} is an import-only stand-in")

        return placeholder


#: modules their imports name and this path never runs: the builder's asset lookup (the
#: vocabulary's path is given), the training data loader's video decoder, the predictor's
#: memory report
IMPORT_ONLY = ("pkg_resources", "decord", "psutil")


def import_only_standins() -> None:
    """`IMPORT_ONLY` and triton (their GPU distance-transform kernel, defined under
    `@triton.jit` at import) where missing."""
    import importlib.util

    for name in IMPORT_ONLY:
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = ImportOnly(name)
    if importlib.util.find_spec("triton") is None:
        import torch._dynamo  # noqa: F401  (decides on the real triton's absence first)

        triton = ImportOnly("triton")
        language = ImportOnly("triton.language")
        language.constexpr = object
        triton.jit = lambda fn: fn
        triton.language = language
        sys.modules.update({"triton": triton, "triton.language": language})


def install_cpu_standins() -> None:
    """The placement stand-ins the authors' video code needs on a CPU (module docstring)."""
    import torch
    import torch.nn.functional as F

    import_only_standins()
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.Tensor.pin_memory = lambda self, *args, **kwargs: self
    to = torch.Tensor.to

    def to_cpu(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args and is_cuda(args[0]):
            args = ("cpu", *args[1:])
        if is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return to(self, *args, **kwargs)

    torch.Tensor.to = to_cpu
    conv = torch.nn.Conv2d._conv_forward

    def conv_forward(self: Any, x: Any, weight: Any, bias: Any) -> Any:
        if x.dtype == torch.bfloat16 and weight.dtype == torch.float32:
            x = x.float()
        return conv(self, x, weight, bias)

    torch.nn.Conv2d._conv_forward = conv_forward

    def linear_forward(self: Any, x: Any) -> Any:
        if x.dtype == torch.bfloat16 and self.weight.dtype == torch.float32:
            x = x.float()
        return F.linear(x, self.weight, self.bias)

    torch.nn.Linear.forward = linear_forward
    from sam3.model import geometry_encoders, sam3_tracking_predictor
    from sam3.perflib import connected_components as cc

    init_state = sam3_tracking_predictor.Sam3TrackerPredictor.init_state

    def init_state_on_cpu(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = init_state(self, *args, **kwargs)
        state["storage_device"] = torch.device("cpu")
        return state

    sam3_tracking_predictor.Sam3TrackerPredictor.init_state = init_state_on_cpu
    geometry_encoders.torchvision = types.SimpleNamespace(
        ops=types.SimpleNamespace(roi_align=roi_align_without_boxes)
    )
    components = cc.connected_components_cpu

    def connected_components_cpu(values: Any) -> Any:
        if values.shape[0] == 0:
            empty = torch.zeros(values.shape, dtype=torch.int64, device=values.device)
            return empty, empty.clone()
        return components(values)

    cc.connected_components_cpu = connected_components_cpu


def roi_align_without_boxes(features: Any, boxes: Any, output_size: Any, *args: Any) -> Any:
    """torchvision's `roi_align` where their text-only prompt calls it, with no box: an empty
    result (what torchvision's PyTorch fallback returns); a box raises."""
    import torch

    if sum(len(b) for b in boxes):
        raise RuntimeError("roi_align stand-in: boxes are not on the text-prompt path")
    h, w = (output_size, output_size) if isinstance(output_size, int) else output_size
    return torch.zeros(0, features.shape[1], h, w, dtype=features.dtype, device=features.device)


def build_model(cfg: dict[str, Any], bpe_path: str) -> Any:
    """Their video model (`build_sam3_video_model`, released heuristics) at the config's sizes,
    randomly initialised by their classes."""
    from sam3 import model_builder

    values = reduced_values(cfg)
    originals = {name: getattr(model_builder, name) for name in RESIZED}
    nn = model_builder.nn
    try:
        for name, table in RESIZED.items():
            setattr(model_builder, name, resized(originals[name], table, values))
        model_builder.nn = ReducedNn(cfg["d"])
        with cuda_factories_on_cpu():
            model = model_builder.build_sam3_video_model(
                checkpoint_path=None, load_from_HF=False, bpe_path=bpe_path, device="cpu"
            )
    finally:
        for name, original in originals.items():
            setattr(model_builder, name, original)
        model_builder.nn = nn
    return model.eval()


#: shifts that make randomly initialised heads detect and track (the golden fixtures'
#: calibration, in its simplest form): uncalibrated, every joint probability stays under the
#: 0.5 threshold and every propagated mask is blank, so the video path would do no work
PRESENCE_SHIFT = 3.0
SCORE_SCALE = 8.0
OBJECT_SCORE_SHIFT = 3.0


#: parameters their text encoder allocates with `torch.empty` and never initialises (the
#: checkpoint always sets them) -> the standard deviation drawn here (CLIP's: 0.01 for the
#: positions, width^-0.5 for the projection)
UNINITIALISED = {
    "detector.backbone.language_backbone.encoder.positional_embedding": lambda width: 0.01,
    "detector.backbone.language_backbone.encoder.text_projection": lambda width: width**-0.5,
}


def calibrated(state: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Random weights (their classes' initialisation, and `UNINITIALISED` drawn) with the
    presence logit and the tracker's object score raised and the query scores spread
    (`PRESENCE_SHIFT`, `SCORE_SCALE`, `OBJECT_SCORE_SHIFT`)."""
    import torch

    state = {k: v.clone() for k, v in state.items()}
    for key, std in UNINITIALISED.items():
        state[key] = torch.randn(state[key].shape) * std(cfg["txt_width"])
    state["detector.transformer.decoder.presence_token_head.layers.2.bias"] += PRESENCE_SHIFT
    state["detector.dot_prod_scoring.hs_proj.weight"] *= SCORE_SCALE
    state["detector.dot_prod_scoring.hs_proj.bias"] *= SCORE_SCALE
    state["tracker.sam_mask_decoder.pred_obj_score_head.layers.2.bias"] += OBJECT_SCORE_SHIFT
    return state


def load_weights(path: str) -> dict[str, Any]:
    """A state dict from a `torch.save` file, gzipped or not."""
    import torch

    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    return state.get("model", state) if isinstance(state, dict) else state


def evaluation_input(frames: np.ndarray, prompts: list[str], ids: list[int]) -> Any:
    """What their evaluator hands `forward` (a `BatchedDatapoint`'s fields that it reads): the
    video as PIL frames, the prompts and their category ids."""
    import torch
    from PIL import Image

    metadata = types.SimpleNamespace(
        original_category_id=list(ids), original_image_id=[torch.tensor(0)]
    )
    return types.SimpleNamespace(
        raw_images=[Image.fromarray(f) for f in frames],
        find_text_batch=list(prompts),
        find_metadatas=[metadata],
    )


def predictions(output: dict[Any, Any], frames: int, size: tuple[int, int]) -> dict[str, Any]:
    """Their evaluator's input (`prep_for_evaluator`) as arrays: scores, labels and masks
    (masklets x frames x H x W)."""
    from pycocotools import mask as mask_utils

    (preds,) = output.values()
    masks = [np.stack([mask_utils.decode(r) for r in rles]) for rles in preds["masks_rle"]]
    return {
        "scores": np.asarray([float(s) for s in preds["scores"]], dtype=np.float64),
        "labels": np.asarray([int(x) for x in preds["labels"]], dtype=np.int64),
        "masks": np.stack(masks).astype(bool) if masks else np.zeros((0, frames, *size), bool),
    }


def environment() -> dict[str, str]:
    """What their timed pass ran on: their package's version (or that it is a source tree
    without metadata), torch, numpy and Python: a ratio against their code holds for these."""
    import importlib.metadata
    import platform

    import torch

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "no metadata (a source tree)" if package == "sam3" else "absent"

    return {
        "sam3": version("sam3"),
        "timm": version("timm"),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def main() -> int:
    """`python sam3_authors_side.py SPEC.json`: the spec names the sizes (`cfg`), the BPE file,
    the weights (made with `make_weights`, else loaded strictly), the frames, prompts, ids,
    threads, the warm-up frames and the output file; prints the timed pass's JSON."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    import torch

    torch.set_num_threads(int(spec["threads"]))
    install_cpu_standins()
    from bench_authors_side_by_side import process_times, timed_since

    if spec.get("make_weights"):
        torch.manual_seed(int(spec["seed"]))
        model = build_model(spec["cfg"], spec["bpe"])
        torch.save({"model": calibrated(model.state_dict(), spec["cfg"])}, spec["weights"])
        return 0
    model = build_model(spec["cfg"], spec["bpe"])
    model.load_state_dict(load_weights(spec["weights"]), strict=True)
    frames = np.load(spec["frames"])
    prompts, ids = spec["prompts"], spec["category_ids"]
    with torch.no_grad():
        model(evaluation_input(frames[: spec["warmup_frames"]], prompts, ids))
        clip = evaluation_input(frames, prompts, ids)
        start = process_times()
        output = model(clip)
        timed = timed_since(start)
    np.savez_compressed(spec["out"], **predictions(output, len(frames), frames.shape[1:3]))
    print(json.dumps({**timed, "environment": environment()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

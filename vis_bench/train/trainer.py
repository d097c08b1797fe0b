"""The training loop shared by every method: clips in, the method's losses, AdamW, checkpoints.

The method supplies its recipe, parameter groups and losses (`MethodPlugin.training_*`); the
loop supplies the rest, identically for every method: seeded clip sampling and augmentation,
gradient accumulation over the clips of a step, clipping of the total gradient norm, the step
schedule, a progress bar, and a resumable state written atomically every `checkpoint_every`
steps (model, optimiser, schedule, every random generator), so an interrupted run continues
where it stopped and ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.registration import check_plugin, get_method
from vis_bench.api.training import (
    TrainingRecipe,
    backbone_module,
    parameter_groups,
    start_training_from,
    trained_state_dict,
    training_step,
)
from vis_bench.atomic import atomic_file
from vis_bench.data.dataset import VideoDataset
from vis_bench.errors import InputError, VisBenchError
from vis_bench.formats.checkpoints import (
    read_project_checkpoint,
    resolve_checkpoint,
    save_project_checkpoint,
)
from vis_bench.registry import import_target
from vis_bench.train.clips import (
    TrainingClip,
    build_clip,
    check_trainable,
    choose_scale,
    recoloured,
    sample_frame_indices,
)
from vis_bench.train.config import ClipConfig, TrainConfig

STATE_FILE = "last.pth"
#: clips drawn before giving up on finding one with a visible instance
MAX_EMPTY_DRAWS = 100


@dataclass
class TrainOutcome:
    output: Path
    iterations: int
    seconds: float
    resumed_from: int
    final_losses: dict[str, float]


def effective_recipe(plugin: MethodPlugin, config: TrainConfig) -> TrainingRecipe:
    """The method's recipe with the config's non-null overrides applied."""
    recipe = plugin.spec.training
    if recipe is None:
        raise InputError(
            f"method {plugin.name!r} declares no training recipe; it cannot be trained",
            field="method",
        )
    optim = config.optim
    overrides: dict[str, Any] = {
        "lr": optim.lr,
        "backbone_lr_mult": optim.backbone_lr_mult,
        "weight_decay": optim.weight_decay,
        "clip_max_norm": optim.clip_max_norm,
        "lr_drops": None if optim.lr_drops is None else tuple(optim.lr_drops),
        "warmup_iters": optim.warmup_iters,
        "backbone_warmup_iters": optim.backbone_warmup_iters,
        "layer_decay": optim.layer_decay,
    }
    return replace(recipe, **{k: v for k, v in overrides.items() if v is not None})


def lr_factor(
    iteration: int, iterations: int, recipe: TrainingRecipe, backbone: bool = False
) -> float:
    """Multiplier of a group's base rate at `iteration`: linear warm-up, then x factor per drop
    (or the polynomial decay). With `backbone_warmup_iters`, a backbone group stays at 0 through
    the first warm-up and then has a warm-up of its own."""
    start, warmup = 0, recipe.warmup_iters
    if backbone and recipe.backbone_warmup_iters:
        start, warmup = recipe.warmup_iters, recipe.backbone_warmup_iters
    if iteration < start:
        return 0.0
    if recipe.poly_power > 0:
        decay_start = start + warmup
        done = max(0, iteration - decay_start) / max(1, iterations - decay_start)
        factor = max(0.0, 1.0 - done) ** recipe.poly_power
    else:
        drops = sum(iteration >= round(f * iterations) for f in recipe.lr_drops)
        factor = recipe.lr_drop_factor**drops
    if warmup and iteration < start + warmup:
        factor *= (iteration - start + 1) / warmup
    return factor


def scale_layer_rates(groups: list[dict[str, Any]], layer_decay: float) -> None:
    """Layer-wise decay: a group's rate times `layer_decay ** layer_decay_exponent`."""
    for group in groups:
        group["lr"] *= layer_decay ** group.get("layer_decay_exponent", 0)


def is_image_step(iteration: int, iterations: int, clip: ClipConfig) -> bool:
    """Whether step `iteration` trains on a single frame: within the first `image_stage` of the
    run, or one of the `image_mix` share spread evenly over it (deterministic, so a resumed run
    takes the same steps)."""
    if iteration < clip.image_stage * iterations:
        return True
    return math.floor((iteration + 1) * clip.image_mix) > math.floor(iteration * clip.image_mix)


class ClipStream:
    """Random training clips of a dataset, reproducible from the generator's state."""

    def __init__(self, dataset: VideoDataset, config: TrainConfig, recipe: TrainingRecipe):
        self.dataset = dataset
        self.videos = [v for v in dataset.videos if v.annotations]
        self.clip = config.clip
        self.recipe = recipe
        self.rng = np.random.default_rng(config.seed)
        # a dataset of frames draws long videos more often; a dataset of videos does not
        lengths = np.array([v.length for v in self.videos], dtype=np.float64)
        self.weights = lengths / lengths.sum() if recipe.videos_by_length else None

    def draw(self, frames: int | None = None) -> TrainingClip:
        """One clip of `frames` frames (default: the config's) with at least one visible
        instance (clips without any are redrawn)."""
        for _ in range(MAX_EMPTY_DRAWS):
            video = self.videos[int(self.rng.choice(len(self.videos), p=self.weights))]
            indices = sample_frame_indices(
                self.rng,
                video.length,
                frames or self.clip.frames,
                self.recipe.frame_sampler,
            )
            size = choose_scale(
                self.rng, video.height, video.width, self.clip.scales, self.clip.max_size
            )
            flip = bool(self.clip.flip and self.rng.random() < 0.5)
            clip = build_clip(self.dataset, video, indices, size, flip)
            if self.clip.recolour:
                clip.frames = recoloured(clip.frames, self.rng)
            if len(clip.targets):
                return clip
        raise VisBenchError(
            f"no visible instance in {MAX_EMPTY_DRAWS} random clips of "
            f"{self.dataset.annotation_file}: are the annotations empty?"
        )

    def state(self) -> str:
        return json.dumps(self.rng.bit_generator.state)

    def restore(self, state: str) -> None:
        self.rng.bit_generator.state = json.loads(state)


def load_backbone(plugin: MethodPlugin, path: str | Path) -> None:
    """Fill the method's backbone from a pretrained backbone file (strict: every key)."""
    weights = read_project_checkpoint(path).state_dict
    module = backbone_module(plugin)
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise InputError(
            f"does not fit the backbone of {plugin.name!r}: {err}", path=path, field="state_dict"
        ) from err


def method_class(method: str, source: str = "<config>") -> type[MethodPlugin]:
    """The plugin class a config's `method` names: a registered method's name, or the import
    path `module:Class` of a plugin not registered yet (a part of a method trained before the
    whole is), checked as registration checks a plugin."""
    if ":" not in method:
        return get_method(method)
    try:
        plugin = import_target(method, "method", method)
    except VisBenchError as err:
        raise InputError(
            f"{err}; give a registered method's name or a plugin class as module:Class",
            path=source,
            field="method",
        ) from err
    check_plugin(plugin, getattr(getattr(plugin, "spec", None), "name", method))
    return plugin


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _trainable(groups: list[dict[str, Any]]) -> list[torch.nn.Parameter]:
    return [p for group in groups for p in group["params"]]


def _save_state(
    path: Path,
    plugin: MethodPlugin,
    optimizer: torch.optim.Optimizer,
    iteration: int,
    stream: ClipStream,
    config_hash: str,
    elapsed: float,
    history: list[dict[str, float]],
) -> None:
    state = {
        "config_hash": config_hash,
        "iteration": iteration,
        "model": plugin.model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "stream_rng": stream.state(),
        "elapsed": elapsed,
        "history": json.dumps(history),
    }
    with atomic_file(path) as tmp:
        torch.save(state, tmp)


def _load_state(path: Path, config_hash: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("config_hash") != config_hash:
        raise VisBenchError(
            f"{path} holds a training state of a different config (hash "
            f"{state.get('config_hash')} != {config_hash}); delete it or use another work_dir"
        )
    return state


def make_adamw(
    groups: list[dict[str, Any]],
    lr: float,
    weight_decay: float,
    params: list[torch.nn.Parameter],
) -> torch.optim.AdamW:
    """AdamW in one fused kernel where torch has one for these parameters.

    The per-parameter loop of the default CPU implementation dispatches about ten small ops for
    each of a few hundred tensors; fused, the optimiser step of a tiny model takes a quarter
    of the time (the update rule is the same).
    """
    fused = bool(params) and all(
        p.dtype in (torch.float32, torch.float64) and p.device.type in ("cpu", "cuda")
        for p in params
    )
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay, fused=fused or None)


def headline_losses(losses: dict[str, float]) -> str:
    """The total and each loss term of the last layer, for a log line: the deep-supervision
    copies (`loss_ce_0`, `loss_ce_1`, ...) repeat the same terms layer by layer."""
    kept = {k: v for k, v in losses.items() if k != "step" and not k.rsplit("_", 1)[-1].isdigit()}
    kept = {"total": kept.pop("total"), **kept} if "total" in kept else kept
    return ", ".join(f"{k.removeprefix('loss_')} {v:.3f}" for k, v in kept.items())


def _mean_losses(window: Iterable[dict[str, float]]) -> dict[str, float]:
    window = list(window)
    keys = window[0].keys() if window else ()
    return {k: float(np.mean([w[k] for w in window])) for k in keys}


@dataclass
class _Session:
    """What one training run carries from step to step."""

    config: TrainConfig
    plugin: MethodPlugin
    recipe: TrainingRecipe
    optimizer: torch.optim.Optimizer
    params: list[torch.nn.Parameter]
    stream: ClipStream
    state_path: Path
    config_hash: str
    history: list[dict[str, float]] = field(default_factory=list)
    #: the last 50 steps' losses
    window: deque[dict[str, float]] = field(default_factory=lambda: deque(maxlen=50))
    start: int = 0
    elapsed: float = 0.0


def _prepare(config: TrainConfig) -> _Session:
    """The method built (and initialised), its optimiser and the clip stream."""
    from vis_bench.inference.sources import open_source

    if config.threads:
        torch.set_num_threads(config.threads)
    _seed_everything(config.seed)
    plugin = method_class(config.method, config.source).build(dict(config.options))
    if config.init_checkpoint:
        start_training_from(plugin, config.init_checkpoint)
    if config.backbone_init:
        load_backbone(plugin, resolve_checkpoint(config.backbone_init))
    recipe = effective_recipe(plugin, config)
    plugin.model.train()
    groups = parameter_groups(plugin, recipe.lr, recipe.backbone_lr_mult)
    scale_layer_rates(groups, recipe.layer_decay)
    for group in groups:
        group["initial_lr"] = group["lr"]
    params = _trainable(groups)
    optimizer = make_adamw(groups, recipe.lr, recipe.weight_decay, params)
    source = open_source(config.dataset, config.source)
    check_trainable(source.dataset, str(source.dataset.annotation_file))
    stream = ClipStream(source.dataset, config, recipe)
    state_path = config.state_dir / STATE_FILE
    return _Session(
        config, plugin, recipe, optimizer, params, stream, state_path, config.config_hash()
    )


def _resume(session: _Session, log: Callable[[str], None]) -> None:
    """Continue from the saved state of this same config, if there is one."""
    state = _load_state(session.state_path, session.config_hash)
    if state is None:
        return
    session.plugin.model.load_state_dict(state["model"])
    session.optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    session.stream.restore(state["stream_rng"])
    session.start, session.elapsed = int(state["iteration"]), float(state["elapsed"])
    session.history = json.loads(state["history"])
    log(
        f"resuming {session.config.name} at step {session.start} of "
        f"{session.config.optim.iterations} ({session.state_path})"
    )


def _run_steps(session: _Session, end: int, progress: bool, log: Callable[[str], None]) -> float:
    """Steps start..end with the schedule, progress and periodic state; returns the seconds."""
    config, recipe = session.config, session.recipe
    iterations = config.optim.iterations
    bar = tqdm(
        total=iterations,
        initial=session.start,
        desc=f"train {config.name}",
        unit="step",
        dynamic_ncols=True,
        disable=not progress,
    )
    began = time.perf_counter() - session.elapsed
    with bar:
        for iteration in range(session.start, end):
            factor = lr_factor(iteration, iterations, recipe)
            for group in session.optimizer.param_groups:
                backbone = bool(group.get("backbone", False))
                group["lr"] = group["initial_lr"] * lr_factor(
                    iteration, iterations, recipe, backbone
                )
            frames = 1 if is_image_step(iteration, iterations, config.clip) else config.clip.frames
            training_step(session.plugin, iteration, iterations)
            session.window.append(
                _step(
                    session.plugin,
                    session.stream,
                    session.optimizer,
                    session.params,
                    recipe,
                    config.optim.batch_clips,
                    frames,
                )
            )
            done = iteration + 1
            if done % 50 == 0 or done == end:
                session.history.append({"step": done, **_mean_losses(session.window)})
                if not progress:
                    rate = (done - session.start) / (time.perf_counter() - began - session.elapsed)
                    log(
                        f"step {done}/{iterations} loss {headline_losses(session.history[-1])} "
                        f"lr {recipe.lr * factor:.1e} ({rate:.2f} steps/s)"
                    )
            bar.update(1)
            losses = np.mean([w["total"] for w in session.window])
            bar.set_postfix(loss=f"{losses:.3f}", lr=f"{recipe.lr * factor:.1e}")
            if done % config.checkpoint_every == 0 or done == end:
                _save_state(
                    session.state_path,
                    session.plugin,
                    session.optimizer,
                    done,
                    session.stream,
                    session.config_hash,
                    time.perf_counter() - began,
                    session.history,
                )
    return time.perf_counter() - began


def _write_output(session: _Session, seconds: float, log: Callable[[str], None]) -> None:
    """The trained weights in the project format, with how they were made."""
    config = session.config
    training = {
        "config": config.to_dict(),
        "config_hash": session.config_hash,
        "iterations": config.optim.iterations,
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "final_losses": _mean_losses(session.window),
        # the label space the model learned: a sweep checks it against its dataset's categories
        "categories": [
            {"id": int(c.id), "name": str(c.name)} for c in session.stream.dataset.categories
        ],
        "history": session.history,
    }
    model = session.plugin.model
    model.eval()
    save_project_checkpoint(
        trained_state_dict(session.plugin),
        config.output,
        session.plugin.spec.name,
        config.options,
        training,
        config.half_weights,
        base=resolve_checkpoint(config.init_checkpoint) if config.changes_over_init else None,
    )
    log(f"wrote {config.output} ({config.optim.iterations} steps, {seconds / 60:.1f} min)")


def train(
    config: TrainConfig,
    progress: bool = True,
    log: Callable[[str], None] = print,
    stop_after: int | None = None,
) -> TrainOutcome:
    """Train `config.method` on `config.dataset`; resumes from `config.state_dir` when possible.

    `stop_after` ends the run (saving its state) after that many steps of this call, as an
    interruption would; the next call resumes.
    """
    session = _prepare(config)
    _resume(session, log)
    iterations = config.optim.iterations
    end = iterations if stop_after is None else min(iterations, session.start + stop_after)
    seconds = _run_steps(session, end, progress, log)
    if end == iterations:
        _write_output(session, seconds, log)
    final = _mean_losses(session.window)
    return TrainOutcome(Path(config.output), end, seconds, session.start, final)


def _step(
    plugin: MethodPlugin,
    stream: ClipStream,
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    recipe: TrainingRecipe,
    batch_clips: int,
    clip_frames: int | None = None,
) -> dict[str, float]:
    """One optimiser step over `batch_clips` clips of `clip_frames` frames; returns its losses."""
    clips = [stream.draw(clip_frames) for _ in range(batch_clips)]
    num_instances = float(max(1, sum(len(c.targets) for c in clips)))
    optimizer.zero_grad(set_to_none=True)
    totals: dict[str, float] = {}
    for clip in clips:
        frames = plugin.preprocess(clip.frames, min(clip.frames.shape[-2:]))
        losses = plugin.training_losses(frames, clip.targets, num_instances, len(clips))
        total = sum(losses.values())
        if not math.isfinite(total.item()):
            raise VisBenchError(
                f"loss is {total.item()} at clip of video {clip.video_id} frames "
                f"{clip.frame_indices}: {', '.join(f'{k}={float(v):.3g}' for k, v in losses.items())}"
            )
        total.backward()
        for key, value in losses.items():
            totals[key] = totals.get(key, 0.0) + value.item()
        totals["total"] = totals.get("total", 0.0) + total.item()
    if recipe.clip_max_norm > 0:
        norm = torch.nn.utils.clip_grad_norm_(params, recipe.clip_max_norm, foreach=True)
        totals["grad_norm"] = float(norm)
    optimizer.step()
    return totals

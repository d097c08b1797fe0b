"""`run_bench.py predict --method NAME [--checkpoint FILE] --video FILE.mp4|FRAMES_DIR
[--out DIR]`: a method on your own video.

The method's checkpoint, options, label space, clip schedule and resolution are those its entry
and the sweep of a config declare (default: configs/default.yaml, the tiny models; `--checkpoint`
and `--clip-length/--stride/--resolution` override them), and the video runs through the same
runner as a sweep cell (vis_bench/inference/runner.py), so a video of a dataset gets the
predictions that dataset's cell gets. Writes, in `--out`: results.json (YouTube-VIS format, the
video's id `--video-id`), the overlay animation, a contact sheet and predict.json (what ran).
A video file needs the `video` extra (imageio's ffmpeg); a folder of frames needs nothing more.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vis_bench.commands._options import add_config_arguments

HELP = "run a method on your own video (MP4 or frame folder): results.json, animation, sheet"
GROUP = "benchmark"

DEFAULT_CONFIG = "configs/default.yaml"
RESULTS_FILE = "results.json"
SUMMARY_FILE = "predict.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", required=True, help="a registered method (`methods` lists)")
    parser.add_argument("--video", type=Path, required=True, help="a video file or frame folder")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="weights (default: the checkpoint the config's entry for the method names)",
    )
    add_config_arguments(
        parser,
        "where the method's entry and schedule come from (default: %(default)s)",
        "override a key of --config, e.g. --set sweep.resolution=[224]",
        default=Path(DEFAULT_CONFIG),
    )
    parser.add_argument("--out", type=Path, default=None, help="folder (default: predict-VIDEO)")
    parser.add_argument(
        "--video-id",
        type=int,
        default=None,
        help="the video's id in results.json (default: its id in the annotations.json of the "
        "folder import-vos wrote, for DIR/frames/VIDEO; else 1)",
    )
    parser.add_argument("--clip-length", default=None, help="T: frames per clip, or 'all'")
    parser.add_argument("--stride", type=int, default=None, help="S (default ceil(T/2))")
    parser.add_argument("--resolution", type=int, default=None, help="shorter side in pixels")
    parser.add_argument("--device", default=None, help="e.g. cpu, cuda (default: the config's)")
    parser.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), default=None)
    parser.add_argument(
        "--label-space",
        default=None,
        help="the model's categories (ytvis2019, ytvis2021, ovis, synthetic) for the captions",
    )
    parser.add_argument("--animation", choices=("gif", "mp4"), default="gif")
    parser.add_argument("--score-threshold", type=float, default=0.3, help="draw from this score")
    parser.add_argument("--top", type=int, default=10, help="draw at most K tracks")
    parser.add_argument("--panel-size", type=int, default=480, help="panel's longer side (px)")
    parser.add_argument("--sheet-frames", type=int, default=6, help="frames on the contact sheet")
    parser.add_argument("--fps", type=float, default=4.0, help="animation frames per second")


def _video_id(video: Path, given: int | None) -> int:
    """`--video-id`, else the id of a frame folder `DIR/frames/NAME` in `DIR/annotations.json`
    (import-vos's layout), so its results score against that file as they are; else 1."""
    if given is not None:
        return given
    annotations = video.parent.parent / "annotations.json"
    if not (video.is_dir() and video.parent.name == "frames" and annotations.is_file()):
        return 1
    from vis_bench.data.vos_layout import video_name
    from vis_bench.formats.ytvis_header import parse_header
    from vis_bench.jsonio import read_json

    header = parse_header(read_json(annotations), str(annotations), strict=False)
    for entry in header.videos:
        if video_name(entry.file_names or (), entry.id) == video.name:
            return entry.id
    return 1


def _method_config(args: argparse.Namespace, config: Any) -> tuple[Any, int]:
    """The config's entry for `--method` (checkpoint and label space overridden where given)
    and its index; an error naming the config when it declares no checkpoint for the method."""
    import dataclasses

    from vis_bench.api.registration import get_method
    from vis_bench.api.tables import UnknownMethodError
    from vis_bench.config import MethodConfig
    from vis_bench.errors import InputError

    try:
        name = get_method(args.method).name
    except UnknownMethodError as err:
        raise InputError(str(err), field="--method") from None
    index = next((i for i, m in enumerate(config.methods) if m.name == name), None)
    entry = None if index is None else config.methods[index]
    if args.checkpoint is not None:
        entry = dataclasses.replace(
            entry or MethodConfig(name=name), checkpoint=str(args.checkpoint)
        )
    if entry is None or not entry.checkpoint:
        declared = ", ".join(m.name for m in config.methods if m.checkpoint) or "none"
        raise InputError(
            f"the config declares no checkpoint for {name!r} (it declares one for: {declared}); "
            "pass --checkpoint FILE, or a config whose methods list it (--config)",
            path=config.source,
            field="methods",
        )
    if args.label_space is not None:
        entry = dataclasses.replace(entry, label_space=args.label_space)
    return entry, index or 0


def _schedule(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """Clip length, stride, resolution, device and dtype: the config's first, or the flags'."""
    from vis_bench.config import check_devices_available
    from vis_bench.engine.schedule import default_stride
    from vis_bench.errors import InputError
    from vis_bench.sweep.cells import resolved_schedules

    clip, stride = resolved_schedules(config)[0]
    if args.clip_length is not None:
        text = str(args.clip_length).strip()
        if text != "all" and not (text.isdigit() and int(text) >= 1):
            raise InputError(
                f"expected 'all' or a whole number >= 1, got {text!r}", field="--clip-length"
            )
        clip = "all" if text == "all" else int(text)
        stride = None if clip == "all" else default_stride(int(clip))
    if args.stride is not None:
        if clip == "all" or not 1 <= args.stride <= int(clip):
            raise InputError(
                f"a stride needs a clip length and must be in 1..T, got {args.stride} with "
                f"T={clip}",
                field="--stride",
            )
        stride = args.stride
    sweep = config.sweep
    chosen = {
        "clip_length": clip,
        "stride": stride,
        "resolution": args.resolution if args.resolution is not None else sweep.resolution[0],
        "device": args.device or sweep.device[0],
        "dtype": args.dtype or sweep.dtype[0],
    }
    try:
        check_devices_available([chosen["device"]], config.source)
    except InputError as err:
        if args.device is None:
            raise
        # the flag the user typed is at fault, not the config's field
        advice = err.message.replace("--set sweep.device=[cpu]", "--device cpu")
        raise InputError(advice, field="--device") from None
    return chosen


def _category_names(label_space: Any) -> dict[int, str] | None:
    """Category id -> name of a label space: a name, or a checkpoint's own (id, name) pairs."""
    if label_space is None:
        return None
    if not isinstance(label_space, str):
        return {int(cid): str(name) for cid, name in label_space}
    from vis_bench.formats.categories import get_category_set

    return get_category_set(label_space).id_to_name()


def _run_method(
    entry: Any, source: Any, schedule: dict[str, Any], feature_reuse: bool, field: str
) -> tuple[Any, list[str]]:
    """The method built and run over the video by the sweep's runner, a bar counting frames;
    also the warnings said before it ran (an input far from the frames' size, `field` the
    setting that chose it)."""
    from tqdm import tqdm

    from vis_bench.inference.input_scale import input_scale_warning
    from vis_bench.inference.pass_hooks import NO_WARM_UP
    from vis_bench.inference.runner import run_method
    from vis_bench.sweep.worker import build_plugin

    plugin, _ = build_plugin(entry)
    video = source.video
    size = [(int(video.height), int(video.width))]
    warning = input_scale_warning(plugin.preprocessing, schedule["resolution"], size, field)
    if warning is not None:
        print(f"warning: {warning}")
    with tqdm(total=video.length, desc=f"{entry.name} on {video.name}", unit="frame") as bar:
        counted = _CountingSource(source, bar.update)
        outcome = run_method(
            plugin,
            counted,
            **schedule,
            untimed=NO_WARM_UP,
            feature_reuse=feature_reuse,
        )
    return outcome, [warning] if warning is not None else []


class _CountingSource:
    """The video source, the bar advanced by each window's frames as they reach the runner
    (decoding runs one window ahead of the model)."""

    def __init__(self, source: Any, advance: Any):
        self._source, self._advance = source, advance

    def videos(self) -> list[Any]:
        return self._source.videos()

    @property
    def parallel_reads(self) -> bool:
        return getattr(self._source, "parallel_reads", True)

    def read_frames(self, video: Any, indices: list[int]) -> Any:
        frames = self._source.read_frames(video, indices)
        self._advance(len(indices))
        return frames


def _check_arguments(args: argparse.Namespace) -> None:
    """What can be checked before anything is read: the output folder, the picture options and
    the animation's writer (MP4 needs imageio-ffmpeg)."""
    from vis_bench.atomic import check_output_folder
    from vis_bench.errors import InputError
    from vis_bench.report.overlays.media import check_animation_path

    if args.out is not None:
        check_output_folder(args.out, "--out")
    for name in ("--top", "--sheet-frames"):
        value = getattr(args, name[2:].replace("-", "_"))
        if value < 1:
            raise InputError(f"must be at least 1, got {value}", field=name)
    check_animation_path(
        Path(f"overlay.{args.animation}"), field="--animation", instead="pass --animation gif"
    )


def _config_and_entry(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The config, the method's checked entry and the schedule; an error in a field the command
    line gave (`--set`, `--checkpoint`) names the flag, not the config file."""
    from vis_bench.config import parse_config
    from vis_bench.config_overrides import Origin, override_origins, read_yaml_config, rebased
    from vis_bench.errors import InputError
    from vis_bench.sweep.methods import resolve_method

    origins = override_origins(args.overrides)
    try:
        config = parse_config(
            read_yaml_config(args.config, args.overrides), str(args.config), origins=origins
        )
    except InputError as err:
        raise rebased(err, origins) from None
    entry_config, index = _method_config(args, config)
    schedule = _schedule(args, config)
    if args.checkpoint is not None:
        origins[f"methods[{index}].checkpoint"] = Origin(None, "--checkpoint")
    try:
        entry = resolve_method(entry_config, index, config.source, origins)
    except InputError as err:
        raise rebased(err, origins) from None
    return config, entry, schedule


def _pictures(args: argparse.Namespace, out: Path) -> Any:
    from vis_bench.report.overlays.predicted import PredictionPictures

    return PredictionPictures(
        animation=out / f"overlay.{args.animation}",
        sheet=out / "sheet.png",
        sheet_frames=args.sheet_frames,
        score_threshold=args.score_threshold,
        top=args.top,
        panel_size=args.panel_size,
        fps=args.fps,
    )


def _draw(
    args: argparse.Namespace,
    source: Any,
    results: list[dict[str, Any]],
    entry: Any,
    schedule: dict[str, Any],
    pictures: Any,
) -> list[Path]:
    """The overlay animation and the contact sheet of the predictions."""
    from tqdm import tqdm

    from vis_bench.report.overlays.predicted import draw_predictions, prediction_scene
    from vis_bench.report.overlays.scene import VideoInfo

    video = source.video
    info = VideoInfo(video.id, video.name, video.height, video.width, video.length)
    size = f" {schedule['resolution']}p" if schedule["resolution"] else ""
    label = f"{entry.name} T={schedule['clip_length']}{size}"
    scene = prediction_scene(
        info, results, label, _category_names(entry.model_space), args.score_threshold, args.top
    )
    return draw_predictions(
        scene,
        source.frame,
        pictures,
        lambda frames: tqdm(frames, desc="drawing", unit="frame"),
    )


def run(args: argparse.Namespace) -> int:
    import time

    import orjson

    from vis_bench.atomic import check_output_folder, write_atomic
    from vis_bench.inference.video_file import VideoFile

    _check_arguments(args)
    config, entry, schedule = _config_and_entry(args)
    source = VideoFile(args.video, _video_id(args.video, args.video_id))
    out = args.out or check_output_folder(Path(f"predict-{source.video.name}"), "--out")
    pictures = _pictures(args, out)
    video = source.video
    print(
        f"{entry.name} ({entry.checkpoint}) on {video.name}: {video.length} frames, "
        f"{video.width}x{video.height}; T={schedule['clip_length']} S={schedule['stride']}, "
        f"{schedule['resolution']} px, {schedule['device']} {schedule['dtype']} "
        f"(from {config.source} unless given)"
    )
    started = time.perf_counter()
    field = "--resolution" if args.resolution is not None else f"sweep.resolution ({config.source})"
    outcome, warnings = _run_method(entry, source, schedule, config.measure.feature_reuse, field)
    seconds = outcome.seconds_end_to_end
    setup = time.perf_counter() - started - seconds
    results = outcome.results
    write_atomic(out / RESULTS_FILE, orjson.dumps(results))
    written = [out / RESULTS_FILE, *_draw(args, source, results, entry, schedule, pictures)]
    summary = _summary(args, entry, schedule, video, len(results), seconds, config.source)
    if warnings:
        summary["warnings"] = warnings
    write_atomic(out / SUMMARY_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    source.close()
    print(
        f"{len(results)} tracks predicted in {seconds:.1f} s end to end "
        f"({outcome.fps_end_to_end:.1f} FPS; building the model took {setup:.1f} s more)"
    )
    for path in [*written, out / SUMMARY_FILE]:
        print(f"wrote {path}")
    return 0


def _summary(
    args: argparse.Namespace,
    entry: Any,
    schedule: dict[str, Any],
    video: Any,
    tracks: int,
    seconds: float,
    config: str,
) -> dict[str, Any]:
    """predict.json: what ran on which video, and where the settings came from."""
    from vis_bench.data.frames import oriented_frames
    from vis_bench.measure.provenance import code_state, commit_label

    turned = {"frames_oriented": oriented_frames()} if oriented_frames() else {}
    return {
        "video": str(args.video),
        "video_id": video.id,
        "frames": video.length,
        "width": video.width,
        "height": video.height,
        "method": entry.name,
        "checkpoint": entry.checkpoint,
        "label_space": entry.label_space,
        **schedule,
        "config": config,
        "tracks": tracks,
        "seconds": round(seconds, 3),
        "code": commit_label(code_state()),
        **turned,
    }

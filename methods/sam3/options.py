"""The `sam3` method's options: the network's sizes (defaults: the released model, which
`sam3.pt` loads into by name), the prompts (every category name of the label space, through a
template) and the video heuristics (defaults: the released builder's)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.api import InputError
from vis_bench.api.label_spaces import known_label_spaces, label_space_categories
from vis_bench.methods.common.config_fields import from_config
from vis_bench.methods.sam3.association import NEW_DETECTION_SCORE
from vis_bench.methods.sam3.detector import DetectorSizes
from vis_bench.methods.sam3.fusion import FusionSizes
from vis_bench.methods.sam3.hotstart import HotstartSettings
from vis_bench.methods.sam3.text_encoder import TextEncoderSizes
from vis_bench.methods.sam3.tracker import TrackerSizes
from vis_bench.methods.sam3.video_detections import NMS_IOU_THRESHOLD, SCORE_THRESHOLD
from vis_bench.methods.sam3.video_step import RECONDITION_EVERY, VideoSettings
from vis_bench.methods.sam3.vit import VitSizes

_HOTSTART = HotstartSettings()


@dataclass
class Sam3Options:
    """Sizes (the release's by default), prompts and heuristics of SAM 3's video model."""

    image: int = 1008  # square input side
    patch: int = 14
    vit_dim: int = 1024
    vit_depth: int = 32
    vit_heads: int = 16
    vit_mlp_ratio: float = 4.625
    window: int = 24  # windowed blocks' tile side in tokens
    global_blocks: list[int] = field(default_factory=lambda: [7, 15, 23, 31])
    pretrain_image: int = 336  # the absolute position grid, tiled
    text_width: int = 1024
    text_heads: int = 16
    text_layers: int = 24
    context: int = 32  # prompt tokens
    d_model: int = 256
    heads: int = 8
    ffn: int = 2048
    geometry_layers: int = 3
    encoder_layers: int = 6
    decoder_layers: int = 6
    queries: int = 200
    mem_dim: int = 64
    tracker_layers: int = 4
    tracker_ffn: int = 2048
    num_maskmem: int = 7
    #: the label space whose category names are the prompts, each labelled with its id: a
    #: known one (ytvis2019, ytvis2021, ovis, synthetic) or a YouTube-VIS-layout JSON (the
    #: dataset's annotation file, absolute or from the working directory: LV-VIS, BURST, your
    #: own); "" takes `prompts`. A config that names the label space (`label_space:`, or a
    #: variant such as sam3.ovis) has it checked against the dataset's
    categories: str = "synthetic"
    #: explicit prompts and their category ids (1..K when empty), used when categories is ""
    prompts: list[str] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)
    #: each prompt is this with `{name}` replaced by the category name (the raw name by default)
    prompt_template: str = "{name}"
    #: only the first k categories are prompts (0: all); the sweep's `prompts` axis sets it
    max_prompts: int = 0
    #: prompts whose detector and tracker work run as one batch (0: all; the same masklets up
    #: to float32 rounding, less memory)
    prompt_batch: int = 0
    #: the video's masklets kept, by score (the authors keep all; 0 does too)
    max_masklets: int = 100
    hotstart_delay: int = _HOTSTART.hotstart_delay
    hotstart_unmatch_thresh: int = _HOTSTART.hotstart_unmatch_thresh
    hotstart_dup_thresh: int = _HOTSTART.hotstart_dup_thresh
    init_trk_keep_alive: int = _HOTSTART.init_trk_keep_alive
    max_trk_keep_alive: int = _HOTSTART.max_trk_keep_alive
    min_trk_keep_alive: int = _HOTSTART.min_trk_keep_alive
    suppress_unmatched_only_within_hotstart: bool = True
    recondition_every_nth_frame: int = RECONDITION_EVERY
    #: a detection is kept above this joint probability (the release's 0.5)
    score_threshold_detection: float = SCORE_THRESHOLD
    #: a detection away from every track starts a new masklet from this probability up (the
    #: release's `new_det_thresh`, 0.7)
    new_det_thresh: float = NEW_DETECTION_SCORE
    #: the per-frame mask NMS suppresses a detection whose mask overlaps a higher-scoring one
    #: above this IoU (the release's `det_nms_thresh`, 0.1)
    det_nms_thresh: float = NMS_IOU_THRESHOLD

    def __post_init__(self) -> None:
        problems = [
            (self.image % self.patch == 0, "image", "must be a multiple of patch"),
            (self.pretrain_image % self.patch == 0, "pretrain_image", "a multiple of patch"),
            ((self.image // self.patch) % self.window == 0, "window", "must divide the grid"),
            (self.vit_dim % (4 * self.vit_heads) == 0, "vit_heads", "vit_dim / heads % 4 == 0"),
            (self.d_model % self.heads == 0, "heads", "must divide d_model"),
            (self.d_model % self.mem_dim == 0, "mem_dim", "must divide d_model"),
            (all(0 <= b < self.vit_depth for b in self.global_blocks), "global_blocks", "< depth"),
            ("{name}" in self.prompt_template, "prompt_template", "must hold {name}"),
            (self.max_masklets >= 0, "max_masklets", "must be >= 0 (0: all)"),
            (self.max_prompts >= 0, "max_prompts", "must be >= 0 (0: all)"),
            (self.prompt_batch >= 0, "prompt_batch", "must be >= 0 (0: all)"),
            (0 <= self.score_threshold_detection < 1, "score_threshold_detection", "in [0, 1)"),
            (0 <= self.new_det_thresh <= 1, "new_det_thresh", "in [0, 1]"),
            (0 <= self.det_nms_thresh <= 1, "det_nms_thresh", "in [0, 1]"),
        ]
        if not self.categories:
            problems += [
                (len(self.prompts) > 0, "prompts", "give at least one prompt, or categories"),
                (
                    not self.category_ids or len(self.category_ids) == len(self.prompts),
                    "category_ids",
                    "one id per prompt (or none: 1..K)",
                ),
            ]
        for ok, key, message in problems:
            if not ok:
                raise InputError(message, field=key)
        if self.categories:
            category_pairs(self.categories)

    def detector_sizes(self) -> DetectorSizes:
        return detector_sizes_of(self, self.pretrain_image)

    def tracker_sizes(self) -> TrackerSizes:
        return tracker_sizes_of(self)

    def video_settings(self) -> VideoSettings:
        """The heuristics; every option named as a `HotstartSettings` field sets that field (the
        others keep the release's value)."""
        return VideoSettings(
            hotstart=HotstartSettings.named_in(vars(self)),
            recondition_every_nth_frame=self.recondition_every_nth_frame,
            score_threshold_detection=self.score_threshold_detection,
            new_det_thresh=self.new_det_thresh,
            det_nms_thresh=self.det_nms_thresh,
            prompt_batch=self.prompt_batch,
        )

    def prompt_texts(self) -> tuple[list[str], list[int]]:
        """The text prompts and the category id each stands for."""
        if self.categories:
            pairs = category_pairs(self.categories)
        else:
            ids = self.category_ids or list(range(1, len(self.prompts) + 1))
            pairs = list(zip(ids, self.prompts, strict=True))
        if self.max_prompts > 0:
            pairs = pairs[: self.max_prompts]
        texts = [self.prompt_template.replace("{name}", name) for _, name in pairs]
        return texts, [cid for cid, _ in pairs]


def category_pairs(categories: str) -> list[tuple[int, str]]:
    """(id, name) of every category of a known label space or of a YouTube-VIS-layout JSON, in
    the file's order."""
    if categories.lower().replace("-", "").replace("_", "") in known_label_spaces():
        return label_space_categories(categories)
    file = Path(categories).expanduser()
    fix = (
        f"name a known label space ({', '.join(known_label_spaces())}) or point "
        "options.categories at the dataset's annotation JSON"
    )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {file}: {err}; {fix}", field="categories") from None
    entries = data.get("categories") if isinstance(data, dict) else None
    if not entries or not all(isinstance(c, dict) and "id" in c and "name" in c for c in entries):
        raise InputError(
            f"{file} has no `categories` list of {{id, name}} entries; {fix}", field="categories"
        )
    return [(int(c["id"]), str(c["name"])) for c in entries]


#: each part's sizes -> the option that sets it (`Sam3Options` and the tiny trainings' options
#: name them alike)
VIT_OPTIONS = {
    "image": "image",
    "patch": "patch",
    "dim": "vit_dim",
    "depth": "vit_depth",
    "heads": "vit_heads",
    "mlp_ratio": "vit_mlp_ratio",
    "window": "window",
}
TEXT_OPTIONS = {
    "width": "text_width",
    "heads": "text_heads",
    "layers": "text_layers",
    "context": "context",
    "d_model": "d_model",
}
FUSION_OPTIONS = {
    "d_model": "d_model",
    "heads": "heads",
    "ffn": "ffn",
    "geometry_layers": "geometry_layers",
    "encoder_layers": "encoder_layers",
}
TRACKER_OPTIONS = {
    "d_model": "d_model",
    "mem_dim": "mem_dim",
    "image": "image",
    "stride": "patch",
    "num_maskmem": "num_maskmem",
    "attention_layers": "tracker_layers",
    "attention_ffn": "tracker_ffn",
}


def tracker_sizes_of(options: Any) -> TrackerSizes:
    """The tracker's sizes from options holding the tracker fields of `Sam3Options` (the video
    model's and the tiny tracker's training share them)."""
    return from_config(TrackerSizes, vars(options), TRACKER_OPTIONS)


def detector_sizes_of(options: Any, pretrain_image: int, **text: int) -> DetectorSizes:
    """The detector's sizes from options holding the shape fields of `Sam3Options` (the video
    model's and the tiny detector's training share them); `text` overrides a text-encoder size."""
    values = vars(options)
    return DetectorSizes(
        vit=from_config(
            VitSizes,
            values,
            VIT_OPTIONS,
            global_blocks=tuple(options.global_blocks),
            pretrain_image=pretrain_image,
        ),
        text=from_config(TextEncoderSizes, values, TEXT_OPTIONS, **text),
        fusion=from_config(FusionSizes, values, FUSION_OPTIONS),
        queries=options.queries,
        decoder_layers=options.decoder_layers,
    )

"""A method's one declaration (`MethodSpec`): what a user needs to know and the harness needs to run
it, in the spirit of timm's pretrained configs.

Its options (validated when a config is loaded), its preprocessing, the checkpoint layouts it reads
and how to recognise its files, how its clips become video tracks (`linking`), and the data of its
optional capabilities: a training recipe, a parity reference, released checkpoints, its authors'
timing protocol, extra table measurements. What a capability asks of the plugin class itself
(hooks) is checked against this declaration when the method is registered (capabilities.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vis_bench.api.key_renames import KeyRename
from vis_bench.api.linking import Linking, SoftIoUStitching
from vis_bench.api.measurements import TableMeasurement
from vis_bench.api.options import options_dict
from vis_bench.api.parity import ParityReference
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.api.timing import TimingProtocol
from vis_bench.api.training import TrainingRecipe
from vis_bench.api.variants import PretrainedVariant


@dataclass(frozen=True)
class MethodSpec:
    """Everything the harness and a user need to know about one method."""

    name: str
    summary: str
    #: dataclass of every option the method takes (network shape and inference settings)
    options: type
    preprocessing: Preprocessing
    #: where the architecture comes from (authors' repository and commit, or a reconstruction)
    reference: str = ""
    #: carried into every record and table row (e.g. "reconstruction from the paper")
    notes: str = ""
    checkpoint_formats: tuple[str, ...] = ("vis-bench", "release", "state_dict")
    #: regular expressions that all match some key of this method's checkpoints (and that
    #: recognise a file handed to the wrong method)
    checkpoint_signature: tuple[str, ...] = ()
    #: regular expressions of checkpoint keys the authors' own loading skips on purpose
    ignored_checkpoint_keys: tuple[str, ...] = ()
    #: renames the authors' loading applies to older files' keys (key_renames.py)
    checkpoint_renames: tuple[KeyRename, ...] = ()
    #: regular expressions of constant buffers the model builds from its options (a criterion's
    #: class weights) that the authors' loading does not require of a file: when a file lacks
    #: one, the model's own value stays and the load reports it as filled, not missing
    checkpoint_constants: tuple[str, ...] = ()
    training: TrainingRecipe | None = None
    parity: ParityReference | None = None
    measurements: Mapping[str, TableMeasurement] = field(default_factory=dict)
    #: stitch clips only within a category (methods that emit one instance per (query, class));
    #: False matches regardless of category (a method whose clips give one instance per query)
    stitch_class_aware: bool = True
    #: an open-vocabulary method's option naming the label space whose category names are its
    #: prompts: a known label space there is checked against the dataset's like a trained
    #: model's classes (a model prompted with another dataset's names gives ids of those)
    prompt_categories_option: str | None = None
    #: the option that limits such a method to the first k categories of its label space (the
    #: `sweep.prompts` axis sets it; 0 or null there: all); with it the class implements
    #: `prompt_load` (vis_bench.api.prompts). None: the method is not run per prompt count
    prompt_count_option: str | None = None
    #: a track whose mask is empty in every frame at the video size yields no prediction
    #: (as a method's authors drop such queries; the default keeps them)
    drop_empty_tracks: bool = False
    #: how clips become video tracks (linking.py): soft-IoU stitching, query-embedding
    #: association, a state the method carries from clip to clip, or that state refined over
    #: the whole video
    linking: Linking = field(default_factory=SoftIoUStitching)
    #: the option naming the backbone (tables and the leaderboard show its value) and the
    #: values it takes
    backbone_option: str = "backbone"
    backbones: tuple[str, ...] = ()
    #: the authors' released checkpoints, each a name `<method>.<variant>` (variants.py)
    variants: tuple[PretrainedVariant, ...] = ()
    #: how the method's authors timed the FPS they published (timing.py), run as the
    #: `authors` protocol of `measure.protocols`; None: not declared (nothing to run)
    timing_protocol: TimingProtocol | None = None

    def matches_checkpoint(self, keys: Iterable[str]) -> int:
        """How many signature patterns a checkpoint's keys satisfy (0 when any is unmet)."""
        if not self.checkpoint_signature:
            return 0
        keys = list(keys)
        for pattern in self.checkpoint_signature:
            regex = re.compile(pattern)
            if not any(regex.search(key) for key in keys):
                return 0
        return len(self.checkpoint_signature)

    def declaration(self) -> dict[str, Any]:
        """What `methods` prints: the declaration as plain data."""
        prep = self.preprocessing
        return {
            "summary": self.summary,
            "reference": self.reference,
            "notes": self.notes,
            "options": [f"{k}={v}" for k, v in sorted(options_dict(self.options()).items())],
            "backbones": list(self.backbones),
            "preprocessing": (
                f"{prep.resize} resize to shorter side {prep.shorter_side}"
                + (f" (longer side <= {prep.max_size})" if prep.max_size else "")
                + f", {prep.channel_order} / {prep.pixel_divisor:g}, mean {prep.mean}, "
                f"std {prep.std}, size divisibility {prep.size_divisibility}"
            ),
            "checkpoint formats": list(self.checkpoint_formats),
            "ignored checkpoint keys": list(self.ignored_checkpoint_keys),
            "checkpoint renames": [r.describe() for r in self.checkpoint_renames],
            "constants filled when absent": list(self.checkpoint_constants),
            "linking": self.linking.name,
            "training": "yes" if self.training else "no",
            "parity reference": self.parity.reference if self.parity else "none",
            "measurements": sorted(self.measurements),
            "stitching": "within a category" if self.stitch_class_aware else "across categories",
            "released checkpoints": [variant.name for variant in self.variants],
            "authors' timing protocol": _protocol_text(self.timing_protocol),
        }


def _protocol_text(protocol: TimingProtocol | None) -> str:
    """One line for `methods`: the protocol's name, what it times and under what, its source."""
    if protocol is None:
        return "not declared"
    if not protocol.stated:
        return f"not stated ({protocol.source})"
    compiled = "" if protocol.compile is None else f", torch.compile {protocol.compile.mode}"
    return (
        f"{protocol.name}: {', '.join(protocol.timed)}; {protocol.precision or 'cell dtype'}"
        f"{compiled}; {protocol.frames_per_call} per call; warm-up {protocol.warmup} "
        f"{protocol.warmup_unit} ({protocol.source})"
    )

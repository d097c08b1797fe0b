"""The method toolkit: the whole surface of vis-bench that a method package may import.

A method (`methods/<name>/`, or a third-party package registered by entry point) imports from
here, from `vis_bench.methods.common` (shared model parts) and from `vis_bench.cuda_ops`
(kernels), and from nothing else of vis-bench; import-linter holds that (pyproject.toml,
`[tool.importlinter]`). The harness above (inference, measure, sweep, train, report, commands)
talks to a method only through what is defined here, so a method never depends on how the
harness is built and the harness never imports a method by name. docs/architecture.md lists
every name with its one-line purpose.

The submodules are the implementations; import the names from this package.
"""

from vis_bench.errors import InputError
from vis_bench.formats.rle import decode as decode_rle
from vis_bench.formats.rle import encode as encode_rle
from vis_bench.registry import Registry
from vis_bench.toolkit.checkpoint_files import CheckpointContents, CheckpointError, open_checkpoint
from vis_bench.toolkit.checkpoint_loading import (
    LoadReport,
    checkpoint_contents,
    compare_and_load,
    load_state_dict_strict,
)
from vis_bench.toolkit.compile_state import harness_compiles
from vis_bench.toolkit.finalise import EncodedFrames, TrackPostprocessing, sigmoid_cut
from vis_bench.toolkit.flops import FlopReport, count_flops, register_flop_formula
from vis_bench.toolkit.linking import (
    CarriedState,
    EmbeddingAssociation,
    SoftIoUStitching,
    WholeVideoRefinement,
    cosine_cost,
)
from vis_bench.toolkit.options import build_dataclass, options_dict
from vis_bench.toolkit.parity import (
    ParityReport,
    captured_outputs,
    compare_results,
    compare_tree,
    load_fixture_file,
    load_fixture_weights,
    save_produced,
    tracks_as_fixture_results,
)
from vis_bench.toolkit.plugin import (
    ClipResult,
    FrameSampler,
    LoadSummary,
    MethodPlugin,
    MethodSpec,
    ParityReference,
    TableMeasurement,
    TrainingRecipe,
    VideoRefinement,
)
from vis_bench.toolkit.preprocessing import Preprocessing
from vis_bench.toolkit.pretrained import (
    Licence,
    PretrainedVariant,
    PublishedResult,
    readme_source,
)
from vis_bench.toolkit.query_tracks import QueryTrackLinker
from vis_bench.toolkit.refinement import RefinedVideoLinker, refinement_windows
from vis_bench.toolkit.registry import register_backbone_parity, register_method
from vis_bench.toolkit.schedule import clip_windows
from vis_bench.toolkit.stitching import (
    MATCH_THRESHOLD,
    Arithmetic,
    ClipMatch,
    ClipStitcher,
    MeanMasks,
    TrackSummary,
)
from vis_bench.toolkit.targets import ABSENT_BOX, ClipTargets
from vis_bench.toolkit.timing_protocols import (
    CompileSetting,
    TimingProtocol,
    detectron2_protocol,
    not_stated,
)

__all__ = [
    "QueryTrackLinker",
    "cosine_cost",
    "SoftIoUStitching",
    "EmbeddingAssociation",
    "CarriedState",
    "WholeVideoRefinement",
    "VideoRefinement",
    "RefinedVideoLinker",
    "refinement_windows",
    "ABSENT_BOX",
    "MATCH_THRESHOLD",
    "Arithmetic",
    "CheckpointContents",
    "CheckpointError",
    "ClipMatch",
    "ClipResult",
    "ClipStitcher",
    "ClipTargets",
    "EncodedFrames",
    "FlopReport",
    "FrameSampler",
    "InputError",
    "LoadReport",
    "LoadSummary",
    "MeanMasks",
    "MethodPlugin",
    "MethodSpec",
    "ParityReference",
    "ParityReport",
    "Preprocessing",
    "TableMeasurement",
    "TrackPostprocessing",
    "sigmoid_cut",
    "TrackSummary",
    "TrainingRecipe",
    "TimingProtocol",
    "CompileSetting",
    "detectron2_protocol",
    "not_stated",
    "harness_compiles",
    "build_dataclass",
    "captured_outputs",
    "checkpoint_contents",
    "clip_windows",
    "compare_and_load",
    "compare_results",
    "compare_tree",
    "tracks_as_fixture_results",
    "count_flops",
    "decode_rle",
    "encode_rle",
    "load_fixture_file",
    "load_fixture_weights",
    "load_state_dict_strict",
    "open_checkpoint",
    "options_dict",
    "register_backbone_parity",
    "register_method",
    "register_flop_formula",
    "Registry",
    "Licence",
    "PretrainedVariant",
    "PublishedResult",
    "readme_source",
    "save_produced",
]

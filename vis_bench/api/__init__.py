"""The method API: everything of vis-bench a method package imports.

A method (`methods/<name>/`, or another package registered by the entry-point group
`vis_bench.methods`) is a `MethodPlugin` subclass with a `MethodSpec`, decorated with
`@register_method`: it builds its model (`create`), loads a checkpoint (`load_checkpoint`, strict
by default) and infers one clip (`infer_clip` -> `ClipResult`), with its options a dataclass and
its input a declared `Preprocessing`. Those names, the linking declarations a spec chooses from
and the input error are this module; it is all a method with only the core hooks needs
(docs/adding_a_method.md walks through one). Everything else a method may do is an optional
capability with its own small protocol in its own module, found from what the class implements
and checked at registration (capabilities.py lists them):

- `vis_bench.api.per_frame`: per-frame stages, computed once per frame under overlapping clips
- `vis_bench.api.linking`: a state carried from clip to clip, query tracks' video predictions
- `vis_bench.api.refinement`: whole-video refinement with a second pass for the masks
- `vis_bench.api.training`: the authors' recipe and the losses of a training clip
- `vis_bench.api.parity`: a check against fixtures of the authors' code, named lazily
- `vis_bench.api.variants`: released checkpoints by name, with their published numbers
- `vis_bench.api.timing`: the timing protocol behind the authors' published FPS
- `vis_bench.api.measurements`: a FLOP breakdown by module, tables beyond the sweep's
- `vis_bench.api.output`: the method's own track predictions and mask resize
- `vis_bench.api.checkpoints`: strict loading and what a method says about its files
- `vis_bench.api.execution`: what a run executed (e.g. which kernel), and compiler awareness

A method imports vis_bench.api and these modules and nothing else of vis-bench (besides
vis_bench.methods.common, the families and cuda_ops, in-tree); its parity modules may also
import vis_bench.parity. import-linter holds both (pyproject.toml, scripts/lint_imports.py).
"""

from vis_bench.api.linking import (
    CarriedState,
    EmbeddingAssociation,
    SoftIoUStitching,
    WholeVideoRefinement,
    cosine_cost,
)
from vis_bench.api.options import build_dataclass, options_dict
from vis_bench.api.plugin import ClipResult, MethodPlugin
from vis_bench.api.preprocessing import Preprocessing
from vis_bench.api.registration import register_method
from vis_bench.api.spec import MethodSpec
from vis_bench.errors import InputError

__all__ = [
    "CarriedState",
    "ClipResult",
    "EmbeddingAssociation",
    "InputError",
    "MethodPlugin",
    "MethodSpec",
    "Preprocessing",
    "SoftIoUStitching",
    "WholeVideoRefinement",
    "build_dataclass",
    "cosine_cost",
    "options_dict",
    "register_method",
]

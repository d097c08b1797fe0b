"""Each method's small options, found from its registered name: what the shared tests build.

A method shows how small it may be built where it keeps its tiny model: the options of its tiny
training config (`configs/tiny/<name>.yaml`, `-` in the name written `_`), or else of its shipped
tiny checkpoint (`results/checkpoints/<name>_tiny.pth`, which stores the options it was built
with). A method whose tiny model is trained by several configs, none named after it (SAM 3), or
that trains no tiny model (the MS-STS release, SeqFormer's code at SeqFormer's tiny shape) keeps
its smallest working shape in `configs/tiny/<name>_untrained.yaml`, which then comes before its
checkpoint. A method with none of these (one installed from another
package, say) is built with its own defaults, which such a method keeps small. No test lists
methods: they come from the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.tiny_configs import tiny_config_options
from vis_bench.formats.checkpoints import PROJECT_FORMAT, open_checkpoint
from vis_bench.shipped import resolve

REPO = Path(__file__).resolve().parents[2]


def tiny_options(method: str) -> dict[str, Any]:
    """The options of the method's tiny model (see the module docstring); {} for its defaults."""
    options = tiny_config_options(method, REPO)
    if options is not None:
        return options
    stem = method.replace("-", "_")
    checkpoint = resolve(f"results/checkpoints/{stem}_tiny.pth")
    if checkpoint.is_file():
        contents = open_checkpoint(checkpoint)
        if contents.format == PROJECT_FORMAT and contents.method == method:
            return dict(contents.config)
    return {}

"""Each method's tiny options as `configs/tiny/` gives them: one lookup rule for what the shared
tests (tests/helpers/tiny.py) and the GPU table's CPU dry run (scripts/gpu_table.py) build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


def tiny_config_options(method: str, root: Path = REPO_ROOT) -> dict[str, Any] | None:
    """The options of the method's tiny training config (`configs/tiny/<method>.yaml`, `-`
    written `_`), else of its smallest untrained shape (`<method>_untrained.yaml`: SAM 3, the
    MS-STS release); None when neither file is the method's."""
    stem = method.replace("-", "_")
    for name in (stem, f"{stem}_untrained"):
        path = root / "configs" / "tiny" / f"{name}.yaml"
        data = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
        if data.get("method") == method:
            return dict(data.get("options") or {})
    return None

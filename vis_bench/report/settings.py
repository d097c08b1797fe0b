"""How each record was made, read from the record itself: its run's dataset and measure settings.

Records carry the resolved config of their run (`config`, the dict `config_hash` hashes), so a
record copied out of its run folder still says what it measured and how. Records written before
that name their config by hash only; their run folder kept it as configs/<hash>.yaml, which
`with_configs` reads in where the folder is at hand. A record with neither is shown as such rather
than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vis_bench.records import CellRecord
from vis_bench.records.store import CONFIGS_DIR

#: the measure settings a settings line names, in this order (those a config has)
MEASURE_KEYS = (
    "warmup",
    "repeats",
    "threads",
    "cell_timeout_s",
    "ap",
    "fps",
    "flops",
    "memory",
    "bootstrap",
    "bootstrap_seed",
)
#: dataset keys that say where files are cached, not what was measured
_DATASET_SKIPPED = ("cache_dir",)


def with_configs(records: Iterable[CellRecord], folder: str | Path) -> list[CellRecord]:
    """The records, those without an embedded `config` given the one their folder saved.

    Older records (written before records carried their config) name it by `config_hash` only;
    the copies returned hold it as `config` where `folder`/configs/<hash>.yaml exists.
    """
    saved: dict[str, dict[str, Any] | None] = {}
    out = []
    for record in records:
        digest = record.config_hash
        if record.config is None and isinstance(digest, str) and digest:
            if digest not in saved:
                saved[digest] = _saved_config(Path(folder), digest)
            found = saved[digest]
            if found is not None:
                record = record.with_config(found)
        out.append(record)
    return out


def _saved_config(folder: Path, digest: str) -> dict[str, Any] | None:
    path = folder / CONFIGS_DIR / f"{digest}.yaml"
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError):  # a damaged copy: the record's own config
        return None
    return data if isinstance(data, dict) else None


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def settings_text(config: Mapping[str, Any]) -> str:
    """`dataset: kind synthetic, videos 24, ...; measure: warmup 1, repeats 3, ...`."""
    dataset = config.get("dataset") or {}
    measure = config.get("measure") or {}
    parts = [
        f"{key} {_text(value)}"
        for key, value in dataset.items()
        if value is not None and key not in _DATASET_SKIPPED
    ]
    named = [f"{key} {_text(measure[key])}" for key in MEASURE_KEYS if key in measure]
    return f"dataset: {', '.join(parts) or '-'}; measure: {', '.join(named) or '-'}"


def settings_lines(records: Iterable[CellRecord]) -> list[str]:
    """One line per config the records were made with: hash, name, dataset and measure settings."""
    configs: dict[str, Mapping[str, Any] | None] = {}
    for record in records:
        digest = str(record.config_hash or "-")
        if configs.get(digest) is None:
            configs[digest] = record.config
    lines = []
    for digest, config in configs.items():
        if config is None:
            lines.append(
                f"config {digest}: not recorded (a record written before records carried their "
                "config, read without its run folder's configs/)"
            )
        else:
            lines.append(f"config {digest} ({config.get('name', '-')}): {settings_text(config)}")
    return lines

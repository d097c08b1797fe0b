"""Published numbers (results/published.yaml): loaded, validated, and matched to sweep records.

Each entry is one number set as printed by the authors (README or paper table) with its setting.
`published_match(record)` finds the entry whose setting a sweep record measured, so tables and the
leaderboard can show the published number beside the measured one and their difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis_bench.errors import InputError

FORMAT = "vis-bench-published"
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "results" / "published.yaml"
_SETTING_KEYS = ("dataset", "split", "backbone", "clip_length", "stride", "resolution")
_SOURCE_KEYS = ("kind", "table")
# spellings of the same backbone in configs, method options and papers
_BACKBONES = {
    "r50": "R50",
    "resnet50": "R50",
    "resnet-50": "R50",
    "r-50": "R50",
    "r101": "R101",
    "resnet101": "R101",
    "resnet-101": "R101",
    "r-101": "R101",
    "x101": "X101",
    "resnext101": "X101",
    "swin-l": "Swin-L",
    "swin_l": "Swin-L",
    "swinl": "Swin-L",
    "swin_large": "Swin-L",
    "swin-large": "Swin-L",
}


def canonical_backbone(name: Any) -> str | None:
    if name is None:
        return None
    text = str(name).strip()
    return _BACKBONES.get(text.lower().replace(" ", ""), text)


@dataclass(frozen=True)
class Published:
    path: str
    entries: list[dict[str, Any]]
    method_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    flops_tables: list[dict[str, Any]] = field(default_factory=list)

    def by_id(self, entry_id: str) -> dict[str, Any]:
        for entry in self.entries:
            if entry["id"] == entry_id:
                return entry
        raise KeyError(entry_id)


def _check_entry(entry: Any, i: int, path: str, seen: set[str]) -> None:
    where = f"entries[{i}]"
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a mapping", path=path, field=where)
    for key in ("id", "method", "setting", "metrics", "source"):
        if key not in entry:
            raise InputError(f"{where} has no {key!r}", path=path, field=f"{where}.{key}")
    if entry["id"] in seen:
        raise InputError(f"{where} repeats the id {entry['id']!r}", path=path, field=f"{where}.id")
    seen.add(entry["id"])
    setting, metrics, source = entry["setting"], entry["metrics"], entry["source"]
    missing = [k for k in _SETTING_KEYS if not isinstance(setting, dict) or k not in setting]
    if missing:
        raise InputError(f"{where}.setting lacks {missing}", path=path, field=f"{where}.setting")
    lengths = setting["clip_length"]
    for value in lengths if isinstance(lengths, list) else [lengths]:
        if value != "all" and not (isinstance(value, int) and value > 0):
            raise InputError(
                f"{where}.setting.clip_length must be a positive integer, 'all' or a list of "
                f"them, got {value!r}",
                path=path,
                field=f"{where}.setting.clip_length",
            )
    if not isinstance(metrics, dict) or not metrics:
        raise InputError(f"{where}.metrics must be a non-empty mapping", path=path)
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(
                f"{where}.metrics.{name} must be a number, got {value!r}",
                path=path,
                field=f"{where}.metrics.{name}",
            )
    if not isinstance(source, dict) or any(k not in source for k in _SOURCE_KEYS):
        raise InputError(
            f"{where}.source needs {list(_SOURCE_KEYS)} (and a repository or paper)",
            path=path,
            field=f"{where}.source",
        )
    if "repository" not in source and "paper" not in source:
        raise InputError(f"{where}.source names neither repository nor paper", path=path)


def load_published(path: str | Path = DEFAULT_PATH) -> Published:
    """Read and validate the published-numbers file; errors name the file and the field."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise InputError(f"cannot read published numbers: {err.strerror}", path=str(path)) from None
    except yaml.YAMLError as err:
        raise InputError(f"not valid YAML ({err})", path=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f'expected "format: {FORMAT}"', path=str(path), field="format")
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise InputError("needs a list 'entries'", path=str(path), field="entries")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        _check_entry(entry, i, str(path), seen)
    defaults = data.get("method_defaults") or {}
    return Published(str(path), entries, defaults, data.get("flops_tables") or [])


def _dataset_kind_and_file(dataset: Any) -> tuple[str | None, str | None]:
    """ "ytvis2019:valid.json" -> ("ytvis2019", "valid"); a bare kind has no file."""
    if not isinstance(dataset, str):
        return None, None
    kind, _, file = dataset.partition(":")
    return kind, (Path(file).stem.lower() if file else None)


def _split_matches(split: str, file_stem: str | None) -> bool:
    """The record's annotation file is that split: "valid" matches valid.json, val.json, ...
    (a held-out part of train, holdout.json, never matches a published valid number)."""
    if file_stem is None:
        return True
    if split == "valid":
        return file_stem in ("valid", "val") or "valid" in file_stem
    return split in file_stem


def _record_setting(record: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    options = record.get("model_options") or record.get("options") or {}
    backbone = options.get("backbone") if isinstance(options, dict) else None
    resolution = record.get("resolution")
    return {
        "backbone": canonical_backbone(
            backbone if backbone is not None else defaults.get("backbone")
        ),
        "clip_length": record.get("clip_length"),
        "stride": record.get("stride"),
        "resolution": resolution if resolution is not None else defaults.get("resolution"),
    }


def _matches(entry: dict[str, Any], record: dict[str, Any], defaults: dict[str, Any]) -> bool:
    setting = entry["setting"]
    kind, stem = _dataset_kind_and_file(record.get("dataset"))
    if entry["method"] != record.get("method") or kind != setting["dataset"]:
        return False
    if not _split_matches(str(setting["split"]), stem):
        return False
    ours = _record_setting(record, defaults)
    lengths = setting["clip_length"]
    lengths = lengths if isinstance(lengths, list) else [lengths]
    if ours["clip_length"] not in lengths:
        return False
    if setting["stride"] is not None and ours["stride"] != setting["stride"]:
        return False
    return (
        ours["backbone"] == canonical_backbone(setting["backbone"])
        and ours["resolution"] == setting["resolution"]
    )


def published_match(
    record: dict[str, Any], published: Published | None = None
) -> dict[str, Any] | None:
    """The published entry whose setting the sweep record measured, or None.

    Compared: method; dataset kind and split (from the record's `dataset`, e.g.
    "ytvis2019:valid.json"); backbone (`model_options.backbone`, else the method default of the
    file); clip length; stride (where the entry fixes one); resolution (None = the method's
    default). Several matches: the one marked `preferred`, else None (ambiguous).
    """
    published = published or load_published()
    defaults = published.method_defaults.get(str(record.get("method")), {})
    found = [e for e in published.entries if _matches(e, record, defaults)]
    if len(found) > 1:
        found = [e for e in found if e.get("preferred")]
    return found[0] if len(found) == 1 else None

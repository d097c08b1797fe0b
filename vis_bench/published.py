"""Published numbers: gathered from the released checkpoints' declarations, matched to records.

Each released checkpoint (`vis_bench/api/variants.py`, declared in its method's package) carries the
numbers its authors printed (a model-zoo row or a paper table) with the setting they were
measured in and their source. `default_published()` gathers every registered variant's entries;
`published_match(record)` finds the entry whose setting a sweep record measured, so tables and
the leaderboard show the published number beside the measured one and their difference. The
entries are plain data, so an installed vis-bench knows them without the repository.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    "resnext101_64x4d": "X101",
    "resnext101_32x8d": "X101-32x8d",
    "swin-l": "Swin-L",
    "swin_l": "Swin-L",
    "swinl": "Swin-L",
    "swin_large": "Swin-L",
    "swin-large": "Swin-L",
    "vit_s": "ViT-S",
    "vit-s": "ViT-S",
    "vit_b": "ViT-B",
    "vit-b": "ViT-B",
    "vit_l": "ViT-L",
    "vit-l": "ViT-L",
}


def canonical_backbone(name: Any) -> str | None:
    if name is None:
        return None
    text = str(name).strip()
    return _BACKBONES.get(text.lower().replace(" ", ""), text)


@dataclass(frozen=True)
class Published:
    """Published entries (plain dicts: id, method, variant, kind, setting, metrics, source) and
    each method's default backbone and test size (for records that do not state them)."""

    entries: list[dict[str, Any]]
    method_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: variant name -> its test size, for records of a named variant that do not state one
    variant_resolutions: dict[str, int] = field(default_factory=dict)

    def by_id(self, entry_id: str) -> dict[str, Any]:
        for entry in self.entries:
            if entry["id"] == entry_id:
                return entry
        raise KeyError(entry_id)


@functools.cache
def default_published() -> Published:
    """Every registered method's released checkpoints' published entries (ids unique)."""
    from vis_bench.api.options import options_dict
    from vis_bench.api.registration import available_methods, get_method, pretrained_variants

    entries: list[dict[str, Any]] = []
    for variant in pretrained_variants():
        for entry in variant.published_entries():
            setting = entry["setting"]
            setting["backbone"] = canonical_backbone(setting["backbone"])
            entries.append(entry)
    ids = [entry["id"] for entry in entries]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"published entry ids repeat across released checkpoints: {repeated}")
    defaults = {}
    for name in available_methods():
        spec = get_method(name).spec
        options = options_dict(spec.options())
        defaults[name] = {
            "backbone": options.get(spec.backbone_option),
            "resolution": spec.preprocessing.shorter_side,
        }
    resolutions = {variant.name: variant.resolution for variant in pretrained_variants()}
    return Published(entries, defaults, resolutions)


def _dataset_kind_and_file(dataset: Any) -> tuple[str | None, str | None]:
    """ "ytvis2019:valid.json" -> ("ytvis2019", "valid"); a bare kind has no file."""
    if not isinstance(dataset, str):
        return None, None
    kind, _, file = dataset.partition(":")
    return kind, (Path(file).stem.lower() if file else None)


def _split_matches(split: str, file_stem: str | None, kind: str | None = None) -> bool:
    """The record's annotation file is that split: "valid" matches valid.json, val.json, ...
    (a held-out part of train, holdout.json, never matches a published valid number). YouTube-VIS
    2022's valid ground truth is the scoring program's gt.json."""
    if file_stem is None:
        return True
    if split == "valid":
        if kind == "ytvis2022" and file_stem == "gt":
            return True
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
    variant = record.get("variant")
    if variant and entry.get("variant") not in (None, variant):
        return False
    if not _split_matches(str(setting["split"]), stem, kind):
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
    default, or the named variant's test size); a record of a named variant (`variant`) matches
    only that variant's entries. Several matches: the one marked `preferred`, else None
    (ambiguous).
    """
    published = published or default_published()
    defaults = dict(published.method_defaults.get(str(record.get("method")), {}))
    variant = record.get("variant")
    if variant in published.variant_resolutions:
        defaults["resolution"] = published.variant_resolutions[variant]
    found = [e for e in published.entries if _matches(e, record, defaults)]
    if len(found) > 1:
        found = [e for e in found if e.get("preferred")]
    return found[0] if len(found) == 1 else None

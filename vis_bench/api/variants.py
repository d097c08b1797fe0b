"""Released checkpoints as names (the timm habit): `method.variant`, declared next to the method.

A user who downloads a release file should not have to assemble its settings from a config, the
README and a paper. Each released checkpoint is one `PretrainedVariant` in its method's package
(`methods/<name>/variants.py`, listed in the spec's `variants`): the method options that build
its architecture, the authors' test size, the label space it predicts, the release file's name
(and its checksum where the authors publish one), the published numbers with their sources, and
the licence of the code and of the weights. `run_bench.py methods --pretrained [PATTERN]` lists
them, a config (or `--set method=NAME`) runs one with a checkpoint path alone, and
`check-checkpoint FILE` says which variant a file is. The published numbers the reports set
beside measured ones are read from these declarations, so an installed vis-bench knows them.

Nothing is ever downloaded: `url` says where the authors publish the file, for the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vis_bench.errors import VisBenchError

#: how a published number relates to the file: the file's own (a model-zoo row) or the paper's
#: (reported for the setting, e.g. an average over runs, not necessarily this file)
PUBLISHED_KINDS = ("checkpoint", "paper")
#: what a source must name
_SOURCE_KEYS = ("kind", "table")


@dataclass(frozen=True)
class Licence:
    """The licence of the authors' code and, where stated apart, of their weights."""

    code: str  # SPDX identifier or the licence's own name
    #: the weights' licence as the authors state it (SPDX identifier or name), or
    #: "not stated apart from the code's"
    weights: str
    source: str  # where both are stated (repository and file)


def readme_source(
    repository: str, commit: str, file: str, table: str, paper: str | None = None
) -> dict[str, str]:
    """A `PublishedResult.source` for numbers read in a file of the authors' repository (a
    README or model zoo) at a commit: the table they stand in, and the paper where it is named."""
    source = {
        "kind": "README",
        "repository": repository,
        "commit": commit,
        "file": file,
        "table": table,
    }
    if paper is not None:
        source["paper"] = paper
    return source


@dataclass(frozen=True)
class PublishedResult:
    """One set of published numbers for a variant and the setting it was measured in.

    `clip_length` is "all" (the whole video in one clip), an int, or a list of equivalent values;
    `stride` None where not applicable; `resolution` None = the variant's own test size.
    """

    id: str
    dataset: str  # the record's dataset kind (ytvis2019, ytvis2021, ovis, ...)
    metrics: Mapping[str, float]
    source: Mapping[str, str]
    kind: str = "checkpoint"
    split: str = "valid"
    clip_length: Any = "all"
    stride: int | None = None
    resolution: int | None = None
    training: str = ""
    gpu: str = ""
    #: the entry to show when a record matches several (e.g. a checkpoint's and a paper's)
    preferred: bool = False
    notes: str = ""


@dataclass(frozen=True)
class PretrainedVariant:
    """One released checkpoint of a method, by name (`method.variant`)."""

    name: str
    summary: str
    #: method options that build the released architecture (the rest take the method's defaults)
    options: Mapping[str, Any]
    #: the benchmark the release was trained for and the label space its classes are
    dataset: str
    label_space: str
    #: the authors' test-time input size: shorter side (and the cap on the longer side)
    resolution: int
    max_size: int | None
    release_file: str
    licence: Licence
    published: tuple[PublishedResult, ...] = ()
    url: str = ""
    #: the file's checksums where published (by the authors, or by the host that serves the
    #: file: say which in `notes`): all hex digits, or the prefix a file name carries
    #: (a model zoo whose file names end in their md5's first hex digits, `model_final_34112b.pkl`)
    sha256: str | None = None
    md5: str | None = None
    training_data: str = ""
    #: non-empty: the variant is named but cannot run here, and this says why
    unsupported: str = ""
    notes: str = ""
    #: the backbone's name in tables (R50, Swin-L, ViT-L); defaults to the `backbone` option
    backbone: str = ""

    @property
    def method(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def variant(self) -> str:
        return self.name.split(".", 1)[1]

    def backbone_name(self) -> str:
        return self.backbone or str(self.options.get("backbone", ""))

    def check(self, method: str) -> None:
        """Errors name the variant and the field: a declaration that cannot mislead a user."""
        where = f"released checkpoint {self.name!r}"
        if not self.name.startswith(f"{method}.") or not self.variant:
            raise VisBenchError(f"{where}: its name must be '{method}.<variant>'")
        if not self.release_file or not self.licence.code:
            raise VisBenchError(f"{where}: give release_file and licence.code")
        for checksum, shortest, longest in ((self.sha256, 6, 64), (self.md5, 6, 32)):
            if checksum is None:
                continue
            if not shortest <= len(checksum) <= longest or not _is_hex(checksum):
                raise VisBenchError(
                    f"{where}: a checksum of {len(checksum)} characters {checksum!r} "
                    f"({shortest} to {longest} hex digits expected)"
                )
        ids = [result.id for result in self.published]
        if len(ids) != len(set(ids)):
            raise VisBenchError(f"{where}: published ids repeat: {ids}")
        for result in self.published:
            _check_result(result, where)

    def published_entries(self) -> list[dict[str, Any]]:
        """The published numbers as plain entries (what records are matched against)."""
        return [self._entry(result) for result in self.published]

    def _entry(self, result: PublishedResult) -> dict[str, Any]:
        setting = {
            "dataset": result.dataset,
            "split": result.split,
            "backbone": self.backbone_name(),
            "clip_length": result.clip_length,
            "stride": result.stride,
            "resolution": result.resolution if result.resolution is not None else self.resolution,
            "training": result.training or self.training_data,
            "gpu": result.gpu,
        }
        entry: dict[str, Any] = {
            "id": result.id,
            "method": self.method,
            "variant": self.name,
            "kind": result.kind,
            "setting": setting,
            "metrics": dict(result.metrics),
            "source": dict(result.source),
        }
        if result.preferred:
            entry["preferred"] = True
        if result.notes:
            entry["notes"] = result.notes
        return entry

    def describe(self) -> dict[str, Any]:
        """Everything a user needs to run the file, as plain data (`methods --pretrained`)."""
        return {
            "name": self.name,
            "summary": self.summary,
            "options": dict(self.options),
            "dataset": self.dataset,
            "label space": self.label_space,
            "training data": self.training_data,
            "input size": f"shorter side {self.resolution}"
            + (f", longer side <= {self.max_size}" if self.max_size else ""),
            "release file": self.release_file,
            "url": self.url,
            "sha256": _checksum_text(self.sha256, 64),
            "md5": _checksum_text(self.md5, 32),
            "licence (code)": self.licence.code,
            "licence (weights)": self.licence.weights,
            "licence source": self.licence.source,
            "unsupported": self.unsupported,
            "notes": self.notes,
        }


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in text)


def _checksum_text(digest: str | None, length: int) -> str:
    if digest is None:
        return "none published"
    if len(digest) < length:
        return f"{digest}... (the first {len(digest)} hex digits, from the file's name)"
    return digest


def _check_result(result: PublishedResult, where: str) -> None:
    field_name = f"{where}, published {result.id!r}"
    if result.kind not in PUBLISHED_KINDS:
        raise VisBenchError(f"{field_name}: kind must be one of {PUBLISHED_KINDS}")
    missing = [key for key in _SOURCE_KEYS if key not in result.source]
    if missing or not ("repository" in result.source or "paper" in result.source):
        raise VisBenchError(
            f"{field_name}: the source needs {list(_SOURCE_KEYS)} and a repository or a paper"
        )
    lengths = result.clip_length if isinstance(result.clip_length, list) else [result.clip_length]
    for value in lengths:
        if value != "all" and not (isinstance(value, int) and value > 0):
            raise VisBenchError(f"{field_name}: clip_length {value!r} is not 'all' or > 0")
    if not result.metrics or not all(isinstance(v, int | float) for v in result.metrics.values()):
        raise VisBenchError(f"{field_name}: metrics must be numbers")

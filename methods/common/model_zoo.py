"""A released checkpoint declared from one row of a family's model zoo page: what every row of
such a page shares (the page, the licence, the test size, the clip lengths it scores with),
so each family's `releases.py` says only what its rows differ in (options, file names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vis_bench.api.variants import Licence, PretrainedVariant, PublishedResult, readme_source

#: a row's key in a family's table of releases: (mode, backbone key, dataset key)
ReleaseKey = tuple[str, str, str]
#: a row's AP, AP50 and AP75, and its lines on the page
ReleaseRow = tuple[tuple[float, float, float], str]


def mode_releases(
    method: str, releases: Mapping[ReleaseKey, ReleaseRow]
) -> list[tuple[ReleaseKey, tuple[float, float, float], str]]:
    """The rows of `method`'s mode (the end of its name: `-online`, `-offline`) in the table's
    order, as (key, metrics, lines)."""
    mode = method.rsplit("-", 1)[1]
    return [(key, *row) for key, row in releases.items() if key[0] == mode]


@dataclass(frozen=True)
class ModelZoo:
    """A family's model zoo page and what each of its rows shares."""

    #: the family's name in summaries ("DVIS++")
    family: str
    repository: str
    commit: str
    #: the page's path in the repository
    page: str
    licence: Licence
    resolution: int
    max_size: int
    #: the clip lengths the published number holds for
    clip_lengths: list[Any]


@dataclass(frozen=True)
class ZooFile:
    """Where a row's checkpoint is (a confirmed name, or why none is given)."""

    release_file: str
    url: str
    sha256: str | None = None
    notes: str = ""


@dataclass(frozen=True)
class ZooRow:
    """One row of the page: `method`'s model on a backbone and a dataset."""

    method: str
    #: (key in the variant's name, label as the page writes it)
    backbone: tuple[str, str]
    #: (dataset kind, page heading)
    dataset: tuple[str, str]
    #: AP, AP50, AP75
    metrics: tuple[float, float, float]
    #: the row's lines on the page, and its config where known
    lines: str
    config: str = ""


def zoo_variant(
    zoo: ModelZoo, row: ZooRow, options: dict[str, Any], file: ZooFile, dataset_key: str
) -> PretrainedVariant:
    """The row's variant `<method>.<backbone>_<dataset_key>` with the row's three numbers as
    its published result (the number of this very checkpoint)."""
    mode = row.method.rsplit("-", 1)[1]
    key, label = row.backbone
    kind, heading = row.dataset
    ap, ap50, ap75 = row.metrics
    table = f"{heading}, {zoo.family} {mode} {label} (lines {row.lines})"
    if row.config:
        table += f"; config {row.config}"
    return PretrainedVariant(
        name=f"{row.method}.{key}_{dataset_key}",
        summary=f"{zoo.family} {mode} {label}, {heading}",
        options=options,
        dataset=kind,
        label_space=kind,
        resolution=zoo.resolution,
        max_size=zoo.max_size,
        release_file=file.release_file,
        url=file.url,
        sha256=file.sha256,
        licence=zoo.licence,
        training_data=f"{heading} train",
        notes=file.notes,
        backbone=label,
        published=(
            PublishedResult(
                id=f"{row.method}-{key}-{kind}",
                dataset=kind,
                metrics={"AP": ap, "AP50": ap50, "AP75": ap75},
                source=readme_source(zoo.repository, zoo.commit, zoo.page, table),
                clip_length=zoo.clip_lengths,
                training=f"{heading} train",
                gpu="not stated",
                notes="the number of this checkpoint (a model-zoo row)",
            ),
        ),
    )

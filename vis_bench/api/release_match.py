"""Which released checkpoint a file is: by its keys and shapes, then by its checksum.

A user holding `model_final.pth` wants to know what it is before running it. Every released
checkpoint of the method (`MethodSpec.variants`) declares the options that build its
architecture, so building each on the meta device (no weights) and comparing the file's keys and
shapes through the strict loader finds the variants it fits. Variants with the same architecture
(the same model trained on YouTube-VIS 2019 and 2021, say) are told apart by the file's sha256 or
md5 where one is published (a prefix counts: some model zoos put their md5's in file names);
otherwise the answer names every candidate and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vis_bench.api.checkpoints import (
    LoadReport,
    checkpoint_tensors,
    compare_and_load,
    spec_rules,
)
from vis_bench.api.plugin import MethodPlugin
from vis_bench.api.state_dict_keys import meta_model
from vis_bench.api.variants import PretrainedVariant

_CHUNK = 1 << 22


@dataclass(frozen=True)
class ReleaseMatch:
    """The variants a file fits by keys and shapes, and what its checksum says of them."""

    method: str
    by_shape: tuple[PretrainedVariant, ...]
    #: the candidates whose published checksum equals the file's (None: no candidate has one)
    by_checksum: tuple[PretrainedVariant, ...] | None
    checked: int
    #: the file's digests that were compared (algorithm -> hex digest)
    digests: Mapping[str, str] = field(default_factory=dict)


def fits(
    plugin: type[MethodPlugin],
    variant: PretrainedVariant,
    state_dict: Mapping[str, torch.Tensor],
    versions: Mapping[str, int] | None = None,
) -> bool:
    """True when a strict load of `state_dict` into the variant's architecture would succeed
    (after the renames and fills the method declares; `versions`: the file's `_metadata`)."""
    report = LoadReport(variant.name, "release")
    compare_and_load(
        meta_model(plugin.name, variant.options),
        checkpoint_tensors(plugin, dict(state_dict)),
        report,
        **spec_rules(plugin.spec),
        versions=versions,
        assign=True,
    )
    return report.clean


def file_digest(path: str | Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def matching_variants(
    plugin: type[MethodPlugin],
    state_dict: Mapping[str, torch.Tensor],
    path: str | Path,
    versions: Mapping[str, int] | None = None,
) -> ReleaseMatch:
    """The method's released checkpoints that `state_dict` (read from the file `path`) fits."""
    variants = [v for v in plugin.spec.variants if not v.unsupported]
    by_shape = tuple(v for v in variants if fits(plugin, v, state_dict, versions))
    with_checksum = [v for v in by_shape if v.sha256 or v.md5]
    by_checksum = None
    if with_checksum:
        digests = {}
        for algorithm in ("sha256", "md5"):
            if any(getattr(v, algorithm) for v in with_checksum):
                digests[algorithm] = file_digest(path, algorithm)
        by_checksum = tuple(
            v
            for v in with_checksum
            if any(
                getattr(v, a) and d.startswith(getattr(v, a).lower()) for a, d in digests.items()
            )
        )
        return ReleaseMatch(plugin.name, by_shape, by_checksum, len(variants), digests)
    return ReleaseMatch(plugin.name, by_shape, by_checksum, len(variants))


def describe_match(match: ReleaseMatch) -> list[str]:
    """What `check-checkpoint` prints about the release a file is."""
    if not match.by_shape:
        return [
            f"released checkpoint: none of the {match.checked} of {match.method} has these keys "
            "and shapes (a checkpoint of your own, or options no release uses)"
        ]
    if match.by_checksum:
        names = ", ".join(v.name for v in match.by_checksum)
        return [
            f"released checkpoint: {names} (keys and shapes fit; the checksum is the authors')",
            *_digest_lines(match),
        ]
    names = ", ".join(v.name for v in match.by_shape)
    if len(match.by_shape) == 1:
        lines = [f"released checkpoint: {names} (keys and shapes fit)"]
    else:
        lines = [f"released checkpoint: one of {names} (the same keys and shapes)"]
    if match.by_checksum is not None:
        lines.append(
            "  the file's checksum is none the authors publish for these: a retrained file?"
        )
        lines += _digest_lines(match)
    elif len(match.by_shape) > 1:
        lines.append("  the authors publish no checksum that tells them apart")
    lines.append(
        f"  run it: run --set method={match.by_shape[0].name} --checkpoint FILE "
        "(with the dataset it was trained for)"
    )
    return lines


def _digest_lines(match: ReleaseMatch) -> list[str]:
    """The file's digests beside what the candidates publish (md5: a prefix in a file name)."""
    lines = []
    for algorithm, digest in match.digests.items():
        published = [v for v in match.by_shape if getattr(v, algorithm)]
        same = [v.name for v in published if digest.startswith(getattr(v, algorithm).lower())]
        verdict = (
            f"matches the published {algorithm} of {', '.join(same)}"
            if same
            else "matches none published: "
            + ", ".join(f"{v.name} {getattr(v, algorithm)}" for v in published)
        )
        lines.append(f"  {algorithm} {digest}: {verdict}")
    return lines

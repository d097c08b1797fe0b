"""The one line a command's markdown output carries about where it came from."""

from __future__ import annotations

from typing import Any


def written_by(provenance: dict[str, Any]) -> str:
    """The sentence naming a provenance block's command and its full commit (with "-dirty" when
    the code differed from it)."""
    from vis_bench.measure.provenance import commit_label

    label = commit_label(provenance) or "unknown (not a git checkout)"
    return f"Written by `{provenance['command']}` at commit {label}."

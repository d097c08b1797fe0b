"""A parity reference, an optional capability: a method's check against fixtures made by running
its authors' code (`parity --method NAME --fixture DIR`).

The spec names the check lazily, as `"module:function"`: the parity module (comparison helpers
of vis_bench.parity, the authors' procedures, fixture readers) is imported only when the check
runs, so loading a method to run it never loads them. The function is
`run(fixture_dir, out_path) -> vis_bench.parity.ParityReport`: it builds the model from the
fixture's meta.json, runs it on the stored inputs, writes what it produced to `out_path` when
given and fills the report. The fixture folder is the user's to name: a method's declaration
names no path of any checkout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vis_bench.registry import import_target

#: `package.module:function` (dotted names, one colon)
TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class ParityReference:
    """`target`: the check's "module:function"; `reference`: the authors' code it compares with
    (repository @ commit)."""

    target: str
    reference: str

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not TARGET.match(self.target):
            raise ValueError(
                f"ParityReference target {self.target!r} must name the check as "
                "'package.module:function' (the module is imported only when the check runs)"
            )

    def function(self) -> Any:
        """The check itself, its module imported now."""
        return import_target(self.target, "parity reference", self.reference)

    def run(self, fixture_dir: Path, out_path: Path | None = None) -> Any:
        """Run the check on a fixture folder; the ParityReport it returns."""
        return self.function()(Path(fixture_dir), out_path)

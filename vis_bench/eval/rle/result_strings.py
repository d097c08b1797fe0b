"""A results file's mask strings found in its JSON text and decoded where they lie.

Of a 720p results file, ~90% of the bytes are the compressed RLE strings of `"counts"`; an
ordinary JSON parse makes a Python string of each (copying the text twice and faulting in
fresh memory for it) only for the metric to decode it into runs. Here the compiled kernel cuts
each `"counts": "..."` out of the text (`cut_result_strings`, written as `"\\u0000": k`), orjson
parses the small remainder, and the masks are read straight from the text on two threads.
Read on a loader thread (eval/input_loading.py), every string is scanned there as soon as the
remainder gives each its frame size (`scan`: checked, and its area and foreground span found,
while the main thread imports the metric and builds the GT). Its runs are not stored: as
uint32 they are four times the text (157 MB for the 421-video 720p case), memory the process
would fault in fresh, and the metric intersects fewer than half of the masks. Those are
decoded again from the text, pair by pair, into a buffer that stays in cache (`intersections`).

The same care as for GT count lists (count_lists.py) keeps the result equal to an ordinary
parse, or steps aside (None, and the caller parses the file the ordinary way):

* a cut string may hold printable ASCII and escaped backslashes only (a COCO mask string is
  made of the characters 48..111); the document may not contain `\\u0000` elsewhere;
* the loader (metric/loading.py) takes the cut file only when every cut sits in a frame slot of
  a result, in document order, each frame being null or a plain RLE object (a `size` of two
  ints); anything unusual is read again the ordinary way, whose checks and messages then apply
  unchanged. A mask that does not decode sends the metric to pycocotools with the strings
  restored (`restored`), as for any malformed mask.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from vis_bench.eval.rle import bulk_rle, text_cuts
from vis_bench.eval.rle.count_lists import MARKER
from vis_bench.formats.results_file import results_list, results_text
from vis_bench.jsonio import parse_json

_MARKER_ESCAPE = b"\\u0000"


@dataclass
class ResultStrings:
    """The cut strings of one results text: string k is `raw[starts[k]:ends[k]]` (JSON text,
    backslashes doubled)."""

    raw: bytes | mmap.mmap = field(repr=False)
    starts: np.ndarray
    ends: np.ndarray
    #: every string's mask decoded at its frame's size while the file was read, runs not kept
    #: (`scan`: areas and spans); None when not done or when some string did not decode (the
    #: metric then decodes its own selection, as without it)
    scanned: bulk_rle.DecodedMasks | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.starts)

    def text(self, k: int) -> str:
        """String k as an ordinary parse gives it."""
        return orjson.loads(self.raw[int(self.starts[k]) - 1 : int(self.ends[k]) + 1])

    def decode(
        self, ks: np.ndarray, totals: np.ndarray, keep: np.ndarray | None = None
    ) -> bulk_rle.DecodedMasks | None:
        """Masks of strings `ks` (totals[i] pixels each) decoded from the text, in that order;
        runs kept where `keep` says (default all). None as for `bulk_rle.decode`."""
        return bulk_rle.decode_text(self.raw, self.starts[ks], self.ends[ks], totals, keep)

    def intersections(
        self, a_rows: np.ndarray, b: bulk_rle.DecodedMasks, b_rows: np.ndarray
    ) -> np.ndarray:
        """|string a_rows[k] ∩ b[b_rows[k]]| for every k, from the text (after `scan`)."""
        if self.scanned is None:
            raise ValueError("intersections from the text need the strings scanned first")
        return bulk_rle.intersections_text(
            self.raw, self.starts, self.ends, self.scanned, a_rows, b, b_rows
        )

    def scan(self, data: Any) -> None:
        """Decode every string at the size of the result frame holding it, keeping no runs
        (`scanned`).

        Skipped (nothing decoded) unless `data` is a list of results whose `segmentations`
        lists hold, between them, each string exactly once, in null or marker frames with a
        size of two ints: the layout the loader then takes as it is."""
        if type(data) is not list or not all(
            type(r) is dict and type(r.get("segmentations")) is list for r in data
        ):
            return
        columns = bulk_rle.frame_columns([r["segmentations"] for r in data], True)
        if columns is None:
            return
        _, _, height, width, source, _ = columns
        n = len(self)
        if len(source) != n or not np.array_equal(np.sort(source), np.arange(n)):
            return
        if (height < 0).any() or (width < 0).any():
            return
        totals = np.empty(n, dtype=np.int64)
        totals[source] = height * width
        nothing = np.zeros(n, dtype=bool)
        self.scanned = bulk_rle.decode_text(self.raw, self.starts, self.ends, totals, nothing)

    def restored(self, seg: dict) -> dict:
        """The original RLE object of a marker dict, keys in their original order."""
        return {
            ("counts" if key == MARKER else key): (self.text(value) if key == MARKER else value)
            for key, value in seg.items()
        }


def located_results(
    raw: bytes | mmap.mmap, made: text_cuts.CutText | None = None
) -> tuple[Any, ResultStrings] | None:
    """The parsed results with every `"counts"` string cut out (marker dicts in its place), or
    None when the kernel is not built or a string is not plain enough to be sure (module doc).
    Whether the cuts are exactly the frames is for the loader to check (`plain_marker_frames`).
    `made`: the kernel's cut of `raw` made before (text_cuts.cut_results)."""
    cut = bulk_rle.result_strings_from(
        text_cuts.result_strings_cut(raw) if made is None else made.cut
    )
    if cut is None:
        return None
    remainder, starts, ends = cut
    if remainder.count(_MARKER_ESCAPE) != len(starts):
        return None  # the original has a "\u0000" of its own
    try:
        data = orjson.loads(remainder)
    except orjson.JSONDecodeError:
        return None
    return data, ResultStrings(raw, starts, ends)


def read_located(
    path: str | Path, made: text_cuts.CutText | None = None
) -> tuple[Any, ResultStrings | None]:
    """A results file parsed for the metric: located strings where possible, else the ordinary
    parse (`formats.results_file.read_results`, its errors included) and None. `made`: the
    file read and cut before (text_cuts.cut_results, eval/input_loading.py)."""
    raw = results_text(path) if made is None else made.raw
    fast = located_results(raw, made) if bulk_rle.available() else None
    if fast is not None:
        fast[1].scan(fast[0])
        return fast
    return read_ordinary(raw, path), None


def read_ordinary(raw: bytes | mmap.mmap, path: str | Path) -> list:
    """The ordinary parse of a results text (what `read_results` gives)."""
    return results_list(parse_json(raw, path, "results"), path)

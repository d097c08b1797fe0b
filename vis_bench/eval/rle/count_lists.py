"""Parse a JSON document whose bulk is `"counts": [int, ...]` lists, without a Python int each.

Released YouTube-VIS ground truth stores masks as uncompressed RLE: ~95% of a 48 MB file are
digits of count lists, and building one Python int per count is most of the time any JSON
parser spends on it. Here the lists are located in the raw bytes and their numbers converted
with numpy, a few hundred lists at a time (so the temporaries stay in the CPU cache); the lists
are cut out of the document and orjson parses the small remainder, in which each list became
`"\\u0000": k` (k = the list's number in document order).

The result must equal what `orjson.loads` gives, so the reader only cuts what it is sure of and
otherwise returns None (the caller then parses the whole file the ordinary way):

* a cut starts at `"counts":[` or `"counts": [` (the compact and the `json.dump` default
  layouts; a key written otherwise is just not cut), whose quote does not follow a backslash
  (so it is not inside a string), and the list's body must hold only JSON integers, each
  followed by `,` or `, ` (any other whitespace, a sign, a fraction, an exponent or a nested
  value is "not sure"); no leading zeros, no empty elements, and values below
  compress.MAX_COMPRESSIBLE (larger counts than any real frame has);
* the document must not contain the escape `\\u0000` anywhere, so no key of the original can
  read "\\x00" and every marker key in the parsed remainder is one of ours;
* the caller checks that the markers sit exactly where it expects count lists; a list cut
  anywhere else means "not sure".

Replacing a key with its array of integers by another key with a number keeps valid JSON valid
and invalid JSON invalid, so orjson's verdict on the remainder is its verdict on the original.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from vis_bench.eval.rle import bulk_rle, text_cuts
from vis_bench.eval.rle.compress import MAX_COMPRESSIBLE, compress_counts

MARKER = "\x00"  # the key that stands for "counts" in the parsed remainder
_MARKER_TEXT = b'"\\u0000":'
_KEY = b'"counts":'
_CHUNK_BYTES = 1 << 19  # list text parsed per numpy pass: temporaries of a few MB
_MAX_DIGITS = 8  # 10**8 > MAX_COMPRESSIBLE: longer numbers are refused anyway


@dataclass
class CountLists:
    """All cut lists: `compressed[k]` is list k as a COCO compressed RLE string and
    `foreground[k]` the sum of its odd-position counts (the mask's pixel count, in the uint32
    arithmetic of pycocotools `area`). As Python ints the numbers are not kept (nothing but a
    rare odd frame needs them): list k's text is `raw[body_starts[k]:body_ends[k]]`, read again
    on request."""

    compressed: list[bytes]
    foreground: np.ndarray
    raw: bytes
    body_starts: np.ndarray
    body_ends: np.ndarray
    #: with the kernel, the lists' values as decoding `compressed` gives them, and each list's
    #: sum of values (-1: empty), so the metric need not decode what was just encoded
    runs: bulk_rle.DecodedMasks | None = None
    pixels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.compressed)

    def as_list(self, k: int) -> list[int]:
        """List k as the Python ints orjson would have produced (its text, brackets included,
        parsed alone)."""
        return orjson.loads(self.raw[int(self.body_starts[k]) - 1 : int(self.body_ends[k]) + 1])

    def restore(self, seg: dict) -> dict:
        """The original object of a marker dict, keys in their original order."""
        return {
            ("counts" if key == MARKER else key): (self.as_list(value) if key == MARKER else value)
            for key, value in seg.items()
        }


def _odd_sums(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per list, the sum of its odd-position values (uint32 wrap-around, as float64).

    `values` has two spare zeros at its end. A list starting at an even index has its odd
    positions at the odd global indices, else at the even ones: one strided view each.
    """
    a, b = bounds[:-1], bounds[1:]
    out = np.zeros(len(a), dtype=np.uint64)
    for parity, view in ((0, values[1::2]), (1, values[0::2])):
        sel = np.flatnonzero(a % 2 == parity)
        if len(sel) == 0:
            continue
        lo = (a[sel] + parity) // 2
        hi = (b[sel] + parity) // 2
        sums = np.add.reduceat(view, np.stack([lo, hi], axis=1).ravel(), dtype=np.uint64)
        out[sel] = np.where(hi > lo, sums[0::2], 0)
    return (out & np.uint64(0xFFFFFFFF)).astype(np.float64)


def loads_with_count_lists(
    raw: bytes, made: text_cuts.CutText | None = None
) -> tuple[object, CountLists] | None:
    """Parse `raw` with its `"counts"` integer lists cut out; None when not sure (see module doc).

    Raises nothing: malformed input also gives None, so the caller's ordinary parser reports it.
    The compiled kernel cuts and parses the lists where it is built (`made`: its cut of `raw`
    made before, text_cuts.cut_ground_truth); numpy, where not.
    """
    if not bulk_rle.available():
        cut = _cut_numpy(raw)
    else:
        cut = _cut_compiled(raw, text_cuts.count_lists_cut(raw) if made is None else made.cut)
    if cut is None:
        return None
    remainder, lists = cut
    if remainder.count(b"\\u0000") != len(lists):
        return None  # the original has a "\u0000" of its own (cut lists hold only digits)
    try:
        data = orjson.loads(remainder)
    except orjson.JSONDecodeError:
        return None
    return data, lists


def _cut_compiled(raw: bytes, made: tuple | None) -> tuple[bytes, CountLists] | None:
    """The kernel's one pass (`made`: find, parse on two threads and encode the lists, and the
    remainder) as arrays."""
    cut = bulk_rle.count_lists_from(made)
    if cut is None:
        return None
    lists = CountLists(
        cut.strings, cut.foreground, raw, cut.body_starts, cut.body_ends, cut.runs, cut.pixels
    )
    return cut.remainder, lists


def _cut_numpy(raw: bytes) -> tuple[bytes, CountLists] | None:
    """The same cut without the kernel: the lists found in Python, parsed with numpy."""
    cuts = _find_lists(raw)
    if cuts is None:
        return None
    key_starts, body_starts, body_ends = cuts
    parsed = parse_int_lists(raw, body_starts, body_ends)
    if parsed is None:
        return None
    lists = CountLists(*parsed, raw, body_starts, body_ends)
    return _remainder(raw, key_starts, body_ends), lists


def _find_lists(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(key start, body start, body end) of every `"counts":[` or `"counts": [` list, or None
    if there is none. A list written another way is simply not cut (orjson reads it)."""
    find, cuts = raw.find, []
    at = find(_KEY)
    while at >= 0:
        after = at + len(_KEY)
        body = after + 1 if raw[after : after + 1] == b"[" else -1
        if body < 0 and raw[after : after + 2] == b" [":
            body = after + 2
        # A quote after a backslash is inside a string (or the JSON is invalid): leave it.
        if body < 0 or at == 0 or raw[at - 1] == ord("\\"):
            at = find(_KEY, after)
            continue
        end = find(b"]", body)
        if end < 0:
            return None  # a list that never closes: invalid JSON
        cuts.append((at, body, end))
        at = find(_KEY, end)  # the body is checked to hold digits only: skip it
    if not cuts:
        return None
    key_starts, body_starts, body_ends = np.array(cuts, dtype=np.int64).T
    return key_starts, body_starts, body_ends


def _remainder(raw: bytes, key_starts: np.ndarray, body_ends: np.ndarray) -> bytes:
    """The document with cut k (key through closing bracket) replaced by `"\\u0000":k`."""
    view = memoryview(raw)
    keep_from = np.concatenate([[0], body_ends + 1]).tolist()
    keep_to = [*key_starts.tolist(), len(raw)]
    out: list = [None] * (2 * len(keep_to) - 1)
    out[0::2] = [view[a:b] for a, b in zip(keep_from, keep_to, strict=True)]
    out[1::2] = [b"%s%d" % (_MARKER_TEXT, k) for k in range(len(key_starts))]
    return b"".join(out)


def parse_int_lists(
    raw: bytes, body_starts: np.ndarray, body_ends: np.ndarray
) -> tuple[list[bytes], np.ndarray] | None:
    """(each list as a compressed RLE string, each list's odd-position sum) of the lists whose
    text between the brackets is `raw[s:e]`, or None if any is not a list of JSON integers in
    an accepted layout (module doc); numpy, a chunk at a time, so the temporaries stay in the
    CPU cache (the compiled kernel's `cut_count_lists` does the same in one pass)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    strings, foreground = [], []
    for lo, hi in _chunks(body_starts, body_ends):
        parsed = _parse_chunk(buf, body_starts[lo:hi], body_ends[lo:hi])
        if parsed is None:
            return None
        chunk_bounds = np.concatenate([[0], np.cumsum(parsed[1])])
        strings += compress_counts(parsed[0][:-2], chunk_bounds)
        foreground.append(_odd_sums(parsed[0], chunk_bounds))
    return strings, np.concatenate(foreground)


def _chunks(body_starts: np.ndarray, body_ends: np.ndarray):
    """Ranges [lo, hi) of consecutive lists spanning about _CHUNK_BYTES of text each."""
    cuts = np.searchsorted(body_ends, np.arange(body_starts[0], body_ends[-1], _CHUNK_BYTES)[1:])
    edges = np.concatenate([[0], cuts, [len(body_starts)]])
    edges = edges[np.r_[True, edges[1:] != edges[:-1]]]  # sorted already: drop repeats
    return zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)


def _parse_chunk(
    buf: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(uint32 values, numbers per list) of consecutive lists, or None (module doc).

    Works on the text from the first list's '[' to the last one's ']', other JSON included:
    every non-digit byte but the space is a separator, a number is the digits before a
    separator, and each list's numbers are those between the separators at its brackets.
    """
    base = int(starts[0]) - 1
    text = buf[base : int(ends[-1]) + 1]
    digit = text - np.uint8(ord("0"))  # non-digits wrap around to values above 9
    # Separators: every non-digit byte but the space, which may only follow a comma.
    seps = np.flatnonzero((digit > 9) & (text != ord(" ")))
    sep_byte = text[seps]
    # The last four bytes before each separator, as digits (> 9: not a digit). Most counts
    # have two or three digits. Indices before the text wrap around to its final ']'.
    at = seps - 1
    ones = digit[at]
    at -= 1
    tens = digit[at]
    at -= 1
    hundreds = digit[at]
    at -= 1
    more = digit[at]
    has1 = ones <= 9
    has2 = has1 & (tens <= 9)
    has3 = has2 & (hundreds <= 9)
    has4 = has3 & (more <= 9)
    # Separator i ends an element of list k when opens[k] < i <= closes[k]; between lists
    # (other JSON) only a few separators.
    opens = np.searchsorted(seps, starts - 1 - base)
    closes = np.searchsorted(seps, ends - base)
    inside = np.ones(len(seps), dtype=bool)
    inside[_ranges(np.r_[0, closes + 1], np.r_[opens + 1, len(seps)])] = False
    inside[closes[starts == ends]] = False  # "[]" is an empty list, not an empty element
    number = inside & has1
    if np.any(inside & ~has1):
        return None  # an empty element, or a space before a separator
    if np.any(number & (sep_byte != ord(",")) & (sep_byte != ord("]"))):
        return None  # whitespace or other bytes after a number
    if _space_in_lists(text, starts - base, ends - base):
        return None
    if np.any(number & ((tens == 0) | (hundreds == 0))):  # rare: look closer
        zero_first = (has2 & ~has3 & (tens == 0)) | (has3 & ~has4 & (hundreds == 0))
        if np.any(number & zero_first):
            return None  # leading zero: invalid JSON
    small = (tens * has2).astype(np.uint16)
    small *= 10
    small += ones
    small += (hundreds * has3).astype(np.uint16) * np.uint16(100)
    values = np.zeros(int(np.count_nonzero(number)) + 2, dtype=np.uint32)  # 2 spare zeros
    values[:-2] = small[number]
    long = number & has4
    if long.any() and not _add_high_digits(values, np.flatnonzero(long[number]), digit, seps[long]):
        return None
    chosen = np.flatnonzero(number)
    per_list = np.searchsorted(chosen, closes, "right") - np.searchsorted(chosen, opens, "right")
    return values, per_list


def _space_in_lists(text: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> bool:
    """True if a list body text[starts[k]:ends[k]] has a space that does not follow a comma."""
    lonely = np.flatnonzero((text[1:] == ord(" ")) & (text[:-1] != ord(","))) + 1
    if not len(lonely):
        return False
    k = np.searchsorted(ends, lonely, side="right")  # the first list ending after it
    k_ok = k < len(ends)
    return bool(np.any(lonely[k_ok] >= starts[k[k_ok]]))


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of arange(lo[i], hi[i]) over i (empty where hi <= lo)."""
    n = np.maximum(hi - lo, 0)
    return np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))


def _add_high_digits(
    values: np.ndarray, which: np.ndarray, digit: np.ndarray, ends: np.ndarray
) -> bool:
    """Add the digits before the last three to values[which] (numbers of four digits or more).

    False on a leading zero, more than _MAX_DIGITS digits or a value too large to compress.
    """
    back = np.arange(4, _MAX_DIGITS + 2)  # the 4th to (max + 1)th byte before the separator
    d = digit[ends[:, None] - back[None, :]].astype(np.int64)  # [n, max - 2]
    going = np.cumprod(d <= 9, axis=1).astype(bool)
    n_high = going.sum(axis=1)  # digits before the last three
    if n_high.max() > _MAX_DIGITS - 3:
        return False
    first = d[np.arange(len(d)), n_high - 1]
    total = values[which] + (d * going) @ (1000 * 10 ** np.arange(len(back), dtype=np.int64))
    values[which] = total
    return not np.any(first == 0) and int(total.max()) < MAX_COMPRESSIBLE

"""SAM 3's text tokenizer: CLIP's byte-level BPE (the vocabulary shipped beside this module,
MIT, see bpe_simple_vocab_16e6.LICENSE), lower-cased, whitespace-collapsed prompts, wrapped in
start and end tokens and zero-padded (or cut, keeping the end token) to the context length.

The authors clean text with ftfy first; ftfy is not a dependency here, so only its Unicode NFC
normalisation is applied (it matters only for text with broken encodings, not category names).
Their split uses the `regex` module's \\p{L} and \\p{N} classes; the scanner below applies the
same rules with `unicodedata` categories."""

from __future__ import annotations

import gzip
import html
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import torch

VOCABULARY = Path(__file__).with_name("bpe_simple_vocab_16e6.txt.gz")
START, END = "<start_of_text>", "<end_of_text>"
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
_MERGES = 49152 - 256 - 2  # the merges CLIP uses (the file's first line is a header)


def _byte_symbols() -> dict[int, str]:
    """Each byte -> a printable character (printable bytes map to themselves)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return dict(sorted(table.items(), key=lambda item: _order(item[0], printable)))


def _order(byte: int, printable: list[int]) -> int:
    return printable.index(byte) if byte in printable else len(printable) + byte


def _is_letter(c: str) -> bool:
    return unicodedata.category(c).startswith("L")


def _is_number(c: str) -> bool:
    return unicodedata.category(c).startswith("N")


def split_words(text: str) -> list[str]:
    """CLIP's pre-tokenisation: special tokens, contractions, letter runs, single numerals,
    runs of other non-space characters; whitespace separates and is dropped."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        special = next((t for t in (START, END) if text.startswith(t, i)), None)
        if special is None:
            special = next((t for t in _CONTRACTIONS if text[i : i + len(t)].lower() == t), None)
        if special is not None:
            out.append(text[i : i + len(special)])
            i += len(special)
            continue
        c = text[i]
        j = i + 1
        if _is_letter(c):
            while j < n and _is_letter(text[j]):
                j += 1
        elif _is_number(c):
            pass
        elif c.isspace():
            i = j
            continue
        else:
            while j < n and not (text[j].isspace() or _is_letter(text[j]) or _is_number(text[j])):
                j += 1
        out.append(text[i:j])
        i = j
    return out


def clean(text: str) -> str:
    """NFC, HTML entities undone twice, whitespace collapsed, lower case."""
    text = html.unescape(html.unescape(unicodedata.normalize("NFC", text))).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


class Tokenizer:
    """Prompts -> (prompts, context) token ids; 0 is padding."""

    def __init__(self, context: int = 32, vocabulary: Path = VOCABULARY) -> None:
        with gzip.open(vocabulary, "rt", encoding="utf-8") as handle:
            lines = handle.read().split("\n")[1 : _MERGES + 1]
        merges = [tuple(line.split()) for line in lines]
        self.byte_symbols = _byte_symbols()
        symbols = list(self.byte_symbols.values())
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
        vocab += [START, END]
        self.ids = {token: index for index, token in enumerate(vocab)}
        self.ranks = {merge: rank for rank, merge in enumerate(merges)}
        self.context = context
        self._bpe = lru_cache(maxsize=65536)(self._merge)

    def _merge(self, word: str) -> tuple[str, ...]:
        """Greedy BPE of one word's byte symbols, the lowest-ranked adjacent pair first."""
        if word in (START, END):
            return (word,)
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts, parts[1:], strict=False)}
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(parts)

    def encode(self, text: str) -> list[int]:
        """One prompt's ids, without start and end tokens."""
        ids: list[int] = []
        for word in split_words(clean(text)):
            if word in (START, END):
                ids.append(self.ids[word])
                continue
            symbols = "".join(self.byte_symbols[b] for b in word.encode("utf-8"))
            ids.extend(self.ids[part] for part in self._bpe(symbols))
        return ids

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(prompts), self.context, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids = [self.ids[START], *self.encode(prompt), self.ids[END]]
            if len(ids) > self.context:
                ids = ids[: self.context]
                ids[-1] = self.ids[END]
            out[row, : len(ids)] = torch.tensor(ids)
        return out

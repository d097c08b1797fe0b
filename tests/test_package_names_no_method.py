"""vis_bench/ names no method: the harness learns every method from the registry, so no name,
string, docstring or comment of its code may spell a registered method or a method package's
folder (a convention that is one method's is declared by that method, in its own package)."""

from __future__ import annotations

import io
import pkgutil
import re
import tokenize
from pathlib import Path

import vis_bench.methods
from vis_bench.api.registration import available_methods, get_method

PACKAGE = Path(__file__).resolve().parents[1] / "vis_bench"
#: folders of the methods package that hold no method of their own
SHARED_FOLDERS = {"common", "families"}
#: tokens read: identifiers, strings (docstrings and f-string parts included) and comments
READ = {tokenize.NAME, tokenize.STRING, tokenize.COMMENT} | (
    {tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set()
)


def _spelling(text: str) -> str:
    """Lower case without separators: "MS-STS", "mssts" and "Mask2Former_VIS" read alike."""
    return re.sub(r"[-_]", "", text.lower())


def method_names() -> set[str]:
    """Every registered method's name and the folder of every method package (family folders
    such as a shared architecture's included), as `_spelling` writes them."""
    names = set(available_methods())
    for name in available_methods():
        module = get_method(name).__module__.split(".")
        # an in-tree plugin's package folder; a plugin another test registered lives elsewhere
        if module[:2] == ["vis_bench", "methods"] and len(module) > 3:
            names.add(module[2])
    for module in pkgutil.walk_packages(vis_bench.methods.__path__, "vis_bench.methods."):
        if module.ispkg and module.name.split(".")[-1] not in SHARED_FOLDERS:
            names.add(module.name.split(".")[-1])
    return {_spelling(name) for name in names}


def named_methods(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, token) of every token of `source` that spells one of `names`."""
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in READ and any(name in _spelling(token.string) for name in names):
            hits.append((token.start[0], token.string[:80]))
    return hits


def test_the_names_come_from_the_registry():
    names = method_names()
    assert {_spelling(name) for name in available_methods()} <= names
    assert len(available_methods()) >= 5


def test_no_file_of_the_package_names_a_method():
    names = method_names()
    hits = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {token}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, token in named_methods(path.read_text(), names)
    ]
    assert hits == [], "a method named in vis_bench/:\n" + "\n".join(hits)


def test_the_scan_sees_identifiers_docstrings_and_comments():
    source = '"""Like Some-Method\'s loop."""\nsome_method_cut = 1  # see SOMEMETHOD\nok = "fine"\n'
    assert [line for line, _ in named_methods(source, {"somemethod"})] == [1, 2, 2]

"""Whether a ground-truth path is BURST's, told before the file is parsed (`eval --metric auto`).

BURST's ground truth is a folder holding `all_classes.json`, or that file: a JSON object with a
top-level `sequences` list, which a YouTube-VIS-layout file (`videos`, `annotations`) never has.
The key comes after `split` and the category list, well inside the file's first MiB, so only
that much is read: a YouTube-VIS file of gigabytes is not parsed twice.
"""

from __future__ import annotations

import re
from pathlib import Path

#: how much of a file is looked at
HEAD_BYTES = 1 << 20
#: a top-level key of either layout, as it stands in the JSON text
_KEY = re.compile(rb'"(sequences|videos|annotations)"\s*:')


def is_burst_layout(path: str | Path) -> bool:
    """True for a folder holding `all_classes.json` or a file whose first layout key (within
    its first MiB) is `sequences`."""
    path = Path(path)
    if path.is_dir():
        return (path / "all_classes.json").is_file()
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return False  # the YouTube-VIS reader names the unreadable file
    match = _KEY.search(head)
    return match is not None and match.group(1) == b"sequences"

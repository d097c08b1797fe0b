"""`python -m tools docs [--check]`: regenerate the numbers quoted in the README and docs.

Every measured number the docs quote sits in a generated block whose source is a committed JSON
file a command wrote (see tools/doc_numbers.py). `docs` rewrites the blocks; `docs --check`
changes nothing and exits 1 when a block is out of date. A block's sources must come from one
clean commit (`--allow-dirty` to generate anyway, with each code state printed).
"""

from __future__ import annotations

import argparse

NAME = "docs"
HELP = "regenerate the numbers in README/docs from the committed JSON that commands wrote"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="only report blocks that are out of date (exit 1)"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="generate from sources made from uncommitted code or several commits (each state "
        "is printed in the block)",
    )


def run(args: argparse.Namespace) -> int:
    from tools.doc_numbers import stale_documents

    stale = stale_documents(write=not args.check, allow_dirty=args.allow_dirty)
    if args.check:
        for document in stale:
            print(f"out of date: {document} (run `python -m tools docs`)")
        return 1 if stale else 0
    for document in stale:
        print(f"rewrote {document}")
    if not stale:
        print("every generated block is up to date")
    return 0

"""`python -m tools docs [--check]`: regenerate the numbers quoted in the README and docs.

Every measured number the docs quote sits in a generated block whose source is a committed JSON
file a command wrote (see tools/doc_numbers.py). `docs` rewrites the blocks; `docs --check`
changes nothing, prints what it checked and exits 1 when a block is out of date or a picture of
the docs was drawn from other records than the committed run's (tools/picture_provenance.py;
`python -m tools pictures` draws them again). A block's sources must come from one clean commit
(`--allow-dirty` to generate anyway, with each code state printed).
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
    from tools.doc_numbers import REPO_ROOT, generated_blocks, stale_documents
    from tools.picture_provenance import check_pictures

    stale = stale_documents(write=not args.check, allow_dirty=args.allow_dirty)
    if args.check:
        blocks = generated_blocks(REPO_ROOT)
        print(
            f"checked {sum(len(names) for names in blocks.values())} generated blocks against "
            "their sources: "
            + "; ".join(f"{doc} ({', '.join(names)})" for doc, names in blocks.items())
        )
        problems, checked = check_pictures(REPO_ROOT)
        for line in checked:
            print(f"checked {line}")
        for document in stale:
            print(f"out of date: {document} (run `python -m tools docs`)")
        for problem in problems:
            print(f"out of date: {problem}")
        return 1 if stale or problems else 0
    for document in stale:
        print(f"rewrote {document}")
    if not stale:
        print("every generated block is up to date")
    return 0

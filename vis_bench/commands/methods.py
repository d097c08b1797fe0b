"""`run_bench.py methods`: list the registered methods."""

from __future__ import annotations

import argparse

from vis_bench.registry import available_methods, get_method

NAME = "methods"
HELP = "list the registered methods"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


def run(args: argparse.Namespace) -> int:
    names = available_methods()
    if not names:
        print("no methods registered (install vis-bench with `pip install -e .`)")
        return 1
    for name in names:
        plugin = get_method(name)
        notes = getattr(plugin, "notes", "")
        print(f"{name}" + (f"  ({notes})" if notes else ""))
        backbones = getattr(plugin, "backbones", ())
        if backbones:
            print(f"  backbone: {' | '.join(backbones)}")
    return 0

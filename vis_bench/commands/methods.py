"""`run_bench.py methods [NAME ...] [--brief]`: the registered methods and what each declares."""

from __future__ import annotations

import argparse

NAME = "methods"
HELP = "list the registered methods and what each declares (options, preprocessing, ...)"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="only these methods (default: all)")
    parser.add_argument("--brief", action="store_true", help="one line per method")


def run(args: argparse.Namespace) -> int:
    from vis_bench.toolkit.registry import available_methods, get_method, method_origin

    names = args.names or available_methods()
    if not names:
        print("no methods registered (install vis-bench with `pip install -e .`)")
        return 1
    for name in names:
        spec = get_method(name).spec
        print(f"{spec.name}: {spec.summary}")
        if args.brief:
            continue
        print(f"  defined in: {method_origin(name)}")
        for key, value in spec.declaration().items():
            if key == "summary" or value in ("", [], None):
                continue
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            print(f"  {key}: {shown}")
    return 0

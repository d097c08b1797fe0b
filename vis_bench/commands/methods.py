"""`run_bench.py methods [NAME ...] [--brief] [--pretrained [PATTERN]]`: the registered methods and
what each declares; with `--pretrained`, their released checkpoints by name (`method.variant`,
wildcards as in timm's `list_models`), and everything about one when the pattern names one."""

from __future__ import annotations

import argparse

HELP = "list the registered methods and what each declares (options, preprocessing, ...)"
GROUP = "benchmark"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="only these methods (default: all)")
    parser.add_argument("--brief", action="store_true", help="one line per method")
    parser.add_argument(
        "--pretrained",
        nargs="?",
        const="*",
        default=None,
        metavar="PATTERN",
        help="list the released checkpoints (`method.variant`; e.g. 'NAME.*', '*_ovis', 'r50'); "
        "one name: its options, input size, file, checksum, published numbers and licence",
    )


def run(args: argparse.Namespace) -> int:
    from vis_bench.api.capabilities import declaration
    from vis_bench.api.registration import available_methods, get_method, method_origin

    if args.pretrained is not None:
        return _pretrained(args.pretrained, args.names)

    names = args.names or available_methods()
    if not names:
        from vis_bench.errors import InputError

        raise InputError("no methods registered: install vis-bench with `pip install -e .`")
    for name in names:
        spec = get_method(name).spec
        print(f"{spec.name}: {spec.summary}")
        if args.brief:
            continue
        print(f"  defined in: {method_origin(name)}")
        for key, value in declaration(get_method(name)).items():
            if key == "summary" or value in ("", [], None):
                continue
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            print(f"  {key}: {shown}")
    return 0


#: a variant's weights licence when the authors state none apart from the code's
NOT_STATED_APART = "not stated apart from the code's"


def _pretrained(pattern: str, methods: list[str]) -> int:
    from tabulate import tabulate

    from vis_bench.api.registration import pretrained_variants
    from vis_bench.api.tables import PRETRAINED

    variants = [v for v in pretrained_variants(pattern) if not methods or v.method in methods]
    if not variants:
        from vis_bench.errors import InputError

        raise InputError(
            f"no released checkpoint matches {pattern!r}; known: {', '.join(PRETRAINED.names())}",
            field="--pretrained",
        )
    if len(variants) == 1 and variants[0].name.lower() == pattern.lower():
        _describe_variant(variants[0])
        return 0
    rows = [_variant_row(v) for v in variants]
    headers = ["name", "backbone", "dataset", "AP published", "input", "licence", "release file"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    print(
        f"{len(variants)} released checkpoint(s); `methods --pretrained NAME` for one in full, "
        "`run --set method=NAME --checkpoint FILE` to run one (nothing is downloaded)"
    )
    return 0


def _variant_row(variant) -> list[str]:
    from vis_bench.eval.benchmarks import AP, LONG_VIDEOS_AP, YTVIS2022

    published = [r for r in variant.published if r.kind == "checkpoint"] or list(variant.published)
    best = next((r for r in published if r.preferred), published[0] if published else None)
    ap = "-"
    if best is not None and AP in best.metrics:
        ap = f"{best.metrics[AP]:.1f}"
    elif best is not None and LONG_VIDEOS_AP in best.metrics:  # YouTube-VIS 2022's long videos
        ap = f"{best.metrics[LONG_VIDEOS_AP]:.1f} ({YTVIS2022.heading(LONG_VIDEOS_AP)})"
    if best is not None and best.kind == "paper":
        ap += " (paper)"
    size = f"{variant.resolution}" + (f"/{variant.max_size}" if variant.max_size else "")
    licence = variant.licence.code
    if variant.licence.weights not in (NOT_STATED_APART, variant.licence.code):
        licence += f"; weights {variant.licence.weights}"
    name = variant.name + (" (not supported)" if variant.unsupported else "")
    return [name, variant.backbone_name(), variant.dataset, ap, size, licence, variant.release_file]


def _describe_variant(variant) -> None:
    print(f"{variant.name}: {variant.summary}")
    for key, value in variant.describe().items():
        if key in ("name", "summary") or value in ("", None, {}):
            continue
        shown = (
            ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
        )
        print(f"  {key}: {shown}")
    for result in variant.published:
        metrics = ", ".join(f"{k} {v:g}" for k, v in result.metrics.items())
        where = result.source.get("repository") or result.source.get("paper", "")
        commit = result.source.get("commit", "")
        print(f"  published ({result.kind}, {result.dataset}, T={result.clip_length}): {metrics}")
        print(
            f"    source: {where}"
            + (f" @ {commit[:9]}" if commit else "")
            + f"; {result.source.get('file', '')} {result.source['table']}".rstrip()
        )
        if result.notes:
            print(f"    note: {result.notes}")

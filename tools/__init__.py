"""The repository's own tooling: commands that need a vis-bench checkout, not an install.

`python -m tools docs [--check]` regenerates the numbers in the README and docs from the committed
JSON under results/ and benchmarks/results/ (`doc_numbers`, with `benchmark_blocks` and
`doc_sources`). setup.py installs none of it: the package `vis_bench` never imports `tools`, and
`tools` builds on `vis_bench` like any other user of it.
"""

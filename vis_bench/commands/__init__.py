"""Subcommands of `run_bench.py`; each module here is discovered by `vis_bench.cli`."""

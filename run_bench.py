"""Entry point of vis-bench: `python run_bench.py <command> ...` (see `--help`)."""

import sys

from vis_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())

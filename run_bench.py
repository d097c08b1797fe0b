"""Entry point of vis-bench: `python run_bench.py <command> ...` (see `--help`)."""

from vis_bench.cli import finish, main

if __name__ == "__main__":
    finish(main())

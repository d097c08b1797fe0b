"""`python -m vis_bench COMMAND ...`: the same commands as `vis-bench` and `run_bench.py`."""

from vis_bench.cli import finish, main

if __name__ == "__main__":
    finish(main())

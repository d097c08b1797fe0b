"""Entry point of vis-bench in a checkout: `python run_bench.py <command> ...` (see `--help`).

The installed package's commands run as `vis-bench <command>`; the repository's own tooling
(`docs`: tools/) is no command of the package, but a checkout's `run_bench.py docs` still runs it.
"""

import sys

from vis_bench.cli import finish, main

if __name__ == "__main__":
    if sys.argv[1:2] == ["docs"]:
        from tools.__main__ import main as repository_main

        sys.exit(repository_main(sys.argv[1:]))
    finish(main())

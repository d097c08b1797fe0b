"""`python -m vis_bench COMMAND ...`: the same commands as `vis-bench` and `run_bench.py`.

The program is named as it was called, in usage lines and in the command line a record or a
written file keeps (provenance), which read `sys.argv[0]`.
"""

import sys

from vis_bench.cli import finish, main

if __name__ == "__main__":
    sys.argv[0] = "python -m vis_bench"
    finish(main())

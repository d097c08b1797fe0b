"""A sweep cell's record: its type, its parts and the run folder's store of them.

`cell.py` is the typed record (`CellRecord`: one line of records.jsonl read back as the type the
sweep made it as, and the one writer of that line), `parts.py` its parts (`Speed`, `Memory`,
`Flops`, `Execution`...), `store.py` the records.jsonl file (appended atomically, read back,
repaired) and the run folder's configs/. The sweep writes records and the reports read them;
both stand above this package, beside each other.
"""

from vis_bench.records.cell import INTERVAL_SUFFIX, LAYOUT, REPEAT, WARNING, CellRecord

__all__ = ["INTERVAL_SUFFIX", "LAYOUT", "REPEAT", "WARNING", "CellRecord"]

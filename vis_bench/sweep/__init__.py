"""Sweeps: every cell of methods x clip schedules x resolutions x devices x dtypes, each predicted
in its own worker process, scored, measured and recorded (see run.py)."""

from vis_bench.sweep.cells import Cell, expand_cells
from vis_bench.sweep.methods import MethodEntry, resolve_methods
from vis_bench.sweep.run import run_sweep, summary_line, sweep_records

__all__ = [
    "Cell",
    "MethodEntry",
    "expand_cells",
    "resolve_methods",
    "run_sweep",
    "summary_line",
    "sweep_records",
]

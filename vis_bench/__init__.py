"""vis-bench: a benchmark and evaluation harness for video instance segmentation."""

__version__ = "0.1.0"

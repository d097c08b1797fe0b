"""An example vis-bench method in a package of its own (see plugin.py)."""

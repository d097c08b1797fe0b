"""Optional compiled operators (C++/CUDA) for hot spots of the methods, with pure-PyTorch fallbacks.

Nothing is compiled at import: each operator builds its extension on first use and falls back to
its PyTorch reference (with one warning) when no compiler is available or the build fails.
"""

"""Test-only helpers (a toy method plugin)."""

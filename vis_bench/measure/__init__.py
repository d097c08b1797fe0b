"""Measurements: FLOPs (multiply-add convention), timing, memory, environment."""

"""Timed rounds for tests that check what a sweep writes, not how precise its FPS is.

A sweep's defaults time each cell again and again until its FPS's interval is within 3 %, up to
8 rounds of a second each: on a shared, loaded machine a toy method never gets there, and each
cell takes its whole budget (tens of seconds a test). These settings time exactly `rounds`
rounds (precision 0), each one pass over `round_frames` frames (no minimum seconds); the tests
of the precision rule itself (tests/test_fps_trust.py) set their own.
"""

from __future__ import annotations

#: measure settings: exactly `rounds` rounds, each as short as its frames allow
QUICK_ROUNDS = {"precision": 0, "round_seconds": 0}

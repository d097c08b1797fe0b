"""A window's frames are stacked by the input worker that reads the last of them, not by the
main thread between two model calls; an unreadable frame's error reaches the main thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from vis_bench.errors import InputError
from vis_bench.inference.input_workers import stack_when_read


def _frame(gate: threading.Event, value: int) -> torch.Tensor:
    assert gate.wait(timeout=30)
    if value < 0:
        raise InputError(f"frame {-value} could not be read")
    return torch.full((3, 2, 2), value)


def test_the_worker_reading_the_last_frame_stacks_the_window(monkeypatch) -> None:
    gate, stacked_on = threading.Event(), []
    stack = torch.stack

    def noted(tensors, *args, **kwargs):
        stacked_on.append(threading.current_thread().name)
        return stack(tensors, *args, **kwargs)

    monkeypatch.setattr(torch, "stack", noted)
    with ThreadPoolExecutor(2, thread_name_prefix="reader") as pool:
        futures = [pool.submit(_frame, gate, k) for k in range(3)]
        stacked = stack_when_read(futures)
        gate.set()
        frames = stacked.take()
    assert [float(frames[k, 0, 0, 0]) for k in range(3)] == [0.0, 1.0, 2.0]
    assert stacked_on and all(name.startswith("reader") for name in stacked_on)
    assert futures == []  # the window holds its frames once, in the stack


def test_an_unreadable_frame_is_raised_when_the_window_is_taken() -> None:
    gate = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        stacked = stack_when_read([pool.submit(_frame, gate, k) for k in (0, -1, 2)])
        gate.set()
        with pytest.raises(InputError, match="frame 1 could not be read"):
            stacked.take()


def test_a_window_of_no_frames_is_an_empty_stack() -> None:
    assert stack_when_read([]).take().shape == (0, 3, 0, 0)

"""The linking thread's own CUDA stream, ordered after the model's work it links.

On one stream, every copy to the host waits for all the work queued before it. The linking of
window k runs while the main thread queues window k+1's model, so on the main stream its first
copy (a clip's labels, the assignment's matrix) would wait for that model too, and the overlap
would be lost. So the linking thread queues its work on a stream of its own, which waits on the
device for an event the main thread records when it hands the window over: after window k's
model, before window k+1's.

The tensors handed over were made on the main stream: `record_stream` tells PyTorch's caching
allocator that the linking stream uses them too, so that a block freed while that stream's work
on it is pending is not handed out again before the work is done. Each job ends with its stream
synchronised, so what it made is complete before the main thread reads it (a carried state, the
input of a refinement) or the pass's timer stops.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch

#: how deep `tensors_in` looks into a job's arguments (a partial of a partial of a result)
DEPTH = 6


class StreamOrder:
    """The linking stream of one pass, on the CUDA device `index`."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.stream = torch.cuda.Stream(device=index)

    def hand_over(self, job: Callable[[], Any]) -> Callable[[], Any]:
        """Called on the main thread: `job`, to run on the linking stream after the work the
        main stream has queued so far."""
        ready = torch.cuda.Event()
        ready.record(torch.cuda.current_stream(self.index))
        for tensor in tensors_in(job):
            if tensor.is_cuda:
                tensor.record_stream(self.stream)
        stream = self.stream

        def on_stream() -> Any:
            with torch.cuda.stream(stream):
                stream.wait_event(ready)
                value = job()
                stream.synchronize()
            return value

        return on_stream


def tensors_in(value: Any, depth: int = DEPTH) -> Iterator[torch.Tensor]:
    """The tensors a job's arguments hold: in partials' arguments, dataclasses (a
    `ClipResult`), dicts, lists and tuples, down to `depth` levels."""
    if isinstance(value, torch.Tensor):
        yield value
        return
    if depth == 0:
        return
    if isinstance(value, functools.partial):
        children: Any = [*value.args, *value.keywords.values()]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = value
    else:
        return
    for child in children:
        yield from tensors_in(child, depth - 1)

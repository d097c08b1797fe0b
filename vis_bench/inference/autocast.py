"""The precision a cell's forward runs in: fp32 as written, fp16 and bf16 under torch.autocast.

Apart from the runner so that the calls outside its timed pass (untimed_calls.py) and the
timing protocols run the forward under the same context as the pass does.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def autocast(device: str, dtype: str) -> Any:
    """The context of a forward in `dtype` on `device` (none for fp32)."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=DTYPES[dtype])

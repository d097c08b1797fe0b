"""What a caller adds to a pass of the runner: the untimed calls around its timer, and hooks
called at the pass's named moments.

A pass (`runner.run_method`) is the same for every caller; what differs is what each reads or
decides around it. A cell's accuracy pass reads the machine's load and energy around the timed
part and counts the warm-up's FLOPs; a timed round reads the machine's reference speed and stops
once it has covered enough; both leave the compiler's seconds out and count videos done. Each is
a `PassHooks` subclass overriding the moments it needs; the defaults do nothing. Kept free of
torch so that a sweep's worker module can subclass it before torch is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class UntimedCalls:
    """The calls of a pass outside its timer, on its first clip: `warmup` untimed calls before
    it (on the clip's first `warmup_frames` only, when given: a timed round pays its one-time
    costs in a fraction of a whole video's forward), and, when `single_clip`, `infer_clip`
    alone `repeats` times after it (a separate measurement)."""

    warmup: int = 1
    warmup_frames: int | None = None
    single_clip: bool = False
    repeats: int = 3


#: one untimed warm-up call on the whole first clip, no single-clip timing
WARM_UP_ONCE = UntimedCalls()
#: no call outside the timer (the first clip's one-time costs land in the timed pass)
NO_WARM_UP = UntimedCalls(warmup=0)


class PassHooks:
    """A caller's part in a pass, at its named moments, in this order: `warm_up` (before the
    timer), `before_timed`, then after each video `video_done` and `should_stop`, and
    `after_timed` (after the timer, when a first clip was timed)."""

    #: a running count of seconds the pass's timers leave out (the compiler's), or None
    exclude: Callable[[], float] | None = None

    def warm_up(self, first_clip: torch.Tensor, call: Callable[[], None]) -> Any:
        """The untimed warm-up: run `call` (on `first_clip`). A hook may run it inside a probe
        (the worker counts its FLOPs there, so counting costs no forward of its own); what this
        returns is `RunOutcome.warmup_probe`."""
        call()
        return None

    def before_timed(self) -> None:
        """The timed part is about to start (the warm-up done)."""

    def after_timed(self) -> None:
        """The timed part has ended (the last video's results in)."""

    def video_done(self) -> None:
        """A video's last window has gone through the method."""

    def should_stop(self, frames: int, seconds: float) -> bool:
        """After each video, with the frames and timed seconds so far: True ends the pass."""
        return False


#: a pass with nothing added
NO_HOOKS = PassHooks()

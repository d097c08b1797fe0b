"""The exit statuses of every command, one meaning each, so a CI script can tell a bad answer
from a broken run (docs/commands.md has the table).

Standard library only: command modules import this at module level.
"""

from __future__ import annotations

#: the command did what it was asked and every check passed
OK = 0
#: the command ran, and the answer is bad: an AP regression, a failed cell, predictions the
#: metric dropped, a parity mismatch, an invalid results file, FLOPs off the paper's
BAD_ANSWER = 1
#: a usage or input error: a wrong flag, config field or file (one line naming it, nothing run),
#: or a file the system could not read or write (a full disk, no permission: the path named)
USAGE = 2
#: an internal error: vis-bench (or a method's code) raised what no input explains; the
#: traceback is printed, to be reported
INTERNAL = 3
#: interrupted with Ctrl-C (SIGINT), 128 + 2 as a shell gives; every finished record is kept
INTERRUPTED = 130
#: the reader of the output closed the pipe early (`| head`), 128 + SIGPIPE
BROKEN_PIPE = 141
#: ended with SIGTERM (a scheduler's or `kill`'s), handled as Ctrl-C: 128 + 15
TERMINATED = 143

"""When the tests of the compiled RLE kernel may skip: only when no C compiler exists.

setup.py builds `vis_bench/eval/rle/_rle_kernel.c` as an optional extension, so a failed build
still installs and the metric quietly takes the slower pycocotools path. Tests must not be as
quiet: without a compiler the kernel tests skip (saying what was looked for), but with a
compiler present a kernel that does not import is a broken build, and they fail.
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import sysconfig

import pytest

KERNEL_MODULE = "vis_bench.eval.rle._rle_kernel"


def c_compiler() -> tuple[str, str | None]:
    """(the command a `pip install` build would run, its path on PATH or None).

    setuptools takes the compiler from $CC, else from Python's build configuration
    (sysconfig CC, e.g. "gcc -pthread"); its first word is the program.
    """
    configured = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
    words = shlex.split(configured)
    if not words:
        return "", None
    return words[0], shutil.which(words[0])


def kernel_import_error(module: str = KERNEL_MODULE) -> str | None:
    """None when the compiled kernel imports, else the error it raised."""
    try:
        importlib.import_module(module)
    except ImportError as err:
        return f"{type(err).__name__}: {err}"
    return None


def kernel_test_decision(
    import_error: str | None, compiler: str, compiler_path: str | None
) -> tuple[str, str]:
    """("run", ""), ("skip", why) or ("fail", why) for the kernel's tests."""
    if import_error is None:
        return "run", ""
    if compiler_path is None:
        where = f"{compiler!r} (from $CC or sysconfig CC)" if compiler else "none configured"
        return "skip", f"no C compiler to build {KERNEL_MODULE}: {where}, not found on PATH"
    return "fail", (
        f"{KERNEL_MODULE} does not import ({import_error}) although a C compiler exists "
        f"({compiler_path}): its build failed; reinstall with `pip install -e .` and read the "
        "build output"
    )


def require_rle_kernel() -> None:
    """Skip the calling test without a C compiler; fail it when the kernel should be there."""
    action, reason = kernel_test_decision(kernel_import_error(), *c_compiler())
    if action == "skip":
        pytest.skip(reason)
    if action == "fail":
        pytest.fail(reason)

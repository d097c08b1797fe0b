"""The compiled RLE kernel's tests skip only without a C compiler; a failed build fails them."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import rle_kernel
from tests.helpers.rle_kernel import c_compiler, kernel_import_error, kernel_test_decision


def test_an_importable_kernel_is_tested():
    assert kernel_test_decision(None, "gcc", None) == ("run", "")
    assert kernel_test_decision(None, "gcc", "/usr/bin/gcc") == ("run", "")


def test_no_compiler_skips_naming_what_was_looked_for():
    action, reason = kernel_test_decision("ImportError: no module", "gcc", None)
    assert action == "skip"
    assert "no C compiler" in reason and "'gcc'" in reason and "not found on PATH" in reason
    action, reason = kernel_test_decision("ImportError: no module", "", None)
    assert action == "skip" and "none configured" in reason


def test_a_failed_build_with_a_compiler_present_fails():
    action, reason = kernel_test_decision("ImportError: undefined symbol: x", "cc", "/usr/bin/cc")
    assert action == "fail"
    assert "undefined symbol: x" in reason and "/usr/bin/cc" in reason
    assert "pip install -e ." in reason


def test_compiler_comes_from_cc_then_sysconfig(monkeypatch):
    monkeypatch.setenv("CC", "surely-not-a-compiler-xyz -O2")
    assert c_compiler() == ("surely-not-a-compiler-xyz", None)
    monkeypatch.setenv("CC", sys.executable)  # any program on disk stands in for a compiler
    assert c_compiler() == (sys.executable, sys.executable)
    monkeypatch.delenv("CC")
    monkeypatch.setattr(rle_kernel.sysconfig, "get_config_var", lambda name: "nocc-xyz -pthread")
    assert c_compiler() == ("nocc-xyz", None)
    monkeypatch.setattr(rle_kernel.sysconfig, "get_config_var", lambda name: None)
    assert c_compiler() == ("", None)


def test_import_error_is_reported():
    assert kernel_import_error("vis_bench.eval.no_such_kernel_xyz").startswith(
        "ModuleNotFoundError: "
    )
    assert kernel_import_error("json") is None


def test_require_fails_when_a_compiler_exists_but_the_kernel_is_missing(monkeypatch):
    monkeypatch.setattr(rle_kernel, "kernel_import_error", lambda: "ImportError: gone")
    monkeypatch.setattr(rle_kernel, "c_compiler", lambda: ("cc", "/usr/bin/cc"))
    with pytest.raises(pytest.fail.Exception, match="ImportError: gone"):
        rle_kernel.require_rle_kernel()
    monkeypatch.setattr(rle_kernel, "c_compiler", lambda: ("cc", None))
    with pytest.raises(pytest.skip.Exception, match="no C compiler"):
        rle_kernel.require_rle_kernel()

"""The CLI discovers its commands and the registry resolves, lists and rejects method names."""

from __future__ import annotations

import pytest

from vis_bench import registry
from vis_bench.cli import build_parser, main


def test_cli_lists_discovered_commands(capsys):
    parser, commands = build_parser()
    assert "methods" in commands
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "methods" in capsys.readouterr().out


def test_register_and_lookup_is_case_insensitive(monkeypatch):
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_entry_points_loaded", True)

    @registry.register_method("ToyMethod")
    class Toy:
        pass

    assert registry.get_method("toymethod") is Toy
    assert registry.available_methods() == ["toymethod"]


def test_unknown_method_lists_known_names(monkeypatch):
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_entry_points_loaded", True)

    @registry.register_method("alpha")
    class Alpha:
        pass

    with pytest.raises(registry.UnknownMethodError, match="known methods: alpha"):
        registry.get_method("beta")


def test_double_registration_is_an_error(monkeypatch):
    monkeypatch.setattr(registry, "_registry", {})

    @registry.register_method("dup")
    class One:
        pass

    with pytest.raises(registry.VisBenchError, match="registered twice"):

        @registry.register_method("dup")
        class Two:
            pass

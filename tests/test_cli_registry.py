"""The CLI discovers its commands and the registry resolves, lists and rejects method names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vis_bench.api import registration as registry
from vis_bench.api.tables import ENTRY_POINT_GROUP
from vis_bench.cli import build_parser, main


def test_cli_lists_discovered_commands(capsys):
    parser, commands = build_parser()
    assert "methods" in commands
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "methods" in capsys.readouterr().out


def test_help_groups_commands_by_who_uses_them(capsys):
    from vis_bench.cli import GROUPS, command_group

    _, commands = build_parser()
    assert {
        name: command_group(m) for name, m in commands.items() if command_group(m) not in GROUPS
    } == {}
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    starts = [out.index(f"{group} commands (") for group in GROUPS]
    assert starts == sorted(starts)
    developer = out[starts[2] : starts[3]]
    assert "\n  keys " in developer and "\n  parity " in developer
    assert "\n  docs " not in out  # the repository's tooling: `python -m tools docs`
    assert "\n  eval " in out[starts[1] : starts[2]]
    assert "\n  run " in out[starts[0] : starts[1]]


def _plugin_class(name: str) -> type:
    """A minimal MethodPlugin subclass declaring `name`."""
    import dataclasses

    from vis_bench.api.plugin import MethodPlugin
    from vis_bench.api.preprocessing import Preprocessing
    from vis_bench.api.spec import MethodSpec

    @dataclasses.dataclass
    class Options:
        pass

    spec = MethodSpec(name, "a test method", Options, Preprocessing(shorter_side=32))
    return type(
        name.title(), (MethodPlugin,), {"spec": spec, "create": classmethod(lambda c, o: c())}
    )


def _fresh_methods(monkeypatch) -> None:
    """An empty method registry that loads nothing, for the length of one test."""
    from vis_bench.registry import Registry

    monkeypatch.setattr(registry, "METHODS", Registry("method"))


def test_register_and_lookup_is_case_insensitive(monkeypatch):
    _fresh_methods(monkeypatch)
    toy = registry.register_method("ToyMethod")(_plugin_class("ToyMethod"))
    assert registry.get_method("toymethod") is toy
    assert registry.available_methods() == ["toymethod"]


def test_unknown_method_lists_known_names_and_the_closest(monkeypatch):
    _fresh_methods(monkeypatch)
    registry.register_method("alpha")(_plugin_class("alpha"))
    with pytest.raises(registry.UnknownMethodError, match="unknown method 'beta'; known: alpha"):
        registry.get_method("beta")
    with pytest.raises(registry.UnknownMethodError, match="did you mean 'alpha'"):
        registry.get_method("alpah")


def test_double_registration_is_an_error(monkeypatch):
    _fresh_methods(monkeypatch)
    registry.register_method("dup")(_plugin_class("dup"))
    with pytest.raises(registry.VisBenchError, match="registered twice"):
        registry.register_method("dup")(_plugin_class("dup"))


def test_only_method_plugins_with_a_matching_spec_register(monkeypatch):
    _fresh_methods(monkeypatch)

    class NotAPlugin:
        pass

    with pytest.raises(registry.VisBenchError, match="not a MethodPlugin subclass"):
        registry.register_method("x")(NotAPlugin)
    with pytest.raises(registry.VisBenchError, match="its spec names 'other'"):
        registry.register_method("x")(_plugin_class("other"))


def test_install_adds_no_generic_top_level_packages(tmp_path):
    """methods/ and cuda_ops/ install as vis_bench.methods and vis_bench.cuda_ops only."""
    code = (
        "import importlib.util as u, json; "
        "print(json.dumps([u.find_spec(n) is not None for n in "
        "('methods', 'cuda_ops', 'vis_bench.methods.seqformer', 'vis_bench.cuda_ops')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [False, False, True, True]


def test_in_tree_methods_register_with_the_decorator():
    """The in-tree plugins are found through their @register_method, not entry points."""
    from importlib import metadata

    names = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert not names & {"seqformer", "ifc", "mssts", "mssts-release"}
    assert {"seqformer", "ifc", "mssts", "mssts-release"} <= set(registry.available_methods())

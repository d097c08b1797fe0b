"""The one registry behind methods, backbones, backbone parity, FLOP formulas and released
checkpoints: registration, lazy entries, base checks, origins, lookups and their errors."""

from __future__ import annotations

import sys
import types

import pytest

from vis_bench.errors import VisBenchError
from vis_bench.registry import Registry, UnknownEntryError


class Base:
    pass


class Child(Base):
    pass


def test_the_decorator_registers_and_returns_the_class_unchanged():
    table: Registry[type[Base]] = Registry("widget", base=Base)

    @table.register("Gear")
    class Gear(Base):
        pass

    assert table.get("gear") is Gear and table["GEAR"] is Gear
    assert "gear" in table and "cog" not in table
    assert table.names() == ["Gear"] and len(table) == 1
    # where it was defined: this file and the class's line
    origin = table.origin("gear")
    assert origin.startswith(f"{__name__}.") and "Gear (tests/test_registry.py:" in origin


def test_an_instance_registry_checks_instances_and_records_the_caller():
    table: Registry[Base] = Registry("widget", base=Base, instance=True)
    table.register("one", Child())
    assert "tests/test_registry.py:" in table.origin("one")
    with pytest.raises(VisBenchError, match="is not an instance of"):
        table.register("two", object())


def test_a_class_registry_refuses_what_is_not_a_subclass():
    table: Registry[type[Base]] = Registry("widget", base=Base)
    with pytest.raises(VisBenchError, match="is not a subclass of"):
        table.register("x", int)


def test_a_name_taken_by_another_object_is_an_error_naming_both_origins():
    table: Registry[type[Base]] = Registry("widget", base=Base)
    table.register("x", Child)
    table.register("x", Child)  # the same object again is harmless (a module imported twice)

    class Other(Base):
        pass

    with pytest.raises(VisBenchError, match=r"'x' is registered twice: by .*Child.* and .*Other"):
        table.register("x", Other)
    table.register("x", Other, replace=True)
    assert table.get("x") is Other


def test_lazy_entries_import_on_first_lookup_and_are_checked_then(monkeypatch):
    module = types.ModuleType("vis_bench_lazy_probe")
    imported = []

    def __getattr__(name):  # records the lookup that resolved the entry
        imported.append(name)
        raise AttributeError(name)

    module.Good = Child
    module.Bad = int
    module.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "vis_bench_lazy_probe", module)
    table: Registry[type[Base]] = Registry("widget", base=Base)
    table.register_lazy("good", "vis_bench_lazy_probe:Good")
    table.register_lazy("bad", "vis_bench_lazy_probe:Bad")
    table.register_lazy("missing", "vis_bench_lazy_probe:Missing")
    assert table.origin("good") == "vis_bench_lazy_probe:Good"  # not imported yet
    assert table.get("good") is Child
    assert "Child (tests/test_registry.py:" in table.origin("good")
    with pytest.raises(VisBenchError, match="is not a subclass of"):
        table.get("bad")
    with pytest.raises(VisBenchError, match=r"'missing' \('vis_bench_lazy_probe:Missing'\) failed"):
        table.get("missing")
    with pytest.raises(VisBenchError, match="must be 'module:object'"):
        table.register_lazy("x", "no_colon")


def test_a_lazy_entry_whose_module_registers_its_object_itself_is_one_entry(monkeypatch):
    """A plugin named by an entry point whose module also decorates it registers once."""
    table: Registry[type[Base]] = Registry("widget", base=Base)
    module = types.ModuleType("vis_bench_lazy_self")

    class Widget(Base):
        pass

    Widget.__module__, Widget.__qualname__ = "vis_bench_lazy_self", "Widget"

    def __getattr__(name):  # importing the module runs its decorator first
        if name != "Widget":
            raise AttributeError(name)
        module.Widget = Widget
        table.register("widget", Widget)
        return Widget

    module.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "vis_bench_lazy_self", module)
    table.register_lazy("widget", "vis_bench_lazy_self:Widget")
    assert table.get("widget") is Widget and table.names() == ["widget"]
    with pytest.raises(VisBenchError, match="registered twice"):
        table.register("widget", Child)


def test_an_unknown_name_lists_the_known_ones_and_the_closest():
    table: Registry[int] = Registry("number", base=int, instance=True)
    table.register("seven", 7)
    table.register("eleven", 11)
    with pytest.raises(UnknownEntryError) as info:
        table.get("sevne")
    assert str(info.value) == (
        "unknown number 'sevne'; known: eleven, seven (did you mean 'seven'?)"
    )
    assert isinstance(info.value, KeyError)
    assert table.get("eight", None) is None


def test_match_takes_wildcards_or_a_fragment():
    table: Registry[int] = Registry("variant", base=int, instance=True)
    for i, name in enumerate(["ifc.r50_ytvis19", "ifc.r101_ytvis19", "minvis.r50_ovis"]):
        table.register(name, i)
    assert table.match("ifc.*") == ["ifc.r101_ytvis19", "ifc.r50_ytvis19"]
    assert table.match("*_ovis") == ["minvis.r50_ovis"]
    assert table.match("r50") == ["ifc.r50_ytvis19", "minvis.r50_ovis"]
    assert table.match(None) == table.names()


def test_the_loader_runs_once_before_the_first_lookup():
    calls = []

    def load():
        calls.append(1)
        table.register("filled", 1)
        assert "filled" in table  # a lookup while loading does not load again

    table: Registry[int] = Registry("entry", base=int, instance=True, loader=load)
    assert calls == []
    assert table.names() == ["filled"] and table.get("filled") == 1
    assert calls == [1]


def test_every_table_of_the_project_is_a_registry():
    from vis_bench.api.flops import FLOP_FORMULAS
    from vis_bench.api.tables import BACKBONE_PARITY, METHODS
    from vis_bench.methods.common.backbone_registry import BACKBONES

    for table in (METHODS, BACKBONES, BACKBONE_PARITY, FLOP_FORMULAS):
        assert isinstance(table, Registry)
    assert "ifc" in METHODS and "resnet50" in BACKBONES and "swin_l" in BACKBONE_PARITY
    assert "methods/ifc/plugin.py:" in METHODS.origin("ifc")
    assert "methods/common/backbone_registry.py:" in BACKBONES.origin("resnet50")

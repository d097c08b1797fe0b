"""The configs and tiny weights ship with the package and are found by their repository paths
from any directory (the installed wheel itself: scripts/check_installed.sh)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.tracked import tracked
from vis_bench import shipped
from vis_bench.commands.run import default_config_path
from vis_bench.config import load_config
from vis_bench.formats.checkpoints import resolve_checkpoint

REPO = Path(__file__).resolve().parents[1]


def _setup_table(name: str) -> dict[str, str]:
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no {name}")


def test_setup_installs_the_folders_the_package_looks_in():
    installed = {folder: f"vis_bench.shipped.{sub}" for folder, sub in shipped.FOLDERS.items()}
    assert _setup_table("SHIPPED") == installed


def test_the_default_config_and_its_weights_resolve_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config_path = default_config_path()
    assert config_path.is_file() and config_path.samefile(REPO / "configs" / "default.yaml")
    config = load_config("configs/default.yaml")
    for method in config.methods:
        assert resolve_checkpoint(method.checkpoint).is_file(), method.checkpoint
    backbone = resolve_checkpoint("results/checkpoints/tiny_backbone.pth")
    assert backbone.samefile(REPO / "results" / "checkpoints" / "tiny_backbone.pth")


def test_a_file_in_the_working_directory_wins_and_unknown_paths_stay(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "default.yaml").write_text("name: mine\n")
    assert shipped.resolve("configs/default.yaml") == Path("configs/default.yaml")
    assert shipped.resolve("configs/nope.yaml") == Path("configs/nope.yaml")
    assert shipped.resolve("elsewhere/x.pth") == Path("elsewhere/x.pth")
    assert shipped.shipped_path("results/other/x.pth") is None


#: the most a shipped checkpoint may hold (decimal megabytes): the repository keeps every version
SHIPPED_CHECKPOINT_BYTES = 10_000_000


def test_every_shipped_checkpoint_is_under_ten_megabytes_and_opens_with_its_bases():
    from vis_bench.formats.checkpoints import open_checkpoint

    files = tracked("results/checkpoints/*.pth")  # not a checkpoint of one's own beside them
    assert len(files) >= 10
    for path in files:
        assert path.stat().st_size < SHIPPED_CHECKPOINT_BYTES, path.name
        contents = open_checkpoint(path)
        assert contents.state_dict, path.name
        assert all(Path(base).parent == path.parent for base in contents.bases), path.name
    stages = open_checkpoint(REPO / "results" / "checkpoints" / "dvis_plus_offline_tiny.pth")
    assert [Path(b).name for b in stages.bases] == [
        "dvis_plus_online_tiny.pth",
        "dvis_plus_segmenter_tiny.pth",
    ]

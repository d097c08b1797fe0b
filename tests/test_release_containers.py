"""The authors' released files as a user downloads them, each container made from a golden
fixture's state dict the way the authors' (or the host's) tooling writes it, then loaded through
the method's own loader into the network its parity check builds: the load is strict and the
parity run's outputs are exactly those of the original weights. Hostile files are refused with
the file and the reason, exit 2, and nothing they name is run.
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers.release_files import (
    transformers_videomt_state,
    write_ddp_resave,
    write_float16,
    write_model_zoo_pickle,
    write_training_file,
    write_transformers_videomt,
)
from vis_bench.api.checkpoints import (
    CheckpointError,
    LoadReport,
    load_method_checkpoint,
)
from vis_bench.api.registration import get_method
from vis_bench.cli import main
from vis_bench.formats.checkpoints import open_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")
REPO = Path(__file__).resolve().parents[1]

#: method -> its golden fixture folder
FIXTURES = {
    "mask2former-vis": "mask2former_vis",
    "minvis": "minvis",
    "dvis-plus-online": "dvis_plus_online",
    "dvis-plus-offline": "dvis_plus_offline",
    "videomt": "videomt",
    "seqformer": "seqformer",
    "ifc": "ifc",
    "mssts-release": "mssts",
}
#: the Mask2Former family, whose decoder once named its queries `static_query`
MASK2FORMER_FAMILY = ("mask2former-vis", "minvis", "dvis-plus-online", "dvis-plus-offline")


def original_state(golden_dir: Path, method: str) -> dict[str, torch.Tensor]:
    """The fixture's weights as the parity check loads them (float32)."""
    path = golden_dir / FIXTURES[method] / "public" / "state_dict.pt"
    stored = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float() if v.is_floating_point() else v for k, v in stored.items()}


def _videomt_config(golden_dir: Path) -> dict[str, Any]:
    """Transformers' config.json for the fixture's reduced VidEoMT (from its meta.json)."""
    meta = json.loads((golden_dir / "videomt/public/meta.json").read_text())
    call = meta["timm_create_model_call"]
    overrides = meta["overrides"]
    classes = int(overrides["MODEL.BACKBONE.NUM_CLASSES"])
    return {
        "architectures": ["VideomtForUniversalSegmentation"],
        "model_type": "videomt",
        "hidden_size": call["embed_dim"],
        "num_hidden_layers": call["depth"],
        "num_attention_heads": call["num_heads"],
        "mlp_ratio": 4,
        "image_size": call["img_size"],
        "patch_size": call["patch_size"],
        "num_register_tokens": 4,
        "num_queries": int(overrides["MODEL.BACKBONE.NUM_OBJECT_QUERIES"]),
        "num_blocks": len(json.loads(overrides["MODEL.BACKBONE.SEGMENTER_BLOCKS"])),
        "id2label": {str(i): f"class {i}" for i in range(classes)},
        "layerscale_value": 1.0,
        "num_frames": 2,
    }


#: container -> (writer(state, folder, golden_dir) -> path, the methods it applies to)
CONTAINERS: dict[str, tuple[Callable[[dict, Path, Path], Path], tuple[str, ...]]] = {
    "model-zoo pickle, protocol 2": (
        lambda s, d, g: write_model_zoo_pickle(s, d / "model_final.pkl", 2),
        tuple(FIXTURES),
    ),
    "model-zoo pickle, protocol 4": (
        lambda s, d, g: write_model_zoo_pickle(s, d / "model_final.pkl", 4),
        tuple(FIXTURES),
    ),
    "model-zoo pickle with static_query": (
        lambda s, d, g: write_model_zoo_pickle(
            {k: v for k, v in s.items() if k != "criterion.empty_weight"},
            d / "model_final.pkl",
            4,
            static_query=True,
        ),
        MASK2FORMER_FAMILY,
    ),
    "training file": (lambda s, d, g: write_training_file(s, d / "model.pth"), tuple(FIXTURES)),
    "DDP re-save": (lambda s, d, g: write_ddp_resave(s, d / "model.pth"), tuple(FIXTURES)),
    "float16 copy": (lambda s, d, g: write_float16(s, d / "model.pth"), tuple(FIXTURES)),
    "Transformers folder": (
        lambda s, d, g: write_transformers_videomt(s, d / "videomt-hf", _videomt_config(g)),
        ("videomt",),
    ),
}
CASES = [(c, m) for c, (_, methods) in CONTAINERS.items() for m in methods]
#: what the fast tier runs (one container per reading path; the rest are slow)
FAST = {
    ("model-zoo pickle with static_query", "minvis"),
    ("model-zoo pickle, protocol 2", "videomt"),
    ("training file", "minvis"),
    ("DDP re-save", "dvis-plus-online"),
    ("float16 copy", "ifc"),
    ("Transformers folder", "videomt"),
}


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    if isinstance(tree, list | tuple):
        return _flat(dict(enumerate(tree)), prefix)
    return {prefix: tree}


def _same(a: Any, b: Any) -> bool:
    if torch.is_tensor(a):
        if not torch.is_tensor(b) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.is_floating_point():  # NaN where the other has NaN (the authors' empty frames)
            return bool(((a == b) | (a.isnan() & b.isnan())).all())
        return torch.equal(a, b)
    return a == b


def parity_through(
    monkeypatch: pytest.MonkeyPatch, method: str, fixture: Path, file: Path | None, out: Path
) -> tuple[Any, list[LoadReport]]:
    """The method's parity run with its weights read from `file` by the method's own loader
    (strict) instead of the fixture's state_dict.pt; None: the original weights."""
    plugin = get_method(method)
    reports: list[LoadReport] = []
    if file is not None:

        def load(report: Any, model: torch.nn.Module, path: Path, **_: Any) -> dict:
            reports.append(load_method_checkpoint(plugin, model, open_checkpoint(file)))
            report.add_exact("state_dict keys", True, f"read from {file.name}", structural=True)
            return dict(model.state_dict())

        for name, module in list(sys.modules.items()):
            if name.startswith("vis_bench.methods.") and hasattr(module, "load_fixture_weights"):
                monkeypatch.setattr(module, "load_fixture_weights", load)
    return plugin.spec.parity.run(fixture, out), reports


@pytest.mark.parametrize(
    ("container", "method"),
    [
        pytest.param(c, m, marks=() if (c, m) in FAST else pytest.mark.slow, id=f"{m}-{c}")
        for c, m in CASES
    ],
)
def test_each_container_loads_strictly_and_gives_the_original_outputs(
    golden_dir, tmp_path, monkeypatch, container, method
):
    fixture = golden_dir / FIXTURES[method] / "public"
    writer, _ = CONTAINERS[container]
    state = original_state(golden_dir, method)
    file = writer(state, tmp_path, golden_dir)
    if container == "float16 copy":
        # the weights the copy holds are the originals rounded to float16 (the same where the
        # fixture stores float16): their outputs are the reference, whatever the tolerances
        fixture = _fixture_with(fixture, tmp_path / "rounded", _rounded(state))
    expected, _ = parity_through(monkeypatch, method, fixture, None, tmp_path / "original.pt")
    report, loads = parity_through(monkeypatch, method, fixture, file, tmp_path / "file.pt")
    if container != "float16 copy":
        assert expected.passed, expected.format()
        assert report.passed, report.format()
    assert loads and all(not load.partial for load in loads)
    produced = _flat(torch.load(tmp_path / "file.pt", weights_only=True))
    original = _flat(torch.load(tmp_path / "original.pt", weights_only=True))
    assert produced.keys() == original.keys()
    different = [k for k in original if not _same(produced[k], original[k])]
    assert not different, f"outputs differ from the original weights' at {different[:5]}"


def _rounded(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half().float() if v.is_floating_point() else v for k, v in state.items()}


def _fixture_with(fixture: Path, folder: Path, state: dict[str, torch.Tensor]) -> Path:
    """A copy of the fixture whose state_dict.pt holds `state`."""
    shutil.copytree(fixture, folder)
    (folder / "state_dict.pt").chmod(0o644)
    torch.save(state, folder / "state_dict.pt")
    return folder


def test_what_each_reading_did_is_reported(golden_dir, tmp_path):
    state = original_state(golden_dir, "mask2former-vis")
    plugin = get_method("mask2former-vis").build({"backbone": None, **_m2f_options(golden_dir)})
    zoo = write_model_zoo_pickle(
        {k: v for k, v in state.items() if k != "criterion.empty_weight"},
        tmp_path / "zoo.pkl",
        2,
        static_query=True,
    )
    report = plugin.load_checkpoint(str(zoo))
    assert report.container == "detectron2 model-zoo pickle"
    assert report.renamed == [
        "sem_seg_head.predictor.static_query.weight -> sem_seg_head.predictor.query_feat.weight"
    ]
    assert report.filled == ["criterion.empty_weight"]
    ddp = plugin.load_checkpoint(str(write_ddp_resave(state, tmp_path / "ddp.pth")))
    assert any("stripped 'module.'" in note for note in ddp.notes)
    assert ddp.renamed == []  # the prefix is never doubled, whatever the metadata says
    half = plugin.load_checkpoint(str(write_float16(state, tmp_path / "half.pth")))
    assert half.cast == [f"float16 -> float32: {len(state)} tensor(s)"]
    train = plugin.load_checkpoint(str(write_training_file(state, tmp_path / "train.pth")))
    assert any("optimizer, scheduler, iteration" in note for note in train.notes)


def _m2f_options(golden_dir: Path) -> dict[str, Any]:
    from vis_bench.methods.families.mask2former.fixtures import fixture_config

    config = fixture_config(golden_dir / "mask2former_vis/public", "VideoMaskFormer")
    return {
        name: getattr(config, name)
        for name in ("num_classes", "conv_dim", "mask_dim", "enc_layers", "hidden_dim")
        + ("num_queries", "dim_feedforward", "nheads", "dec_layers")
    }


def test_the_old_pixel_decoder_layout_is_moved_under_its_prefix(golden_dir, tmp_path):
    """A file whose `sem_seg_head` predates version 2 keeps the pixel decoder's keys directly
    under `sem_seg_head.`; MaskFormerHead's loading moves them, as this loader does."""
    state = original_state(golden_dir, "mask2former-vis")
    old = {
        k.replace("sem_seg_head.pixel_decoder.", "sem_seg_head."): v.numpy()
        for k, v in state.items()
    }
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps({"model": old, "__author__": "old"}, protocol=4))
    plugin = get_method("mask2former-vis").build({"backbone": None, **_m2f_options(golden_dir)})
    report = plugin.load_checkpoint(str(path))
    moved = [r for r in report.renamed if "pixel_decoder" in r]
    assert moved and len(moved) == sum("pixel_decoder" in k for k in state)
    own = plugin.model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())


@pytest.mark.parametrize(("version", "renamed"), [(1, True), (2, False)])
def test_the_file_metadata_version_decides_the_renames(golden_dir, tmp_path, version, renamed):
    """As MaskFormerHead's loading: the old layout is moved only for a `sem_seg_head` whose
    `_metadata` version is below 2; a version-2 file is taken as it is."""
    from collections import OrderedDict

    state = original_state(golden_dir, "mask2former-vis")
    old = OrderedDict(
        (k.replace("sem_seg_head.pixel_decoder.", "sem_seg_head."), v) for k, v in state.items()
    )
    old._metadata = {"sem_seg_head": {"version": version}}
    torch.save({"model": old}, tmp_path / "model.pth")
    plugin = get_method("mask2former-vis").build({"backbone": None, **_m2f_options(golden_dir)})
    if renamed:
        assert plugin.load_checkpoint(str(tmp_path / "model.pth")).renamed
    else:
        with pytest.raises(CheckpointError, match=r"unexpected in the file: sem_seg_head\.(?!pi)"):
            plugin.load_checkpoint(str(tmp_path / "model.pth"))


# -- VidEoMT from Hugging Face Transformers ------------------------------------------------------


def test_the_transformers_options_build_the_fixture_network(golden_dir, tmp_path):
    from vis_bench.methods.videomt.parity import fixture_config

    folder = write_transformers_videomt(
        original_state(golden_dir, "videomt"), tmp_path / "hf", _videomt_config(golden_dir)
    )
    plugin = get_method("videomt")
    contents = plugin.foreign_checkpoint(open_checkpoint(folder))
    assert contents is not None and contents.format == "transformers"
    built = plugin.build(contents.config)
    assert built.model.config == fixture_config(golden_dir / "videomt/public")
    report = built.load_checkpoint(str(folder))
    assert not report.partial and report.filled == ["criterion.empty_weight"]
    assert any("embeddings.mask_token dropped" in note for note in report.notes)
    # the file alone (no config.json beside it) cannot say its heads
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes((folder / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="config.json"):
        built.load_checkpoint(str(alone))


def test_check_checkpoint_recognises_a_transformers_folder(golden_dir, tmp_path, capsys):
    folder = write_transformers_videomt(
        original_state(golden_dir, "videomt"), tmp_path / "hf", _videomt_config(golden_dir)
    )
    assert main(["check-checkpoint", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "method: videomt" in out
    assert "container: safetensors" in out and "transformers format" in out
    assert "criterion.empty_weight" in out and "OK: loads strictly" in out


def test_a_dinov3_file_is_not_supported_yet_and_says_why(golden_dir, tmp_path, capsys):
    hf = transformers_videomt_state(original_state(golden_dir, "videomt"))
    del hf["embeddings.position_embeddings.weight"]
    hf["rope_embeddings.inv_freq"] = torch.ones(8)
    from safetensors.torch import save_file

    (tmp_path / "hf").mkdir()
    save_file(hf, str(tmp_path / "hf/model.safetensors"))
    (tmp_path / "hf/config.json").write_text(json.dumps(_videomt_config(golden_dir)))
    assert main(["check-checkpoint", str(tmp_path / "hf"), "--method", "videomt"]) == 2
    err = capsys.readouterr().err
    assert "DINOv3" in err and "not supported yet" in err
    assert "rope_embeddings.inv_freq" in err and "embeddings.position_embeddings.weight" in err


# -- check-checkpoint's account ------------------------------------------------------------------


def test_check_checkpoint_reports_container_renames_fills_and_digest(golden_dir, tmp_path, capsys):
    state = original_state(golden_dir, "mask2former-vis")
    path = write_model_zoo_pickle(
        {k: v for k, v in state.items() if k != "criterion.empty_weight"},
        tmp_path / "model_final_abc123.pkl",
        4,
        static_query=True,
    )
    argv = ["check-checkpoint", str(path), "--method", "mask2former-vis"]
    assert main([*argv, "--set", "backbone=null", *_sets(golden_dir)]) == 0
    out = capsys.readouterr().out
    assert "container: detectron2 model-zoo pickle" in out
    assert "static_query.weight -> sem_seg_head.predictor.query_feat.weight" in out
    assert "1 constant(s) filled from the options" in out and "criterion.empty_weight" in out
    assert "OK: loads strictly" in out


def _sets(golden_dir: Path) -> list[str]:
    return [x for k, v in _m2f_options(golden_dir).items() for x in ("--set", f"{k}={v}")]


def test_check_checkpoint_compares_the_md5_of_a_release(tmp_path, capsys, monkeypatch):
    """A model-zoo file (random values, the released R50 keys) is named by its keys and its md5
    compared with the one the file name of the release carries."""
    from vis_bench.api import release_match

    keys = json.loads(
        (REPO / "tests/fixtures/golden/mask2former_vis/state_dict_keys_r50.json").read_text()
    )
    state = {k: torch.zeros(shape) for k, shape in keys if k != "criterion.empty_weight"}
    path = write_model_zoo_pickle(state, tmp_path / "model_final.pkl", 4, static_query=True)
    digest = release_match.file_digest(path, "md5")
    plugin = get_method("mask2former-vis")
    variant = next(v for v in plugin.spec.variants if v.name.endswith("r50_ytvis19"))
    match = release_match.matching_variants(plugin, state, path)
    assert variant in match.by_shape  # renamed and filled, the keys are the release's
    lines = release_match.describe_match(match)
    assert any(line.startswith(f"  md5 {digest}: matches none published") for line in lines)
    assert any(variant.md5 in line for line in lines)


# -- hostile and broken files --------------------------------------------------------------------


class _Runs:
    """Unpickling it would run `touch MARKER`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _hostile(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A hostile or broken file and the reason its refusal must give."""
    if kind == "pickle naming os.system":
        path = tmp_path / "model_final.pkl"
        payload = {"model": {"w": torch.zeros(1).numpy()}, "x": _Runs(tmp_path / "ran")}
        path.write_bytes(pickle.dumps(payload, protocol=2))
        return path, "posix.system"
    if kind == "torch file naming os.system":
        path = tmp_path / "model.pth"
        torch.save({"model": {"w": torch.zeros(1)}, "x": _Runs(tmp_path / "ran")}, path)
        return path, "system"
    if kind == "safetensors header lying about sizes":
        header = json.dumps(
            {"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}
        ).encode()
        path = tmp_path / "model.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
        return path, "corrupt safetensors file"
    if kind == "safetensors header longer than the file":
        path = tmp_path / "model.safetensors"
        path.write_bytes(struct.pack("<Q", 10**9) + b'{"w": 1}')
        return path, "header claims 1000000000 bytes"
    if kind == "truncated pkl":
        state = {"w": torch.arange(1000.0)}
        full = write_model_zoo_pickle(state, tmp_path / "full.pkl", 4)
        path = tmp_path / "model_final.pkl"
        path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        return path, "truncated or corrupt pickle"
    raise AssertionError(kind)


HOSTILE = (
    "pickle naming os.system",
    "torch file naming os.system",
    "safetensors header lying about sizes",
    "safetensors header longer than the file",
    "truncated pkl",
)


def _hostile_commands(path: Path, tmp_path: Path) -> list[list[str]]:
    """`check-checkpoint` and `predict` (on a two-frame folder) naming the file."""
    from PIL import Image

    video = tmp_path / "video"
    video.mkdir(exist_ok=True)
    for index in range(2):
        Image.new("RGB", (48, 32), (index * 90, 40, 200)).save(video / f"{index:05d}.jpg")
    return [
        ["check-checkpoint", str(path), "--method", "mask2former-vis"],
        [
            "predict",
            "--method",
            "mask2former-vis",
            "--video",
            str(video),
            "--checkpoint",
            str(path),
        ],
    ]


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_or_broken_file_is_refused_naming_the_file_and_the_reason(
    tmp_path, capsys, monkeypatch, kind
):
    """Both commands that read a user's file: exit 2 with the file and the reason, nothing the
    file names run (an exception escaping the command would fail the test)."""
    path, reason = _hostile(tmp_path, kind)
    monkeypatch.chdir(tmp_path)
    for argv in _hostile_commands(path, tmp_path):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert str(path) in err and reason in err, (argv, err)
    assert not (tmp_path / "ran").exists()  # nothing the file names was run


def test_run_bench_refuses_a_hostile_file_without_a_traceback(tmp_path):
    """The same through the command line, as a user meets it (one kind: the test above has
    every kind in this process): exit 2, the file and the reason on stderr, no traceback."""
    path, reason = _hostile(tmp_path, HOSTILE[0])
    for argv in _hostile_commands(path, tmp_path):
        done = subprocess.run(
            [sys.executable, str(REPO / "run_bench.py"), *argv],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert str(path) in done.stderr and reason in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "ran").exists()


# -- strict off, download addresses ------------------------------------------------------------


def test_strict_off_still_refuses_a_file_that_fills_too_little(golden_dir, tmp_path):
    from vis_bench.api.checkpoints import MIN_PARTIAL_SHARE

    plugin = get_method("mask2former-vis").build({"backbone": None, **_m2f_options(golden_dir)})
    state = original_state(golden_dir, "mask2former-vis")
    some = dict(list(state.items())[: int(len(state) * 0.8)])
    torch.save(some, tmp_path / "most.pth")
    report = plugin.load_checkpoint(str(tmp_path / "most.pth"), strict=False)
    assert report.partial and report.share >= MIN_PARTIAL_SHARE
    torch.save(original_state(golden_dir, "videomt"), tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match=r"fills only 0% .* at least 50%"):
        plugin.load_checkpoint(str(tmp_path / "other.pth"), strict=False)


def test_every_released_file_has_an_address_that_downloads_it():
    from vis_bench.api.registration import available_methods

    checked = 0
    for name in available_methods():
        for variant in get_method(name).spec.variants:
            url = variant.url
            if not url or variant.release_file.startswith(("name not confirmed", "none")):
                continue
            assert "/blob/" not in url and "/tree/" not in url, variant.name
            assert not url.endswith("/view"), variant.name
            if "huggingface.co" in url:
                assert "/resolve/" in url, variant.name
            checked += 1
    assert checked > 20


def test_numpy_arrays_in_a_torch_file_under_numpy_1_names_load(golden_dir, tmp_path):
    """A detectron2 conversion saved with torch.save under numpy 1: its arrays name
    `numpy.core.multiarray._reconstruct`, which numpy 2 calls `numpy._core...`."""
    import types

    from tests.helpers.release_files import _Numpy1Pickler

    state = original_state(golden_dir, "minvis")
    numpy_state = {k: v.numpy() for k, v in state.items()}
    pickler = types.SimpleNamespace(Pickler=_Numpy1Pickler, __name__="pickle")
    torch.save({"model": numpy_state}, tmp_path / "numpy1.pth", pickle_module=pickler)
    raw = (tmp_path / "numpy1.pth").read_bytes()
    assert b"numpy.core.multiarray" in raw and b"numpy._core" not in raw
    contents = open_checkpoint(tmp_path / "numpy1.pth")
    assert contents.container == "torch.save zip"
    assert all(torch.equal(contents.state_dict[k], v) for k, v in state.items())


def test_big_endian_and_read_only_arrays_become_tensors(tmp_path):
    import numpy as np

    weights = {"a": np.arange(4, dtype=">f4"), "b": np.frombuffer(b"\0" * 8, dtype="<f4")}
    path = tmp_path / "model_final.pkl"
    path.write_bytes(pickle.dumps({"model": weights, "__author__": "x"}, protocol=5))
    contents = open_checkpoint(path)
    assert contents.state_dict["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert contents.state_dict["b"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("protocol", [0, 1])
def test_a_python_2_era_pickle_is_read_and_its_globals_checked(tmp_path, protocol):
    import numpy as np

    path = tmp_path / "model_final.pkl"
    path.write_bytes(pickle.dumps({"model": {"w": np.ones(3, np.float32)}}, protocol=protocol))
    assert open_checkpoint(path).state_dict["w"].tolist() == [1.0, 1.0, 1.0]
    path.write_bytes(pickle.dumps({"x": _Runs(tmp_path / "ran")}, protocol=protocol))
    with pytest.raises(CheckpointError, match="system"):
        open_checkpoint(path)
    assert not (tmp_path / "ran").exists()


def test_a_dinov3_file_in_the_authors_layout_is_not_supported_yet(golden_dir, tmp_path):
    state = original_state(golden_dir, "videomt")
    del state["backbone.encoder.backbone.pos_embed"]
    state["backbone.encoder.backbone.rope.periods"] = torch.ones(8)
    torch.save({"model": state}, tmp_path / "yt_2019_vit_small_dinov3.pth")
    plugin = get_method("videomt").build({"backbone": "vit_s"})
    with pytest.raises(CheckpointError, match="DINOv3.*not supported yet.*rope.periods"):
        plugin.load_checkpoint(str(tmp_path / "yt_2019_vit_small_dinov3.pth"))


def test_a_parity_fixture_may_hold_its_weights_in_any_container(golden_dir, tmp_path):
    """`parity --fixture DIR` reads state_dict.pt through the same reader: a model-zoo pickle
    of the authors' weights passes as the torch file does."""
    state = original_state(golden_dir, "minvis")
    fixture = tmp_path / "fixture"
    shutil.copytree(golden_dir / "minvis/public", fixture)
    (fixture / "state_dict.pt").chmod(0o644)
    write_model_zoo_pickle(state, fixture / "state_dict.pt", 2)
    assert main(["parity", "--method", "minvis", "--fixture", str(fixture)]) == 0


def test_a_sharded_or_older_transformers_folder_loads_the_same(golden_dir, tmp_path):
    """Weights split over shards (model.safetensors.index.json) or in an older folder's
    pytorch_model.bin read as the single file does."""
    from safetensors.torch import load_file, save_file

    folder = write_transformers_videomt(
        original_state(golden_dir, "videomt"), tmp_path / "hf", _videomt_config(golden_dir)
    )
    tensors = load_file(str(folder / "model.safetensors"))
    keys = sorted(tensors)
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "config.json").write_text((folder / "config.json").read_text())
    weight_map = {}
    for index, part in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2 :])):
        name = f"model-0000{index + 1}-of-00002.safetensors"
        save_file({k: tensors[k] for k in part}, str(shards / name))
        weight_map.update(dict.fromkeys(part, name))
    (shards / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    older = tmp_path / "older"
    older.mkdir()
    (older / "config.json").write_text((folder / "config.json").read_text())
    torch.save(tensors, older / "pytorch_model.bin")
    plugin = get_method("videomt")
    single = plugin.foreign_checkpoint(open_checkpoint(folder))
    for other in (shards, older):
        contents = plugin.foreign_checkpoint(open_checkpoint(other))
        assert contents is not None and contents.config == single.config
        assert contents.state_dict.keys() == single.state_dict.keys()
        assert all(torch.equal(contents.state_dict[k], v) for k, v in single.state_dict.items())

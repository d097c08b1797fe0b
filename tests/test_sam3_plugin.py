"""The `sam3` method behind the method API: the authors' VIS protocol through the harness's
runner (the fixture's video, weights loaded by name from a release-layout file: the results are
the authors' masklets, each labelled with its prompt's category), results.json from a sweep,
the prompts, the cap, the released file's keys and the load's strictness."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from vis_bench.api import InputError
from vis_bench.api.registration import get_method
from vis_bench.formats.rle import decode
from vis_bench.inference.pass_hooks import NO_WARM_UP
from vis_bench.inference.runner import run_method
from vis_bench.methods.sam3.fixtures import load_gz
from vis_bench.methods.sam3.masklet_masks import MaskletMasks
from vis_bench.methods.sam3.plugin import best_masklets, clamped_score
from vis_bench.methods.sam3.video_inference import VideoMasklet

pytestmark = pytest.mark.usefixtures("one_thread")

#: the fixture's config.json sizes as the method's options
FIXTURE_OPTIONS = {
    "image": 112,
    "patch": 14,
    "pretrain_image": 56,
    "vit_dim": 32,
    "vit_depth": 2,
    "vit_heads": 2,
    "window": 4,
    "global_blocks": [1],
    "text_width": 32,
    "text_heads": 2,
    "text_layers": 1,
    "context": 32,
    "d_model": 32,
    "heads": 2,
    "ffn": 64,
    "geometry_layers": 1,
    "encoder_layers": 1,
    "decoder_layers": 2,
    "queries": 10,
    "mem_dim": 16,
    "tracker_layers": 1,
    "tracker_ffn": 64,
    "num_maskmem": 7,
}


@dataclass
class _Video:
    id: int
    height: int
    width: int
    length: int


class _FixtureSource:
    """The fixture's video as the runner reads a dataset."""

    gt_path = None

    def __init__(self, frames: np.ndarray) -> None:
        self.frames = frames
        n, h, w, _ = frames.shape
        self._videos = [_Video(1, h, w, n)]
        self.identity = {"kind": "memory", "videos": 1, "lengths": [n]}

    @property
    def dataset_id(self) -> str:
        return "sam3-fixture"

    def label(self) -> str:
        return "the SAM 3 fixture's video"

    def videos(self):
        return self._videos

    def read_frames(self, video, indices):
        return self.frames[list(indices)]


@pytest.fixture(scope="module")
def fixture(golden_dir) -> Path:
    return golden_dir / "sam3" / "public"


@pytest.fixture(scope="module")
def release_file(fixture, tmp_path_factory) -> Path:
    """The fixture's weights in the released layout (`{"model": state dict}`, as sam3.pt)."""
    path = tmp_path_factory.mktemp("sam3") / "sam3.pt"
    torch.save({"model": load_gz(fixture / "weights.pt.gz")}, path)
    return path


def _plugin(release_file: Path, **options):
    plugin = get_method("sam3").build({**FIXTURE_OPTIONS, **options})
    summary = plugin.load_checkpoint(str(release_file))
    assert summary.strict and not summary.partial
    return plugin


def _run(plugin, frames: np.ndarray, clip_length: int = 3) -> list[dict]:
    outcome = run_method(
        plugin,
        _FixtureSource(frames),
        clip_length=clip_length,
        stride=None,
        resolution=None,
        untimed=NO_WARM_UP,
    )
    return outcome.results


def _recorded(case: dict) -> list[tuple[int, float, np.ndarray]]:
    preds = case["record"]["preds"]
    return [
        (int(label), float(score), np.stack([mask_utils.decode(r) for r in rles]).astype(bool))
        for label, score, rles in zip(
            preds["labels"], preds["scores"], preds["masks_rle"], strict=True
        )
    ]


def _ours(results: list[dict]) -> list[tuple[int, float, np.ndarray]]:
    return [
        (r["category_id"], r["score"], np.stack([decode(s) for s in r["segmentations"]]) > 0)
        for r in results
    ]


def _assert_same_masklets(got, want) -> None:
    got = sorted(got, key=lambda m: (m[0], m[1]))
    want = sorted(want, key=lambda m: (m[0], m[1]))
    assert [m[0] for m in got] == [m[0] for m in want]
    assert np.allclose([m[1] for m in got], [m[1] for m in want], atol=1e-5)
    for (_, _, ours), (_, _, theirs) in zip(got, want, strict=True):
        assert ours.shape == theirs.shape
        # the fixture README's tolerance: at most one pixel per masklet and frame
        assert (ours ^ theirs).reshape(len(ours), -1).sum(1).max() <= 1


@pytest.mark.parametrize("case_name", ["video_case", "video_case_scaled"])
def test_the_runner_gives_the_authors_masklets_as_results(fixture, release_file, case_name):
    case = load_gz(fixture / f"{case_name}.pt.gz")
    heuristics = case["heuristics_override"] or {}
    plugin = _plugin(
        release_file,
        categories="",
        prompts=list(case["prompts"]),
        category_ids=list(case["category_ids"]),
        **heuristics,
    )
    results = _run(plugin, case["frames_uint8"].numpy())
    assert len(results) == len(case["record"]["preds"]["labels"]) > 0
    assert all(r["video_id"] == 1 for r in results)
    _assert_same_masklets(_ours(results), _recorded(case))


def test_a_masklets_label_is_its_prompts_category(fixture, release_file):
    """The prompts in the other order, under other ids: each masklet keeps its prompt's id."""
    case = load_gz(fixture / "video_case.pt.gz")
    prompts, ids = list(case["prompts"]), list(case["category_ids"])
    renamed = {3: 11, 5: 7}
    plugin = _plugin(
        release_file,
        categories="",
        prompts=prompts[::-1],
        category_ids=[renamed[i] for i in ids[::-1]],
    )
    results = _run(plugin, case["frames_uint8"].numpy(), clip_length=8)
    want = [(renamed[label], score, masks) for label, score, masks in _recorded(case)]
    _assert_same_masklets(_ours(results), want)


def test_the_cap_keeps_the_best_masklets_per_video(fixture, release_file):
    case = load_gz(fixture / "video_case.pt.gz")
    plugin = _plugin(
        release_file,
        categories="",
        prompts=list(case["prompts"]),
        category_ids=list(case["category_ids"]),
        max_masklets=2,
    )
    results = _run(plugin, case["frames_uint8"].numpy())
    best = sorted(_recorded(case), key=lambda m: -m[1])[:2]
    _assert_same_masklets(_ours(results), best)


def test_a_sweep_writes_results_json_with_the_youtube_vis_fields(fixture, release_file, tmp_path):
    from vis_bench.config import parse_config
    from vis_bench.inference.sources import open_source
    from vis_bench.sweep import run_sweep

    config = parse_config(
        {
            "name": "sam3-synthetic",
            "dataset": {
                "kind": "synthetic",
                "videos": 1,
                "min_frames": 3,
                "max_frames": 3,
                "cache_dir": str(tmp_path / "cache"),
            },
            "methods": [
                {
                    "name": "sam3",
                    "checkpoint": str(release_file),
                    "label_space": "synthetic",
                    "options": {**FIXTURE_OPTIONS, "prompt_template": "a {name}"},
                }
            ],
            "sweep": {"clip_length": [2], "resolution": [None]},
            "measure": {"warmup": 0, "repeats": 1, "flops": False, "fps": False},
        }
    )
    (record,) = run_sweep(config, open_source(config.dataset), tmp_path / "run", log=lambda s: 0)
    assert record["status"] == "ok", record.get("error")
    assert record["options"]["prompt_template"] == "a {name}"
    assert record["model_options"]["categories"] == "synthetic"
    results_files = list((tmp_path / "run").rglob("results.json"))
    assert len(results_files) == 1
    results = json.loads(results_files[0].read_text())
    assert isinstance(results, list) and results
    for entry in results:
        assert set(entry) >= {"video_id", "category_id", "score", "segmentations"}
        assert 1 <= entry["category_id"] <= 8 and 0.0 <= entry["score"] <= 1.0
        assert len(entry["segmentations"]) == 3


def test_every_category_name_is_a_prompt_through_the_template(tmp_path):
    annotations = tmp_path / "gt.json"
    annotations.write_text(
        json.dumps({"categories": [{"id": 4, "name": "giant_panda"}, {"id": 9, "name": "cat"}]})
    )
    options = get_method("sam3").parse_options(
        {"categories": str(annotations), "prompt_template": "a photo of a {name}"}
    )
    assert options.prompt_texts() == (["a photo of a giant_panda", "a photo of a cat"], [4, 9])
    ovis = get_method("sam3").parse_options({"categories": "ovis"})
    texts, ids = ovis.prompt_texts()
    assert len(texts) == 25 and texts[0] == "Person" and ids == list(range(1, 26))


def test_a_bad_prompt_setting_is_an_input_error_naming_the_field(tmp_path):
    with pytest.raises(InputError) as err:
        get_method("sam3").parse_options({"categories": str(tmp_path / "missing.json")})
    assert "categories" in str(err.value) and "missing.json" in str(err.value)
    with pytest.raises(InputError, match="prompt_template"):
        get_method("sam3").parse_options({"prompt_template": "no placeholder"})
    with pytest.raises(InputError, match="category_ids"):
        get_method("sam3").parse_options(
            {"categories": "", "prompts": ["a"], "category_ids": [1, 2]}
        )


def test_another_resolution_is_refused(release_file):
    plugin = get_method("sam3").build(FIXTURE_OPTIONS)
    frames = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    assert plugin.preprocess(frames, 112) is frames
    with pytest.raises(InputError, match="resolution"):
        plugin.preprocess(frames, 64)


def test_the_full_size_model_has_the_released_keys_and_shapes(golden_dir):
    released = json.loads((golden_dir / "sam3/keys/sam3_video_model_keys.json").read_text())
    with torch.device("meta"):
        plugin = get_method("sam3").build({})
    ours = {name: list(value.shape) for name, value in plugin.model.state_dict().items()}
    assert len(ours) == released["num_keys"] == 1465
    assert ours == {name: shape for name, (shape, _dtype) in released["keys"].items()}


def test_loading_by_name_is_strict(fixture, tmp_path):
    weights = load_gz(fixture / "weights.pt.gz")
    dropped = next(k for k in weights if k.startswith("tracker."))
    missing = tmp_path / "missing_key.pt"
    torch.save({"model": {k: v for k, v in weights.items() if k != dropped}}, missing)
    renamed = tmp_path / "renamed_key.pt"
    torch.save(
        {"model": {k.replace("detector.", "model.", 1): v for k, v in weights.items()}}, renamed
    )
    plugin = get_method("sam3").build(FIXTURE_OPTIONS)
    for path, named in ((missing, dropped), (renamed, "detector.")):
        with pytest.raises(Exception) as err:
            plugin.load_checkpoint(str(path))
        assert named in str(err.value), str(err.value)[:500]


def test_a_missing_release_file_says_how_to_obtain_it(tmp_path):
    plugin = get_method("sam3").build(FIXTURE_OPTIONS)
    with pytest.raises(InputError) as err:
        plugin.load_checkpoint(str(tmp_path / "sam3.pt"))
    message = str(err.value)
    assert "facebook/sam3" in message and "SAM License" in message and "download" in message


def test_the_cap_and_the_score_rule():
    masklets = [
        VideoMasklet(obj_id=i, score=s, label=1, held=MaskletMasks(1, (2, 2)))
        for i, s in enumerate([0.6, 0.9, -1e4, 0.9])
    ]
    assert list(best_masklets(masklets, 2)) == [1, 3]
    assert list(best_masklets(masklets, 0)) == [0, 1, 2, 3]
    assert [clamped_score(m.score) for m in masklets] == [0.6, 0.9, 0.0, 0.9]


def test_the_detection_threshold_is_the_builders_option():
    """The untrained smallest shape scores its queries near 0.25: nothing above the release's
    0.5, a masklet per prompt above 0.2, each labelled with its prompt's category."""
    import yaml

    from tests.helpers.memory_source import MemorySource

    untrained = Path(__file__).resolve().parents[1] / "configs/tiny/sam3_untrained.yaml"
    options = yaml.safe_load(untrained.read_text())["options"]
    found = {}
    for threshold in (0.5, 0.2):
        torch.manual_seed(0)
        plugin = get_method("sam3").build({**options, "score_threshold_detection": threshold})
        outcome = run_method(
            plugin, MemorySource(lengths=(4,), size=(40, 56)), clip_length=2, stride=1,
            resolution=64, untimed=NO_WARM_UP,
        )  # fmt: skip
        found[threshold] = sorted(r["category_id"] for r in outcome.results)
    assert found[0.5] == [] and found[0.2] == list(range(1, 9))


def test_the_new_detection_score_is_an_option_checked_on_build():
    """The release's 0.7 unless set; a value outside [0, 1] names the option."""
    from vis_bench.methods.sam3.options import Sam3Options

    assert Sam3Options().video_settings().new_det_thresh == 0.7
    assert Sam3Options(new_det_thresh=0.3).video_settings().new_det_thresh == 0.3
    with pytest.raises(InputError, match="new_det_thresh"):
        get_method("sam3").build({"new_det_thresh": 1.5})


def test_the_mask_nms_threshold_is_an_option_checked_on_build():
    """The release's 0.1 unless set; a value outside [0, 1] names the option."""
    from vis_bench.methods.sam3.options import Sam3Options

    assert Sam3Options().video_settings().det_nms_thresh == 0.1
    assert Sam3Options(det_nms_thresh=0.5).video_settings().det_nms_thresh == 0.5
    with pytest.raises(InputError, match="det_nms_thresh"):
        get_method("sam3").build({"det_nms_thresh": -0.1})


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_a_cell_under_autocast_runs_its_passes_on_what_its_calls_made(dtype):
    """The frames' inputs are made under the cell's autocast (the loader's float16 outside it)
    and read by the passes at the video's end, outside it: a masklet per prompt, as in fp32."""
    import yaml

    from tests.helpers.memory_source import MemorySource

    untrained = Path(__file__).resolve().parents[1] / "configs/tiny/sam3_untrained.yaml"
    torch.manual_seed(0)
    plugin = get_method("sam3").build(yaml.safe_load(untrained.read_text())["options"])
    outcome = run_method(
        plugin, MemorySource(lengths=(4,), size=(40, 56)), clip_length=2, stride=1,
        resolution=64, untimed=NO_WARM_UP, dtype=dtype,
    )  # fmt: skip
    assert sorted(r["category_id"] for r in outcome.results) == list(range(1, 9))


def test_a_named_release_missing_from_a_config_says_where_to_get_it(tmp_path):
    from vis_bench.config import MethodConfig
    from vis_bench.sweep.methods import resolve_method

    entry = MethodConfig(name="sam3.ovis", checkpoint=str(tmp_path / "sam3.pt"))
    with pytest.raises(InputError) as err:
        resolve_method(entry, 0, "config.yaml")
    message = str(err.value)
    assert "checkpoint not found" in message and err.value.field == "methods[0].checkpoint"
    assert "huggingface.co/facebook/sam3" in message
    assert "methods --pretrained sam3.ovis" in message


def test_the_label_space_of_the_prompts_is_checked_against_the_dataset(tmp_path):
    """Prompted with another dataset's category names, SAM 3 would label its masklets with that
    dataset's ids: the sweep refuses it before any cell runs, as it refuses a trained model of
    another label space (the default prompts are the synthetic names)."""
    from vis_bench.config import parse_config
    from vis_bench.formats.categories import get_category_set
    from vis_bench.sweep.label_space import label_space_mapping
    from vis_bench.sweep.methods import resolve_methods

    def entry(categories):
        config = parse_config(
            {
                "name": "prompts",
                "dataset": {"kind": "synthetic", "cache_dir": str(tmp_path)},
                "methods": [{"name": "sam3", "options": {"categories": categories}}],
            }
        )
        return resolve_methods(config)[0]

    dataset = get_category_set("synthetic")
    pairs = list(zip(dataset.ids, dataset.names, strict=True))
    assert entry("synthetic").label_space == "synthetic"
    assert label_space_mapping(entry("synthetic"), pairs, "c.yaml").is_identity
    with pytest.raises(InputError, match=r"methods\[0\]\.label_space"):
        label_space_mapping(entry("ovis"), pairs, "c.yaml")

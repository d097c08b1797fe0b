"""The side-by-side benchmark's parts that need none of the authors' code: the comparison of the
two sides' outputs, the in-memory video the runner reads, and the errors for missing sources."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.benchmark_scripts import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_authors_side_by_side")


def write(path: Path, scores, labels, masks) -> Path:
    np.savez(path, scores=np.asarray(scores), labels=np.asarray(labels), masks=masks)
    return path


def test_outputs_are_equal_only_with_the_same_tracks_in_order_and_within_tolerance(bench, tmp_path):
    masks = np.zeros((2, 3, 8, 8), dtype=bool)
    masks[0, :, :4] = True
    theirs = write(tmp_path / "a.npz", [0.9, 0.5], [3, 1], masks)
    near = masks.copy()
    near[0, 0, 7, :8] = True  # 8 pixels apart: the tolerance
    same = bench.compare_outputs(theirs, write(tmp_path / "b.npz", [0.9 + 5e-6, 0.5], [3, 1], near))
    assert same["equal_within_tolerance"] and same["max_pixels_apart_per_track"] == 8
    far = near.copy()
    far[1, 2, 0, 0] = True
    far[0, 1, 7, 0] = True  # 9 pixels apart on the first track
    assert not bench.compare_outputs(theirs, write(tmp_path / "c.npz", [0.9, 0.5], [3, 1], far))[
        "equal_within_tolerance"
    ]
    swapped = bench.compare_outputs(theirs, write(tmp_path / "d.npz", [0.5, 0.9], [1, 3], masks))
    assert not swapped["same_labels_in_order"] and not swapped["equal_within_tolerance"]
    scores = bench.compare_outputs(
        theirs, write(tmp_path / "e.npz", [0.9, 0.5 + 2e-5], [3, 1], masks)
    )
    assert not scores["equal_within_tolerance"]


def test_the_in_memory_video_reads_frames_as_a_dataset(bench):
    frames = np.arange(4 * 6 * 10 * 3, dtype=np.uint8).reshape(4, 6, 10, 3)
    video = bench.InMemoryVideo(frames)
    assert video.videos() == [video] and (video.length, video.height, video.width) == (4, 6, 10)
    assert np.array_equal(video.read_frames(video, [1, 3]), frames[[1, 3]])


def test_missing_sources_are_named_with_the_option_to_pass(bench, tmp_path, capsys):
    with pytest.raises(SystemExit, match="--authors-python"):
        bench.main(["--authors-python", str(tmp_path / "none")])
    python = tmp_path / "python"
    python.write_text("")
    with pytest.raises(SystemExit, match="--videomt ''"):
        bench.main(["--authors-python", str(python), "--detectron2", str(tmp_path),
                    "--methods", "videomt"])  # fmt: skip


def test_each_row_s_settings_reach_the_authors_process_only(bench, tmp_path, monkeypatch):
    """The VidEoMT rows start the authors' timm as their README does (unfused attention) and
    with its fused default; vis-bench's process and the DVIS++ rows set nothing of it."""
    monkeypatch.delenv("TIMM_FUSED_ATTN", raising=False)
    args = bench.parse_args(["--path", str(tmp_path), "--videomt", "V", "--threads", "3"])
    envs = bench.side_envs(args, "videomt")
    authors, project = envs["authors"], envs["vis_bench"]
    assert authors["TIMM_FUSED_ATTN"] == "0" and authors["OMP_NUM_THREADS"] == "3"
    assert authors["PYTHONPATH"].split(":")[0] == str(tmp_path)
    assert "TIMM_FUSED_ATTN" not in project and project["OMP_NUM_THREADS"] == "3"
    assert bench.side_envs(args, "videomt-fused")["authors"]["TIMM_FUSED_ATTN"] == "1"
    assert "TIMM_FUSED_ATTN" not in bench.side_envs(args, "dvis-plus-offline-remade")["authors"]
    assert bench.METHODS["dvis-plus-offline-remade"]["options"] == {"keep_mask_features": "no"}


def test_the_same_allocator_setting_reaches_one_authors_process_as_vis_bench_sets_it(
    bench, monkeypatch
):
    """Like for like: the second authors' process gets the glibc setting vis-bench's
    reuse_memory path makes in its own process; the first and vis-bench's get none of it."""
    from vis_bench.api import host_memory

    monkeypatch.setenv("MALLOC_MMAP_MAX_", "7")  # a setting of the caller's reaches no side
    args = bench.parse_args(["--dvis-plus", "P", "--dvis-daq", "D", "--detectron2", "D2"])
    for row in bench.METHODS:
        envs = bench.side_envs(args, row)
        assert set(envs) == set(bench.SIDES)
        same = envs["authors_same_allocator"]
        assert same["MALLOC_MMAP_MAX_"] == "0"
        assert int(same["MALLOC_TRIM_THRESHOLD_"]) == host_memory.KEEP_TRIM_THRESHOLD
        assert {k: v for k, v in same.items() if not k.startswith("MALLOC_")} == envs["authors"]
        assert "MALLOC_MMAP_MAX_" not in envs["authors"]
        assert "MALLOC_MMAP_MAX_" not in envs["vis_bench"]
    # each row's import path holds only its own code root (DVIS_Plus and DVIS_DAQ share names)
    assert bench.side_envs(args, "dvis-daq-online")["authors"]["PYTHONPATH"] == "D2:D"
    assert bench.side_envs(args, "dvis-plus-online")["authors"]["PYTHONPATH"] == "D2:P"


def test_each_side_goes_first_in_turn(bench):
    orders = [bench.round_order(i) for i in range(len(bench.SIDES))]
    assert all(sorted(order) == sorted(bench.SIDES) for order in orders)
    assert sorted(order[0] for order in orders) == sorted(bench.SIDES)
    assert bench.round_order(len(bench.SIDES)) == orders[0]


def test_a_cuda_destination_is_read_as_the_cpu_and_nothing_else_changes(bench):
    """DVIS-DAQ's hard-coded `.to("cuda")`, mapped to the CPU in the authors' process."""
    import torch

    to = bench.cuda_as_cpu(torch.Tensor.to)
    x = torch.ones(2, dtype=torch.float64)
    for destination in ("cuda", "cuda:0", torch.device("cuda")):
        assert to(x, destination).device.type == "cpu"
        assert to(x, device=destination).device.type == "cpu"
    assert to(x, torch.float32).dtype == torch.float32
    assert to(x, "cpu", torch.float16).dtype == torch.float16
    assert not bench.is_cuda("cpu") and not bench.is_cuda(torch.float32)


def test_the_rounds_give_medians_and_both_ratios(bench):
    def timed(wall, cpu, system=0.0):
        return {"wall_s": wall, "cpu_s": cpu, "user_s": cpu - system, "system_s": system,
                "minor_faults": 10.0}  # fmt: skip

    times = {
        "authors": [timed(10, 12, 3), timed(11, 13, 3), timed(30, 40, 3)],
        "authors_same_allocator": [timed(9, 10), timed(9, 10), timed(9, 11)],
        "vis_bench": [timed(5, 5), timed(5, 5), timed(6, 5)],
    }
    equal = {"equal_within_tolerance": True}
    result = bench.summary(times, [1.0] * 9, {"authors": equal, "authors_same_allocator": equal})
    assert result["median"]["authors"] == {
        "wall_s": 11, "cpu_s": 13, "user_s": 10, "system_s": 3, "minor_faults": 10
    }  # fmt: skip
    assert result["speedup"] == {"wall": 2.2, "cpu": 2.6}
    assert result["speedup_same_allocator"] == {"wall": 1.8, "cpu": 2.0}
    assert len(result["rounds"]["vis_bench"]) == 3 and result["outputs"] == equal


def test_merge_keeps_the_other_rows_with_their_provenance(bench, tmp_path):
    earlier = {
        "methods": {"videomt": {"speedup": {"cpu": 1.5}}, "dvis-daq-online": {"speedup": 1}},
        "provenance": {"commit": "a"},
    }
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(earlier))
    previous = bench.previous_rows(str(path))
    assert previous["videomt"]["provenance"] == {"commit": "a"}
    measured = {"dvis-daq-online": {"speedup": 2, "provenance": {"commit": "b"}}}
    rows = bench.merged_rows(previous, measured)
    assert list(rows) == ["dvis-daq-online", "videomt"]  # the order of METHODS
    assert rows["dvis-daq-online"]["provenance"] == {"commit": "b"}
    path.write_text("[]")
    with pytest.raises(SystemExit, match="--json .*cannot merge"):
        bench.previous_rows(str(path))


def test_each_ratio_is_paired_per_round_with_the_median_s_interval(bench):
    """A round's authors' process over the vis-bench process that ran beside it; the interval
    over the rounds follows the FPS rule (order statistics, its confidence said)."""

    def timed(wall, cpu, gflops=50.0, load=2.0):
        machine = {"load1": load, "reference_gflops": gflops}
        return {"wall_s": wall, "cpu_s": cpu, "machine_before": machine, "machine_after": machine}

    times = {
        "authors": [timed(10, 20), timed(12, 18), timed(30, 30, 25.0, 6.0)],
        "authors_same_allocator": [timed(10, 10), timed(10, 10), timed(10, 10)],
        "vis_bench": [timed(10, 10), timed(10, 20), timed(20, 10)],
    }
    equal = {"equal_within_tolerance": True}
    result = bench.summary(times, [1.0] * 9, {"authors": equal, "authors_same_allocator": equal})
    cpu = result["speedup_interval"]["cpu"]
    assert cpu["per_round"] == [2.0, 0.9, 3.0]
    assert (cpu["median"], cpu["low"], cpu["high"]) == (2.0, 0.9, 3.0)
    assert cpu["confidence"] == 0.75  # three rounds: their range holds the median 3 times in 4
    assert result["speedup_interval"]["wall"]["per_round"] == [1.0, 1.2, 1.5]
    assert result["speedup_same_allocator_interval"]["cpu"]["per_round"] == [1.0, 0.5, 1.0]
    machine = result["machine"]
    assert machine["load1"] == {"min": 2.0, "max": 6.0}
    assert machine["reference_gflops"]["min"] == 25.0 and machine["reference_gflops"]["max"] == 50.0
    assert machine["reference_gflops"]["spread"] == 0.5
    assert result["rounds"]["authors"][2]["machine_before"]["load1"] == 6.0


def test_fewer_than_three_rounds_are_refused_with_the_fix(bench, tmp_path, capsys):
    python = tmp_path / "python"
    python.write_text("")
    args = bench.parse_args(["--authors-python", str(python), "--rounds", "2"])
    with pytest.raises(SystemExit, match="--rounds 2: .*pass --rounds 3 or more"):
        bench.check_sources(args)


def test_the_machine_is_read_with_the_reference_workload(bench):
    reading = bench.machine_now()
    assert set(reading) == {"load1", "reference_gflops"} and reading["reference_gflops"] > 0


def test_every_process_of_a_row_waits_with_the_same_openmp_policy(bench, monkeypatch):
    """Like for like on a shared machine: one wait policy for the three processes, passive by
    default (as vis-bench's sweeps run), the caller's own setting reaching none of them."""
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    for flags, expected in (([], "PASSIVE"), (["--omp-wait-policy", "active"], "ACTIVE")):
        envs = bench.side_envs(bench.parse_args(["--videomt", "V", *flags]), "videomt-fused")
        assert {env["OMP_WAIT_POLICY"] for env in envs.values()} == {expected}
    envs = bench.side_envs(bench.parse_args(["--omp-wait-policy", "default"]), "videomt")
    assert all("OMP_WAIT_POLICY" not in env for env in envs.values())


def test_tiny_checkpoint_keys_take_the_authors_detectron2_names(bench):
    """The tiny ResNet's torchvision names become detectron2's; the heads' names are kept."""
    names = {
        "backbone.conv1.weight": "backbone.stem.conv1.weight",
        "backbone.bn1.running_var": "backbone.stem.conv1.norm.running_var",
        "backbone.layer1.0.conv2.weight": "backbone.res2.0.conv2.weight",
        "backbone.layer3.0.bn1.bias": "backbone.res4.0.conv1.norm.bias",
        "backbone.layer4.0.downsample.0.weight": "backbone.res5.0.shortcut.weight",
        "backbone.layer2.0.downsample.1.running_mean": "backbone.res3.0.shortcut.norm.running_mean",
        "tracker.new_ins_embeds.weight": "tracker.new_ins_embeds.weight",
        "sem_seg_head.predictor.query_feat.weight": "sem_seg_head.predictor.query_feat.weight",
    }
    assert {key: bench.authors_names(key) for key in names} == names


@pytest.mark.parametrize("row", ["dvis-daq-online", "dvis-daq-offline"])
def test_the_authors_overrides_are_the_tiny_checkpoint_s_sizes_and_decisions(bench, row):
    """Each override names the value the row's checkpoint was trained and is run with (the
    detectron2 keys read as the parity fixtures read them)."""
    import torch

    from vis_bench.methods.families.dvis.fixtures import OVERRIDES

    entry = bench.METHODS[row]
    options = torch.load(bench.ROOT / entry["checkpoint"], map_location="cpu", weights_only=False)
    options = options["config"]
    own = {
        "MODEL.VIDEO_HEAD.NUM_NEW_INS": ("num_queries", int),
        "INPUT.MIN_SIZE_TEST": ("min_size_test", int),
        "MODEL.REFINER.DECODER_LAYERS": ("refiner_layers", int),
        "MODEL.VIDEO_HEAD.INFERENCE_SELECT_THRESHOLD": ("select_threshold", float),
        "MODEL.VIDEO_HEAD.OVIS_INFER": ("slot_decides", lambda v: v == "True"),
        "MODEL.VIDEO_HEAD.OFFLINE_TOPK_NUM": ("offline_top_k", int),
    }
    pairs = dict(
        zip(entry["authors_overrides"][::2], entry["authors_overrides"][1::2], strict=True)
    )
    assert pairs.pop("MODEL.BACKBONE.NAME") == "build_tiny_resnet_backbone"
    assert options["backbone"] == "tiny"
    for key, value in pairs.items():
        field, read = {**OVERRIDES, **own}[key]
        assert read(value) == options[field], key
    mapped = {OVERRIDES.get(key, own.get(key))[0] for key in pairs}
    sizes = {"num_classes", "hidden_dim", "num_queries", "dec_layers", "tracker_layers"}
    assert sizes <= mapped


def test_the_trained_rows_video_has_objects_entering_and_leaving(bench, tmp_path):
    args = bench.parse_args(["--synthetic-frames", "6", "--height", "64", "--width", "96"])
    spec = bench.write_synthetic_video(args, tmp_path / "synthetic.npy")
    frames = np.load(tmp_path / "synthetic.npy")
    assert frames.shape == (6, 64, 96, 3) and frames.dtype == np.uint8 and frames.std() > 0
    assert spec["frames"] == 6 and spec["enter_leave"] == 1.0
    command = bench.side_command(
        bench.parse_args(["--work", str(tmp_path)]), "python", "project", "dvis-daq-online"
    )
    assert command[command.index("--frames-file") + 1].endswith("synthetic.npy")
    weights = command[command.index("--weights") + 1]
    assert weights.endswith("results/checkpoints/dvis_daq_online_tiny.pth")


def test_a_row_keeps_the_authors_last_count_of_sequence_lives(bench):
    def timed(lives=None):
        row = {"wall_s": 2.0, "cpu_s": 2.0, "user_s": 2.0, "system_s": 0.0, "minor_faults": 1.0}
        return row if lives is None else {**row, "sequences": lives}

    times = {
        "authors": [timed({"started": 5}), timed({"started": 7})],
        "authors_same_allocator": [timed(), timed()],
        "vis_bench": [timed(), timed()],
    }
    equal = {"equal_within_tolerance": True}
    result = bench.summary(times, [1.0] * 6, {"authors": equal, "authors_same_allocator": equal})
    assert result["authors_sequences"] == {"started": 7}
    assert "sequences" not in result["rounds"]["authors"][0]
    times["authors"] = [timed(), timed()]
    assert "authors_sequences" not in bench.summary(
        times, [1.0] * 6, {"authors": equal, "authors_same_allocator": equal}
    )

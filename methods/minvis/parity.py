"""MinVIS parity against fixtures made with the authors' code (NVlabs/MinVIS).

Layout and tolerances: tests/fixtures/golden/minvis/README.md. The network (the shared Mask2Former
parts with the decoder run per frame) is built from meta.json without a backbone and run on the
stored features, all frames as one batch (the authors' default, non-windowed inference).
Compared: the pixel decoder, the per-frame predictions and embeddings (`pred_embds`), the
auxiliary predictions; the frame matching (indices exact, costs) and its re-ordered, averaged
outputs, both on this network's outputs and replayed on the authors' inputs; the synthetic case
whose known per-frame permutations the matching must undo; `inference_video` on the authors'
inputs (exact) and the whole chain through the harness's per-frame mask path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from vis_bench.api.output import decode_rle
from vis_bench.methods.families.mask2former.fixtures import (
    RAW_TOLERANCE,
    check_forward,
    compare_results,
    compare_rle,
    selected_results,
)
from vis_bench.methods.families.mask2former.postprocess import (
    frame_logits_to_video,
    inference_video,
)
from vis_bench.methods.minvis.matching import (
    ASSOCIATION,
    LinkedVideo,
    clip_result,
    frame_outputs,
    link_frames,
    video_predictions,
)
from vis_bench.parity import (
    EncodedFrames,
    ParityReport,
    QueryTrackLinker,
    TrackPostprocessing,
    clip_windows,
    load_fixture_file,
    save_produced,
)

ARCHITECTURE = "VideoMaskFormer_frame"
#: the README's noise of windowed inference against all frames in one batch (raw outputs up
#: to 2.5e-4); scores and mask pixels move with it
WINDOW_TOLERANCE = 5e-4
WINDOW_SCORE_TOLERANCE = 1e-3
WINDOW_FLIPPED_PIXELS = 64


def fixture_outputs(pixel: Any, out: Any) -> dict[str, Any]:
    """This network's outputs in the layout of the fixture's forward.pt (batch of one video)."""

    def video(logits: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"pred_logits": logits[None], "pred_masks": masks[:, :, 0].transpose(0, 1)[None]}

    return {
        "pixel_decoder": {
            "mask_features": pixel.mask_features,
            "transformer_encoder_features": pixel.encoder_features,
            "multi_scale_features": {str(i): m for i, m in enumerate(pixel.multi_scale)},
        },
        **video(out.logits, out.masks),
        "pred_embds": out.embeddings.permute(2, 0, 1)[None],
        "aux_outputs": {str(i): video(lg, mk) for i, (lg, mk) in enumerate(out.aux)},
    }


def linked_from_stored(stored: dict[str, torch.Tensor]) -> LinkedVideo:
    """`post_processing` replayed on the authors' own raw outputs (the fixture's layout)."""
    logits = stored["pred_logits"][0]  # [T, Q, K+1]
    masks = stored["pred_masks"][0].transpose(0, 1)  # [T, Q, h, w]
    embeds = stored["pred_embds"][0].permute(1, 2, 0)  # [T, Q, C]
    return link_frames(logits, masks, embeds)


def compare_linking(
    report: ParityReport, name: str, linked: LinkedVideo, expected: dict[str, Any]
) -> None:
    """Matching indices exactly, costs and the re-ordered, averaged outputs within tolerance."""
    same = torch.equal(linked.indices, expected["match_indices"])
    report.add_exact(f"{name}.match_indices", same, f"{linked.indices.shape[0]} frame pairs")
    report.add_tensor(f"{name}.match_cost", linked.costs, expected["match_cost"], RAW_TOLERANCE)
    out = expected["post_processing_out"]
    report.add_tensor(
        f"{name}.pred_logits (averaged)", linked.logits, out["pred_logits"][0], RAW_TOLERANCE
    )
    report.add_tensor(
        f"{name}.pred_masks (re-ordered)", linked.masks, out["pred_masks"][0], RAW_TOLERANCE
    )


def _permutations_undone(report: ParityReport, case: dict[str, Any]) -> None:
    """The matching recovers every frame's known permutation (the synthetic case)."""
    linked = linked_from_stored(case["post_processing_in"])
    perms = case["permutations"]
    undone = all(
        torch.equal(perms[t][linked.indices[t - 1]], torch.arange(perms.shape[1]))
        for t in range(1, perms.shape[0])
    )
    report.add_exact("synthetic_permuted.permutations undone", undone)
    compare_linking(report, "synthetic_permuted", linked, case)


def _postprocess(
    report: ParityReport, post: dict[str, Any], linked: LinkedVideo, sizes: dict[str, Any]
) -> None:
    compare_linking(report, "matching", linked, post["matching"])
    compare_linking(
        report,
        "matching (replayed)",
        linked_from_stored(post["matching"]["post_processing_in"]),
        post["matching"],
    )
    stored_in = post["inference_video_in"]
    image = tuple(int(v) for v in stored_in["img_size"])
    output = (int(stored_in["output_height"]), int(stored_in["output_width"]))
    padded = tuple(int(v) for v in stored_in["first_resize_size"])
    padded_masks = torch.nn.functional.interpolate(
        stored_in["pred_masks"], size=padded, mode="bilinear", align_corners=False
    )
    replay = inference_video(stored_in["pred_cls"], padded_masks, image, output)
    compare_results(report, "inference_video", replay, post, exact_masks=True)
    compare_rle(report, post["pred_masks"], post["pred_masks_rle"])
    if "synthetic_permuted" in post:
        _permutations_undone(report, post["synthetic_permuted"])
    for name, per_frame in (("end_to_end", False), ("harness_path", True)):
        results = selected_results(linked.logits, linked.masks, sizes, per_frame)
        compare_results(report, name, results, post, False)


def harness_run(
    model: Any, features: dict[str, torch.Tensor], sizes: dict[str, Any], window: int | None
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The video through the harness's own linking and encoding: clips of `window` frames
    (stride = window; None: the whole video), each linked inside by the method, clips linked by
    `QueryTrackLinker`, frames resized and RLE-encoded by `EncodedFrames` with the method's
    per-frame mask path. Returns the results (decoded masks) and the clips' raw logits."""
    image = tuple(int(v) for v in sizes["image_size"])
    height, width = (int(v) for v in sizes["orig_size"])
    length = int(next(iter(features.values())).shape[0])

    def to_video(masks: torch.Tensor, h: int, w: int, threshold: float) -> Any:
        return frame_logits_to_video(masks, image, h, w, threshold)

    encoded = EncodedFrames(height, width, to_video)
    linker = QueryTrackLinker(ASSOCIATION, lambda m: video_predictions(m, 10), [encoded])
    raw: dict[int, torch.Tensor] = {}  # each frame's logits from the first clip covering it
    for frames in clip_windows(length, "all" if window is None else window, window):
        clip = {name: level[list(frames)] for name, level in features.items()}
        with torch.no_grad():
            _, out = model.forward_features(clip)
        for i, frame in enumerate(frames):
            raw.setdefault(frame, out.logits[i])
        linker.add_clip(frames, clip_result(link_frames(*frame_outputs(out))))
    post = TrackPostprocessing(track_predictions=lambda track: track.predictions)
    entries = encoded.results(linker.finish(), 0, length, post)
    masks = torch.stack(
        [
            torch.stack([torch.from_numpy(decode_rle(rle)) for rle in e["segmentations"]])
            for e in entries
        ]
    ).bool()
    results = {
        "pred_scores": torch.tensor([e["score"] for e in entries]),
        "pred_labels": torch.tensor([e["category_id"] - 1 for e in entries]),
        "pred_masks": masks,
    }
    return results, torch.stack([raw[frame] for frame in range(length)])


def _harness(
    report: ParityReport, model: Any, features: dict, sizes: dict, post: dict[str, Any]
) -> None:
    """T = all must give the fixture's results; T = S = the fixture's window, within the noise
    of batching frames differently."""
    results, _ = harness_run(model, features, sizes, None)
    compare_results(report, "harness T=all", results, post, exact_masks=False)
    window = int(post.get("window", {}).get("window_size") or 0)
    if window:
        results, raw = harness_run(model, features, sizes, window)
        expected = load_fixture_file(Path(report.fixture) / "forward.pt")["pred_logits"][0]
        report.add_tensor(f"harness T={window}.raw pred_logits", raw, expected, WINDOW_TOLERANCE)
        compare_results(
            report,
            f"harness T={window}",
            results,
            post,
            exact_masks=False,
            score_tolerance=WINDOW_SCORE_TOLERANCE,
            flipped_pixels=WINDOW_FLIPPED_PIXELS,
        )


def run_parity(fixture_dir: Path, out_path: Path | None = None) -> ParityReport:
    """Build from meta.json, load state_dict.pt, run features.pt, replay postprocess.pt."""
    fixture_dir = Path(fixture_dir)
    report = ParityReport(method="minvis", fixture=str(fixture_dir))
    run = check_forward(report, fixture_dir, ARCHITECTURE, False, fixture_outputs)
    model, features, sizes, present = run.model, run.features, run.sizes, run.present
    out, produced = run.out, run.produced
    linked = link_frames(*frame_outputs(out))
    if "postprocess.pt" in present:
        post = load_fixture_file(fixture_dir / "postprocess.pt")
        _postprocess(report, post, linked, sizes)
        if "forward.pt" in present:
            _harness(report, model, features, sizes, post)
    produced["linked"] = {"pred_logits": linked.logits, "match_indices": linked.indices}
    save_produced(produced, out_path)
    return report

"""What pinning a dataset's frames costs a run, on a layout the size of YouTube-VIS 2021.

    python benchmarks/bench_frames_identity.py [--videos 3000 --frames 30 --kb 2 6]
        [--root /tmp/vis_bench_frames_layout] [--json benchmarks/results/frames_identity.json]

A run folder reuses finished cells only for the same frames (vis_bench/data/frames_digest.py):
each run lists the folders holding the videos' frames and takes each file's content digest from
a cache keyed by its stat, hashing only the files it has not seen. This builds a throwaway layout
of `videos` folders of `frames` files of `kb` KiB of seeded random bytes (the real split has
about 3,000 videos and 90,000 frames; a content digest costs by the byte, so the report gives
bytes too), then times `frames_manifest` on it:

* cold: no cache anywhere (a first run on the split): every file is read and hashed;
* warm: the cache beside the frames filled (every later run): the files are only stat'ed;
* changed: warm, after `--change` files were rewritten (same size, other bytes).

Each phase runs `--repeat` times (the cache removed before each cold one); the load average is
read before and after each. The files' pages are in the OS cache after they are written, so a
cold run here reads memory, not disk: on a split just copied from another machine the first run
waits for the disk as well.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import vis_bench.data.frames_digest as frames_digest
from vis_bench.measure.load import read_load
from vis_bench.measure.provenance import start_provenance, write_json_with_provenance


def build_layout(root: Path, videos: int, frames: int, kb: tuple[int, int]) -> int:
    """`videos` folders of `frames` files of random bytes (seeded; kept when already there);
    returns the bytes written."""
    marker = root / f".layout-{videos}x{frames}-{kb[0]}-{kb[1]}"
    rng = random.Random(0)
    sizes = [
        [rng.randint(kb[0] * 1024, kb[1] * 1024) for _ in range(frames)] for _ in range(videos)
    ]
    if not marker.is_file():
        if root.exists():
            shutil.rmtree(root)
        for v, row in enumerate(sizes):
            folder = root / f"{v:05d}{rng.getrandbits(24):06x}"[:10]
            folder.mkdir(parents=True)
            for t, size in enumerate(row):
                (folder / f"{t:05d}.jpg").write_bytes(rng.randbytes(size))
        marker.write_text("complete\n")
        time.sleep(frames_digest.RACY_NS / 1e9)  # files this new are not cached yet
    return sum(map(sum, sizes))


def layout_videos(root: Path) -> list[Any]:
    """The layout as a dataset's videos: an id and the frame files, as annotations list them."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    return [
        SimpleNamespace(id=i + 1, file_names=[f"{f.name}/{n}" for n in sorted(os.listdir(f))])
        for i, f in enumerate(folders)
    ]


def timed(root: Path, videos: list[Any], cache_dir: Path) -> dict[str, Any]:
    """One `frames_manifest` call and its summary: seconds, files hashed, the load before and
    after; and the time and size of the manifest a run folder keeps."""
    hashed = []
    real = frames_digest._content_digest
    frames_digest._content_digest = lambda path: hashed.append(1) or real(path)
    load = read_load().load1
    start = time.perf_counter()
    try:
        manifest = frames_digest.frames_manifest(root, videos, cache_dir)
        summary = manifest.summary()  # what the identity keeps: the digest of every file's
    finally:
        frames_digest._content_digest = real
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    kept = manifest.to_bytes()  # what a run folder keeps (written when it is first claimed)
    return {
        "seconds": round(seconds, 3),
        "files": manifest.files,
        "hashed": len(hashed),
        "digest": summary["digest"],
        "run_folder_manifest_bytes": len(kept),
        "run_folder_manifest_seconds": round(time.perf_counter() - start, 3),
        "load1_before": load,
        "load1_after": read_load().load1,
    }


def change_files(videos: list[Any], root: Path, count: int) -> None:
    """Rewrite `count` frames spread over the layout: same size, other bytes."""
    step = max(1, len(videos) // count)
    for video in videos[::step][:count]:
        path = root / video.file_names[len(video.file_names) // 2]
        blob = bytearray(path.read_bytes())
        blob[0] ^= 0xFF
        path.write_bytes(bytes(blob))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=3000)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--kb", type=int, nargs=2, default=(2, 6), metavar=("MIN", "MAX"))
    parser.add_argument("--change", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", type=Path, default=Path("/tmp/vis_bench_frames_layout"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    provenance = start_provenance()
    frames_root = args.root / "JPEGImages"
    cache_dir = args.root / "project_cache"
    total_bytes = build_layout(frames_root, args.videos, args.frames, tuple(args.kb))
    videos = layout_videos(frames_root)
    cache_file = frames_root / frames_digest.CACHE_NAME
    runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": [], "changed": []}
    for _ in range(args.repeat):
        cache_file.unlink(missing_ok=True)
        shutil.rmtree(cache_dir, ignore_errors=True)
        runs["cold"].append(timed(frames_root, videos, cache_dir))
        runs["warm"].append(timed(frames_root, videos, cache_dir))
    for _ in range(args.repeat):
        change_files(videos, frames_root, args.change)
        time.sleep(frames_digest.RACY_NS / 1e9)  # as a run a few seconds after the edit
        runs["changed"].append(timed(frames_root, videos, cache_dir))
    report = {
        "layout": {
            "videos": len(videos),
            "frames": sum(len(v.file_names) for v in videos),
            "bytes": total_bytes,
            "kib_per_frame": list(args.kb),
        },
        "cache_file_bytes": cache_file.stat().st_size,
        "threads": min(8, os.cpu_count() or 1),
        "runs": runs,
        "median_seconds": {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()},
    }
    for phase, seconds in report["median_seconds"].items():
        hashed = runs[phase][0]["hashed"]
        print(f"{phase:8s} {seconds:7.2f} s  ({hashed} of {runs[phase][0]['files']} files hashed)")
    print(f"cache beside the frames: {report['cache_file_bytes'] / 2**20:.1f} MiB")
    if args.json:
        write_json_with_provenance(args.json, report, provenance)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The installed package knows no repository: install this checkout (a wheel, not editable) into a
# fresh virtual environment outside it, then, from a directory that is no checkout, run what a user
# of the package runs: `methods` (and its released checkpoints), `eval` (a golden case against the official evaluator's numbers,
# and perfect predictions of a synthetic set scoring AP 1), the embedded default run (one video,
# offline inference only) and `parity` against a vendored fixture. Called by .ci/run.
#
#     scripts/check_installed.sh [WORK_DIR]    # WORK_DIR: kept (default: a temporary folder)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -ge 1 ]; then
    work="$1"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
work="$(cd "$work" && pwd)"
case "$work/" in "$repo"/*) echo "the work folder must lie outside the checkout" >&2; exit 2 ;; esac
golden="$repo/tests/fixtures/golden"
started=$SECONDS

# The wheel is built from a copy of what git sees (tracked and untracked, not ignored files): an
# in-tree build would reuse a stale build/ folder of the checkout and ship modules long deleted.
source_copy="$work/source"
rm -rf "$source_copy" && mkdir -p "$source_copy"
python3 - "$repo" "$source_copy" <<'EOF'
import shutil
import subprocess
import sys
from pathlib import Path

repo, dest = Path(sys.argv[1]), Path(sys.argv[2])
listed = subprocess.run(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd=repo, capture_output=True, check=True,
).stdout.decode().split("\0")
for name in filter(None, listed):
    if (repo / name).is_file():  # a tracked file deleted in the working tree is left out
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
EOF

python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
# A CPU build of torch pinned as in CI, before the package (an unpinned torch is a CUDA build).
# --no-compile: bytecode only for what the checks import (as .ci/run installs)
python -m pip install --quiet --no-compile torch==2.13.0
python -m pip install --quiet --no-compile "$source_copy"
echo "installed in $((SECONDS - started)) s"

user="$work/user"
rm -rf "$user" && mkdir -p "$user" && cd "$user"
python - "$repo" <<'EOF'
import sys
from pathlib import Path

import importlib.util

import vis_bench

package = Path(vis_bench.__file__).resolve()
assert Path(sys.argv[1]).resolve() not in package.parents, f"imported from the checkout: {package}"
assert importlib.util.find_spec("tools") is None, "the repository's tooling was installed"
assert importlib.util.find_spec("vis_bench.maintainer") is None, "a stale module was installed"
EOF

vis-bench methods
# the released checkpoints and their published numbers ship with the package
vis-bench methods --pretrained > pretrained.txt
grep -q "minvis.r50_ytvis19" pretrained.txt && grep -q "CC-BY-NC-SA-4.0" pretrained.txt
vis-bench methods --pretrained mask2former-vis.swinl_ytvis19 > variant.txt
grep -q "published (checkpoint, ytvis2019" variant.txt
python - <<'EOF'
from vis_bench.published import default_published

assert default_published().by_id("ifc-r50-t36")["metrics"]["FPS"] == 107.1
print(f"published: {len(default_published().entries)} entries known to the installed package")
EOF

echo "methods checked at $((SECONDS - started)) s"

# eval: a golden case scores as the official evaluator did (the case holds predictions of a
# category the ground truth does not list, which the official evaluator drops: so must we)
vis-bench eval --gt "$golden/ytvis_eval/public/case_01/gt.json" \
    --results "$golden/ytvis_eval/public/case_01/results.json" --out golden_stats.json \
    --allow-dropped
# eval: a synthetic set, its own ground truth as predictions, scores AP 1
vis-bench synth --out data --videos 2
python - <<'EOF'
import json

from vis_bench.formats.rle import to_json

gt = json.load(open("data/annotations.json"))
results = [
    {"video_id": a["video_id"], "category_id": a["category_id"], "score": 1.0,
     "segmentations": [None if s is None else to_json(s) for s in a["segmentations"]]}
    for a in gt["annotations"]
]
json.dump(results, open("perfect.json", "w"))
EOF
vis-bench eval --gt data/annotations.json --results perfect.json --out perfect_stats.json
python - "$golden/ytvis_eval/public/case_01/expected.json" <<'EOF'
import json
import sys

expected = json.load(open(sys.argv[1]))["stats_by_name"]
ours = json.load(open("golden_stats.json"))
ours = ours.get("stats_by_name", ours)
assert all(abs(ours[k] - v) < 1e-9 for k, v in expected.items()), (ours, expected)
perfect = json.load(open("perfect_stats.json"))
assert perfect.get("stats_by_name", perfect)["AP"] == 1.0, perfect
print("eval: golden case equal to the official numbers; perfect predictions AP 1.0")
EOF

echo "eval checked at $((SECONDS - started)) s"

# the embedded default (configs and tiny weights shipped with the package), kept short: every
# method's accuracy pass on one video, its pages; no timed rounds or FLOP counts (package code
# only, which the tests run)
vis-bench run --set dataset.videos=1 --set "sweep.clip_length=[all]" \
    --set measure.fps=false --set measure.flops=false --run-dir runs/default
python - <<'EOF'
import json

records = [json.loads(line) for line in open("runs/default/records.jsonl")]
assert records and all(r["status"] == "ok" for r in records), records
assert all(r["environment"]["git_commit"] is None for r in records)
assert all(r["provenance"]["code"] == "not a git checkout" for r in records)
assert all(r["provenance"]["vis_bench"] for r in records)
# the kernels' sources are installed too: the compiled core ran, not the slow reference
cores = {c for r in records for c in r["execution"].get("deform_attn_core", [])}
assert cores and "reference" not in cores, cores
print(f"run: {len(records)} cells ok ({', '.join(sorted(r['method'] for r in records))})")
EOF

echo "default run checked at $((SECONDS - started)) s"

vis-bench parity --method minvis --fixture "$golden/minvis/public"
if vis-bench parity --method minvis 2>parity_err.txt; then
    echo "parity without --fixture should fail" >&2
    exit 1
fi
grep -q "tests/fixtures/golden" parity_err.txt

echo "installed check passed in $((SECONDS - started)) s"

#!/usr/bin/env bash
# The GPU table in one command (docs/gpu_table.md): what the machine is, the CUDA kernel tests and
# the kernel benchmark, then the sweeps of configs/gpu_table/, each step under its own time limit,
# everything written under OUT_DIR.
#
#   scripts/gpu_table.sh [--dry-run] [--budget SECONDS] [--allow-dirty] OUT_DIR [STEP ...]
#   scripts/gpu_table.sh --list
#
# Resumable: a step whose output exists is skipped (OUT_DIR/steps/STEP.json marks a finished step;
# the kernel steps' JSON marks theirs), and a sweep stopped half way resumes its unfinished cells,
# so the same command run again goes on where the last one stopped. STEP names limit the run to
# those steps. --budget S starts a step only if its estimate fits in what is left of S seconds and
# stops it when they are spent (a device call of 10 minutes: --budget 540, docs/gpu_table.md);
# exit 3 says steps were left for the next call. --dry-run: the same steps on the CPU with tiny
# random models and a few small frames, no CUDA part (CI runs it: tests/test_gpu_table.py). The
# estimates below are for one H100 (docs/gpu_table.md: the steps the H100 and H200 runs finished
# are its times rounded up; the rest are guesses). PYTHON names the interpreter vis-bench is
# installed in (default: the `python` on PATH, as in an activated environment).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

# step | estimate on one H100 (s) | limit (s) | what it runs (a sweep-NAME runs
# configs/gpu_table/NAME.yaml)
STEPS=(
    "machine 60 300 the GPU, driver, CUDA, NVML power and clocks; builds the kernels"
    "kernel-tests 70 420 the kernel tests: fp32, fp64, fp16, bf16, forward and backward"
    "kernel-bench 45 300 the CUDA kernel against the PyTorch reference, SeqFormer's shapes"
    "ap-check 90 240 the default run's cells on the GPU, AP only, to set beside the CPU's"
    "sweep-ifc 330 570 IFC R50 fp32: published settings, window/stride pairs"
    "sweep-videomt 400 570 VidEoMT S/B/L fp16 and the authors' compiled protocol"
    "sweep-mask2former 190 570 Mask2Former-VIS and MinVIS R50 in fp32, fp16, bf16"
    "sweep-dvis_plus 210 570 DVIS++ online and offline R50 in fp32, fp16, bf16"
    "sweep-dvis_daq 240 570 DVIS-DAQ online and offline R50 in fp32, fp16, bf16"
    "sweep-seqformer 120 570 SeqFormer R50 fp32: offline, T=10 and T=5"
    "sweep-mssts 190 570 MS-STS and its release R50 fp32: offline, T=10 and T=5"
    "sweep-ifc_half 150 570 IFC R50 fp16 and bf16 at the published settings"
    "sweep-videomt_fp32_bf16 220 570 VidEoMT S/B/L in fp32 and bf16"
    "sweep-seqformer_half 190 570 SeqFormer, MS-STS and its release in fp16 and bf16"
    "sweep-sam3 330 570 SAM 3 release sizes, 8 prompts, bf16 and fp16"
    "sweep-sam3_fp32 230 570 SAM 3 release sizes, 8 prompts, fp32"
)

usage() { grep '^#   scripts/gpu_table.sh' "$0" | sed 's/^# *//'; }

dry_run=0 budget=0 allow_dirty=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1; shift ;;
        --budget) budget="${2:?--budget needs a number of seconds}"; shift 2 ;;
        --allow-dirty) allow_dirty=(--allow-dirty); shift ;;
        --list)
            total=0
            for row in "${STEPS[@]}"; do
                read -r name estimate limit what <<<"$row"
                printf '%-24s estimate %4d s  limit %4d s  %s\n' "$name" "$estimate" "$limit" "$what"
                total=$((total + estimate))
            done
            echo "estimated in all: $((total / 60)) min $((total % 60)) s on one H100"
            exit 0 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gpu_table.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -lt 1 ]; then usage >&2; exit 2; fi
out="$1"; shift
wanted=("$@")
for name in "${wanted[@]}"; do
    if ! printf '%s\n' "${STEPS[@]}" | grep -q "^$name "; then
        echo "gpu_table.sh: unknown step $name (--list names them)" >&2; exit 2
    fi
done
py="${PYTHON:-python}"
if ! "$py" -c 'import torch, vis_bench' 2>/dev/null; then
    echo "gpu_table.sh: '$py' cannot import torch and vis_bench: activate the environment" \
        "vis-bench is installed in, or set PYTHON=/path/to/its/python" >&2
    exit 2
fi
mkdir -p "$out/steps"
export PYTHONUNBUFFERED=1
dry=()
if [ "$dry_run" = 1 ]; then
    dry=(--dry-run)
    # inductor on a CPU takes many minutes for one model; the dry run checks the plumbing
    export TORCH_COMPILE_DISABLE=1
fi

# The command of a step, into the array `cmd`; its done file into `done_file`.
step_command() {
    local name="$1" config
    done_file="$out/steps/$name.json"
    case "$name" in
        machine)
            done_file="$out/machine.json"
            cmd=("$py" scripts/gpu_table.py machine --json "$done_file" "${dry[@]}")
            cmd+=("${allow_dirty[@]}") ;;
        ap-check)  # beside the CPU's: compare-runs results/default_run OUT_DIR/ap_check
            cmd=("$py" run_bench.py run --config configs/gpu_ap_check.yaml --run-dir "$out/ap_check")
            if [ "$dry_run" = 1 ]; then
                cmd+=(--set "sweep.device=[cpu]" --set dataset.videos=2)
                cmd+=(--set 'methods=[{"name": "ifc", "checkpoint": "results/checkpoints/ifc_tiny.pth", "label_space": "synthetic"}]')
            fi ;;
        kernel-tests)
            done_file="$out/kernel_tests.json"
            cmd=("$py" scripts/gpu_table.py kernel-tests --json "$done_file" "${dry[@]}") ;;
        kernel-bench)
            if [ "$dry_run" = 1 ]; then  # no CUDA: its command line is all that can be checked
                cmd=("$py" benchmarks/bench_ms_deform_attn_cuda.py --help)
            else
                done_file="$out/kernel_bench.json"
                cmd=("$py" benchmarks/bench_ms_deform_attn_cuda.py --json "$done_file")
            fi ;;
        sweep-*)
            config="configs/gpu_table/${name#sweep-}.yaml"
            local sets=()
            mapfile -t sets < <("$py" scripts/gpu_table.py sweep-overrides "$config" "${dry[@]}")
            cmd=("$py" run_bench.py run --config "$config" --run-dir "$out/${name#sweep-}")
            for item in "${sets[@]}"; do cmd+=(--set "$item"); done ;;
    esac
}

# OUT_DIR/steps/STEP.json: the step finished, with its exit code and its time against its estimate
mark_done() {
    local dry=false
    [ "$dry_run" = 1 ] && dry=true
    printf '{"step": "%s", "rc": %d, "seconds": %d, "estimate_s": %d, "limit_s": %d, ' "$@" \
        >"$out/steps/$1.json"
    printf '"dry_run": %s, "finished": "%s"}\n' "$dry" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        >>"$out/steps/$1.json"
}

started=$SECONDS failed=() left=()
for row in "${STEPS[@]}"; do
    read -r name estimate limit _ <<<"$row"
    if [ ${#wanted[@]} -gt 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qx "$name"; then continue; fi
    step_command "$name"
    if [ -e "$done_file" ] || [ -e "$out/steps/$name.json" ]; then
        echo "== $name: done already ($done_file)"; continue
    fi
    if [ "$budget" -gt 0 ]; then
        remaining=$((budget - (SECONDS - started)))
        if [ "$estimate" -gt "$remaining" ]; then
            echo "== $name: left for the next call (estimate ${estimate} s, ${remaining} s left)"
            left+=("$name"); continue
        fi
        [ "$limit" -gt "$remaining" ] && limit=$remaining
    fi
    echo "== $name (limit ${limit} s): ${cmd[*]}"
    step_start=$SECONDS
    timeout --kill-after=20 "$limit" "${cmd[@]}"
    rc=$?
    seconds=$((SECONDS - step_start))
    # a sweep with failed cells (1) has finished: its records say why; a timeout (124) resumes
    if [ "$rc" = 0 ] || { [ "$rc" = 1 ] && [[ "$name" == sweep-* || "$name" == kernel-tests || "$name" == ap-check ]]; }; then
        mark_done "$name" "$rc" "$seconds" "$estimate" "$limit"
    fi
    if [ "$rc" != 0 ]; then failed+=("$name (exit $rc)"); fi
    echo "== $name: exit $rc after ${seconds} s"
    if [ "$name" = machine ] && [ "$rc" != 0 ]; then
        echo "gpu_table.sh: the machine step failed; nothing else can be measured here" >&2; exit 2
    fi
done
echo "gpu_table.sh: $((SECONDS - started)) s in all"
if [ ${#left[@]} -gt 0 ]; then echo "left for the next call: ${left[*]}"; fi
if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}" >&2; exit 1; fi
if [ ${#left[@]} -gt 0 ]; then exit 3; fi
exit 0

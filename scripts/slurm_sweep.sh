#!/usr/bin/env bash
# Multi-node vis-bench sweep under SLURM: one torchrun per node, one process per GPU.
# Submit with: sbatch scripts/slurm_sweep.sh configs/ytvis2021_r50.yaml [--set key=value ...]
#SBATCH --job-name=vis-bench
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=64
#SBATCH --time=24:00:00
#SBATCH --output=vis-bench-%j.log
set -euo pipefail

CONFIG=${1:?usage: sbatch scripts/slurm_sweep.sh CONFIG [--set key=value ...]}
shift
GPUS_PER_NODE=${SLURM_GPUS_ON_NODE:-8}
HEAD_NODE=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)

# Every node runs the same torchrun; the rendezvous on the head node forms one group.
# Records and results/ must be on a filesystem all nodes share; an interrupted job resumes
# where it stopped when resubmitted.
srun torchrun \
  --nnodes="$SLURM_NNODES" \
  --nproc_per_node="$GPUS_PER_NODE" \
  --rdzv_id="$SLURM_JOB_ID" \
  --rdzv_backend=c10d \
  --rdzv_endpoint="$HEAD_NODE:29500" \
  run_bench.py run --config "$CONFIG" --set "sweep.device=[cuda]" "$@"

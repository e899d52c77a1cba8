#!/usr/bin/env bash
# The paper's ablations of pose transfer for real people, each trained the same way: the settings of
# scripts/train_pose_real.sh (DeepFashion train split of the pair table, every two views, mirrored,
# started from transfer-synthetic-256 wherever a weight fits), the same number of steps per stage,
# one after another. The TPS warp trains at CP-VTON's rate (1e-4; at the flow's 4e-4 its control points
# saturate). A finished variant is skipped and an interrupted one resumed when rerun. Score them with
# benchmarks/pose_transfer_real.py --models full=OUT/full no_layout=OUT/no_layout ...
#
#   scripts/train_pose_real_ablations.sh PAIRS_DIR OUT [STEPS_PER_STAGE] [VARIANT ...]
#   e.g. scripts/train_pose_real_ablations.sh ../shared/data/pose_transfer_real runs/ablations 300
set -euo pipefail
data=${1:?pose pair folder (pairs.csv)}; out=${2:?output folder}; steps=${3:-300}
shift $(( $# < 3 ? $# : 3 ))
variants=("$@"); [ ${#variants[@]} -gt 0 ] || variants=(full no_layout no_flow no_cascade tps)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
for v in "${variants[@]}"; do
  run="$out/$v"
  if [ -f "$run/model.safetensors" ]; then echo "$v: done ($run)"; continue; fi
  if [ -f "$run/train.json" ]; then clothflow train --resume "$run"; continue; fi
  flow_lr=4e-4; [ "$v" = tps ] && flow_lr=1e-4
  clothflow train --task transfer --variant "$v" --data "$data" --preset fast --set size=256x176 \
    --set train.subset=deepfashion/train --set train.all_views=true --mirror \
    --set train.init=transfer-synthetic-256 \
    --set train.stage_lr.layout=1.6e-3 --set train.stage_lr.flow="$flow_lr" --set train.stage_lr.render=1.6e-3 \
    --set train.checkpoint_every=100 --steps "$steps" --batch-size 8 --out "$run"
done

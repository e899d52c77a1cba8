#!/usr/bin/env bash
# Train pose transfer for real people (transfer-deepfashion-256) at 256 x 176 on the CPU, one stage
# after another, each for a wall-clock budget (scripts/train_staged.sh; rerunning it on RUN resumes).
# It starts from the synthetic pretraining (transfer-synthetic-256: true flow and layout) and trains
# on the pair table's DeepFashion train split, every two views of a person, mirrored too. The first
# run parses the photos with the shipped parser and estimates missing keypoints (kept in a cache).
#
#   scripts/train_pose_real.sh PAIRS_DIR RUN [LAYOUT_MIN FLOW_MIN RENDER_MIN] [-- MORE_TRAIN_OPTIONS]
#   e.g. scripts/train_pose_real.sh ../shared/data/pose_transfer_real runs/df-256 15 25 40
set -euo pipefail
data=${1:?pose pair folder (pairs.csv)}; run=${2:?run folder}
minutes=("${3:-15}" "${4:-25}" "${5:-40}")
shift $(( $# < 5 ? $# : 5 ))
[ "${1:-}" = "--" ] && shift
exec "$(dirname "$0")/train_staged.sh" "$run" "${minutes[@]}" -- \
  --task transfer --data "$data" --preset fast --set size=256x176 \
  --set train.subset=deepfashion/train --set train.all_views=true --mirror \
  --set train.init=transfer-synthetic-256 \
  --set train.stage_lr.layout=1.6e-3 --set train.stage_lr.flow=4e-4 --set train.stage_lr.render=1.6e-3 \
  --set train.checkpoint_every=100 --steps 100000 --batch-size 8 "$@"

#!/usr/bin/env bash
# Train the real try-on pipeline on VITON at 256 x 192 on the CPU, one stage after another,
# each for a wall-clock budget (scripts/train_staged.sh; rerunning it on RUN resumes).
# The render stage may then be continued at a quarter of its rate, where its curve flattens:
#   python benchmarks/viton_curve.py --run RUN --data VITON --stage render --slices 3 --minutes 20 \
#       --set train.stage_lr.render=4e-4
#
#   scripts/train_viton.sh VITON_TRAIN_DIR RUN [LAYOUT_MIN FLOW_MIN RENDER_MIN]
#   e.g. scripts/train_viton.sh ~/.cache/viton/viton/train runs/viton 20 70 60
set -euo pipefail
data=${1:?VITON train folder}; run=${2:?run folder}
exec "$(dirname "$0")/train_staged.sh" "$run" "${3:-20}" "${4:-70}" "${5:-60}" -- \
  --task tryon --data "$data" --preset fast --set size=256x192 \
  --set train.stage_lr.layout=2e-3 --set train.stage_lr.flow=4e-4 --set train.stage_lr.render=1.6e-3 \
  --set train.loss.flow.mask=10 --set train.checkpoint_every=100 \
  --steps 100000 --batch-size 8 --workers 1

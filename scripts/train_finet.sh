#!/usr/bin/env bash
# Train the shipped FiNet inpainting model (synthetic outfits, 128 x 88) for a wall-clock budget
# on one thread; rerunning it on the same RUN resumes for MINUTES more.
#
#   scripts/train_finet.sh RUN [MINUTES]
set -euo pipefail
run=${1:?run folder}; minutes=${2:-40}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
if [ ! -f "$run/train.json" ]; then
  clothflow train --task inpaint --variant finet --set model.size=128x88 --set model.depth=4 \
    --set train.num_items=4000 --steps 100000 --batch-size 8 --minutes "$minutes" --out "$run"
else
  clothflow train --resume "$run" --minutes "$minutes"
fi

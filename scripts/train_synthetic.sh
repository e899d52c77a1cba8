#!/usr/bin/env bash
# Train the shipped synthetic models at full size on the CPU (scripts/train_staged.sh; rerunning
# on the same RUN resumes). One thread each, so that two can train side by side on 2 cores.
#
#   scripts/train_synthetic.sh transfer RUN [LAYOUT_MIN FLOW_MIN RENDER_MIN]   # 256 x 176
#   scripts/train_synthetic.sh tryon RUN [LAYOUT_MIN FLOW_MIN RENDER_MIN]      # 256 x 192
set -euo pipefail
task=${1:?transfer or tryon}; run=${2:?run folder}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
case "$task" in
  transfer) size=256x176; default=(25 55 40) ;;
  tryon) size=256x192; default=(15 35 25) ;;
  *) echo "task must be transfer or tryon, not $task" >&2; exit 2 ;;
esac
exec "$(dirname "$0")/train_staged.sh" "$run" "${3:-${default[0]}}" "${4:-${default[1]}}" "${5:-${default[2]}}" -- \
  --task "$task" --data synthetic --preset fast --set size="$size" \
  --set train.num_pairs=20000 --set train.checkpoint_every=100 --steps 100000 --batch-size 8

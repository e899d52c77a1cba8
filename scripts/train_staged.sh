#!/usr/bin/env bash
# Train a ClothFlow pipeline one stage after another, each for a wall-clock budget, on the CPU.
# Rerunning it on the same RUN resumes: a stage that already had its minutes trains on for the
# new ones (a stage's steps are counted across sittings). The options after `--` make a new
# run (task, data, preset, rates, ...) and are ignored when RUN already exists.
#
#   scripts/train_staged.sh RUN LAYOUT_MIN FLOW_MIN RENDER_MIN -- CLOTHFLOW_TRAIN_OPTIONS...
#   e.g. scripts/train_staged.sh runs/transfer-256 25 55 40 -- --data synthetic --preset fast
set -euo pipefail
run=${1:?run folder}; minutes=("${2:?layout minutes}" "${3:?flow minutes}" "${4:?render minutes}")
shift 4
[ "${1:-}" = "--" ] && shift
stages=(layout flow render)
for i in 0 1 2; do
  stage=${stages[$i]}
  [ "${minutes[$i]}" = 0 ] && continue
  if [ ! -f "$run/train.json" ]; then
    clothflow train "$@" --stage "$stage" --minutes "${minutes[$i]}" --out "$run"
  else
    clothflow train --resume "$run" --set train.stage="$stage" --minutes "${minutes[$i]}"
  fi
done

#!/bin/bash
# Issue 10, 2026-12-07, fourth session, fifth round of docs/training.md. Needs the fourth
# round's labels and feature cache (../training-2026-12-07-third/train-runs.sh label) and its
# d-bal run (the same script's train).
#   train-runs.sh train     # e-long (d-bal resumed to 6,000 s) and e-b30, side by side
#   train-runs.sh snapshot  # weights from each run's checkpoint at its milestones (while training)
cd "$(dirname "$0")/../../.."  # the repository root
common=(--labels runs/labels-512-200 --cache runs/features-512-200
        --init runs/shipped-2545.safetensors --memory attention --lr-memory 1e-4
        --lr-decoder 2e-5 --tem 5 --guided --flicker 10 --threads 1)
snapshot() {  # RUN STEP...: once the run's log passes each step, its checkpoint as weights
  local run=$1; shift
  for m in "$@"; do
    until [ "$(tail -n 1 runs/$run/log.jsonl | .venv/bin/python -c \
               'import json,sys; print(json.load(sys.stdin)["step"])')" -ge "$m" ]; do
      sleep 60; done
    mkdir -p runs/snap-$run-$m && cp runs/$run/checkpoint.pt runs/snap-$run-$m/
    .venv/bin/python benchmarks/results/training-2026-12-07-solid/scripts/snap2.py \
      runs/snap-$run-$m runs/snap-$run-$m.safetensors
  done
}
case $1 in
  train)
    mkdir -p runs/e-long && cp runs/d-bal/checkpoint.pt runs/d-bal/log.jsonl runs/e-long/
    nohup .venv/bin/python scripts/train_cached.py "${common[@]}" --out runs/e-long --seed 3 \
      --seconds 6000 --solid-balanced 10 > runs/train-e-long.log 2>&1 &
    nohup .venv/bin/python scripts/train_cached.py "${common[@]}" --out runs/e-b30 --seed 2 \
      --seconds 3900 --solid-balanced 30 > runs/train-e-b30.log 2>&1 & ;;
  snapshot) snapshot e-long 2500 3500 & snapshot e-b30 1450 2500 & ;;
  *) echo "usage: $0 train|snapshot" >&2; exit 2 ;;
esac
wait

#!/bin/bash
# Sixth round: gate each NAME=PATH against the shipped weights on SET (own: the first held-out
# set, 60 frames; 2: frames 60-119, runs/labels-heldout2 from train-runs.sh heldout2), one
# after another on one thread. The first gate of a set keeps its JSON as the set's base, so
# later candidates reuse the incumbents' figures (--scored).
#   gate.sh own|2 NAME=PATH...
cd "$(dirname "$0")/../../.."  # the repository root
set=$1; shift
labels=runs/labels-heldout-own; [ "$set" = 2 ] && labels=runs/labels-heldout2
for spec in "$@"; do
  n=${spec%%=*}
  scored=()
  [ "$set" = own ] && scored=(--scored benchmarks/results/training-2026-12-07-fifth/heldout-own-sbe-0.5.json)
  [ -f runs/heldout-$set-base.json ] && scored=(--scored runs/heldout-$set-base.json)
  .venv/bin/python scripts/heldout_gate.py $labels --candidate "$spec" --incumbent shipped=default \
    --must-beat converted --must-beat converted-window --also converted=runs/converted.safetensors \
    --also converted-window=runs/converted-window.safetensors "${scored[@]}" --threads 1 \
    --json runs/heldout-$set-$n.json > runs/heldout-$set-$n.log 2>&1
  [ -f runs/heldout-$set-base.json ] || cp runs/heldout-$set-$n.json runs/heldout-$set-base.json
done

#!/bin/bash
# Issue 10, 2026-12-07, second session: the continuation runs of docs/training.md ("A solid
# term, continuing the shipped weights"), each pair side by side on one thread each.
#   train-runs.sh cont   # round 1: solid 30; cont-a flicker 10, cont-b flicker 30; 4,200 s
#   train-runs.sh bal    # round 2: balanced solid 30 (bal-a) and 10 (bal-b); 2,100 s
cd "$(dirname "$0")/../../.."  # the repository root
# runs/shipped-2545.safetensors: a copy of core/memmatte/weights/default.safetensors at 2545d5ab8e39.
run() {  # NAME SEED SECONDS EXTRA-ARGS...
  local name=$1 seed=$2 seconds=$3; shift 3
  nohup .venv/bin/python scripts/train_cached.py --labels runs/labels-512 \
    --cache runs/features-512 --init runs/shipped-2545.safetensors --memory attention \
    --out runs/$name --lr-memory 1e-4 --lr-decoder 2e-5 --tem 5 --guided --seed $seed \
    --seconds $seconds "$@" > runs/train-$name.log 2>&1 &
}
case $1 in
  cont) run cont-a 1 4200 --flicker 10 --solid 30; run cont-b 1 4200 --flicker 30 --solid 30 ;;
  bal) run bal-a 2 2100 --flicker 10 --solid-balanced 30
       run bal-b 2 2100 --flicker 10 --solid-balanced 10 ;;
  *) echo "usage: $0 cont|bal" >&2; exit 2 ;;
esac
wait

#!/bin/bash
# Issue 10, session 2026-12-07 b, second round: the balanced solid term (background and
# interior each their own mean), from the shipped weights, 2,100 s each; weights 30 and 10.
cd "$(dirname "$0")/../../.."  # the repository root
PY=.venv/bin/python
for nw in a:30 b:10; do
  n=${nw%%:*}; w=${nw##*:}
  nohup $PY scripts/train_cached.py --labels runs/labels-512 --cache runs/features-512 \
    --init runs/shipped-2545.safetensors --memory attention --out runs/bal-$n \
    --lr-memory 1e-4 --lr-decoder 2e-5 --tem 5 --flicker 10 --solid-balanced $w --guided --seed 2 \
    --seconds 2100 > runs/train-bal-$n.log 2>&1 &
done
wait

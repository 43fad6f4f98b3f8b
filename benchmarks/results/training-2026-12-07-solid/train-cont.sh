#!/bin/bash
# Issue 10, session 2026-12-07 b: continue the shipped weights (2545d5ab8e39) on new windows,
# with the solid term (30: lap is ~15x alpha, so 3 would barely count); A keeps flicker 10, B raises it to 30.
cd "$(dirname "$0")/../../.."  # the repository root
PY=.venv/bin/python
for nf in a:10 b:30; do
  n=${nf%%:*}; f=${nf##*:}
  nohup $PY scripts/train_cached.py --labels runs/labels-512 --cache runs/features-512 \
    --init runs/shipped-2545.safetensors --memory attention --out runs/cont-$n \
    --lr-memory 1e-4 --lr-decoder 2e-5 --tem 5 --flicker $f --solid 30 --guided --seed 1 \
    --seconds 4200 > runs/train-cont-$n.log 2>&1 &
done
wait

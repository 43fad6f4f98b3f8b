#!/usr/bin/env bash
# The prepared GPU run: teacher labels for the training clips, then the attention fine-tune
# and its memory "none" ablation with the same time budget; results to $OUT (or runs/).
#   runs/gpu-src/<clip>/*.jpg  training clips (the held-out clip is not among them)
#   runs/gpu-src/rvm.onnx      the teacher (rvm_mobilenetv3_fp32.onnx)
set -euo pipefail
export PYTHONPATH=core PYTHONUNBUFFERED=1
out=${OUT:-runs/gpu-results}
mkdir -p "$out"
"${PYTHON:-python3}" -m memmatte label runs/gpu-src/sam2-bedroom runs/gpu-src/person \
    --teacher runs/gpu-src/rvm.onnx --out runs/teacher-labels --quiet
for variant in attention none; do
  cfg=configs/finetune-gpu.toml
  [ "$variant" = none ] && cfg=configs/finetune-gpu-none.toml
  "${PYTHON:-python3}" -m memmatte train --config "$cfg" --restart "${@}" 2>&1 | tr '\r' '\n' | tail -n 15
  cp "runs/finetune-gpu-$variant/weights.safetensors" "$out/weights-$variant.safetensors"
  cp "runs/finetune-gpu-$variant/summary.json" "$out/summary-$variant.json"
  cp "runs/finetune-gpu-$variant/log.jsonl" "$out/log-$variant.jsonl"
done

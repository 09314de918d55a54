#!/usr/bin/env bash
# Reproduce the measured phantom training run of docs/training.md on a CPU (about 27 minutes on
# 2 cores): 250 phantom studies, DenseNet-169 from random weights, 12 epochs at 160 px, then 2 epochs
# of fine-tuning at 224 px from the first stage's best checkpoint, then the evaluation with the CAM
# pointing game. Research tool - not for clinical use; the model is a DEMO model (synthetic data).
#
#   scripts/phantom_training_run.sh [OUT_DIR]     (default: phantom-run/)
set -euo pipefail

out=${1:-phantom-run}
mkdir -p "$out"
mura-triage phantoms --format mura --out "$out/data" --studies 250 --seed 7
started=$(date +%s)
mura-triage train --data "$out/data" --out "$out/stage1" --init none --epochs 12 --image-size 160 \
  --lr 1e-3 --lr-patience 1 --workers 0
stage1=$(date +%s)
mura-triage train --data "$out/data" --out "$out/stage2" --init "$out/stage1/best.ckpt" --epochs 2 \
  --image-size 224 --lr 1e-4 --lr-patience 1 --workers 0
finished=$(date +%s)
echo "training: stage 1 $((stage1 - started)) s, stage 2 $((finished - stage1)) s, total $((finished - started)) s"
mura-triage evaluate --data "$out/data" --checkpoint "$out/stage2/best.ckpt" --findings "$out/data/findings.csv" \
  --out "$out/report"

#!/usr/bin/env bash
# Reproduce the committed results in benchmarks/results/ for one run (isic, isic128 or brain).
#   bash benchmarks/reproduce.sh isic     # ISIC 2017 dev copy, alpha 1.0, 192x256
#   bash benchmarks/reproduce.sh isic128  # the same ISIC run at 128x128 (the faster edge size)
#   bash benchmarks/reproduce.sh brain    # LGG brain MRI dev copy, alpha 1.0, 256x256
# Needs ../shared (data + offline MobileNetV2 weights) and `make setup` (.venv). `--onnx` needs .venv-onnx:
#   python3 -m venv .venv-onnx && .venv-onnx/bin/pip install -e ".[train,onnx]"
# Latency figures depend on the machine and its load: trust ratios more than absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
SHARED=${SHARED:-../shared}
WEIGHTS=$SHARED/weights/mobilenet_v2_1.0_imagenet_qat_notop.h5
case "${1:-}" in
  isic)  DATA=$SHARED/data/isic;      SIZE=192x256; EPOCHS=8; CFG=benchmarks/configs/isic_a1.0_192x256.yaml ;;
  isic128) DATA=$SHARED/data/isic;    SIZE=128;     EPOCHS=8; CFG=benchmarks/configs/isic_a1.0_128.yaml ;;
  brain) DATA=$SHARED/data/brain_mri; SIZE=256;     EPOCHS=15; CFG=benchmarks/configs/brain_a1.0_256.yaml ;;
  *) echo "usage: $0 isic|isic128|brain" >&2; exit 2 ;;
esac
RUN=runs/$1
OUT=benchmarks/results/$1
mkdir -p "$OUT"
STEP=${STEP:-all}   # train | convert | accuracy | latency | noise | all

if [[ $STEP == all || $STEP == train ]]; then
  munet-train --config "$CFG" --data "$DATA/train" --val-data "$DATA/val" --alpha 1.0 --size "$SIZE" \
    --encoder-weights "$WEIGHTS" --epochs "$EPOCHS" --batch 8 --seed 0 --out "$RUN"
  cp "$RUN/metrics.json" "$OUT/train_metrics.json"; cp "$RUN/log.csv" "$OUT/train_log.csv"
  cp "$RUN/curves.png" "$OUT/train_curves.png"; cp "$RUN/MODEL_CARD.md" "$OUT/MODEL_CARD.md"
fi
if [[ $STEP == all || $STEP == convert ]]; then
  munet-convert "$RUN" --all --calib-data "$DATA/train" --val-data "$DATA/val" --max-dice-drop 1.0 \
    | tee "$OUT/convert.txt"
  cp "$RUN"/munet_int8.ops.txt "$OUT/ops_int8.txt"
fi
MODELS=("$RUN"/munet_float32.tflite "$RUN"/munet_fp16.tflite "$RUN"/munet_dynamic.tflite "$RUN"/munet_int8.tflite)
if [[ $STEP == all || $STEP == accuracy ]]; then
  munet-bench accuracy --keras "$RUN/best.keras" --tflite "${MODELS[@]}" --data "$DATA/val" --out "$OUT"
fi
if [[ $STEP == all || $STEP == latency ]]; then
  ONNX=(); [[ -x .venv-onnx/bin/python ]] && ONNX=(--onnx)
  munet-bench latency --tflite "${MODELS[@]}" --threads 1,2 --runs 50 --data "$DATA/val" "${ONNX[@]}" --out "$OUT"
fi
if [[ $STEP == all || $STEP == noise ]]; then
  munet-bench noise --tflite "$RUN"/munet_float32.tflite "$RUN"/munet_int8.tflite --data "$DATA/val" --out "$OUT/noise"
fi
munet-bench readme-table

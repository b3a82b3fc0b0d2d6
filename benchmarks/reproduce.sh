#!/usr/bin/env bash
# Reproduce the committed results in benchmarks/results/. Every study is a config, run alone with
#   munet-bench sweep benchmarks/configs/<study>.yaml --reuse   (--point P, --fold K, --report: see munet-bench sweep -h)
#   bash benchmarks/reproduce.sh sweeps      # every sweep, keeping committed rows (hours for missing ones)
# and the single runs below are each a fixed list of munet-train / munet-convert / munet-bench commands:
#   bash benchmarks/reproduce.sh isic|isic128|brain        # one run: alpha 1.0 at 192x256 / 128x128 / brain 256x256
#   bash benchmarks/reproduce.sh isic-edge|brain-edge      # --preset edge: the bundled `skin` / `brain` models
#   STEP=shipped bash benchmarks/reproduce.sh isic-edge  # re-score edge/models/skin.tflite as shipped
#   bash benchmarks/reproduce.sh brain-final|skin-final  # a bundled model: its CV-chosen recipe fitted on all data
#   bash benchmarks/reproduce.sh bundled-latency  # the shipped files (and PREVIOUS=old.tflite ...) timed interleaved
#   bash benchmarks/reproduce.sh retime      # re-time isic/isic128/brain latency with untrained same-architecture
#                                            # models (after a check that weights do not change LiteRT latency)
# Needs ../shared (data + offline MobileNetV2 weights) and `make setup` (.venv). `--onnx` needs .venv-onnx:
#   python3 -m venv .venv-onnx && .venv-onnx/bin/pip install -e ".[train,edge,onnx]"  (edge: LiteRT times the rows)
# Latency figures depend on the machine and its load: trust ratios more than absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0
SHARED=${SHARED:-../shared}
WEIGHTS=$SHARED/weights/mobilenet_v2_1.0_imagenet_qat_notop.h5
wait_quiet() {  # until the 1-min load average is under the busy bar (0.5 x cores), at most 5 min: before a timing pass
  for _ in $(seq 60); do awk -v b="$(( $(nproc) * 5 ))" '{exit !($1 * 10 < b)}' /proc/loadavg && return 0; sleep 5
  done; echo "load average still high: the pass will be flagged busy" >&2
}
case "${1:-}" in
  brain-final|skin-final)
    # A bundled model fitted on all development data with the point its cross-validation chose (nothing held out),
    # its last epoch converted as the CV folds were, then rewritten to uint8 I/O with MediaPipe metadata (needs
    # .venv-mp: make mediapipe-env). `brain` since 2026-12-08: cv_brain.yaml's `lesion_share-enc0.3` on all 86 patients
    # (needs data/brain_mri_more: ../shared/data/brain_mri/MANIFEST.md). `skin` since 2026-12-07: cv_isic.yaml's
    # `photometric-16ep-bce-dice-enc0.3` on the 2,133 ISIC train + val images (since session 19). Their estimates:
    # results/cv-brain, results/cv-isic.
    if [[ $1 == brain-final ]]; then SET=brain; POINT=lesion_share-enc0.3; NAME=brain
    else SET=isic; POINT=photometric-16ep-bce-dice-enc0.3; NAME=skin; fi
    RUN=runs/cv/$SET/$POINT/final; OUT=benchmarks/results/$1; mkdir -p "$OUT"
    munet-bench cv "benchmarks/configs/cv_$SET.yaml" --reuse --final "$POINT" --runs-dir "runs/cv/$SET" \
      | tee "$OUT/convert_bundled.txt"
    cp "$RUN/metrics.json" "$OUT/train_metrics.json"; cp "$RUN/log.csv" "$OUT/train_log.csv"
    cp "$RUN/MODEL_CARD.md" "$OUT/MODEL_CARD.md"
    MUNET_MEDIAPIPE_PYTHON=${MUNET_MEDIAPIPE_PYTHON:-$PWD/.venv-mp/bin/python} \
      munet-convert "$RUN/model_int8.tflite" --io uint8 --mediapipe --out "$RUN/$NAME.tflite" | tee "$OUT/convert_uint8.txt"
    echo "ship: cp $RUN/${NAME}_mediapipe.tflite edge/models/$NAME.tflite  (uint8 I/O + munet and MediaPipe metadata)"
    exit 0 ;;
  bundled-latency)
    # Every shipped file (and PREVIOUS="a.tflite b.tflite", e.g. the files they replaced) end to end, interleaved in
    # one pass at 1 and 2 threads on the machine's own CPU; feeds `munet-run --list-models` (munet-bench readme-table).
    wait_quiet
    # shellcheck disable=SC2086
    munet-bench latency --tflite edge/models/skin.tflite edge/models/brain.tflite ${PREVIOUS:-} --threads 1,2 \
      --runs 200 --data "$SHARED/data/isic/val" --out benchmarks/results/bundled
    # the first file given times 1-3 % slower at 2 threads whatever it is (edge/timing.py): the old files first too
    # shellcheck disable=SC2086
    [[ -z ${PREVIOUS:-} ]] || munet-bench latency --tflite $PREVIOUS edge/models/skin.tflite edge/models/brain.tflite \
      --threads 1,2 --runs 200 --data "$SHARED/data/isic/val" --out benchmarks/results/bundled/previous-first
    munet-bench readme-table
    exit 0 ;;
  isic-edge|brain-edge)
    if [[ $1 == isic-edge ]]; then DATA=$SHARED/data/isic; EXTRA=(); NAME=skin; else
      # brain: Adam 5e-4 as the preset (1e-4 did not learn the slim decoder in 15 epochs: runs notes in
      # benchmarks/results/brain-edge/train.md); 15 epochs as the brain run.
      DATA=$SHARED/data/brain_mri; EXTRA=(--epochs 15); NAME=brain; fi
    RUN=runs/$1; OUT=benchmarks/results/$1; mkdir -p "$OUT"
    STEP=${STEP:-all}
    if [[ $STEP == all || $STEP == train ]]; then
      munet-train --preset edge --data "$DATA/train" --val-data "$DATA/val" --encoder-weights "$WEIGHTS" --seed 0 \
        "${EXTRA[@]}" --out "$RUN"
      cp "$RUN/metrics.json" "$OUT/train_metrics.json"; cp "$RUN/log.csv" "$OUT/train_log.csv"
      cp "$RUN/curves.png" "$OUT/train_curves.png"; cp "$RUN/MODEL_CARD.md" "$OUT/MODEL_CARD.md"
    fi
    if [[ $STEP == all || $STEP == convert ]]; then
      munet-convert "$RUN" --int8 --float32 --val-data "$DATA/val" --out "$RUN/munet" | tee "$OUT/convert.txt"
      # The bundled file: the encoder's first depthwise conv kept float (see README, Edge decoder), post-processing
      # min_area calibrated on training images.
      munet-convert "$RUN" --int8 --keep-float expanded_conv_depthwise_relu --calibrate-postproc \
        --out "$RUN/${NAME}_int8_kf.tflite" | tee "$OUT/convert_bundled.txt"
    fi
    if [[ $STEP == all || $STEP == accuracy ]]; then
      munet-bench accuracy --keras "$RUN/best.keras" --tflite "$RUN/munet/munet_float32.tflite" \
        "$RUN/munet/munet_int8.tflite" "$RUN/${NAME}_int8_kf.tflite" --data "$DATA/val" --threads 1 --tta flips \
        --out "$OUT"
    fi
    if [[ $STEP == shipped ]]; then  # the file in edge/models as shipped (e.g. rewritten to uint8 I/O), scored alike
      munet-bench accuracy --tflite "edge/models/$NAME.tflite" --data "$DATA/val" --threads 1 --tta flips \
        --out "$OUT/shipped"
    fi
    exit 0 ;;
  sweeps)  # --reuse keeps every committed point/row with its scores; kept ones are timed on an untrained copy
    for CFG in pareto_decoders_sweep recipe brain_recipe pareto_grid compare_isic compare_brain compare_isic_learned \
               compare_brain_learned compare_brain86_learned_pbn cv_isic cv_brain; do
      wait_quiet; munet-bench sweep "benchmarks/configs/$CFG.yaml" --reuse
    done
    munet-bench readme-table
    exit 0 ;;
  retime)
    # 1. The check: a trained model (TRAINED, default the recipe sweep's baseline) and an untrained model of the same
    #    architecture, converted alike, timed in one interleaved pass. 2. The tables, timed the same way. Every
    #    model (and its ONNX export: needs .venv-onnx) is built first; each pass waits for the load to settle.
    TRAINED=${TRAINED:-runs/recipe/edge}
    [[ -f runs/retime/edge/munet_int8.tflite ]] ||  # built by an earlier run of this target: kept
      python -m munet.benchmarks.retime --preset edge --encoder-weights "$WEIGHTS" --modes float32,int8 \
        --calib-data "$SHARED/data/isic/train" --out runs/retime/edge
    for SET in isic isic128 brain; do
      case $SET in
        isic) DATA=$SHARED/data/isic; SIZE=192x256; CFG=benchmarks/configs/isic_a1.0_192x256.yaml ;;
        isic128) DATA=$SHARED/data/isic; SIZE=128; CFG=benchmarks/configs/isic_a1.0_128.yaml ;;
        brain) DATA=$SHARED/data/brain_mri; SIZE=256; CFG=benchmarks/configs/brain_a1.0_256.yaml ;;
      esac
      [[ -f runs/retime/$SET/munet_float32.onnx ]] ||
        python -m munet.benchmarks.retime --config "$CFG" --alpha 1.0 --size "$SIZE" --encoder-weights "$WEIGHTS" \
          --calib-data "$DATA/train" --onnx --out "runs/retime/$SET"
    done
    wait_quiet
    munet-bench latency --tflite "$TRAINED/model_float32.tflite" "$TRAINED/model_int8.tflite" \
      runs/retime/edge/munet_float32.tflite runs/retime/edge/munet_int8.tflite --threads 1,2 --runs 50 \
      --data "$SHARED/data/isic/val" --out benchmarks/results/retime-check
    for SET in isic isic128 brain; do
      case $SET in isic|isic128) DATA=$SHARED/data/isic ;; brain) DATA=$SHARED/data/brain_mri ;; esac
      M=runs/retime/$SET
      wait_quiet
      munet-bench latency --tflite "$M/munet_float32.tflite" "$M/munet_fp16.tflite" "$M/munet_dynamic.tflite" \
        "$M/munet_int8.tflite" --threads 1,2 --runs 50 --data "$DATA/val" --onnx --onnx-model "$M/munet_float32.onnx" \
        --out "benchmarks/results/$SET"
    done
    munet-bench readme-table
    exit 0 ;;
  isic)  DATA=$SHARED/data/isic;      SIZE=192x256; EPOCHS=8; CFG=benchmarks/configs/isic_a1.0_192x256.yaml ;;
  isic128) DATA=$SHARED/data/isic;    SIZE=128;     EPOCHS=8; CFG=benchmarks/configs/isic_a1.0_128.yaml ;;
  brain) DATA=$SHARED/data/brain_mri; SIZE=256;     EPOCHS=15; CFG=benchmarks/configs/brain_a1.0_256.yaml ;;
  *) echo "usage: $0 sweeps|brain-final|skin-final|bundled-latency|isic|isic128|brain|isic-edge|brain-edge|retime" >&2; exit 2 ;;
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

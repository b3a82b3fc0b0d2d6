#!/usr/bin/env bash
# The paper's comparison (256², 60 epochs, every architecture) on a lent GPU machine: ISIC, then brain MRI.
# Run from the repository root with gpu-pack/ carried (benchmarks/README.md, "On a lent GPU"); builds nothing.
# gpu-pack/ holds isic_256.npz and brain_256.npz (python -m munet.benchmarks.gpu.pack), the MobileNetV2 weights
# mobilenet_v2_1.0_imagenet_qat_notop.h5, wheels/ (keras, namex, optree for the machine's Python 3.12) and,
# from an earlier run, results/compare_<name>.json (its finished rows are kept: --previous).
# Writes $OUT/compare_{isic,brain}-gpu.json, the weights that fit and run.log. Knobs (env): ARCHS, EPOCHS, SIZE,
# ISIC_MINUTES, BRAIN_MINUTES, PACKS (the folder), PY.
set -uo pipefail
OUT=${OUT:-/tmp/munet-gpu}
PACKS=${PACKS:-gpu-pack}
PY=${PY:-python3}
SIZE=${SIZE:-256}
mkdir -p "$OUT"
if compgen -G "$PACKS/wheels/*.whl" >/dev/null; then
    SITE=$(mktemp -d)
    "$PY" -m pip install -q --no-deps --no-index --no-compile --no-cache-dir --target "$SITE" "$PACKS"/wheels/*.whl \
        || exit 1
fi
# The package as installed: munet/ with train/, convert/, edge/, benchmarks/ as its subpackages (pyproject.toml).
VIEW=$(mktemp -d)
mkdir "$VIEW/munet"
ln -s "$PWD"/munet/*.py "$VIEW/munet/"
for d in train convert edge benchmarks; do ln -s "$PWD/$d" "$VIEW/munet/$d"; done
export PYTHONPATH="$VIEW${SITE:+:$SITE}" KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2

compare() {  # NAME DATASET MINUTES
    local previous=()
    [ -f "$PACKS/results/compare_$1.json" ] && previous=(--previous "$PACKS/results/compare_$1.json")
    # -P: not the checkout's munet/ (which lacks the subpackages) ahead of the view
    "$PY" -P -m munet.benchmarks.gpu.train_compare --pack "$PACKS/$2_$SIZE.npz" --name "$1" --paper-table "$2" \
        --size "$SIZE" --epochs "${EPOCHS:-60}" --alpha 1.0 \
        --weights "munet=$PACKS/mobilenet_v2_1.0_imagenet_qat_notop.h5" \
        --archs "${ARCHS:-munet,unet-resnet50,segnet,fcn,unet,unet-vgg19}" --max-minutes "$3" --out "$OUT" \
        "${previous[@]}"
}
{
    nvidia-smi -L 2>/dev/null
    compare isic-gpu isic "${ISIC_MINUTES:-5.5}"
    compare brain-gpu brain "${BRAIN_MINUTES:-3}"
} 2>&1 | tee "$OUT/run.log"

#!/usr/bin/env bash
# Emulated Raspberry Pi OS 64-bit check: run the TF-free edge tests inside an arm64 Debian bookworm root.
#
#   sudo .ci/aarch64.sh            # from the repository root (needs root, apt and Debian's mirror)
#
# Steps (FIELD-NOTES section 6): qemu-user-static + binfmt-support + debootstrap from Debian's packages;
# an arm64 minbase root cached under $MUNET_AARCH64_CACHE (default /var/cache/munet-aarch64) so reruns are fast;
# the host's pip puts aarch64 wheels into ROOT/opt/site; the host (x86, with TensorFlow) makes a tiny int8 model
# and its reference outputs, and the edge suite's shared tiny models (tests/edge/aarch64_ref.py); then
# `chroot ROOT python3 -m pytest tests/edge` runs the whole TensorFlow-free edge suite on them, including the
# cross-CPU checks (-m aarch64): for the same int8 input tensor, bit-identical with BUILTIN_REF kernels and at most
# one quantization step with the default XNNPACK kernels; from the image files the masks agree to < 1 % of pixels
# (OpenCV's area resize is not bit-exact between NEON and x86).
# Exits 0 with a "skip:" line only when not root or without apt; any other problem fails loudly (non-zero).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MUNET_AARCH64_CACHE:-/var/cache/munet-aarch64}
ROOT=$CACHE/root
SUITE=bookworm
HOST_PY=${PYTHON:-}
if [[ -z $HOST_PY ]]; then
    if [[ -x $REPO/.venv/bin/python ]]; then HOST_PY=$REPO/.venv/bin/python; else HOST_PY=python3; fi
fi
START=$(date +%s)
log() { echo "[aarch64 $(($(date +%s) - START))s] $*"; }

if [[ $(id -u) -ne 0 ]]; then echo "skip: the emulated aarch64 check needs root (chroot, mounts)"; exit 0; fi
if ! command -v apt-get >/dev/null; then echo "skip: the emulated aarch64 check needs apt-get (Debian/Ubuntu)"; exit 0; fi

# 1. Host tools.
need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
    log "apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 2>/dev/null || true
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    update-binfmts --import qemu-aarch64 2>/dev/null || true
    update-binfmts --enable qemu-aarch64
fi
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "error: qemu-aarch64 binfmt is not enabled" >&2; exit 1; }

# 2. Mirror: the machine's configured Debian mirror.
MIRROR=${MUNET_DEBIAN_MIRROR:-}
if [[ -z $MIRROR ]]; then
    MIRROR=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [[ -z $MIRROR ]]; then
    MIRROR=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}

cleanup() {
    for m in "$ROOT/dev/pts" "$ROOT/sys" "$ROOT/proc"; do
        if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
    done
}
trap cleanup EXIT

# 3. The arm64 root (cached; rebuilt when the stamp is missing).
if [[ ! -f $CACHE/root.ok ]]; then
    cleanup
    rm -rf --one-file-system "$ROOT"
    mkdir -p "$ROOT"
    log "debootstrap $SUITE arm64 minbase from $MIRROR"
    debootstrap --arch=arm64 --variant=minbase --include=python3,ca-certificates "$SUITE" "$ROOT" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$CACHE/debootstrap.log" >&2; exit 1; }
    touch "$CACHE/root.ok"
else
    log "reusing the cached root $ROOT"
fi
chroot "$ROOT" /usr/bin/python3 -c 'import platform, sys; assert platform.machine() == "aarch64", platform.machine(); print("guest:", platform.machine(), sys.version.split()[0])'
PYVER=$(chroot "$ROOT" /usr/bin/python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')

# 4. aarch64 wheels from the host's pip (every manylinux tag listed: pip does not expand them).
SITE=$ROOT/opt/site
if [[ ! -f $CACHE/site.ok ]]; then
    rm -rf "$SITE"
    plats=(--platform manylinux2014_aarch64)
    for n in $(seq 17 36); do plats+=(--platform "manylinux_2_${n}_aarch64"); done
    log "pip install aarch64 wheels into $SITE (python $PYVER)"
    "$HOST_PY" -m pip install -q --disable-pip-version-check --target "$SITE" --python-version "$PYVER" \
        --implementation cp --only-binary=:all: "${plats[@]}" \
        ai-edge-litert numpy opencv-python-headless flatbuffers click pyyaml pytest
    touch "$CACHE/site.ok"
fi

if [[ -n ${MUNET_AARCH64_PREPARE_ONLY:-} ]]; then log "prepared $ROOT"; exit 0; fi

# 5. The project, laid out as the installed package would be (munet/, munet/edge/), and its edge tests.
WORK=$ROOT/opt/munet
rm -rf "$WORK"
mkdir -p "$WORK/pkg/munet" "$WORK/repo/tests/munet" "$WORK/ref"
cp -r "$REPO"/munet/. "$WORK/pkg/munet/"  # the core edge imports (munet.imageio, munet.atomic, munet.data, ...)
cp -r "$REPO/edge" "$WORK/pkg/munet/edge"
cp "$REPO/pyproject.toml" "$WORK/repo/"
cp "$REPO/tests/conftest.py" "$REPO/tests/tf_block.py" "$WORK/repo/tests/"
cp -r "$REPO/tests/edge" "$WORK/repo/tests/edge"
cp "$REPO/tests/munet/test_imageio.py" "$WORK/repo/tests/munet/"  # the edge's image reader, now in the core
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$WORK/pkg/munet/edge/web/node_modules"  # npm's copy (make web); the server reads edge/web/vendor/

# 6. Host (x86) side: a tiny int8 model and its reference outputs on a couple of frames, and the edge suite's models.
log "host: tiny int8 model, x86 reference outputs and the edge suite's models ($HOST_PY)"
(cd "$REPO" && TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 "$HOST_PY" tests/edge/aarch64_ref.py "$WORK/ref")

# 7. Guest (emulated aarch64) side.
mount -t proc proc "$ROOT/proc"
# No /sys: with the host's sysfs, cpuinfo sees x86 CPUs and XNNPACK segfaults under qemu. Without any, cpuinfo
# prints three "failed to parse the list of possible processors" lines to stderr (the edge tests assert one-line
# errors), so ROOT/sys holds just the two CPU lists it reads first. Then XNNPACK trusts the emulated CPU's
# features: qemu's default "max" CPU gave int8 outputs 57 steps off (and int8 vs float 0.34 apart); as the
# Raspberry Pi 4's Cortex-A72 (QEMU_CPU below) they match x86 within one step, as they do on real Pis.
mkdir -p "$ROOT/sys/devices/system/cpu"
for f in possible present; do echo "0-$(($(nproc) - 1))" >"$ROOT/sys/devices/system/cpu/$f"; done
# Pseudo-terminals for the tests that run munet-run on a terminal (progress bars).
mount --bind /dev/pts "$ROOT/dev/pts"
# The whole edge suite: the cross-CPU checks (-m aarch64) plus every other edge test, on the host-made models
# ($MUNET_EDGE_MODELS); tests that need TensorFlow (absent here) skip. A hang fails after $MUNET_AARCH64_TIMEOUT s.
log "guest: pytest tests/edge (the whole TensorFlow-free edge suite)"
timeout "${MUNET_AARCH64_TIMEOUT:-2700}" chroot "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    QEMU_CPU=cortex-a72 PYTHONPATH=/opt/munet/pkg:/opt/site PYTHONDONTWRITEBYTECODE=1 \
    MUNET_AARCH64_REF=/opt/munet/ref MUNET_EDGE_MODELS=/opt/munet/ref/suite \
    /usr/bin/python3 -m pytest /opt/munet/repo/tests/edge /opt/munet/repo/tests/munet/test_imageio.py -q \
    -p no:cacheprovider --durations=10 \
    --rootdir /opt/munet/repo -c /opt/munet/repo/pyproject.toml
umount "$ROOT/dev/pts" "$ROOT/proc"
log "ok: edge tests passed on emulated aarch64 (wall $(($(date +%s) - START)) s)"

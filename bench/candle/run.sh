#!/usr/bin/env bash
# Single entry point for the candle peer benchmark (call from anywhere, e.g. `bash bench/candle/run.sh`):
# build (bench/candle/build.sh), then time it in headless Chromium (bench/candle/run.mjs), writing
# bench/out/peer-candle-wasm.json. On any failure the file is written with status "unavailable" and
# the reason, and this script still exits 0. Extra arguments go to run.mjs (e.g. --runs 9).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RESULT="$ROOT/bench/out/peer-candle-wasm.json"
LOG="$ROOT/bench/out/candle-build.log"
mkdir -p "$ROOT/bench/out"

unavailable() {
  local reason="$1"
  if command -v python3 >/dev/null; then
    REASON="$reason" python3 -c 'import json,os,sys; json.dump({"peer":"candle-wasm","status":"unavailable","reason":os.environ["REASON"]}, open(sys.argv[1],"w"), indent=2); open(sys.argv[1],"a").write("\n")' "$RESULT"
  else
    reason="${reason//\\/\\\\}"; reason="${reason//\"/\\\"}"; reason="$(printf '%s' "$reason" | tr '\n\t' '  ')"
    printf '{\n  "peer": "candle-wasm",\n  "status": "unavailable",\n  "reason": "%s"\n}\n' "$reason" >"$RESULT"
  fi
  echo "run.sh: candle peer unavailable: $1" >&2
  exit 0
}

bash "$HERE/build.sh" 2>&1 | tee "$LOG" >&2
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
  why="$(grep -m1 -E '^error(\[|:)' "$LOG" || true)"
  [ -n "$why" ] || why="$(grep 'build.sh: error' "$LOG" | tail -1)"
  unavailable "build failed: ${why:-see bench/out/candle-build.log}"
fi

command -v node >/dev/null || unavailable "node not found (needed to drive headless Chromium via Playwright)"
marker="$(mktemp)"
# run.mjs resolves 'playwright' from the project's node_modules, so run it from the root.
( cd "$ROOT" && node "$HERE/run.mjs" "$@" )
rc=$?
if [ "$rc" -ne 0 ]; then
  # run.mjs writes the unavailable file with the specific reason itself; cover the case it could not.
  if [ ! "$RESULT" -nt "$marker" ]; then
    rm -f "$marker"
    unavailable "run.mjs exited with status $rc before writing a result"
  fi
  echo "run.sh: benchmark failed (status $rc); $(basename "$RESULT") says why" >&2
fi
rm -f "$marker"
exit 0

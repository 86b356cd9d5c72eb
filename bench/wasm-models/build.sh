#!/usr/bin/env bash
# bash bench/wasm-models/build.sh [plain|simd] -> bench/out/wasm-models/<variant>{,-web}/ (Node and browser glue)
set -euo pipefail
cd "$(dirname "$0")"
variant="${1:-simd}"
case "$variant" in
  plain) flags="" ;;
  simd) flags="-C target-feature=+simd128" ;;
  *) echo "unknown variant $variant" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="$PWD/../../target/bench-wasm-$variant"
RUSTFLAGS="$flags" cargo build --release --target wasm32-unknown-unknown -q
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasm_models_bench.wasm"
wasm-bindgen --target nodejs --out-dir "../out/wasm-models/$variant" "$wasm"
wasm-bindgen --target web --out-dir "../out/wasm-models/$variant-web" "$wasm"

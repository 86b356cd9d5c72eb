#!/usr/bin/env bash
# Build the candle peer benchmark: candle-transformers' BERT -> wasm32 (+simd128) -> wasm-bindgen
# (--target web) into bench/out/candle/pkg/. Skips the build when the output is newer than every
# source and was built with the same flags and toolchain. Exits non-zero with a message on failure.
#
#   bash bench/candle/build.sh [--force]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PKG="$ROOT/bench/out/candle/pkg"
OUT_WASM="$PKG/candle_peer_bench_bg.wasm"
STAMP="$PKG/.build-stamp"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/bench-candle}"
WASM_BINDGEN_VERSION="0.2.130"   # must match the `=0.2.130` pin in Cargo.toml
# simd128: candle's gemm and vector kernels use wasm SIMD when it is enabled at compile time.
# getrandom_backend: candle depends on rand/zip; getrandom 0.3 needs this cfg on wasm32-unknown-unknown.
FLAGS='-C target-feature=+simd128 --cfg getrandom_backend="wasm_js"'

die() { echo "build.sh: error: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found"
command -v rustc >/dev/null || die "rustc not found"
WB="$(command -v wasm-bindgen || true)"
[ -n "$WB" ] || WB="$HOME/.cargo/bin/wasm-bindgen"
[ -x "$WB" ] || die "wasm-bindgen CLI not found (want $WASM_BINDGEN_VERSION: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION)"
got="$("$WB" --version | awk '{print $2}')"
[ "$got" = "$WASM_BINDGEN_VERSION" ] || die "wasm-bindgen CLI is $got, the crate pins $WASM_BINDGEN_VERSION"
if command -v rustup >/dev/null; then
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || die "rust target wasm32-unknown-unknown not installed (rustup target add wasm32-unknown-unknown)"
fi

stamp_text="$(rustc --version) | $FLAGS | wasm-bindgen $got"
if [ "${1:-}" != "--force" ] && [ -f "$OUT_WASM" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp_text" ]; then
  newer="$(find "$HERE/Cargo.toml" "$HERE/Cargo.lock" "$HERE/src" -newer "$OUT_WASM" -print -quit 2>/dev/null || true)"
  if [ -z "$newer" ]; then
    echo "build.sh: up to date ($(wc -c <"$OUT_WASM") bytes wasm), skipping (--force to rebuild)" >&2
    exit 0
  fi
fi

start=$(date +%s)
echo "build.sh: cargo build --release --target wasm32-unknown-unknown (RUSTFLAGS=$FLAGS, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
locked=()
[ -f "$HERE/Cargo.lock" ] && locked=(--locked)
( cd "$HERE" && RUSTFLAGS="$FLAGS" nice -n 10 cargo build --release --target wasm32-unknown-unknown "${locked[@]}" ) \
  || die "cargo build of bench/candle for wasm32 failed (see the cargo output above)"
RAW="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/candle_peer_bench.wasm"
[ -f "$RAW" ] || die "cargo succeeded but $RAW is missing"

rm -rf "$PKG"
mkdir -p "$PKG"
"$WB" --target web --out-dir "$PKG" "$RAW" || die "wasm-bindgen failed on $RAW"
[ -f "$OUT_WASM" ] || die "wasm-bindgen produced no $OUT_WASM"
printf '%s' "$stamp_text" >"$STAMP"
echo "build.sh: built $(wc -c <"$OUT_WASM") bytes wasm into ${PKG#$ROOT/} in $(( $(date +%s) - start ))s" >&2

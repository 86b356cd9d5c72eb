//! Throughput of `y = x @ W^T` for every GGUF tensor type the models load, on one shape (SmolLM2's FFN
//! down projection, `[576, 1536]`) at 32 and 128 rows of x: the quantised types differ only in how a tile of
//! weights is unpacked, so their throughputs should stay close to the fastest's.
//!
//! `cargo run --release -p arcs-models --example kernel_bench` prints a table and writes
//! `bench/out/kernels.json`. The weights are synthetic: every byte drawn from 0x10..=0x3f, which makes
//! every f16/bf16/f32 scale a normal positive number (no NaN, no subnormal slow paths).

use arcs_models::numeric::quant::{matmul_t, row_bytes, QMatrix};
use arcs_models::source::gguf::GgmlType;
use arcs_models::Matrix;
use std::time::Instant;

const ROWS: usize = 576;
const COLS: usize = 1536;

fn main() -> Result<(), String> {
    use GgmlType::*;
    let types = [F32, F16, Bf16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2K, Q3K, Q4K, Q5K, Q6K];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut results = Vec::new();
    for n in [32usize, 128] {
        let x = Matrix::from_vec(n, COLS, (0..n * COLS).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect())
            .ok_or("shape")?;
        for t in types {
            let rb = row_bytes(t, COLS).ok_or("not whole blocks")?;
            let bytes: Vec<u8> = (0..ROWS * rb).map(|_| 0x10 + (next() % 0x30) as u8).collect();
            let w = QMatrix { rows: ROWS, cols: COLS, ggml_type: t, start: 0, row_bytes: rb };
            let mut samples = Vec::new();
            let mut check = 0.0f32;
            for _ in 0..7 {
                let t0 = Instant::now();
                let y = matmul_t(&x, &w, &bytes);
                samples.push(t0.elapsed().as_secs_f64() * 1000.0);
                check += y.data()[0];
            }
            samples.sort_by(f64::total_cmp);
            let ms = samples[samples.len() / 2];
            let gmacs = (n * ROWS * COLS) as f64 / (ms / 1000.0) / 1e9;
            eprintln!("{n:4} rows  {:5}  {ms:7.3} ms  {gmacs:6.2} GMAC/s  (check {check:.3e})", t.name());
            results.push((n, t.name(), ms, gmacs));
        }
    }
    let mut json = serde_json::Map::new();
    for n in [32usize, 128] {
        let best = results.iter().filter(|r| r.0 == n).map(|r| r.3).fold(0.0, f64::max);
        let per: serde_json::Map<String, serde_json::Value> = results
            .iter()
            .filter(|r| r.0 == n)
            .map(|r| {
                (r.1.to_string(), serde_json::json!({"ms": r.2, "gmac_per_s": r.3, "fastest_over_this": best / r.3}))
            })
            .collect();
        eprintln!(
            "{n} rows: slowest type is {:.2}x the fastest",
            per.values().filter_map(|v| v["fastest_over_this"].as_f64()).fold(0.0, f64::max)
        );
        json.insert(format!("rows_{n}"), per.into());
    }
    json.insert("shape".into(), serde_json::json!([ROWS, COLS]));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/out");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("kernels.json"), text).map_err(|e| e.to_string())?;
    Ok(())
}

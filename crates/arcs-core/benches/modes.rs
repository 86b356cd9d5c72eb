//! Each mode at n = 8, 64, 256, 1024 tokens with d_in = d_out = 64 and 8 heads (issue: the engine).
//! Results land under target/criterion; `./x bench` collects them into bench/results.json.

use arcs_core::attention::{head_attention, multi_head, simplified, HeadOptions, MultiHeadWeights, Normalization};
use arcs_core::weights::{seeded_embeddings, seeded_weights};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

const D: usize = 64;
const HEADS: usize = 8;

fn modes(c: &mut Criterion) {
    let (qkv, out_proj) = seeded_weights(123, D, D);
    let mh = MultiHeadWeights::split(&qkv, Some(out_proj), HEADS);
    let plain = HeadOptions::default();
    let causal = HeadOptions { causal: true, ..HeadOptions::default() };
    let mut group = c.benchmark_group("engine");
    group.sample_size(20);
    for n in [8usize, 64, 256, 1024] {
        let tokens: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let x = seeded_embeddings(&tokens, 123, D);
        group.bench_with_input(BenchmarkId::new("simplified", n), &x, |b, x| {
            b.iter(|| simplified(black_box(x), Normalization::Softmax))
        });
        group.bench_with_input(BenchmarkId::new("self", n), &x, |b, x| {
            b.iter(|| head_attention(black_box(x), &qkv, &plain, 0))
        });
        group.bench_with_input(BenchmarkId::new("causal", n), &x, |b, x| {
            b.iter(|| head_attention(black_box(x), &qkv, &causal, 0))
        });
        group.bench_with_input(BenchmarkId::new("multi-head", n), &x, |b, x| {
            b.iter(|| multi_head(black_box(x), &mh, &causal))
        });
    }
    group.finish();
}

criterion_group!(benches, modes);
criterion_main!(benches);

//! Integer matrix kernels shared by the model crates: activations and weights as i16, exact i32 dot
//! products, one scale per row. In the browser each `i32x4.dot_i16x8_s` does 8 multiply-adds, twice
//! the work per instruction of float SIMD without fused multiply-add; natively SSE2's `pmaddwd` is the
//! same instruction. Integer sums are exact, so every build (wasm SIMD, plain wasm, native) gives the
//! same bits. No dependencies, no `std::fs`, no unsafe outside the SIMD loads and stores.

/// Rows of `x` and of `W` one call of a block kernel covers. 3 x 3 gives 9 accumulators plus 6
/// loaded vectors per step, within the 16 SIMD registers x86 has (V8 maps wasm `v128` onto them),
/// and measured fastest in Chromium among 2x4, 4x2, 4x3, 3x4, 5x2 and 2x6.
const XR: usize = 3;
const WR: usize = 3;
// The row-tail dispatch in `matmul_t_i16` spells out blocks of 3, 2 and 1 rows; the wasm lane
// reduction, three weight rows.
const _: () = assert!(XR == 3 && WR == 3);

/// The x-row norm limit that keeps every dot product with weight rows of norm at most `w_norm`
/// inside i32 (with 1 % to spare).
pub fn norm_limit_against(w_norm: f64) -> f64 {
    (i32::MAX as f64 * 0.99) / w_norm.max(1.0)
}

/// `row` as i16 integers into `out` (same length) with one scale (`row ≈ out * scale`), returned; or
/// `None` if a value is not finite.
///
/// The scale keeps every integer within i16 and, more strictly where needed, keeps the integers'
/// Euclidean norm within `norm_limit` (rounding included; see [`norm_limit_against`]). For MiniLM's
/// activations the i16 limit binds: the error is about 2^-16 of the row's largest value, far below the
/// weights' own quantisation step.
pub fn quantize_row(row: &[f32], norm_limit: f64, out: &mut [i16]) -> Option<f32> {
    debug_assert_eq!(row.len(), out.len());
    // Largest magnitude and sum of squares in 8 independent lanes, so the loop is SIMD (this runs
    // for every input row of every matmul). A NaN or infinity makes the sum non-finite; that is the
    // check. The f32 sum is off by at most ~1e-4 relative, covered by the 0.2 % margin below.
    let len8 = row.len() / 8 * 8;
    let (mut max8, mut sq8) = max_and_squares8(&row[..len8]);
    for (l, &v) in row[len8..].iter().enumerate() {
        max8[l] = if v.abs() > max8[l] { v.abs() } else { max8[l] };
        sq8[l] += v * v;
    }
    let max_abs = max8.iter().fold(0.0f32, |m, &v| if v > m { v } else { m });
    let sq: f64 = sq8.iter().map(|&v| f64::from(v)).sum();
    if !sq.is_finite() {
        return None;
    }
    if max_abs == 0.0 {
        out.fill(0);
        return Some(0.0); // an all-zero row: integers 0, scale 0
    }
    // Rounding adds at most 0.5 per element to the norm: sqrt(len) / 2 in all, kept in reserve.
    let limit = (norm_limit - (row.len() as f64).sqrt() * 0.5).max(1.0);
    // 0.5 % below the i16 limit, so rounding `v * inv` in f32 cannot step past it.
    let scale = (f64::from(max_abs) / (f64::from(i16::MAX) * 0.995)).max(sq.sqrt() * 1.002 / limit);
    let inv = (1.0 / scale) as f32;
    let ((row8, row_tail), (out8, out_tail)) = (row.split_at(len8), out.split_at_mut(len8));
    for (q, v) in out8.chunks_exact_mut(8).zip(row8.chunks_exact(8)) {
        round8(v, inv, q);
    }
    for (q, &v) in out_tail.iter_mut().zip(row_tail) {
        *q = (v * inv).round_ties_even() as i16;
    }
    Some(scale as f32)
}

/// Per lane `l` of 8: the largest |v| and the sum of squares of `row[l], row[l + 8], ...` (`row`'s
/// length a multiple of 8), added in that order.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn max_and_squares8(row: &[f32]) -> ([f32; 8], [f32; 8]) {
    let (mut max8, mut sq8) = ([0.0f32; 8], [0.0f32; 8]);
    for c in row.chunks_exact(8) {
        for l in 0..8 {
            let a = c[l].abs();
            // Not f32::max: its NaN rule makes it a library call in wasm.
            max8[l] = if a > max8[l] { a } else { max8[l] };
            sq8[l] += c[l] * c[l];
        }
    }
    (max8, sq8)
}

/// The same lanes with wasm SIMD: the compiler left the loop above scalar.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn max_and_squares8(row: &[f32]) -> ([f32; 8], [f32; 8]) {
    use core::arch::wasm32::{f32x4_abs, f32x4_add, f32x4_mul, f32x4_pmax, f32x4_splat, v128_load, v128_store};
    let p = row.as_ptr();
    let (mut m0, mut m1, mut s0, mut s1) = (f32x4_splat(0.0), f32x4_splat(0.0), f32x4_splat(0.0), f32x4_splat(0.0));
    for i in (0..row.len() / 8 * 8).step_by(8) {
        // SAFETY: i + 8 <= row.len(): 32 readable bytes; v128_load has no alignment requirement.
        let (a, b) = unsafe { (v128_load(p.add(i).cast()), v128_load(p.add(i + 4).cast())) };
        // pmax(m, v) is `m < v ? v : m`, the scalar loop's select.
        m0 = f32x4_pmax(m0, f32x4_abs(a));
        m1 = f32x4_pmax(m1, f32x4_abs(b));
        s0 = f32x4_add(s0, f32x4_mul(a, a));
        s1 = f32x4_add(s1, f32x4_mul(b, b));
    }
    let (mut max8, mut sq8) = ([0.0f32; 8], [0.0f32; 8]);
    // SAFETY: each half of an [f32; 8] is 16 writable bytes.
    unsafe {
        v128_store(max8.as_mut_ptr().cast(), m0);
        v128_store(max8.as_mut_ptr().add(4).cast(), m1);
        v128_store(sq8.as_mut_ptr().cast(), s0);
        v128_store(sq8.as_mut_ptr().add(4).cast(), s1);
    }
    (max8, sq8)
}

/// `out[l] = round_ties_even(v[l] * inv) as i16` for 8 values already known to fit (see
/// [`quantize_row`]). The compiler keeps the rounding scalar (a library call natively), which made
/// quantising cost a tenth of a MiniLM pass; these are the same roundings, 8 at a time.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn round8(v: &[f32], inv: f32, out: &mut [i16]) {
    use core::arch::wasm32::{
        f32x4_mul, f32x4_nearest, f32x4_splat, i16x8_narrow_i32x4, i32x4_trunc_sat_f32x4, v128_load, v128_store,
    };
    assert!(v.len() >= 8 && out.len() >= 8);
    let inv = f32x4_splat(inv);
    // SAFETY: 8 f32 readable at v, 8 i16 writable at out (asserted); no alignment needed.
    unsafe {
        let lo = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v128_load(v.as_ptr().cast()), inv)));
        let hi = i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(v128_load(v.as_ptr().add(4).cast()), inv)));
        v128_store(out.as_mut_ptr().cast(), i16x8_narrow_i32x4(lo, hi));
    }
}

/// SSE2's `cvtps2dq` rounds to nearest, ties to even (the default rounding mode, which Rust never
/// changes): the same integers as `round_ties_even`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn round8(v: &[f32], inv: f32, out: &mut [i16]) {
    use core::arch::x86_64::{
        _mm_cvtps_epi32, _mm_loadu_ps, _mm_mul_ps, _mm_packs_epi32, _mm_set1_ps, _mm_storeu_si128,
    };
    assert!(v.len() >= 8 && out.len() >= 8);
    // SAFETY: SSE2 is always present on x86_64; 8 f32 readable at v, 8 i16 writable at out
    // (asserted); unaligned loads and stores.
    unsafe {
        let inv = _mm_set1_ps(inv);
        let lo = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v.as_ptr()), inv));
        let hi = _mm_cvtps_epi32(_mm_mul_ps(_mm_loadu_ps(v.as_ptr().add(4)), inv));
        _mm_storeu_si128(out.as_mut_ptr().cast(), _mm_packs_epi32(lo, hi));
    }
}

#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
#[inline(always)]
fn round8(v: &[f32], inv: f32, out: &mut [i16]) {
    for (q, &v) in out[..8].iter_mut().zip(&v[..8]) {
        *q = (v * inv).round_ties_even() as i16;
    }
}

/// Every row of the row-major `n x k` matrix `x` through [`quantize_row`].
pub fn quantize_rows(x: &[f32], k: usize, norm_limit: f64) -> Option<(Vec<i16>, Vec<f32>)> {
    let n = x.len() / k.max(1);
    let mut xq = vec![0i16; n * k];
    let mut scales = vec![0.0f32; n];
    for i in 0..n {
        scales[i] = quantize_row(&x[i * k..(i + 1) * k], norm_limit, &mut xq[i * k..(i + 1) * k])?;
    }
    Some((xq, scales))
}

/// `out[i * out_stride + o] = (xq[i] . wq[o]) * x_scales[i] * w_scales[o] + bias[o]` for `n` rows of
/// `xq` and `rows` rows of `wq`, both row-major with `k` columns (torch layout for the weights). The
/// integer sums must not overflow: quantise with [`quantize_row`] and matching norm limits.
#[allow(clippy::too_many_arguments)]
pub fn matmul_t_i16(
    k: usize,
    xq: &[i16],
    x_scales: &[f32],
    wq: &[i16],
    w_scales: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
    out_stride: usize,
) {
    let n = x_scales.len();
    let out_dim = w_scales.len();
    assert!(xq.len() >= n * k && wq.len() >= out_dim * k, "matmul_t_i16: short input");
    assert!(
        out_stride >= out_dim && out.len() >= n.saturating_sub(1) * out_stride + out_dim,
        "matmul_t_i16: short output"
    );
    let k8 = k / 8 * 8;
    let zero_row = vec![0i16; k];
    for o in (0..out_dim).step_by(WR) {
        let w_rows: [&[i16]; WR] = std::array::from_fn(|c| row_or(wq, o + c, k, out_dim, &zero_row));
        let mut i = 0;
        while i < n {
            // Blocks of XR rows, then the last one or two rows on their own rather than padded.
            let rows = XR.min(n - i);
            let x_row = |r: usize| row_or(xq, i + r, k, n, &zero_row);
            let mut sums = [[0i32; WR]; XR];
            match rows {
                3.. => sums = i16_block::<XR>(std::array::from_fn(x_row), w_rows, k8),
                2 => sums[..2].copy_from_slice(&i16_block::<2>(std::array::from_fn(x_row), w_rows, k8)),
                _ => sums[..1].copy_from_slice(&i16_block::<1>(std::array::from_fn(x_row), w_rows, k8)),
            }
            // Slices cut once per block, so the per-output loop below has no bounds checks.
            let cols = WR.min(out_dim - o);
            let w_block = &w_scales[o..o + cols];
            for (r, row_sums) in sums.iter_mut().enumerate().take(rows) {
                if k8 < k {
                    let x_tail = &x_row(r)[k8..];
                    for (sum, w_row) in row_sums.iter_mut().zip(&w_rows) {
                        for (&a, &b) in x_tail.iter().zip(&w_row[k8..]) {
                            *sum = sum.wrapping_add(i32::from(a) * i32::from(b));
                        }
                    }
                }
                let x_scale = x_scales[i + r];
                let out_block = &mut out[(i + r) * out_stride + o..(i + r) * out_stride + o + cols];
                for (c, (out, (&sum, &w_scale))) in out_block.iter_mut().zip(row_sums.iter().zip(w_block)).enumerate() {
                    let b = bias.map_or(0.0, |b| b[o + c]);
                    *out = sum as f32 * (x_scale * w_scale) + b;
                }
            }
            i += rows;
        }
    }
}

/// Row `i` (of length `k`) of row-major `data` with `count` rows, or `zero` past the last row:
/// blocks at the edge are computed whole, with zero rows whose results are dropped.
#[inline]
fn row_or<'a>(data: &'a [i16], i: usize, k: usize, count: usize, zero: &'a [i16]) -> &'a [i16] {
    if i < count {
        &data[i * k..(i + 1) * k]
    } else {
        zero
    }
}

/// Each accumulator's 4 lanes added up.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn lane_sums<const R: usize>(acc: [[[i32; 4]; WR]; R]) -> [[i32; WR]; R] {
    acc.map(|row| row.map(|l| l[0].wrapping_add(l[1]).wrapping_add(l[2]).wrapping_add(l[3])))
}

/// Integer dot products of `XR` x rows with `WR` weight rows over the first `k8` (a multiple of 8)
/// columns, accumulated in 4 lanes each holding sums of adjacent pairs of products (exactly what
/// wasm's `i32x4.dot_i16x8_s` computes), then the lanes added. The sums cannot overflow (see
/// [`quantize_rows`]); wrapping adds only make that explicit, as the instruction itself wraps.
#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
#[inline(always)]
fn i16_block<const R: usize>(x: [&[i16]; R], w: [&[i16]; WR], k8: usize) -> [[i32; WR]; R] {
    let mut acc = [[[0i32; 4]; WR]; R];
    for k in (0..k8).step_by(8) {
        for r in 0..R {
            let xv = &x[r][k..k + 8];
            for c in 0..WR {
                let wv = &w[c][k..k + 8];
                for l in 0..4 {
                    let pair = i32::from(xv[2 * l]) * i32::from(wv[2 * l])
                        + i32::from(xv[2 * l + 1]) * i32::from(wv[2 * l + 1]);
                    acc[r][c][l] = acc[r][c][l].wrapping_add(pair);
                }
            }
        }
    }
    lane_sums(acc)
}

/// The same block with SSE2's `pmaddwd` (part of every x86-64 processor), the instruction wasm's
/// `i32x4.dot_i16x8_s` becomes in the browser: the same integers, so the same bits, natively.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn i16_block<const R: usize>(x: [&[i16]; R], w: [&[i16]; WR], k8: usize) -> [[i32; WR]; R] {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_loadu_si128, _mm_madd_epi16, _mm_setzero_si128, _mm_storeu_si128,
    };
    // Every row holds at least k8 values: checked once, so the loop loads without bounds checks.
    assert!(x.iter().chain(&w).all(|row| row.len() >= k8));
    let xp: [*const i16; R] = std::array::from_fn(|r| x[r].as_ptr());
    let wp: [*const i16; WR] = std::array::from_fn(|c| w[c].as_ptr());
    // SAFETY: SSE2 is always present on x86_64; k + 8 <= k8 <= every row's length (asserted
    // above), so each unaligned 16-byte load and store stays inside its slice or array.
    unsafe {
        let mut acc = [[_mm_setzero_si128(); WR]; R];
        for k in (0..k8).step_by(8) {
            let wv: [__m128i; WR] = std::array::from_fn(|c| _mm_loadu_si128(wp[c].add(k).cast()));
            for r in 0..R {
                let xv = _mm_loadu_si128(xp[r].add(k).cast());
                for c in 0..WR {
                    acc[r][c] = _mm_add_epi32(acc[r][c], _mm_madd_epi16(xv, wv[c]));
                }
            }
        }
        let mut out = [[[0i32; 4]; WR]; R];
        for r in 0..R {
            for c in 0..WR {
                _mm_storeu_si128(out[r][c].as_mut_ptr().cast(), acc[r][c]);
            }
        }
        lane_sums(out)
    }
}

/// The same block with wasm SIMD intrinsics (the auto-vectoriser does not find `dot_i16x8`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn i16_block<const R: usize>(x: [&[i16]; R], w: [&[i16]; WR], k8: usize) -> [[i32; WR]; R] {
    use core::arch::wasm32::{
        i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_shuffle, i32x4_splat, v128, v128_load,
    };
    // Every row holds at least k8 values: checked once here, so the loop below can load through
    // raw pointers without a bounds check per load (they cost as much as the arithmetic).
    assert!(x.iter().chain(&w).all(|row| row.len() >= k8));
    let xp: [*const i16; R] = std::array::from_fn(|r| x[r].as_ptr());
    let wp: [*const i16; WR] = std::array::from_fn(|c| w[c].as_ptr());
    let mut acc = [[i32x4_splat(0); WR]; R];
    for k in (0..k8).step_by(8) {
        // SAFETY: k + 8 <= k8 <= every row's length (asserted above): 16 readable bytes at each
        // address; v128_load has no alignment requirement.
        let wv: [v128; WR] = std::array::from_fn(|c| unsafe { v128_load(wp[c].add(k).cast()) });
        for r in 0..R {
            // SAFETY: as above.
            let xv = unsafe { v128_load(xp[r].add(k).cast()) };
            for c in 0..WR {
                acc[r][c] = i32x4_add(acc[r][c], i32x4_dot_i16x8(xv, wv[c]));
            }
        }
    }
    // Each row's three accumulators summed across lanes with shuffles (a store and twelve scalar
    // adds per row cost as much as the whole product when k is short):
    // ab = [a0+a2, b0+b2, a1+a3, b1+b3], cc = [c0+c2, c1+c3, ..], then one more add.
    acc.map(|[a, b, c]| {
        let ab = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
        let cc = i32x4_add(c, i32x4_shuffle::<2, 3, 0, 1>(c, c));
        let s = i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(ab, cc), i32x4_shuffle::<2, 3, 5, 4>(ab, cc));
        [i32x4_extract_lane::<0>(s), i32x4_extract_lane::<1>(s), i32x4_extract_lane::<2>(s)]
    })
}

/// e^x in f32 within a few ulp of libm's `expf`, without a call: in wasm `f32::exp` is a library
/// call that costs as much as a dozen of these, and softmax, SiLU and the vocabulary's logsumexp
/// need millions per forward pass. Range reduction x = k ln 2 + r with |r| <= ln 2 / 2 (ln 2 split
/// in two, Cody and Waite), e^r by its Taylor series to r^7 (truncation below 1e-8), then 2^k put
/// straight into the exponent bits. No branches (the edges are selects), so a loop of these
/// vectorises.
#[inline]
pub fn exp(x: f32) -> f32 {
    // Below -87.33 e^x is under the smallest normal float (taken as 0; softmax weights that small
    // do not show); above 88 it overflows; NaN stays NaN (every comparison with it is false).
    let xc = x.clamp(-87.33, 88.0);
    const LN2_HI: f32 = 0.693_359_4; // exactly representable, so k * LN2_HI is exact
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and removing 1.5 * 2^23 rounds to the nearest integer, ties to even, for |v| < 2^22:
    // round_ties_even without the library call it is natively, in plain arithmetic that vectorises.
    const ROUND: f32 = 12_582_912.0;
    let k = (xc * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 / 5040.0f32;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // k is in [-126, 127] here: a normal float's exponent (a NaN's k casts to 0, and p stays NaN).
    let e = p * f32::from_bits(((k as i32 + 127) as u32) << 23);
    if x < -87.33 {
        0.0
    } else if x > 88.0 {
        f32::INFINITY
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// Quantises as MiniLM does: weights by their own i16 range, activations under the norm limit
    /// their largest weight-row norm sets.
    fn quantize_pair(x: &[f32], w: &[f32], k: usize) -> (Vec<i16>, Vec<f32>, Vec<i16>, Vec<f32>) {
        let (wq, ws) = quantize_rows(w, k, f64::INFINITY).unwrap();
        let w_norm = wq
            .chunks(k)
            .map(|r| r.iter().map(|&q| f64::from(q) * f64::from(q)).sum::<f64>().sqrt())
            .fold(0.0, f64::max);
        let (xq, xs) = quantize_rows(x, k, norm_limit_against(w_norm)).unwrap();
        (xq, xs, wq, ws)
    }

    /// Against f64 on the quantised values: the integer sums are exact (and within i32), so only the
    /// final float scaling rounds; and against the float product within the rounding of both sides.
    #[test]
    fn products_are_exact_integer_sums() {
        for &(n, k, o) in &[(1, 1, 1), (5, 9, 3), (4, 16, 7), (7, 40, 4), (3, 576, 5), (2, 1536, 4)] {
            let x = pseudo(n * k, 1).iter().map(|v| v * 30.0).collect::<Vec<_>>();
            let w = pseudo(o * k, 2);
            let (xq, xs, wq, ws) = quantize_pair(&x, &w, k);
            let mut out = vec![0.0f32; n * o];
            matmul_t_i16(k, &xq, &xs, &wq, &ws, None, &mut out, o);
            for i in 0..n {
                for c in 0..o {
                    let exact: i64 = (0..k).map(|j| i64::from(xq[i * k + j]) * i64::from(wq[c * k + j])).sum();
                    assert!(exact.abs() < i64::from(i32::MAX));
                    let want = exact as f32 * (xs[i] * ws[c]);
                    assert_eq!(out[i * o + c], want, "{n}x{k}x{o} [{i},{c}]");
                    // Each side is off by at most half a step of its row's scale.
                    let (xr, wr) = (&x[i * k..(i + 1) * k], &w[c * k..(c + 1) * k]);
                    let float: f64 = xr.iter().zip(wr).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
                    let x_abs: f64 = xr.iter().map(|&a| f64::from(a.abs())).sum();
                    let w_abs: f64 = wr.iter().map(|&b| f64::from(b.abs())).sum();
                    let tol = 0.5 * (f64::from(xs[i]) * w_abs + f64::from(ws[c]) * x_abs) * 1.01 + 1e-6;
                    assert!((f64::from(want) - float).abs() <= tol, "{want} vs {float} (tol {tol})");
                }
            }
        }
    }

    #[test]
    fn outliers_cannot_overflow() {
        // Weights at the i16 limit everywhere and activations of one sign, 1536 long (MiniLM's widest
        // input): without the norm limit these sums would wrap.
        let k = 1536;
        for sign in [1.0f32, -1.0] {
            let w = vec![sign; 2 * k];
            let x: Vec<f32> = (0..3 * k).map(|i| if i % k == 0 { 1000.0 } else { 999.0 }).collect();
            let (xq, xs, wq, ws) = quantize_pair(&x, &w, k);
            let mut out = vec![0.0f32; 6];
            matmul_t_i16(k, &xq, &xs, &wq, &ws, Some(&[0.5, 0.5]), &mut out, 2);
            let want = sign as f64 * (1000.0 + 999.0 * 1535.0) + 0.5;
            for (i, v) in out.iter().enumerate() {
                // Coarse (the norm limit binds hard here) but within the rounding bound; a wrapped
                // i32 sum would be off by about 2^32 steps.
                let (r, c) = (i / 2, i % 2);
                let x_abs: f64 = x[r * k..(r + 1) * k].iter().map(|&a| f64::from(a)).sum();
                let tol = 0.5 * (f64::from(xs[r]) * k as f64 + f64::from(ws[c]) * x_abs) * 1.01;
                assert!((f64::from(*v) - want).abs() <= tol, "{v} vs {want} (tol {tol})");
            }
        }
    }

    /// The SIMD rounding is `round_ties_even` exactly, halves included, on every build.
    #[test]
    fn rounding_eight_at_a_time_is_ties_to_even() {
        let mut v: Vec<f32> = (-40..40).map(|i| i as f32 * 0.5).collect();
        v.extend(pseudo(800, 3).iter().map(|x| x * 65_000.0));
        v.extend([32_766.5, -32_766.5, 0.499_999_97, -0.499_999_97, 1e-30, -0.0]);
        v.resize(v.len() / 8 * 8, 0.25);
        for inv in [1.0f32, 0.999, 3.0] {
            let mut got = vec![0i16; v.len()];
            for (q, x) in got.chunks_exact_mut(8).zip(v.chunks_exact(8)) {
                round8(x, inv, q);
            }
            for (g, &x) in got.iter().zip(&v) {
                let want = (x * inv).round_ties_even();
                if want.abs() <= 32_767.0 {
                    assert_eq!(f32::from(*g), want, "{x} * {inv}");
                }
            }
        }
    }

    /// Against f64's exp over the whole f32 range that matters, edges included.
    #[test]
    fn exp_is_within_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=400_000 {
            let x = -87.0 + i as f32 * (175.0 / 400_000.0);
            let want = f64::from(x).exp();
            let rel = (f64::from(exp(x)) - want).abs() / want;
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
    }

    #[test]
    fn zero_and_non_finite_rows() {
        let mut q = [1i16; 3];
        assert_eq!(quantize_row(&[0.0, 0.0, 0.0], f64::INFINITY, &mut q), Some(0.0));
        assert_eq!(q, [0, 0, 0]);
        assert_eq!(quantize_row(&[1.0, f32::NAN, 0.0], f64::INFINITY, &mut q), None);
        assert_eq!(quantize_row(&[1.0, f32::INFINITY, 0.0], f64::INFINITY, &mut q), None);
    }
}

//! Quantised weight kernels: ggml block formats dequantised on the fly inside `y = x @ W^T`.
//!
//! Block formats (from ggml-common.h), 32 weights per block:
//! - Q8_0: `{ f16 d; i8 qs[32]; }` (34 bytes), w = d * q
//! - Q4_0: `{ f16 d; u8 qs[16]; }` (18 bytes), w = d * (q - 8)
//! - Q4_1: `{ f16 d; f16 m; u8 qs[16]; }` (20 bytes), w = d * q + m
//!
//! In Q4_0/Q4_1 byte j holds element j in its low nibble and element j + 16 in its high nibble.
//! The weights stay quantised in memory (the model is ~98 MB instead of ~540 MB as f32); each matmul
//! dequantises a small tile of rows into a scratch buffer that stays in cache and reuses it for every row of x.

use crate::numeric::half::{bf16_to_f32, f16_to_f32};
use crate::source::gguf::GgmlType;
use crate::Matrix;

#[inline]
fn le_u16(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// A 2-D weight `[rows, cols]` (PyTorch `[out, in]`) stored in the file bytes at `start..start+len`.
#[derive(Debug, Clone, Copy)]
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub ggml_type: GgmlType,
    pub start: usize,
    /// Bytes per row.
    pub row_bytes: usize,
}

impl QMatrix {
    /// The bytes of row `r`. `bytes` must be the file the matrix was validated against.
    #[inline]
    pub fn row<'a>(&self, bytes: &'a [u8], r: usize) -> &'a [u8] {
        let s = self.start + r * self.row_bytes;
        &bytes[s..s + self.row_bytes]
    }

    /// Rows `first..first + rows` as a matrix of their own (a fused matrix's parts); the caller keeps
    /// them inside this one.
    pub fn rows_view(&self, first: usize, rows: usize) -> QMatrix {
        debug_assert!(first + rows <= self.rows);
        QMatrix { rows, start: self.start + first * self.row_bytes, ..*self }
    }
}

/// Bytes that `cols` elements of `t` take, or None when `cols` is not whole blocks.
pub fn row_bytes(t: GgmlType, cols: usize) -> Option<usize> {
    let (block, block_bytes) = t.block_layout();
    let (block, block_bytes) = (block as usize, block_bytes as usize);
    cols.is_multiple_of(block).then_some(cols / block * block_bytes)
}

/// Dequantise one row (`src` = its bytes) into `out` (`cols` floats).
pub fn dequantize_row(t: GgmlType, src: &[u8], out: &mut [f32]) {
    match t {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(src.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(src.chunks_exact(2)) {
                *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        GgmlType::Bf16 => {
            for (o, c) in out.iter_mut().zip(src.chunks_exact(2)) {
                *o = bf16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        GgmlType::Q8_0 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(34)) {
                simd::q8_0_block(f16_to_f32(le_u16(blk, 0)), &blk[2..34], o);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        GgmlType::Q4_1 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(20)) {
                simd::q4_1_block(f16_to_f32(le_u16(blk, 0)), f16_to_f32(le_u16(blk, 2)), &blk[4..20], o);
            }
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        GgmlType::Q8_0 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(34)) {
                let d = f16_to_f32(le_u16(blk, 0));
                for (o, &q) in o.iter_mut().zip(&blk[2..34]) {
                    *o = d * (q as i8) as f32;
                }
            }
        }
        GgmlType::Q4_0 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(18)) {
                let d = f16_to_f32(le_u16(blk, 0));
                let (lo, hi) = o.split_at_mut(16);
                for ((l, h), &q) in lo.iter_mut().zip(hi.iter_mut()).zip(&blk[2..18]) {
                    *l = d * ((q & 0x0f) as i32 - 8) as f32;
                    *h = d * ((q >> 4) as i32 - 8) as f32;
                }
            }
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        GgmlType::Q4_1 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(src.chunks_exact(20)) {
                let d = f16_to_f32(le_u16(blk, 0));
                let m = f16_to_f32(le_u16(blk, 2));
                let (lo, hi) = o.split_at_mut(16);
                for ((l, h), &q) in lo.iter_mut().zip(hi.iter_mut()).zip(&blk[4..20]) {
                    // Same expression as gguf-py / ggml (d * q + m in f32), so dequantised weights are
                    // bit-identical to the reference's.
                    *l = d * (q & 0x0f) as f32 + m;
                    *h = d * (q >> 4) as f32 + m;
                }
            }
        }
        GgmlType::Q5_0 => crate::numeric::blocks::q5_0(src, out),
        GgmlType::Q5_1 => crate::numeric::blocks::q5_1(src, out),
        GgmlType::Q2K => crate::numeric::blocks::q2_k(src, out),
        GgmlType::Q3K => crate::numeric::blocks::q3_k(src, out),
        GgmlType::Q4K => crate::numeric::blocks::q4_k(src, out),
        GgmlType::Q5K => crate::numeric::blocks::q5_k(src, out),
        GgmlType::Q6K => crate::numeric::blocks::q6_k(src, out),
        // The model loader only accepts types with a kernel (`GgmlType::has_kernel`).
        _ => out.fill(f32::NAN),
    }
}

/// The hot block formats with wasm SIMD: the compiler leaves the nibble and byte unpacking scalar, and
/// unpacking took a sixth of a SmolLM2 pass. The same multiplies and adds per value as the scalar
/// code (no fused multiply-add), so the same bits.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// `out[i] = d * q[i] + m` for a Q4_1 block: byte j holds element j (low nibble) and j + 16.
    #[inline(always)]
    pub(super) fn q4_1_block(d: f32, m: f32, qs: &[u8], out: &mut [f32]) {
        assert!(qs.len() >= 16 && out.len() >= 32);
        // SAFETY: 16 readable bytes at qs and 32 writable floats at out (asserted); no alignment needed.
        unsafe {
            let q = v128_load(qs.as_ptr().cast());
            let nibbles = [v128_and(q, u8x16_splat(0x0f)), u8x16_shr(q, 4)];
            let (d, m) = (f32x4_splat(d), f32x4_splat(m));
            for (half, n) in nibbles.into_iter().enumerate() {
                let (lo, hi) = (u16x8_extend_low_u8x16(n), u16x8_extend_high_u8x16(n));
                let quads = [
                    u32x4_extend_low_u16x8(lo),
                    u32x4_extend_high_u16x8(lo),
                    u32x4_extend_low_u16x8(hi),
                    u32x4_extend_high_u16x8(hi),
                ];
                for (j, v) in quads.into_iter().enumerate() {
                    let w = f32x4_add(f32x4_mul(d, f32x4_convert_u32x4(v)), m);
                    v128_store(out.as_mut_ptr().add(half * 16 + j * 4).cast(), w);
                }
            }
        }
    }

    /// `out[i] = d * q[i]` for a Q8_0 block (32 signed bytes).
    #[inline(always)]
    pub(super) fn q8_0_block(d: f32, qs: &[u8], out: &mut [f32]) {
        assert!(qs.len() >= 32 && out.len() >= 32);
        // SAFETY: 32 readable bytes at qs and 32 writable floats at out (asserted).
        unsafe {
            let d = f32x4_splat(d);
            for half in 0..2 {
                let q = v128_load(qs.as_ptr().add(half * 16).cast());
                let (lo, hi) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
                let quads = [
                    i32x4_extend_low_i16x8(lo),
                    i32x4_extend_high_i16x8(lo),
                    i32x4_extend_low_i16x8(hi),
                    i32x4_extend_high_i16x8(hi),
                ];
                for (j, v) in quads.into_iter().enumerate() {
                    v128_store(out.as_mut_ptr().add(half * 16 + j * 4).cast(), f32x4_mul(d, f32x4_convert_i32x4(v)));
                }
            }
        }
    }

    /// Four dequantised rows (`rows[r][c]`, each `k` long, `k` a multiple of 4) into columns `t..t + 4`
    /// of the transposed tile (`tile_t[c * tile + t + r]`), 4 x 4 at a time with shuffles instead of
    /// one scalar store per value.
    #[inline(always)]
    pub(super) fn transpose4(rows: [&[f32]; 4], k: usize, tile_t: &mut [f32], tile: usize, t: usize) {
        assert!(rows.iter().all(|r| r.len() >= k) && k.is_multiple_of(4) && t + 4 <= tile && tile_t.len() >= k * tile);
        let p = rows.map(|r| r.as_ptr());
        for c in (0..k).step_by(4) {
            // SAFETY: c + 4 <= k <= every row's length, and (c + 3) * tile + t + 4 <= k * tile <=
            // tile_t.len() (asserted); no alignment needed.
            unsafe {
                let [r0, r1, r2, r3] = p.map(|p| v128_load(p.add(c).cast()));
                let (t0, t1) = (i32x4_shuffle::<0, 4, 1, 5>(r0, r1), i32x4_shuffle::<2, 6, 3, 7>(r0, r1));
                let (t2, t3) = (i32x4_shuffle::<0, 4, 1, 5>(r2, r3), i32x4_shuffle::<2, 6, 3, 7>(r2, r3));
                let cols = [
                    i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                    i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                    i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                    i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
                ];
                for (j, col) in cols.into_iter().enumerate() {
                    v128_store(tile_t.as_mut_ptr().add((c + j) * tile + t).cast(), col);
                }
            }
        }
    }
}

/// Dot product in 8 independent lanes so the compiler can vectorise it without reassociating floats.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, ar) = (a.chunks_exact(8), a.chunks_exact(8).remainder());
    let br = b.chunks_exact(8).remainder();
    for (x, y) in ac.zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// Weight rows per tile. The tile is stored transposed (`[cols, TILE]`), so the inner loop is an outer
/// product `acc[r] += x[k] * w_t[k][r]` over TILE contiguous floats: it vectorises on any SIMD width (SSE2,
/// AVX, wasm simd128) without the compiler having to reorder float sums. wasm simd128 takes 8 rows with
/// four rows of x (4 x 2 registers of accumulators; 16 rows spill there: measured in V8, 8 and 12 rows
/// compared); x86 takes 16, four rows of x under AVX. The sums run over k in order either way.
const TILE: usize = if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) { 8 } else { 16 };

/// `acc0[r] = x0 . w_r` and `acc1[r] = x1 . w_r` for the `TILE` weight rows of a transposed tile: each
/// weight value loaded serves two rows of x. Written out by hand (not generic over the row count) so the
/// accumulators stay in registers: 2 x 16 floats fill 8 SSE / 4 AVX registers.
#[inline(always)]
fn tile_kernel_2(x0: &[f32], x1: &[f32], tile_t: &[f32]) -> ([f32; TILE], [f32; TILE]) {
    let mut acc0 = [0.0f32; TILE];
    let mut acc1 = [0.0f32; TILE];
    for ((&a0, &a1), w) in x0.iter().zip(x1).zip(tile_t.chunks_exact(TILE)) {
        for r in 0..TILE {
            acc0[r] += a0 * w[r];
            acc1[r] += a1 * w[r];
        }
    }
    (acc0, acc1)
}

#[inline(always)]
fn tile_kernel_1(x0: &[f32], tile_t: &[f32]) -> [f32; TILE] {
    let mut acc0 = [0.0f32; TILE];
    for (&a0, w) in x0.iter().zip(tile_t.chunks_exact(TILE)) {
        for r in 0..TILE {
            acc0[r] += a0 * w[r];
        }
    }
    acc0
}

/// Four rows of x against one tile: `acc[i][r] = x_i . w_r`. Only where the 4 x TILE accumulators fit in
/// registers with room for the weights (AVX's 16 x 8 floats; wasm simd128 with its 8-row tiles); SSE
/// would spill them.
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn tile_kernel_4(x: [&[f32]; 4], tile_t: &[f32]) -> [[f32; TILE]; 4] {
    let mut acc = [[0.0f32; TILE]; 4];
    for (k, w) in tile_t.chunks_exact(TILE).enumerate() {
        let a = [x[0][k], x[1][k], x[2][k], x[3][k]];
        for i in 0..4 {
            for r in 0..TILE {
                acc[i][r] += a[i] * w[r];
            }
        }
    }
    acc
}

/// The tile loop of [`matmul_t_rows`] over every row of x for one tile, into `out` at column `col0`.
/// Each sum runs over k in order whichever kernel computes it, so every build gives the same bits.
#[inline(always)]
fn tile_rows(x: &Matrix, tile_t: &[f32], th: usize, width: usize, col0: usize, out: &mut [f32], four: bool) {
    let mut i = 0;
    #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
    while four && i + 4 <= x.rows() {
        let acc = tile_kernel_4([x.row(i), x.row(i + 1), x.row(i + 2), x.row(i + 3)], tile_t);
        for (j, a) in acc.iter().enumerate() {
            out[(i + j) * width + col0..(i + j) * width + col0 + th].copy_from_slice(&a[..th]);
        }
        i += 4;
    }
    // `four` is read only where a four-row kernel exists.
    let _ = four;
    while i + 2 <= x.rows() {
        let (a0, a1) = tile_kernel_2(x.row(i), x.row(i + 1), tile_t);
        out[i * width + col0..i * width + col0 + th].copy_from_slice(&a0[..th]);
        out[(i + 1) * width + col0..(i + 1) * width + col0 + th].copy_from_slice(&a1[..th]);
        i += 2;
    }
    if i < x.rows() {
        let a0 = tile_kernel_1(x.row(i), tile_t);
        out[i * width + col0..i * width + col0 + th].copy_from_slice(&a0[..th]);
    }
}

/// [`tile_rows`] compiled for AVX (8 floats a register): the same operations in the same order, so the
/// same bits as the SSE2 build; no FMA, which would round once instead of twice.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn tile_rows_avx(x: &Matrix, tile_t: &[f32], th: usize, width: usize, col0: usize, out: &mut [f32]) {
    tile_rows(x, tile_t, th, width, col0, out, true)
}

/// Whether this processor runs AVX (asked once).
#[cfg(target_arch = "x86_64")]
fn has_avx() -> bool {
    static AVX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX.get_or_init(|| std::arch::is_x86_feature_detected!("avx"))
}

fn tile_rows_best(x: &Matrix, tile_t: &[f32], th: usize, width: usize, col0: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx() {
        // SAFETY: the processor was just found to support AVX.
        unsafe { tile_rows_avx(x, tile_t, th, width, col0, out) };
        return;
    }
    tile_rows(x, tile_t, th, width, col0, out, cfg!(all(target_arch = "wasm32", target_feature = "simd128")))
}

/// `y[:, rows] = x @ W[rows]^T` for the weight rows `row_range`, written as an `n x row_range.len()`
/// row-major block into `out` (which is cleared first).
pub fn matmul_t_rows(x: &Matrix, w: &QMatrix, bytes: &[u8], row_range: std::ops::Range<usize>, out: &mut Vec<f32>) {
    let k = w.cols;
    debug_assert_eq!(x.cols(), k);
    let width = row_range.len();
    out.clear();
    out.resize(x.rows() * width, 0.0);
    let mut row_buf = vec![0.0f32; k];
    // [k, TILE]: column r holds weight row r0 + r (zero past the last row).
    let mut tile_t = vec![0.0f32; k * TILE];
    // Scratch for four dequantised rows, only where SIMD transposes them.
    let mut rows4 =
        if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) { vec![0.0f32; 4 * k] } else { Vec::new() };
    let mut r0 = row_range.start;
    while r0 < row_range.end {
        let th = TILE.min(row_range.end - r0);
        if th < TILE {
            tile_t.fill(0.0);
        }
        let done = fill_tile_by_fours(w, bytes, r0, th, &mut rows4, &mut tile_t);
        for t in done..th {
            dequantize_row(w.ggml_type, w.row(bytes, r0 + t), &mut row_buf);
            for (c, &v) in row_buf.iter().enumerate() {
                tile_t[c * TILE + t] = v;
            }
        }
        tile_rows_best(x, &tile_t, th, width, r0 - row_range.start, out);
        r0 += th;
    }
}

/// `out[i * out_stride + o] = x_i . w_o` for `out_dim` rows `w_o` (each `x.cols()` long) that `fill`
/// writes into transposed tiles: `fill(o0, th, tile_t, stride)` puts `w_{o0 + t}[c]` at
/// `tile_t[c * stride + t]` for `t < th` (the rest is zero). Attention's products go through here
/// with keys, or value columns, as the tiles' rows: the same kernels as the weight matrices, which
/// keep a block of outputs in registers where a dot product per output spent as much on summing its
/// lanes as on the products at a head's 32 dimensions. Every sum runs over k in order, so every
/// build gives the same bits.
pub(crate) fn matmul_t_tiled(
    x: &Matrix,
    out_dim: usize,
    mut fill: impl FnMut(usize, usize, &mut [f32], usize),
    out: &mut [f32],
    out_stride: usize,
) {
    let k = x.cols();
    assert!(out_stride >= out_dim && out.len() >= x.rows().saturating_sub(1) * out_stride + out_dim, "short output");
    let mut tile_t = vec![0.0f32; k * TILE];
    let mut o0 = 0;
    while o0 < out_dim {
        let th = TILE.min(out_dim - o0);
        if th < TILE {
            tile_t.fill(0.0);
        }
        fill(o0, th, &mut tile_t, TILE);
        tile_rows_best(x, &tile_t, th, out_stride, o0, out);
        o0 += th;
    }
}

/// A [`matmul_t_tiled`] fill whose tiles' rows are rows of `src` (row-major, `stride` wide), each cut to
/// columns `col0..col0 + len`: attention's keys of one head, for the scores.
pub(crate) fn rows_as_tile_rows(
    src: &[f32],
    stride: usize,
    col0: usize,
    len: usize,
) -> impl Fn(usize, usize, &mut [f32], usize) + '_ {
    move |o0, th, tile_t, tile| {
        for t in 0..th {
            let row = &src[(o0 + t) * stride + col0..][..len];
            for (c, &v) in row.iter().enumerate() {
                tile_t[c * tile + t] = v;
            }
        }
    }
}

/// A [`matmul_t_tiled`] fill whose tiles' rows are columns `col0..` of `src`'s first `rows` rows
/// (row-major, `stride` wide): attention's values of one head, for the context vectors.
pub(crate) fn columns_as_tile_rows(
    src: &[f32],
    stride: usize,
    col0: usize,
    rows: usize,
) -> impl Fn(usize, usize, &mut [f32], usize) + '_ {
    move |o0, th, tile_t, tile| {
        for j in 0..rows {
            tile_t[j * tile..j * tile + th].copy_from_slice(&src[j * stride + col0 + o0..][..th]);
        }
    }
}

/// Rows `r0..r0 + th` of `w` into the transposed tile four at a time where wasm SIMD can transpose
/// them (`rows4`: scratch for 4 rows); returns how many rows it filled (the rest go one by one).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn fill_tile_by_fours(w: &QMatrix, bytes: &[u8], r0: usize, th: usize, rows4: &mut [f32], tile_t: &mut [f32]) -> usize {
    let k = w.cols;
    if !k.is_multiple_of(4) {
        return 0;
    }
    let mut t = 0;
    while t + 4 <= th {
        for (r, buf) in rows4.chunks_exact_mut(k).enumerate() {
            dequantize_row(w.ggml_type, w.row(bytes, r0 + t + r), buf);
        }
        let mut bufs = rows4.chunks_exact(k);
        let rows: [&[f32]; 4] = std::array::from_fn(|_| bufs.next().unwrap_or(&[]));
        simd::transpose4(rows, k, tile_t, TILE, t);
        t += 4;
    }
    t
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn fill_tile_by_fours(_: &QMatrix, _: &[u8], _: usize, _: usize, _: &mut [f32], _: &mut [f32]) -> usize {
    0
}

/// `x @ W^T`: `[n, cols] x [rows, cols]^T -> [n, rows]`.
pub fn matmul_t(x: &Matrix, w: &QMatrix, bytes: &[u8]) -> Matrix {
    let mut data = Vec::new();
    matmul_t_rows(x, w, bytes, 0..w.rows, &mut data);
    Matrix::from_parts(x.rows(), w.rows, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_to_f16_bits_exact(v: f32) -> u16 {
        // Only used with values that are exactly representable in f16 (normal range).
        let b = v.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        if v == 0.0 {
            return sign;
        }
        let e = ((b >> 23) & 0xff) as i32 - 127 + 15;
        let m = (b >> 13) & 0x3ff;
        assert!((1..31).contains(&e) && b & 0x1fff == 0, "{v} is not an exact normal f16");
        sign | ((e as u16) << 10) | m as u16
    }

    #[test]
    fn f16_conversion_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24)); // largest subnormal
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14)); // smallest normal
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        // Every subnormal: value = mantissa * 2^-24.
        for m in 1u16..0x400 {
            assert_eq!(f16_to_f32(m), m as f32 * 2f32.powi(-24));
            assert_eq!(f16_to_f32(0x8000 | m), -(m as f32) * 2f32.powi(-24));
        }
        // Every normal, both signs: (1 + m/1024) * 2^(e-15).
        for e in 1u16..31 {
            for m in 0u16..0x400 {
                let want = (1.0 + m as f64 / 1024.0) * 2f64.powi(e as i32 - 15);
                assert_eq!(f16_to_f32((e << 10) | m) as f64, want);
                assert_eq!(f16_to_f32(0x8000 | (e << 10) | m) as f64, -want);
            }
        }
    }

    /// The AVX build of the tile loop (4 rows at a time, 8-float registers) against the plain one (2 rows,
    /// SSE2): every sum the same bits, for every row count's remainder.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx_and_plain_tiles_give_the_same_bits() {
        if !has_avx() {
            return;
        }
        let k = 72;
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let tile: Vec<f32> = (0..k * TILE).map(|_| next()).collect();
        for n in 1..=9 {
            let x = Matrix::from_vec(n, k, (0..n * k).map(|_| next() * 3.0).collect()).expect("shape");
            let (mut plain, mut avx) = (vec![0.0f32; n * TILE], vec![0.0f32; n * TILE]);
            tile_rows(&x, &tile, TILE, TILE, 0, &mut plain, false);
            // SAFETY: AVX was detected above.
            unsafe { tile_rows_avx(&x, &tile, TILE, TILE, 0, &mut avx) };
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain), bits(&avx), "{n} rows");
        }
    }

    #[test]
    fn q8_0_block_layout() {
        let d = 0.5f32;
        let mut blk = f32_to_f16_bits_exact(d).to_le_bytes().to_vec();
        let qs: Vec<i8> = (0..32).map(|i| (i as i8 - 16) * 3).collect();
        blk.extend(qs.iter().map(|&q| q as u8));
        let mut out = [0.0f32; 32];
        dequantize_row(GgmlType::Q8_0, &blk, &mut out);
        for i in 0..32 {
            assert_eq!(out[i], d * qs[i] as f32);
        }
    }

    #[test]
    fn q4_1_block_layout_low_nibbles_first() {
        let (d, m) = (0.25f32, -1.5f32);
        let mut blk = f32_to_f16_bits_exact(d).to_le_bytes().to_vec();
        blk.extend(f32_to_f16_bits_exact(m).to_le_bytes());
        // Element j (j < 16) in the low nibble of byte j, element j + 16 in its high nibble.
        let want_q: Vec<u8> = (0..32).map(|i| ((i * 7 + 3) % 16) as u8).collect();
        for j in 0..16 {
            blk.push(want_q[j] | (want_q[j + 16] << 4));
        }
        let mut out = [0.0f32; 32];
        dequantize_row(GgmlType::Q4_1, &blk, &mut out);
        for i in 0..32 {
            assert_eq!(out[i], d * want_q[i] as f32 + m, "element {i}");
        }
    }

    #[test]
    fn q4_0_block_layout() {
        let d = 2.0f32;
        let mut blk = f32_to_f16_bits_exact(d).to_le_bytes().to_vec();
        let want_q: Vec<u8> = (0..32).map(|i| ((i * 5 + 1) % 16) as u8).collect();
        for j in 0..16 {
            blk.push(want_q[j] | (want_q[j + 16] << 4));
        }
        let mut out = [0.0f32; 32];
        dequantize_row(GgmlType::Q4_0, &blk, &mut out);
        for i in 0..32 {
            assert_eq!(out[i], d * (want_q[i] as f32 - 8.0));
        }
    }

    #[test]
    fn matmul_matches_naive_for_odd_shapes() {
        // 7 rows of 64 Q4_1 weights (2 blocks each); tiles and the 4-row micro-kernel leave remainders.
        let (rows, cols, n) = (7usize, 64usize, 3usize);
        let mut bytes = vec![0u8; 5]; // a non-zero start offset
        let start = bytes.len();
        for r in 0..rows {
            for b in 0..cols / 32 {
                let d = 0.125 * (r as f32 + 1.0);
                let m = -0.5 * b as f32;
                bytes.extend(f32_to_f16_bits_exact(d).to_le_bytes());
                bytes.extend(f32_to_f16_bits_exact(m).to_le_bytes());
                for j in 0..16u8 {
                    bytes.push(((j + r as u8) % 16) | (((j * 3 + b as u8) % 16) << 4));
                }
            }
        }
        let w = QMatrix { rows, cols, ggml_type: GgmlType::Q4_1, start, row_bytes: cols / 32 * 20 };
        let x = Matrix::from_parts(n, cols, (0..n * cols).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect());
        let y = matmul_t(&x, &w, &bytes);
        let mut wrow = vec![0.0f32; cols];
        for r in 0..rows {
            dequantize_row(GgmlType::Q4_1, w.row(&bytes, r), &mut wrow);
            for i in 0..n {
                let want: f64 = (0..cols).map(|c| x.data()[i * cols + c] as f64 * wrow[c] as f64).sum();
                assert!((y.data()[i * rows + r] as f64 - want).abs() < 1e-4, "({i},{r})");
            }
        }
        // A sub-range of rows lands in a narrower block.
        let mut part = Vec::new();
        matmul_t_rows(&x, &w, &bytes, 2..7, &mut part);
        for i in 0..n {
            for c in 0..5 {
                assert!((part[i * 5 + c] - y.data()[i * rows + 2 + c]).abs() < 1e-5);
            }
        }
    }
}

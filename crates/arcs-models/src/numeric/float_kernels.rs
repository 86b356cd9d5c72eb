//! Numeric kernels: matmul against torch-layout weights, LayerNorm, GELU, softmax.
//!
//! Everything is plain safe Rust written so LLVM can auto-vectorise it: inner loops run over
//! contiguous slices in chunks of 8 independent accumulator lanes (one AVX register, two SSE or
//! wasm `simd128` registers), which also breaks the serial add dependency of a naive dot product.

use crate::Matrix;

const LANES: usize = 8;

/// A weight matrix stored as torch stores `nn.Linear.weight`: `(out x in)` row-major, so each
/// output feature's weights are one contiguous row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WeightMatrix {
    F32(Matrix),
    /// Integers with one quantisation step per row: `w[r][c] = data[r * cols + c] as f32 * steps[r]`
    /// (what the browser bundle stores). Kept as i16 in memory, half the size of f32, and used as
    /// integers by [`matmul_t`]. Build with [`WeightMatrix::quantized`].
    Quantized {
        rows: usize,
        cols: usize,
        data: Vec<i16>,
        steps: Vec<f32>,
        /// The largest Euclidean norm of a row of `data`: bounds every integer dot product.
        norm_bound: f32,
    },
}

impl WeightMatrix {
    /// A quantised matrix (`data` row-major, `rows * cols` long).
    pub(crate) fn quantized(rows: usize, cols: usize, data: Vec<i16>, steps: Vec<f32>) -> Self {
        let norm_bound = data
            .chunks(cols.max(1))
            .map(|row| row.iter().map(|&q| f64::from(q) * f64::from(q)).sum::<f64>().sqrt())
            .fold(0.0f64, f64::max);
        // Rounded up so the bound stays a bound.
        let norm_bound = (norm_bound * (1.0 + 1e-6)) as f32 + 1.0;
        WeightMatrix::Quantized { rows, cols, data, steps, norm_bound }
    }

    /// The matrix as f32 (dequantised if needed).
    pub(crate) fn to_f32(&self) -> Matrix {
        match self {
            WeightMatrix::F32(m) => m.clone(),
            WeightMatrix::Quantized { rows, cols, .. } => {
                let mut data = vec![0.0f32; rows * cols];
                for (r, out) in data.chunks_mut((*cols).max(1)).enumerate() {
                    self.row_into(r, out);
                }
                Matrix::from_vec(*rows, *cols, data).unwrap_or_default()
            }
        }
    }

    pub(crate) fn rows(&self) -> usize {
        match self {
            WeightMatrix::F32(m) => m.rows(),
            WeightMatrix::Quantized { rows, .. } => *rows,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        match self {
            WeightMatrix::F32(m) => m.cols(),
            WeightMatrix::Quantized { cols, .. } => *cols,
        }
    }

    /// Row `r` as f32 (dequantised if needed) into `out` (`cols` long).
    pub(crate) fn row_into(&self, r: usize, out: &mut [f32]) {
        match self {
            WeightMatrix::F32(m) => out.copy_from_slice(m.row(r)),
            WeightMatrix::Quantized { cols, data, steps, .. } => {
                let step = steps[r];
                for (o, &q) in out.iter_mut().zip(&data[r * cols..(r + 1) * cols]) {
                    *o = q as f32 * step;
                }
            }
        }
    }
}

/// Dot product with 8 independent accumulator lanes.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let split = a.len() / LANES * LANES;
    for (ca, cb) in a[..split].chunks_exact(LANES).zip(b[..split].chunks_exact(LANES)) {
        // Fixed-size views let LLVM drop the bounds checks and keep the 8 lanes in SIMD lanes.
        let (ca, cb): (&[f32; LANES], &[f32; LANES]) = match (ca.try_into(), cb.try_into()) {
            (Ok(x), Ok(y)) => (x, y),
            _ => break,
        };
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    // A plain sequential sum: a pairwise tree here made LLVM vectorise the whole loop
    // differently and run 1.5x slower.
    let mut sum = acc.iter().sum::<f32>();
    for (x, y) in a[split..].iter().zip(&b[split..]) {
        sum += x * y;
    }
    sum
}

/// Rows of `x` and of `W` one call of the float block kernel covers (as in `int_kernels`: 9
/// accumulators and 6 loaded vectors fit x86's 16 SIMD registers).
const XR: usize = 3;
const WR: usize = 3;

/// `x @ W^T + bias` for `x` (n x in) and `W` (out x in) in torch layout: output (n x out).
pub(crate) fn matmul_t(x: &Matrix, w: &WeightMatrix, bias: &[f32]) -> Matrix {
    matmul_t_quantized(x, quantize_for(x, &[w]).as_ref(), w, bias)
}

/// Activations quantised to i16 once for one or more weight matrices (Q, K and V share their input).
pub(crate) struct QuantizedInput {
    xq: Vec<i16>,
    scales: Vec<f32>,
}

/// `x` as i16 for [`matmul_t_quantized`] with any of `ws`: by Cauchy-Schwarz the activations' norm
/// limit, set against the largest weight-row norm among them, keeps every i32 sum in range. `None`
/// if a matrix is not quantised or a value of `x` is not finite (the float path then runs, which
/// lets a NaN show in the result as it would in torch).
pub(crate) fn quantize_for(x: &Matrix, ws: &[&WeightMatrix]) -> Option<QuantizedInput> {
    let mut bound = 0.0f32;
    for w in ws {
        match w {
            WeightMatrix::Quantized { norm_bound, .. } => bound = bound.max(*norm_bound),
            WeightMatrix::F32(_) => return None,
        }
    }
    let limit = crate::numeric::int_kernels::norm_limit_against(f64::from(bound));
    let (xq, scales) = crate::numeric::int_kernels::quantize_rows(x.data(), x.cols(), limit)?;
    Some(QuantizedInput { xq, scales })
}

/// [`matmul_t`] with `x` already quantised by [`quantize_for`] (with `w` among its matrices).
pub(crate) fn matmul_t_quantized(x: &Matrix, xq: Option<&QuantizedInput>, w: &WeightMatrix, bias: &[f32]) -> Matrix {
    let (n, k) = x.shape();
    assert_eq!(w.cols(), k, "matmul_t: inner dimensions differ");
    assert_eq!(bias.len(), w.rows(), "matmul_t: bias length");
    match (w, xq) {
        (WeightMatrix::F32(m), _) => matmul_t_f32(x, m, bias),
        // The bundle's integers used as they are stored, no dequantising.
        (WeightMatrix::Quantized { rows, data, steps, .. }, Some(q)) => {
            let mut out = Matrix::zeros(n, *rows);
            crate::numeric::int_kernels::matmul_t_i16(
                k,
                &q.xq,
                &q.scales,
                data,
                steps,
                Some(bias),
                out.data_mut(),
                *rows,
            );
            out
        }
        // Non-finite activations cannot be turned into integers: take the float path, which lets
        // the NaN or infinity show in the result as it would in torch.
        (WeightMatrix::Quantized { .. }, None) => matmul_t_f32(x, &w.to_f32(), bias),
    }
}

/// Float path: `x @ W^T + bias` as a new `n x out` matrix, register-blocked: [`f32_block`] computes a
/// 3 x 3 block of outputs per pass over the inner dimension, each weight row read once per block.
fn matmul_t_f32(x: &Matrix, w: &Matrix, bias: &[f32]) -> Matrix {
    let (n, k, out_dim) = (x.rows(), x.cols(), w.rows());
    assert_eq!(w.cols(), k, "matmul: inner dimensions differ");
    let mut out = Matrix::zeros(n, out_dim);
    let out_data = out.data_mut();
    let k4 = k / 4 * 4;
    let zero_row = vec![0.0f32; k];
    for o in (0..out_dim).step_by(WR) {
        let w_rows: [&[f32]; WR] = std::array::from_fn(|c| row_or(w, o + c, &zero_row));
        for i in (0..n).step_by(XR) {
            let x_rows: [&[f32]; XR] = std::array::from_fn(|r| row_or(x, i + r, &zero_row));
            let acc = f32_block(x_rows, w_rows, k4);
            for r in 0..XR.min(n - i) {
                for c in 0..WR.min(out_dim - o) {
                    let mut sum = (acc[r][c][0] + acc[r][c][1]) + (acc[r][c][2] + acc[r][c][3]);
                    for (a, b) in x_rows[r][k4..].iter().zip(&w_rows[c][k4..]) {
                        sum += a * b;
                    }
                    out_data[(i + r) * out_dim + o + c] = sum + bias[o + c];
                }
            }
        }
    }
    out
}

/// Row `i` of `m`, or `zero` past its last row: blocks at the bottom edge are computed whole, with
/// zero rows whose results are dropped.
#[inline]
fn row_or<'a>(m: &'a Matrix, i: usize, zero: &'a [f32]) -> &'a [f32] {
    if i < m.rows() {
        m.row(i)
    } else {
        zero
    }
}

/// Dot products of `XR` rows of x with `WR` weight rows over the first `k4` (a multiple of 4)
/// columns, as 4-lane partial sums `acc[r][c][lane]`: plain arrays that LLVM maps onto SIMD
/// registers. Mul and add stay separate (no fused multiply-add), so every build rounds alike.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn f32_block(x: [&[f32]; XR], w: [&[f32]; WR], k4: usize) -> [[[f32; 4]; WR]; XR] {
    let lanes = |s: &[f32]| -> [f32; 4] { [s[0], s[1], s[2], s[3]] };
    let mut acc = [[[0.0f32; 4]; WR]; XR];
    for k in (0..k4).step_by(4) {
        let wv: [[f32; 4]; WR] = std::array::from_fn(|c| lanes(&w[c][k..k + 4]));
        for r in 0..XR {
            let xv = lanes(&x[r][k..k + 4]);
            for c in 0..WR {
                for l in 0..4 {
                    acc[r][c][l] += xv[l] * wv[c][l];
                }
            }
        }
    }
    acc
}

/// The same block with wasm SIMD and no bounds check per load (they cost as much as the
/// arithmetic): the same multiplies and adds in the same order per lane, so the same bits.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn f32_block(x: [&[f32]; XR], w: [&[f32]; WR], k4: usize) -> [[[f32; 4]; WR]; XR] {
    use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    assert!(x.iter().chain(&w).all(|row| row.len() >= k4));
    let xp: [*const f32; XR] = std::array::from_fn(|r| x[r].as_ptr());
    let wp: [*const f32; WR] = std::array::from_fn(|c| w[c].as_ptr());
    let mut acc = [[f32x4_splat(0.0); WR]; XR];
    for k in (0..k4).step_by(4) {
        // SAFETY: k + 4 <= k4 <= every row's length (asserted above); no alignment requirement.
        let wv: [v128; WR] = std::array::from_fn(|c| unsafe { v128_load(wp[c].add(k).cast()) });
        for r in 0..XR {
            // SAFETY: as above.
            let xv = unsafe { v128_load(xp[r].add(k).cast()) };
            for c in 0..WR {
                acc[r][c] = f32x4_add(acc[r][c], f32x4_mul(xv, wv[c]));
            }
        }
    }
    let mut out = [[[0.0f32; 4]; WR]; XR];
    for r in 0..XR {
        for c in 0..WR {
            // SAFETY: `out[r][c]` is 16 writable bytes; v128_store has no alignment requirement.
            unsafe { v128_store(out[r][c].as_mut_ptr().cast(), acc[r][c]) };
        }
    }
    out
}

/// LayerNorm over each row, in place. Mean and variance are accumulated in f64 so the result hardly
/// depends on summation order (torch uses a differently ordered, compensated f32 reduction); in 4
/// lanes, as a single running sum is a chain of dependent adds the compiler may not reorder.
pub(crate) fn layer_norm_in_place(m: &mut Matrix, gamma: &[f32], beta: &[f32], eps: f32) {
    let cols = m.cols();
    // Lane j adds the values at j, j + 4, ... in order; then the lanes in order.
    let sum4 = |row: &[f32], f: &dyn Fn(f32) -> f64| -> f64 {
        let mut lanes = [0.0f64; 4];
        let (whole, tail) = row.split_at(row.len() / 4 * 4);
        for c in whole.chunks_exact(4) {
            for (s, &v) in lanes.iter_mut().zip(c) {
                *s += f(v);
            }
        }
        for (s, &v) in lanes.iter_mut().zip(tail) {
            *s += f(v);
        }
        lanes.iter().sum()
    };
    for r in 0..m.rows() {
        let row = m.row_mut(r);
        let mean = sum4(row, &|v| v as f64) / cols as f64;
        let var = sum4(row, &|v| (v as f64 - mean).powi(2)) / cols as f64;
        let inv_std = 1.0 / (var + eps as f64).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((*v as f64 - mean) * inv_std) as f32 * g + b;
        }
    }
}

/// GELU, the erf form BERT uses (not the tanh approximation).
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    for v in values {
        let x = *v;
        *v = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf for f32 as a rational function of x on [-4, 4] (beyond, erf is ±1 to f32 precision):
/// within 1e-6 of libm's `erff` everywhere (tested), in a dozen multiply-adds and one division
/// where `erff` branches and calls `expf`; the feed-forward blocks evaluate it 1536 times per
/// token per layer. Odd numerator over even denominator, the form Eigen and XNNPACK use.
#[inline]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10_f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 + -2.101_024e-6;
    let p = p * x2 + -5.692_506_4e-5;
    let p = p * x2 + -7.349_906_3e-4;
    let p = p * x2 + -2.954_600_2e-3;
    let p = p * x2 + -1.609_603_3e-2;
    let q = -1.456_607_2e-5_f32;
    let q = q * x2 + -2.133_740_6e-4;
    let q = q * x2 + -1.682_827e-3;
    let q = q * x2 + -7.373_329e-3;
    let q = q * x2 + -1.426_474e-2;
    x * p / q
}

/// Numerically stable softmax over one row, in place. The max and the sum run in 8 independent
/// lanes and the exponentials in a loop of their own, so all three vectorise (a single running sum
/// is a serial chain the compiler may not reorder).
pub fn softmax_in_place(row: &mut [f32]) {
    // Not f32::max (a library call in wasm); NaNs are skipped either way.
    let mut max8 = [f32::NEG_INFINITY; LANES];
    for c in row.chunks(LANES) {
        for (m, &v) in max8.iter_mut().zip(c) {
            *m = if v > *m { v } else { *m };
        }
    }
    let max = max8.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    for v in row.iter_mut() {
        *v = crate::numeric::int_kernels::exp(*v - max);
    }
    let mut sum8 = [0.0f32; LANES];
    for c in row.chunks(LANES) {
        for (s, &v) in sum8.iter_mut().zip(c) {
            *s += v;
        }
    }
    let inv = 1.0 / sum8.iter().sum::<f32>();
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `y += a * x`, vectorisable.
#[inline]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += a * xv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_matmul_t(x: &Matrix, w: &Matrix, bias: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0f32; x.rows() * w.rows()];
        for i in 0..x.rows() {
            for o in 0..w.rows() {
                let mut s = 0.0f64;
                for j in 0..x.cols() {
                    s += x.get(i, j) as f64 * w.get(o, j) as f64;
                }
                out[i * w.rows() + o] = s as f32 + bias[o];
            }
        }
        out
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn matmul_matches_naive_for_odd_sizes() {
        for &(n, k, o) in &[(1, 1, 1), (3, 7, 5), (5, 8, 3), (9, 19, 4), (4, 32, 6), (13, 40, 9)] {
            let x = Matrix::from_vec(n, k, pseudo(n * k, 1)).unwrap();
            let w = Matrix::from_vec(o, k, pseudo(o * k, 2)).unwrap();
            let bias = pseudo(o, 3);
            let got = matmul_t(&x, &WeightMatrix::F32(w.clone()), &bias);
            let want = naive_matmul_t(&x, &w, &bias);
            for (g, e) in got.data().iter().zip(&want) {
                assert!((g - e).abs() < 1e-5, "{n}x{k}x{o}: {g} vs {e}");
            }
        }
    }

    /// The integer path against the dequantised weights in f64: only the activations' rounding
    /// (half a step of each row's scale, per element) separates them.
    fn check_quantized(n: usize, k: usize, q: Vec<i16>, steps: Vec<f32>, x: Vec<f32>) {
        let o = steps.len();
        let x = Matrix::from_vec(n, k, x).unwrap();
        let wq = WeightMatrix::quantized(o, k, q.clone(), steps.clone());
        let wf: Vec<f32> = (0..o * k).map(|i| q[i] as f32 * steps[i / k]).collect();
        let wf = Matrix::from_vec(o, k, wf).unwrap();
        let bias: Vec<f32> = (0..o).map(|i| i as f32 * 0.1).collect();
        let got = matmul_t(&x, &wq, &bias);
        let want = naive_matmul_t(&x, &wf, &bias);
        let WeightMatrix::Quantized { norm_bound, .. } = wq else { unreachable!() };
        let limit = crate::numeric::int_kernels::norm_limit_against(f64::from(norm_bound));
        let (_, scales) = crate::numeric::int_kernels::quantize_rows(x.data(), k, limit).unwrap();
        for i in 0..n {
            let x_max = x.row(i).iter().fold(0.0f32, |m, v| m.max(v.abs()));
            // The i16 range alone would allow this step; the norm bound may ask for a coarser one.
            assert!(scales[i] >= x_max / 32767.0 * 0.999);
            for c in 0..o {
                let w_abs: f32 = (0..k).map(|j| wf.get(c, j).abs()).sum();
                let tol = 0.5 * scales[i] * w_abs * 1.001 + 1e-5 * want[i * o + c].abs() + 1e-6;
                let (g, e) = (got.get(i, c), want[i * o + c]);
                assert!((g - e).abs() <= tol, "{n}x{k}x{o} [{i},{c}]: {g} vs {e} (tol {tol})");
            }
        }
    }

    #[test]
    fn quantized_matmul_matches_dequantised_weights() {
        for &(n, k, o) in &[(1, 1, 1), (5, 9, 3), (4, 16, 7), (7, 40, 4), (3, 384, 5)] {
            let q: Vec<i16> = (0..o * k).map(|i| ((i * 3637) % 65535) as i32 - 32767).map(|v| v as i16).collect();
            let steps: Vec<f32> = (0..o).map(|r| 0.01 * (r + 1) as f32).collect();
            check_quantized(n, k, q, steps, pseudo(n * k, 4).iter().map(|v| v * 7.0).collect());
        }
    }

    #[test]
    fn quantized_matmul_cannot_overflow() {
        // The worst case for i32 sums: every weight at the i16 limit and activations of one sign,
        // 1536 long (MiniLM's widest input). Without the norm bound these sums would wrap.
        let k = 1536;
        for w in [i16::MAX, i16::MIN + 1] {
            let q = vec![w; 2 * k];
            let x: Vec<f32> = (0..3 * k).map(|i| if i % k == 0 { 1000.0 } else { 999.0 }).collect();
            check_quantized(3, k, q, vec![1e-3, 2e-3], x);
        }
    }

    #[test]
    fn quantized_matmul_handles_zero_and_non_finite_rows() {
        let wq = WeightMatrix::quantized(2, 3, vec![1, 2, 3, -4, -5, -6], vec![0.5, 0.25]);
        let x = Matrix::from_vec(2, 3, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0]).unwrap();
        let out = matmul_t(&x, &wq, &[1.0, 2.0]);
        assert_eq!(out.row(0), &[1.0, 2.0], "an all-zero row gives the bias");
        let nan = Matrix::from_vec(1, 3, vec![1.0, f32::NAN, 0.0]).unwrap();
        assert!(matmul_t(&nan, &wq, &[0.0, 0.0]).data().iter().all(|v| v.is_nan()));
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_order() {
        let mut row = vec![1000.0, 1001.0, 999.0];
        softmax_in_place(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[0] && row[0] > row[2]);
        let e = std::f32::consts::E;
        assert!((row[1] / row[0] - e).abs() < 1e-4);
    }

    #[test]
    fn erf_approximation_matches_libm() {
        let mut worst = 0.0f32;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4; // [-6, 6] in steps of 1e-4
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 1e-6, "max |erf - erff| = {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(-3.0), -erf(3.0));
    }

    #[test]
    fn gelu_matches_known_values() {
        // GELU(x) = x * Phi(x); Phi(1) = 0.841344746..., Phi(-2) = 0.022750131...
        let mut v = vec![0.0, 1.0, -2.0, 6.0];
        gelu_in_place(&mut v);
        assert_eq!(v[0], 0.0);
        assert!((v[1] - 0.841_344_7).abs() < 1e-6);
        assert!((v[2] + 2.0 * 0.022_750_132).abs() < 1e-6);
        assert!((v[3] - 6.0).abs() < 1e-6);
    }

    #[test]
    fn layer_norm_normalises_rows() {
        let mut m = Matrix::from_vec(2, 4, vec![1.0, 2.0, 3.0, 4.0, -1.0, -1.0, -1.0, -1.0]).unwrap();
        layer_norm_in_place(&mut m, &[1.0, 2.0, 1.0, 1.0], &[0.0, 0.0, 0.5, 0.0], 1e-12);
        let s = (1.25f32).sqrt();
        let want = [-1.5 / s, 2.0 * -0.5 / s, 0.5 / s + 0.5, 1.5 / s];
        for (g, w) in m.row(0).iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        // A constant row has zero variance: output is beta, not NaN.
        assert_eq!(m.row(1), &[0.0, 0.0, 0.5, 0.0]);
    }
}

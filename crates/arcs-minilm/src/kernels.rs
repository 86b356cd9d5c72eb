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
    /// (what the browser bundle stores). Kept as i16 in memory, half the size of f32, and expanded
    /// one row at a time inside [`matmul_t`].
    Quantized {
        rows: usize,
        cols: usize,
        data: Vec<i16>,
        steps: Vec<f32>,
    },
}

impl WeightMatrix {
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
            WeightMatrix::Quantized {
                cols, data, steps, ..
            } => {
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
    for (ca, cb) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
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

/// `x @ W^T + bias` for `x` (n x in) and `W` (out x in) in torch layout: output (n x out).
///
/// The outer loop walks the weight rows so each row (at most 6 KB as f32) is read from memory,
/// and dequantised, once, then stays in L1 while all `n` input rows stream past it; dequantising
/// thus costs one multiply per weight per call, against `n` multiply-adds per weight. (Computing
/// four rows per weight chunk was tried: LLVM then vectorises across the rows with shuffles and
/// it runs slower.)
pub(crate) fn matmul_t(x: &Matrix, w: &WeightMatrix, bias: &[f32]) -> Matrix {
    let (n, k) = x.shape();
    let out_dim = w.rows();
    assert_eq!(w.cols(), k, "matmul_t: inner dimensions differ");
    assert_eq!(bias.len(), out_dim, "matmul_t: bias length");
    let mut out = Matrix::zeros(n, out_dim);
    let mut row_buf = vec![
        0.0f32;
        if matches!(w, WeightMatrix::Quantized { .. }) {
            k
        } else {
            0
        }
    ];
    let xs = x.data();
    let od = out.data_mut();
    for o in 0..out_dim {
        let w_row: &[f32] = match w {
            WeightMatrix::F32(m) => m.row(o),
            WeightMatrix::Quantized { .. } => {
                w.row_into(o, &mut row_buf);
                &row_buf
            }
        };
        let b = bias[o];
        for i in 0..n {
            od[i * out_dim + o] = dot(w_row, &xs[i * k..(i + 1) * k]) + b;
        }
    }
    out
}

/// LayerNorm over each row, in place. Mean and variance are accumulated in f64 so the result does
/// not depend on summation order (torch uses a differently ordered, compensated f32 reduction).
pub(crate) fn layer_norm_in_place(m: &mut Matrix, gamma: &[f32], beta: &[f32], eps: f32) {
    let cols = m.cols();
    for r in 0..m.rows() {
        let row = m.row_mut(r);
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / cols as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / cols as f64;
        let inv_std = 1.0 / (var + eps as f64).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = ((*v as f64 - mean) * inv_std) as f32 * g + b;
        }
    }
}

/// GELU, the exact erf form BERT uses (not the tanh approximation).
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    for v in values {
        let x = *v;
        *v = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Numerically stable softmax over one row, in place.
pub(crate) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
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
        for &(n, k, o) in &[
            (1, 1, 1),
            (3, 7, 5),
            (5, 8, 3),
            (9, 19, 4),
            (4, 32, 6),
            (13, 40, 9),
        ] {
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

    #[test]
    fn quantized_matmul_uses_row_steps() {
        let x = Matrix::from_vec(5, 9, pseudo(45, 4)).unwrap();
        let q: Vec<i16> = (0..27).map(|i| (i * 3637 % 65535 - 32767) as i16).collect();
        let steps = vec![0.01, 0.5, 2.0];
        let wq = WeightMatrix::Quantized {
            rows: 3,
            cols: 9,
            data: q.clone(),
            steps: steps.clone(),
        };
        let wf: Vec<f32> = (0..27).map(|i| q[i] as f32 * steps[i / 9]).collect();
        let wf = Matrix::from_vec(3, 9, wf).unwrap();
        let bias = [0.1, 0.2, 0.3];
        assert_eq!(
            matmul_t(&x, &wq, &bias),
            matmul_t(&x, &WeightMatrix::F32(wf), &bias)
        );
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
        let mut m =
            Matrix::from_vec(2, 4, vec![1.0, 2.0, 3.0, 4.0, -1.0, -1.0, -1.0, -1.0]).unwrap();
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

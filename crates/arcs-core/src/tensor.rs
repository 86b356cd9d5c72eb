//! Matrix helpers on top of nalgebra's `DMatrix<f32>`.
//!
//! nalgebra holds the data and does the bookkeeping (shapes, transposes, slicing). The products and the
//! softmax are our own on purpose: nalgebra hands large products to a BLAS-like kernel that picks FMA or
//! not at run time, which changes the last bits between a desktop and the browser. Here every sum runs in
//! one fixed order, so the same request gives the same bits natively and in wasm32.

use nalgebra::DMatrix;

/// A dense f32 matrix: rows are tokens, columns are features.
pub type Mat = DMatrix<f32>;

/// Builds a matrix from rows; `None` when the rows are ragged.
pub fn from_rows(rows: &[Vec<f32>]) -> Option<Mat> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != d) {
        return None;
    }
    Some(Mat::from_fn(n, d, |i, j| rows[i][j]))
}

/// The matrix as a list of rows (the JSON layout).
pub fn to_rows(m: &Mat) -> Vec<Vec<f32>> {
    (0..m.nrows()).map(|i| m.row(i).iter().copied().collect()).collect()
}

/// `a @ b`, summing over the inner index in ascending order for every output element.
///
/// The loop runs column by column of the (column-major) output so the innermost loop walks contiguous
/// memory and vectorises without changing the order of any single sum.
pub fn matmul(a: &Mat, b: &Mat) -> Mat {
    assert_eq!(a.ncols(), b.nrows(), "matmul: inner dimensions differ");
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let mut out = Mat::zeros(m, n);
    let a_data = a.as_slice();
    let out_data = out.as_mut_slice();
    for j in 0..n {
        let out_col = &mut out_data[j * m..(j + 1) * m];
        for p in 0..k {
            let b_pj = b[(p, j)];
            let a_col = &a_data[p * m..(p + 1) * m];
            for (o, &x) in out_col.iter_mut().zip(a_col) {
                *o += x * b_pj;
            }
        }
    }
    out
}

/// `a @ bᵀ` without materialising the transpose's product order differently from `matmul`.
pub fn matmul_t(a: &Mat, b: &Mat) -> Mat {
    matmul(a, &b.transpose())
}

/// e^x in f32, identical on every platform.
#[inline]
pub fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// Row-wise softmax with max subtraction (what `torch.softmax(x, dim=-1)` does).
///
/// A row whose entries are all -inf has no defined softmax; like torch it becomes NaN rather than a
/// made-up distribution, so the report shows the problem instead of hiding it.
pub fn softmax_rows(scores: &Mat) -> Mat {
    let mut out = scores.clone();
    for i in 0..out.nrows() {
        let mut max = f32::NEG_INFINITY;
        for j in 0..out.ncols() {
            max = max.max(out[(i, j)]);
        }
        let mut sum = 0.0f32;
        for j in 0..out.ncols() {
            let e = exp(out[(i, j)] - max);
            out[(i, j)] = e;
            sum += e;
        }
        for j in 0..out.ncols() {
            out[(i, j)] /= sum;
        }
    }
    out
}

/// The chapter's first softmax, `exp(x) / sum(exp(x))` without the max subtraction: it overflows for
/// large scores, which is the point the book makes with it.
pub fn softmax_naive_rows(scores: &Mat) -> Mat {
    let mut out = scores.map(exp);
    normalize_rows(&mut out);
    out
}

/// Divides each row by its sum (the chapter's "attn_weights_2_tmp").
pub fn sum_normalize_rows(scores: &Mat) -> Mat {
    let mut out = scores.clone();
    normalize_rows(&mut out);
    out
}

fn normalize_rows(m: &mut Mat) {
    for i in 0..m.nrows() {
        let mut sum = 0.0f32;
        for j in 0..m.ncols() {
            sum += m[(i, j)];
        }
        for j in 0..m.ncols() {
            m[(i, j)] /= sum;
        }
    }
}

/// Largest absolute element-wise difference; infinities of the same sign count as equal, and any NaN or
/// shape mismatch gives infinity so a comparison can never pass by accident.
pub fn max_abs_diff(a: &Mat, b: &Mat) -> f32 {
    if a.shape() != b.shape() {
        return f32::INFINITY;
    }
    let mut worst = 0.0f32;
    for (x, y) in a.iter().zip(b.iter()) {
        let d = if x == y { 0.0 } else { (x - y).abs() };
        if d.is_nan() {
            return f32::INFINITY;
        }
        worst = worst.max(d);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_nalgebra_on_small_ints() {
        // Small integers are exact in f32, so nalgebra's own product is a valid oracle here.
        let a = Mat::from_fn(3, 4, |i, j| (i * 4 + j) as f32 - 5.0);
        let b = Mat::from_fn(4, 2, |i, j| (i as f32) - (j as f32) * 2.0);
        assert_eq!(matmul(&a, &b), &a * &b);
        assert_eq!(matmul_t(&a, &a), &a * a.transpose());
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_order() {
        let s = Mat::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 1000.0, 1000.0, f32::NEG_INFINITY]);
        let w = softmax_rows(&s);
        for i in 0..2 {
            let sum: f32 = w.row(i).iter().sum();
            assert!((sum - 1.0).abs() < 1e-6);
        }
        assert!(w[(0, 0)] < w[(0, 1)] && w[(0, 1)] < w[(0, 2)]);
        assert_eq!(w[(1, 2)], 0.0);
        assert!((w[(1, 0)] - 0.5).abs() < 1e-7);
        // The naive version overflows on the same row: that is what the book warns about.
        assert!(softmax_naive_rows(&s)[(1, 0)].is_nan());
    }

    #[test]
    fn max_abs_diff_refuses_nan_and_shape_mismatch() {
        let a = Mat::from_element(2, 2, 1.0);
        let mut b = a.clone();
        assert_eq!(max_abs_diff(&a, &b), 0.0);
        b[(0, 1)] = f32::NAN;
        assert_eq!(max_abs_diff(&a, &b), f32::INFINITY);
        assert_eq!(max_abs_diff(&a, &Mat::zeros(2, 3)), f32::INFINITY);
    }
}

/// A dense row-major `rows x cols` matrix of f32, the one container the forward pass hands out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Wraps row-major `data`; `None` if its length is not `rows * cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Option<Self> {
        (rows.checked_mul(cols) == Some(data.len())).then_some(Matrix { rows, cols, data })
    }

    /// For the crate's own kernels, whose output length is right by construction.
    pub(crate) fn from_parts(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(rows * cols, data.len());
        Matrix { rows, cols, data }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The transpose: `cols x rows`.
    pub fn transposed(&self) -> Matrix {
        let mut t = Matrix::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                t.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        t
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// All elements, row after row.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row `r` as a slice. Panics if `r >= rows` (a caller bug, like slice indexing).
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Element `(r, c)`. Panics if out of range.
    pub fn get(&self, r: usize, c: usize) -> f32 {
        assert!(c < self.cols, "column {c} out of range for {} columns", self.cols);
        self.data[r * self.cols + c]
    }

    /// Iterator over the rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        // `max(1)` keeps chunks_exact happy for 0-column matrices (which then have no data).
        self.data.chunks_exact(self.cols.max(1))
    }

    /// Columns `start..start + width` as a new `rows x width` matrix, e.g. one head's queries:
    /// `out.layers[l].queries.column_block(h * HEAD_DIM, HEAD_DIM)`.
    pub fn column_block(&self, start: usize, width: usize) -> Matrix {
        assert!(start + width <= self.cols, "column block {start}..{} out of range", start + width);
        let mut data = Vec::with_capacity(self.rows * width);
        for row in self.iter_rows() {
            data.extend_from_slice(&row[start..start + width]);
        }
        Matrix { rows: self.rows, cols: width, data }
    }

    /// `self @ self^T` (`rows x rows`): the raw dot-product similarity of every pair of rows,
    /// e.g. of the token vectors entering a layer.
    pub fn gram(&self) -> Matrix {
        let mut out = Matrix::zeros(self.rows, self.rows);
        for i in 0..self.rows {
            for j in 0..=i {
                let d = crate::numeric::float_kernels::dot(self.row(i), self.row(j));
                out.data[i * self.rows + j] = d;
                out.data[j * self.rows + i] = d;
            }
        }
        out
    }

    /// `more`'s rows below this matrix's; `None` (and nothing changed) if the widths differ.
    pub fn append_rows(&mut self, more: Matrix) -> Option<()> {
        if more.cols != self.cols {
            return None;
        }
        self.data.extend_from_slice(&more.data);
        self.rows += more.rows;
        Some(())
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub(crate) fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
}

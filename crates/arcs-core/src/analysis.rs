//! Summaries of a model's attention across layers and heads: attention rollout (Abnar & Zuidema 2020)
//! and the scores that name a head's role (previous token, first token / sink, self, entropy, distance,
//! duplicate token, induction), as the research views and `attn --analysis` define them (README).
//!
//! Pure functions of attention matrices (rows are queries, each row a distribution over keys) and
//! token ids; every model's attention goes through the same code.

use crate::tensor::{matmul, Mat};

/// Attention rollout through every layer: per layer the mean over heads, plus the identity for the
/// residual stream, halved so rows still sum to 1: `Â_l = (mean_h A_l + I) / 2`; then
/// `rollout_0 = Â_0` and `rollout_l = Â_l · rollout_(l-1)`. `layers[l][h]` is (n, n); the result has
/// one (n, n) matrix per layer. An approximation of how much each input token reaches each position.
pub fn rollout(layers: &[Vec<Mat>]) -> Vec<Mat> {
    let mut out: Vec<Mat> = Vec::with_capacity(layers.len());
    for heads in layers {
        let Some(first) = heads.first() else { break };
        let n = first.nrows();
        let mut a_hat = Mat::identity(n, n);
        for a in heads {
            a_hat += a / heads.len() as f32;
        }
        a_hat /= 2.0;
        let next = match out.last() {
            Some(prev) => matmul(&a_hat, prev), // (n, n) @ (n, n)
            None => a_hat,
        };
        out.push(next);
    }
    out
}

/// Mean over queries i >= 1 of `a[i][i-1]` (0 with fewer than two tokens).
pub fn previous_token(a: &Mat) -> f32 {
    let n = a.nrows();
    mean((1..n).map(|i| a[(i, i - 1)]))
}

/// Mean over queries of `a[i][0]`: attention to the first token (the sink, or [CLS]).
pub fn first_token(a: &Mat) -> f32 {
    mean((0..a.nrows()).map(|i| a[(i, 0)]))
}

/// Mean of `a[i][i]`.
pub fn self_score(a: &Mat) -> f32 {
    mean((0..a.nrows()).map(|i| a[(i, i)]))
}

/// Mean over queries of the row's entropy in bits (0 log 0 = 0).
pub fn entropy_bits(a: &Mat) -> f32 {
    mean(a.row_iter().map(|row| row.iter().filter(|&&p| p > 0.0).map(|&p| -p * p.log2()).sum::<f32>()))
}

/// Mean over queries of `sum_j a[i][j] |i - j|`: how far a head looks, in tokens.
pub fn mean_distance(a: &Mat) -> f32 {
    mean((0..a.nrows()).map(|i| (0..a.ncols()).map(|j| a[(i, j)] * i.abs_diff(j) as f32).sum::<f32>()))
}

/// Over the queries i that have an earlier token j with the same id, the mean of
/// `sum_{j < i, ids[j] == ids[i]} a[i][j]`; `None` when no token repeats.
pub fn duplicate_token(a: &Mat, ids: &[u32]) -> Option<f32> {
    let n = a.nrows().min(ids.len());
    let per_query: Vec<f32> = (0..n)
        .filter(|&i| ids[..i].contains(&ids[i]))
        .map(|i| (0..i).filter(|&j| ids[j] == ids[i]).map(|j| a[(i, j)]).sum())
        .collect();
    (!per_query.is_empty()).then(|| mean(per_query.into_iter()))
}

/// Induction (TransformerLens' definition): on a sequence of `offset` leading tokens (a BOS, or none)
/// followed by `r` tokens repeated twice, the mean over the second copy's positions i of
/// `a[i][i - r + 1]`, the token after the previous occurrence of the current one. 0 if `a` is too small.
pub fn induction(a: &Mat, r: usize, offset: usize) -> f32 {
    if r == 0 || a.nrows() < offset + 2 * r {
        return 0.0;
    }
    mean((offset + r..offset + 2 * r).map(|i| a[(i, i + 1 - r)]))
}

/// `|| v_j^h W_O^h ||_2` for every head h and token j: the size of what token j's value vector moves
/// into the layer's output through head h, the weight of Kobayashi et al. (2020, "Attention is not only
/// a weight"). `values`: (n, kv_heads * head_dim), biases included; `w_out`: the output projection in
/// torch layout (d_model, heads * head_dim), its bias left out. Query head h reads K/V head
/// `h / (heads / kv_heads)`. Returns `[head][token]`.
pub fn value_norms(values: &Mat, w_out: &Mat, heads: usize, head_dim: usize) -> Vec<Vec<f32>> {
    let kv_heads = (values.ncols() / head_dim.max(1)).max(1);
    let group = (heads / kv_heads).max(1);
    (0..heads)
        .map(|h| {
            let kv = (h / group).min(kv_heads - 1);
            let w_h = w_out.columns(h * head_dim, head_dim); // (d_model, head_dim)
            (0..values.nrows())
                .map(|j| {
                    let v = values.row(j).columns(kv * head_dim, head_dim).transpose(); // (head_dim, 1)
                    (w_h * v).norm() // (d_model, 1)
                })
                .collect()
        })
        .collect()
}

/// Attention weighted by value norms: `a[i][j] * norms[j]` (see [`value_norms`]).
pub fn value_weighted(a: &Mat, norms: &[f32]) -> Mat {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] * norms.get(j).copied().unwrap_or(f32::NAN))
}

fn mean(xs: impl Iterator<Item = f32>) -> f32 {
    let (sum, count) = xs.fold((0.0f64, 0usize), |(s, c), x| (s + x as f64, c + 1));
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

/// Every head role score of every head: `[layer][head]`.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadRoles {
    pub previous_token: Vec<Vec<f32>>,
    pub first_token: Vec<Vec<f32>>,
    pub self_score: Vec<Vec<f32>>,
    pub entropy_bits: Vec<Vec<f32>>,
    pub mean_distance: Vec<Vec<f32>>,
    /// `None` where no token of the input repeats.
    pub duplicate_token: Vec<Vec<Option<f32>>>,
    /// Decoders only (computed on a repeated sequence, see [`induction`]).
    pub induction: Option<Vec<Vec<f32>>>,
}

impl HeadRoles {
    /// The scores of `layers[l][h]` on the input with token `ids`; `induction` comes from another pass.
    pub fn of(layers: &[Vec<Mat>], ids: &[u32], induction: Option<Vec<Vec<f32>>>) -> Self {
        let per = |f: &dyn Fn(&Mat) -> f32| layers.iter().map(|hs| hs.iter().map(f).collect()).collect();
        HeadRoles {
            previous_token: per(&previous_token),
            first_token: per(&first_token),
            self_score: per(&self_score),
            entropy_bits: per(&entropy_bits),
            mean_distance: per(&mean_distance),
            duplicate_token: layers.iter().map(|hs| hs.iter().map(|a| duplicate_token(a, ids)).collect()).collect(),
            induction,
        }
    }
}

/// BertViz's neuron view of one query-key pair of one head: the query vector, the key vector, their
/// elementwise product, its sum (the score), the score scaled, masked, and softmaxed over the query's
/// row. Computed from the head's own Q and K (after RoPE where the model rotates them), so it is the
/// number the head's attention weight came from, one step at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronTrace {
    pub query: Vec<f32>,
    pub key: Vec<f32>,
    /// `query[d] * key[d]`.
    pub product: Vec<f32>,
    /// The sum of `product`: q · k.
    pub score: f32,
    /// `score * scale` (1/sqrt(head_dim), or 1 where the view does not scale).
    pub scale: f32,
    pub scaled: f32,
    /// The causal mask hides this key from this query (its weight is 0).
    pub masked: bool,
    /// softmax over the query's row of scaled, masked scores, at this key.
    pub weight: f32,
}

/// The neuron view of query `i` and key `j` of a head with `queries` and `keys` (each `n x head_dim`);
/// `None` when `i` or `j` is not a token.
pub fn neuron(queries: &Mat, keys: &Mat, i: usize, j: usize, scale: f32, causal: bool) -> Option<NeuronTrace> {
    let n = keys.nrows();
    if i >= queries.nrows() || j >= n || queries.ncols() != keys.ncols() {
        return None;
    }
    let q: Vec<f32> = queries.row(i).iter().copied().collect();
    let dot = |k: usize| -> f32 { q.iter().zip(keys.row(k).iter()).map(|(a, b)| a * b).sum() };
    let visible = |k: usize| !causal || k <= i;
    // The whole row's scaled scores, for the softmax's denominator.
    let row: Vec<f32> = (0..n).map(|k| if visible(k) { dot(k) * scale } else { f32::NEG_INFINITY }).collect();
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = row.iter().map(|&s| (s - max).exp()).sum();
    let key: Vec<f32> = keys.row(j).iter().copied().collect();
    let product: Vec<f32> = q.iter().zip(&key).map(|(a, b)| a * b).collect();
    let score = product.iter().sum();
    Some(NeuronTrace {
        query: q,
        key,
        product,
        score,
        scale,
        scaled: score * scale,
        masked: !visible(j),
        weight: if visible(j) { (row[j] - max).exp() / total } else { 0.0 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[f32]]) -> Mat {
        Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
    }

    #[test]
    fn scores_of_hand_made_heads() {
        // Always the previous token (the first token looks at itself).
        let prev = m(&[&[1.0, 0.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 0.0], &[0.0, 1.0, 0.0, 0.0], &[0.0, 0.0, 1.0, 0.0]]);
        assert_eq!(previous_token(&prev), 1.0);
        assert_eq!(first_token(&prev), 0.5);
        assert_eq!(self_score(&prev), 0.25);
        assert_eq!(entropy_bits(&prev), 0.0);
        assert_eq!(mean_distance(&prev), 0.75);
        // Uniform over four keys: 2 bits, distance mean of |i - j|.
        let uniform = Mat::from_element(4, 4, 0.25);
        assert!((entropy_bits(&uniform) - 2.0).abs() < 1e-6);
        assert!((mean_distance(&uniform) - 1.25).abs() < 1e-6);
        // Token 7 repeats at 0, 2, 3: queries 2 (earlier: 0) and 3 (earlier: 0, 2).
        let ids = [7, 1, 7, 7];
        let a = m(&[&[1.0, 0.0, 0.0, 0.0], &[0.5, 0.5, 0.0, 0.0], &[0.6, 0.3, 0.1, 0.0], &[0.1, 0.2, 0.3, 0.4]]);
        let want = (0.6 + (0.1 + 0.3)) / 2.0;
        assert!((duplicate_token(&a, &ids).expect("repeats") - want).abs() < 1e-6);
        assert_eq!(duplicate_token(&a, &[1, 2, 3, 4]), None);
        assert_eq!(previous_token(&Mat::from_element(1, 1, 1.0)), 0.0, "no query with a previous token");
    }

    #[test]
    fn induction_reads_the_token_after_the_previous_occurrence() {
        // BOS + [a b c] + [a b c]: position 4 (second a) -> 2 (first b), 5 -> 3, 6 -> 4.
        let (r, offset, n) = (3, 1, 7);
        let mut a = Mat::zeros(n, n);
        for i in 0..n {
            a[(i, 0)] = 1.0;
        }
        for i in offset + r..n {
            a[(i, 0)] = 0.2;
            a[(i, i + 1 - r)] = 0.8;
        }
        assert!((induction(&a, r, offset) - 0.8).abs() < 1e-6);
        assert!(induction(&a, r, 0) < 0.6, "read without the BOS offset, one position of the stripe is missed");
        assert_eq!(induction(&a, 4, 1), 0.0, "too short for two copies of 4");
    }

    #[test]
    fn rollout_follows_its_definition() {
        let l0 = vec![m(&[&[1.0, 0.0], &[0.5, 0.5]]), m(&[&[1.0, 0.0], &[1.0, 0.0]])];
        let l1 = vec![m(&[&[1.0, 0.0], &[0.0, 1.0]])];
        let r = rollout(&[l0.clone(), l1]);
        // Â_0 = ((l0 mean) + I) / 2 = [[1, 0], [0.375, 0.625]].
        let a0 = m(&[&[1.0, 0.0], &[0.375, 0.625]]);
        assert!((&r[0] - &a0).abs().max() < 1e-7);
        // Â_1 = I, so rollout_1 = rollout_0.
        assert!((&r[1] - &a0).abs().max() < 1e-7);
        for row in r[1].row_iter() {
            assert!((row.sum() - 1.0).abs() < 1e-6, "rows stay distributions");
        }
        assert!(rollout(&[]).is_empty());
    }

    #[test]
    fn value_norms_follow_the_shared_value_heads() {
        // Two query heads share one K/V head of size 2; the output projection maps head 0's two inputs
        // to (3, 4) and (0, 0), head 1's to (0, 0) and (0, 2).
        let values = m(&[&[1.0, 0.0], &[0.0, 1.0]]);
        let w_out = m(&[&[3.0, 0.0, 0.0, 0.0], &[4.0, 0.0, 0.0, 2.0]]); // (d_model 2, heads 2 x head_dim 2)
        let norms = value_norms(&values, &w_out, 2, 2);
        assert_eq!(norms, vec![vec![5.0, 0.0], vec![0.0, 2.0]]);
        let a = m(&[&[0.5, 0.5], &[0.25, 0.75]]);
        assert_eq!(value_weighted(&a, &norms[0]), m(&[&[2.5, 0.0], &[1.25, 0.0]]));
    }

    #[test]
    fn head_roles_cover_every_layer_and_head() {
        let a = Mat::from_element(3, 3, 1.0 / 3.0);
        let layers = vec![vec![a.clone(), a.clone()], vec![a.clone(), a]];
        let roles = HeadRoles::of(&layers, &[5, 6, 5], None);
        assert_eq!(roles.previous_token.len(), 2);
        assert_eq!(roles.entropy_bits[1].len(), 2);
        assert!((roles.duplicate_token[0][0].expect("5 repeats") - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(roles.induction, None);
    }

    #[test]
    fn the_neuron_view_rebuilds_a_heads_weight_step_by_step() {
        let q = Mat::from_row_slice(3, 2, &[1.0, 0.0, 0.5, 0.5, 0.0, 2.0]);
        let k = Mat::from_row_slice(3, 2, &[1.0, 1.0, -1.0, 0.0, 0.0, 1.0]);
        let scale = 1.0 / 2f32.sqrt();
        let t = neuron(&q, &k, 2, 1, scale, false).expect("a pair");
        assert_eq!((t.product.clone(), t.score), (vec![-0.0, 0.0], 0.0));
        // Row 2's scaled scores are 2s, 0, 2s: the weights are e^(2s) / (2 e^(2s) + 1) and 1 / (...).
        let e = (2.0 * scale).exp();
        assert!((t.weight - 1.0 / (2.0 * e + 1.0)).abs() < 1e-6, "{}", t.weight);
        let c = neuron(&q, &k, 1, 2, scale, true).expect("a pair");
        assert!(c.masked && c.weight == 0.0, "the future is masked");
        let seen = neuron(&q, &k, 1, 0, scale, true).expect("a pair");
        let row: f32 = (0..=1).map(|j| neuron(&q, &k, 1, j, scale, true).map_or(0.0, |t| t.weight)).sum();
        assert!((row - 1.0).abs() < 1e-6 && seen.scaled == seen.score * scale);
        assert!(neuron(&q, &k, 3, 0, scale, false).is_none() && neuron(&q, &k, 0, 3, scale, false).is_none());
    }
}

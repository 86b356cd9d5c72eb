//! Comparing two sentences run through one model (minimal pairs: "... because it was too tired" /
//! "... too wide"): which tokens of A and B stand for each other, B minus A on those tokens, and the
//! heads where a token's attention moves most between the two. Platform-agnostic, tested natively.

use crate::models::ModelRun;
use arcs_core::tensor::Mat;

/// The token pairs `(a, b)` that agree: the common beginning, then the common end, so a word swapped
/// for one of another length keeps the rest of the sentence aligned. In order, each index at most once.
pub fn align(a: &[String], b: &[String]) -> Vec<(usize, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a.iter().rev().zip(b.iter().rev()).take(room).take_while(|(x, y)| x == y).count();
    let (na, nb) = (a.len(), b.len());
    (0..prefix).map(|i| (i, i)).chain((0..suffix).rev().map(|k| (na - 1 - k, nb - 1 - k))).collect()
}

/// B − A on the aligned tokens: `D[p][q] = B[b_p][b_q] − A[a_p][a_q]` (`pairs x pairs`).
pub fn difference(a: &Mat, b: &Mat, pairs: &[(usize, usize)]) -> Mat {
    let at = |m: &Mat, i: usize, j: usize| if i < m.nrows() && j < m.ncols() { m[(i, j)] } else { f32::NAN };
    Mat::from_fn(pairs.len(), pairs.len(), |p, q| {
        let ((ai, bi), (aj, bj)) = (pairs[p], pairs[q]);
        at(b, bi, bj) - at(a, ai, aj)
    })
}

/// How far the attention of the aligned query `pairs[p]` moves between A and B in one head: half the
/// sum of `|B − A|` over the aligned keys (0: the same; 1: all of it moved, when every key is aligned).
pub fn movement(a: &ModelRun, b: &ModelRun, layer: usize, head: usize, pairs: &[(usize, usize)], p: usize) -> f32 {
    let Some(&(qa, qb)) = pairs.get(p) else { return f32::NAN };
    let l1: f32 =
        pairs.iter().map(|&(ka, kb)| (b.weight(layer, head, qb, kb) - a.weight(layer, head, qa, ka)).abs()).sum();
    l1 / 2.0
}

/// Every head of the model by [`movement`] of the aligned query `pairs[p]`, largest first; empty when
/// the two runs are not of one model.
pub fn moved_most(a: &ModelRun, b: &ModelRun, pairs: &[(usize, usize)], p: usize) -> Vec<(usize, usize, f32)> {
    if a.shape != b.shape || a.model != b.model || p >= pairs.len() {
        return Vec::new();
    }
    let s = a.shape;
    // Long passes sent their shown layer only.
    let mut all: Vec<(usize, usize, f32)> = (0..s.layers)
        .filter(|&l| a.has_layer(l) && b.has_layer(l))
        .flat_map(|l| (0..s.heads).map(move |h| (l, h)))
        .map(|(l, h)| (l, h, movement(a, b, l, h, pairs, p)))
        .collect();
    all.sort_by(|x, y| y.2.total_cmp(&x.2));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ModelKind, Shape};

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn tokens_align_at_both_ends() {
        let a = words("the animal was too tired .");
        let b = words("the animal was too wide .");
        assert_eq!(align(&a, &b), vec![(0, 0), (1, 1), (2, 2), (3, 3), (5, 5)]);
        let longer = words("the animal was far too wide .");
        assert_eq!(align(&a, &longer), vec![(0, 0), (1, 1), (2, 2), (5, 6)], "the end stays aligned");
        assert_eq!(align(&a, &a).len(), a.len(), "the same sentence: every token, once");
        assert_eq!(align(&words("a a"), &words("a a a")), vec![(0, 0), (1, 1)], "no index twice");
        assert!(align(&[], &a).is_empty());
    }

    fn run(tokens: &[String], weights: impl Fn(usize, usize, usize, usize) -> f32) -> ModelRun {
        let shape = Shape { layers: 2, heads: 3, kv_heads: 3, head_dim: 4, causal: false };
        let n = tokens.len();
        let mut attention = Vec::new();
        for l in 0..shape.layers {
            for h in 0..shape.heads {
                for i in 0..n {
                    for j in 0..n {
                        attention.push(weights(l, h, i, j));
                    }
                }
            }
        }
        ModelRun::bare(ModelKind::MiniLm, shape, tokens.to_vec(), attention)
    }

    #[test]
    fn the_difference_is_b_minus_a_on_the_aligned_tokens_and_the_ranking_follows_it() {
        let (ta, tb) = (words("it was too tired"), words("it was much too tired"));
        let a = run(&ta, |l, h, i, j| (l * 100 + h * 10 + i * 4 + j) as f32 / 1000.0);
        // Head (1, 2) moves token 0's attention from key 0 to key 1 in B; the others keep A's numbers
        // (shifted by one token after "much").
        let b = run(&tb, |l, h, i, j| {
            let (ia, ja) = (if i > 2 { i - 1 } else { i }, if j > 2 { j - 1 } else { j });
            let base = (l * 100 + h * 10 + ia * 4 + ja) as f32 / 1000.0;
            if (l, h, i) == (1, 2, 0) && j < 2 {
                base + if j == 0 { -0.25 } else { 0.25 }
            } else {
                base
            }
        });
        let pairs = align(&ta, &tb);
        assert_eq!(pairs, vec![(0, 0), (1, 1), (2, 3), (3, 4)]);
        let d = difference(&a.attention(1, 2), &b.attention(1, 2), &pairs);
        for (p, &(ai, bi)) in pairs.iter().enumerate() {
            for (q, &(aj, bj)) in pairs.iter().enumerate() {
                assert_eq!(d[(p, q)], b.weight(1, 2, bi, bj) - a.weight(1, 2, ai, aj), "exactly B − A");
            }
        }
        assert!((d[(0, 0)] + 0.25).abs() < 1e-6 && (d[(0, 1)] - 0.25).abs() < 1e-6 && d[(1, 1)].abs() < 1e-6);
        let ranked = moved_most(&a, &b, &pairs, 0);
        assert_eq!(ranked.len(), 6);
        assert_eq!((ranked[0].0, ranked[0].1), (1, 2));
        assert!((ranked[0].2 - 0.25).abs() < 1e-6, "half of |−0.25| + |0.25|");
        assert!(ranked[1].2.abs() < 1e-6);
        let other = ModelRun { model: ModelKind::SmolLm2, ..b.clone() };
        assert!(moved_most(&a, &other, &pairs, 0).is_empty(), "two models are not compared");
    }
}

//! Properties that hold for any input, checked on random ones.

use arcs_core::attention::{head_attention, multi_head, HeadOptions, HeadWeights, Linear, MaskStyle, MultiHeadWeights};
use arcs_core::tensor::{max_abs_diff, Mat};
use arcs_core::weights::seeded_weights;
use arcs_core::{Mode, Request, Source};
use proptest::prelude::*;

fn matrix(rows: std::ops::RangeInclusive<usize>, cols: usize) -> impl Strategy<Value = Mat> {
    rows.prop_flat_map(move |n| {
        proptest::collection::vec(-2.0f32..2.0, n * cols).prop_map(move |v| Mat::from_row_slice(n, cols, &v))
    })
}

fn weights(d_in: usize, d_out: usize, seed: u64) -> (HeadWeights, Linear) {
    seeded_weights(seed, d_in, d_out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rows_sum_to_one_and_future_is_zero(x in matrix(1..=12, 4), seed in 0u64..1000, causal in any::<bool>()) {
        let (w, _) = weights(4, 6, seed);
        let h = head_attention(&x, &w, &HeadOptions { causal, ..HeadOptions::default() }, 0);
        for i in 0..x.nrows() {
            let sum: f32 = h.attn_weights.row(i).iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-5, "row {} sums to {}", i, sum);
            for j in 0..x.nrows() {
                let w = h.attn_weights[(i, j)];
                prop_assert!(w >= 0.0);
                if causal && j > i { prop_assert_eq!(w, 0.0); }
            }
        }
    }

    #[test]
    fn masking_conventions_agree(x in matrix(1..=12, 3), seed in 0u64..1000) {
        let (w, _) = weights(3, 4, seed);
        let a = head_attention(&x, &w, &HeadOptions { causal: true, mask_style: MaskStyle::NegInf, ..HeadOptions::default() }, 0);
        let b = head_attention(&x, &w, &HeadOptions { causal: true, mask_style: MaskStyle::Renormalize, ..HeadOptions::default() }, 0);
        prop_assert!(max_abs_diff(&a.attn_weights, &b.attn_weights) < 1e-5);
        prop_assert!(max_abs_diff(&a.context_vec, &b.context_vec) < 1e-5);
    }

    #[test]
    fn one_head_is_self_attention_then_out_proj(x in matrix(1..=10, 3), seed in 0u64..1000, causal in any::<bool>()) {
        let (w, out_proj) = weights(3, 4, seed);
        let opts = HeadOptions { causal, ..HeadOptions::default() };
        let single = head_attention(&x, &w, &opts, 0);
        let mh = MultiHeadWeights::split(&w, Some(out_proj.clone()), 1);
        let (heads, concat, out) = multi_head(&x, &mh, &opts);
        prop_assert_eq!(&heads[0].attn_weights, &single.attn_weights);
        prop_assert_eq!(&concat, &single.context_vec);
        prop_assert_eq!(out, out_proj.forward(&single.context_vec));
    }

    #[test]
    fn permuting_tokens_permutes_non_causal_output(x in matrix(2..=8, 3), seed in 0u64..1000, rot in 1usize..8) {
        let n = x.nrows();
        let perm: Vec<usize> = (0..n).map(|i| (i + rot) % n).collect();
        let px = Mat::from_fn(n, 3, |i, j| x[(perm[i], j)]);
        let (w, _) = weights(3, 2, seed);
        let a = head_attention(&x, &w, &HeadOptions::default(), 0);
        let b = head_attention(&px, &w, &HeadOptions::default(), 0);
        let pa = Mat::from_fn(n, n, |i, j| a.attn_weights[(perm[i], perm[j])]);
        let pc = Mat::from_fn(n, 2, |i, j| a.context_vec[(perm[i], j)]);
        prop_assert!(max_abs_diff(&b.attn_weights, &pa) < 1e-5);
        prop_assert!(max_abs_diff(&b.context_vec, &pc) < 1e-5);
    }

    #[test]
    fn heads_partition_d_out(heads in 1usize..=4, head_dim in 1usize..=3, seed in 0u64..100) {
        let d_out = heads * head_dim;
        let req = Request { source: Source::Sentence("the cat sat on the mat".into()), mode: Mode::MultiHead, seed,
                            d_in: 5, d_out: Some(d_out), heads: Some(heads), ..Request::default() };
        let a = req.run().expect("valid request");
        prop_assert_eq!(a.heads.len(), heads);
        prop_assert_eq!(a.concat.as_ref().map(|c| c.shape()), Some((6, d_out)));
        prop_assert_eq!(a.context.shape(), (6, d_out));
    }
}

#[test]
fn dropout_keeps_about_one_minus_p_and_scales() {
    let req = Request {
        source: Source::Sentence("a b c d e f g h i j k l m n o p".into()),
        mode: Mode::Causal,
        dropout: 0.25,
        ..Request::default()
    };
    let a = req.run().expect("valid");
    let h = &a.heads[0];
    let keep = h.keep_mask.as_ref().expect("mask reported");
    let kept = keep.iter().filter(|&&k| k == 1.0).count() as f32 / keep.len() as f32;
    assert!((kept - 0.75).abs() < 0.1, "kept fraction {kept}");
    let dropped = h.attn_weights_dropout.as_ref().expect("dropped weights");
    for ((w, k), d) in h.attn_weights.iter().zip(keep.iter()).zip(dropped.iter()) {
        let want = if *k == 1.0 { w / 0.75 } else { 0.0 };
        assert!((d - want).abs() < 1e-6);
    }
    // Same seed, same mask; another seed, another mask.
    assert_eq!(req.run().expect("valid").heads[0].keep_mask, h.keep_mask);
    let other = Request { seed: 124, ..req }.run().expect("valid");
    assert_ne!(other.heads[0].keep_mask, h.keep_mask);
}

#[test]
fn invalid_requests_are_clear_errors() {
    let sentence = |s: &str| Request { source: Source::Sentence(s.into()), ..Request::default() };
    let cases: Vec<(Request, &str)> = vec![
        (sentence(""), "no words"),
        (sentence("   \t "), "no words"),
        (sentence(&"word ".repeat(300)), "300 tokens; the limit is 256"),
        (sentence(&"x".repeat(10_000)), "10000 characters"),
        (Request { d_out: Some(0), ..sentence("a b") }, "d_out must be between 1"),
        (Request { d_out: Some(10_000), ..sentence("a b") }, "d_out must be between 1"),
        (Request { d_in: 0, ..sentence("a b") }, "d_in must be between 1"),
        (
            Request { mode: Mode::MultiHead, d_out: Some(6), heads: Some(4), ..sentence("a b") },
            "4 heads do not divide d_out = 6",
        ),
        (Request { mode: Mode::MultiHead, heads: Some(3), ..Request::default() }, "3 heads do not divide d_out = 2"),
        (Request { dropout: 1.0, ..sentence("a b") }, "below 1"),
        (Request { dropout: -1.0, ..sentence("a b") }, "below 1"),
        (Request { dropout: f32::NAN, ..sentence("a b") }, "below 1"),
        (Request { d_out: Some(4), ..Request::default() }, "fixed weights with d_out = 2"),
    ];
    for (req, want) in cases {
        let e = req.run().expect_err(want).to_string();
        assert!(e.contains(want), "got {e:?}, want {want:?}");
    }
    // Punctuation only is a sentence: it has tokens.
    assert!(sentence("?!").run().is_ok());
}

/// The same seeded request must give the same bits natively and in wasm32; the wasm test in the app
/// crate checks this very digest.
#[test]
fn seeded_numbers_have_a_fixed_digest() {
    assert_eq!(arcs_core::request::determinism_digest(), arcs_core::request::DETERMINISM_DIGEST);
}

#[test]
fn cross_attention_with_itself_is_self_attention_and_shapes_follow_the_sequences() {
    use arcs_core::attention::cross_attention;
    let (w, _) = weights(3, 4, 11);
    let x = Mat::from_fn(5, 3, |i, j| ((i * 3 + j) % 7) as f32 / 7.0);
    let y = Mat::from_fn(2, 3, |i, j| ((i + j) % 3) as f32 / 3.0);
    let same = cross_attention(&x, &x, &w, &HeadOptions::default());
    assert_eq!(same, head_attention(&x, &w, &HeadOptions::default(), 0));
    let c = cross_attention(&y, &x, &w, &HeadOptions { causal: true, ..HeadOptions::default() });
    assert_eq!(c.attn_weights.shape(), (2, 5), "one row per output word, one column per input word");
    assert!(c.mask.is_none(), "cross-attention looks at the whole input");
    for i in 0..2 {
        assert!((c.attn_weights.row(i).sum() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn an_rnn_final_state_forgets_early_words() {
    let share = arcs_core::attention::rnn_final_state_share(12, 0.7);
    assert!((share.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!(share.windows(2).all(|w| w[0] < w[1]), "later words weigh more");
    assert!(share[0] < 0.01, "the first of 12 words is nearly gone: {}", share[0]);
}

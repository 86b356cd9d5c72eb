//! Every applicable example of chapter 3, checked against reference/book_ch03.json.
//! The engine computes; the file only supplies inputs, weights and the numbers to compare with.
#![allow(non_snake_case)]

use arcs_core::attention::{
    apply_dropout, head_attention, multi_head, simplified, Dropout, HeadOptions, HeadWeights, Linear, MaskStyle, Mode,
    MultiHeadWeights, Normalization,
};
use arcs_core::tensor::{matmul_t, max_abs_diff, Mat};
use arcs_core::{book, Request};
use nalgebra::DVector;
use serde_json::Value;
use std::sync::OnceLock;

/// The reference says an f32 implementation matches `value` within 1e-5.
const TOL: f32 = 1e-5;

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../reference/book_ch03.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        serde_json::from_str(&text).expect("book_ch03.json parses")
    })
}

fn example(name: &str) -> &'static Value {
    reference()["examples"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("example {name} not in book_ch03.json"))
}

fn num(v: &Value) -> f32 {
    match v {
        Value::String(s) if s == "-inf" => f32::NEG_INFINITY,
        Value::String(s) if s == "inf" => f32::INFINITY,
        Value::String(s) if s == "nan" => f32::NAN,
        _ => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32,
    }
}

/// A 0-, 1- or 2-d value as a matrix (a vector becomes one row).
fn mat(v: &Value) -> Mat {
    match v {
        Value::Array(rows) if rows.first().is_some_and(Value::is_array) => {
            let rows: Vec<Vec<f32>> =
                rows.iter().map(|r| r.as_array().expect("row").iter().map(num).collect()).collect();
            Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
        }
        Value::Array(xs) => Mat::from_row_slice(1, xs.len(), &xs.iter().map(num).collect::<Vec<_>>()),
        other => Mat::from_element(1, 1, num(other)),
    }
}

/// `section.key.value` of an example as a matrix (`section` = expected / intermediates / inputs).
fn get(ex: &Value, section: &str, key: &str) -> Mat {
    let v = &ex[section][key]["value"];
    assert!(!v.is_null(), "{}: {section}.{key} missing", ex["name"]);
    mat(v)
}

/// Item `i` of a 3-d value (batch or head index).
fn get3(ex: &Value, section: &str, key: &str, i: usize) -> Mat {
    mat(&ex[section][key]["value"][i])
}

#[track_caller]
fn close(what: &str, got: &Mat, want: &Mat) {
    let d = max_abs_diff(got, want);
    assert!(d <= TOL, "{what}: max |diff| = {d}\n got {got}\nwant {want}");
}

fn row(m: &Mat, i: usize) -> Mat {
    m.rows(i, 1).into_owned()
}

/// An `nn.Linear` weight from the file as a right multiplier, with its bias.
fn linear(w: &Value) -> Linear {
    let weight =
        if w["weight_T_right_multiplier"].is_null() { mat(&w["value"]) } else { mat(&w["weight_T_right_multiplier"]) };
    let bias = w["bias"].as_array().map(|b| DVector::from_iterator(b.len(), b.iter().map(num)));
    Linear { weight, bias }
}

fn head_weights(w: &Value) -> HeadWeights {
    HeadWeights { W_query: linear(&w["W_query"]), W_key: linear(&w["W_key"]), W_value: linear(&w["W_value"]) }
}

fn causal() -> HeadOptions {
    HeadOptions { causal: true, ..HeadOptions::default() }
}

#[test]
fn preset_inputs_and_weights_are_the_books() {
    let ex = example("inputs_your_journey");
    assert_eq!(book::inputs(), get(ex, "inputs", "inputs"), "embeddings differ from the notebook's literals");
    let tokens: Vec<String> = ex["inputs"]["inputs"]["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t.as_str().expect("str").to_string())
        .collect();
    assert_eq!(book::tokens(), tokens);
    assert_eq!(book::self_attention_v1(), head_weights(&example("SelfAttention_v1_seed123")["weights"]));
    assert_eq!(book::causal_attention(), head_weights(&example("CausalAttention_seed123")["weights"]));
    let mha = &example("MultiHeadAttention_seed123")["weights"];
    let (fused, out_proj) = book::multi_head_attention();
    assert_eq!(fused, head_weights(mha));
    assert_eq!(out_proj, linear(&mha["out_proj"]));
}

#[test]
fn simplified_attention_for_query_2() {
    let x = book::inputs();
    let s = simplified(&x, Normalization::Softmax);
    let ex = example("simple_attn_scores_query2");
    close("attn_scores_2", &row(&s.attn_scores, 1), &get(ex, "expected", "attn_scores_2"));
    close("omega_21", &Mat::from_element(1, 1, s.attn_scores[(1, 0)]), &get(ex, "expected", "omega_21_loop"));
    close("omega_21 dot", &Mat::from_element(1, 1, s.attn_scores[(1, 0)]), &get(ex, "expected", "omega_21_torch_dot"));

    let a = Request { mode: Mode::Simplified, ..Request::default() }.run().expect("book simplified");
    let ex = example("simple_attn_weights_query2_sum_normalized");
    let sum_norm = a.sum_normalized.as_ref().expect("variant");
    close("attn_weights_2_tmp", &row(sum_norm, 1), &get(ex, "expected", "attn_weights_2_tmp"));
    close("sum", &Mat::from_element(1, 1, row(sum_norm, 1).sum()), &get(ex, "expected", "sum"));
    let ex = example("simple_attn_weights_query2_softmax_naive");
    close(
        "attn_weights_2_naive",
        &row(a.naive_softmax.as_ref().expect("variant"), 1),
        &get(ex, "expected", "attn_weights_2_naive"),
    );
    let ex = example("simple_attn_weights_query2_softmax");
    close("attn_weights_2", &row(&s.attn_weights, 1), &get(ex, "expected", "attn_weights_2"));
    let ex = example("simple_context_vec_2");
    close("context_vec_2", &row(&s.context_vec, 1), &get(ex, "expected", "context_vec_2"));
}

#[test]
fn simplified_attention_all_pairs_and_the_preset() {
    let ex = example("simple_all_pairs");
    let a = Request { mode: Mode::Simplified, ..Request::default() }.run().expect("book simplified");
    let h = &a.heads[0];
    close("attn_scores_loop", &h.attn_scores, &get(ex, "expected", "attn_scores_loop"));
    close("attn_scores", &h.attn_scores, &get(ex, "expected", "attn_scores"));
    close("attn_weights", &h.attn_weights, &get(ex, "expected", "attn_weights"));
    let sums = Mat::from_iterator(1, 6, h.attn_weights.row_iter().map(|r| r.sum()));
    close("row_sums", &sums, &get(ex, "expected", "row_sums"));
    close("all_context_vecs", &a.context, &get(ex, "expected", "all_context_vecs"));
    close("previous_context_vec_2", &row(&a.context, 1), &get(ex, "expected", "previous_context_vec_2"));
}

#[test]
fn trainable_weights_step_by_step() {
    let ex = example("trainable_weights_step_by_step");
    let w = head_weights(&ex["weights"]);
    assert_eq!(w, book::self_attention_v1());
    let h = head_attention(&book::inputs(), &w, &HeadOptions::default(), 0);
    close("query_2", &row(&h.queries, 1), &get(ex, "expected", "query_2"));
    close("key_2", &row(&h.keys, 1), &get(ex, "expected", "key_2"));
    close("value_2", &row(&h.values, 1), &get(ex, "expected", "value_2"));
    close("queries", &h.queries, &get(ex, "expected", "queries"));
    close("keys", &h.keys, &get(ex, "expected", "keys"));
    close("values", &h.values, &get(ex, "expected", "values"));
    close("attn_score_22", &Mat::from_element(1, 1, h.attn_scores[(1, 1)]), &get(ex, "expected", "attn_score_22"));
    close("attn_scores_2", &row(&h.attn_scores, 1), &get(ex, "expected", "attn_scores_2"));
    close("attn_weights_2", &row(&h.attn_weights, 1), &get(ex, "expected", "attn_weights_2"));
    close("context_vec_2", &row(&h.context_vec, 1), &get(ex, "expected", "context_vec_2"));
    close("attn_scores_all", &h.attn_scores, &get(ex, "intermediates", "attn_scores_all"));
    close("attn_weights_all", &h.attn_weights, &get(ex, "intermediates", "attn_weights_all"));
    close("context_vecs_all", &h.context_vec, &get(ex, "intermediates", "context_vecs_all"));
    assert!((h.scale - 1.0 / 2f32.sqrt()).abs() < 1e-7);
}

#[test]
fn self_attention_v1_is_the_self_preset() {
    let ex = example("SelfAttention_v1_seed123");
    let a = Request { mode: Mode::SelfAttention, ..Request::default() }.run().expect("book self");
    close("context_vecs", &a.context, &get(ex, "expected", "context_vecs"));
    close("attn_weights", &a.heads[0].attn_weights, &get(ex, "intermediates", "attn_weights"));
}

#[test]
fn self_attention_v2_with_linear_weights() {
    let ex = example("SelfAttention_v2_seed789");
    let h = head_attention(&book::inputs(), &head_weights(&ex["weights"]), &HeadOptions::default(), 0);
    close("queries", &h.queries, &get(ex, "intermediates", "queries"));
    close("keys", &h.keys, &get(ex, "intermediates", "keys"));
    close("values", &h.values, &get(ex, "intermediates", "values"));
    close("attn_scores", &h.attn_scores, &get(ex, "intermediates", "attn_scores"));
    close("context_vecs", &h.context_vec, &get(ex, "expected", "context_vecs"));
}

#[test]
fn causal_masking_both_conventions() {
    let ex = example("causal_masking_sa_v2");
    let w = head_weights(&ex["weights"]);
    let x = book::inputs();
    let unmasked = head_attention(&x, &w, &HeadOptions::default(), 0);
    close("attn_weights_unmasked", &unmasked.attn_weights, &get(ex, "expected", "attn_weights_unmasked"));

    let renorm = head_attention(&x, &w, &HeadOptions { mask_style: MaskStyle::Renormalize, ..causal() }, 0);
    close("mask_simple", renorm.mask.as_ref().expect("mask"), &get(ex, "expected", "mask_simple"));
    close(
        "softmax before mask",
        renorm.attn_weights_unmasked.as_ref().expect("unmasked"),
        &get(ex, "expected", "attn_weights_unmasked"),
    );
    close("masked_simple", renorm.masked_unnormalized.as_ref().expect("masked"), &get(ex, "expected", "masked_simple"));
    close("masked_simple_norm", &renorm.attn_weights, &get(ex, "expected", "masked_simple_norm"));

    let neg_inf = head_attention(&x, &w, &causal(), 0);
    // The book masks the raw scores and scales afterwards; we scale first. -inf stays -inf either way.
    let unscaled = neg_inf.masked_scores.as_ref().expect("masked scores").map(|s| s / neg_inf.scale);
    close("masked_scores_neg_inf", &unscaled, &get(ex, "expected", "masked_scores_neg_inf"));
    close("attn_weights_causal", &neg_inf.attn_weights, &get(ex, "expected", "attn_weights_causal"));
    close("context_vecs_causal", &neg_inf.context_vec, &get(ex, "intermediates", "context_vecs_causal"));
    close("the two conventions agree", &renorm.attn_weights, &neg_inf.attn_weights);
    // Future entries are exactly zero, not merely small.
    for i in 0..6 {
        for j in i + 1..6 {
            assert_eq!(neg_inf.attn_weights[(i, j)], 0.0);
            assert_eq!(renorm.attn_weights[(i, j)], 0.0);
        }
    }
}

#[test]
fn dropout_with_the_notebooks_keep_mask() {
    let ex = example("dropout_p0.5_seed123");
    let keep = get(ex, "intermediates", "keep_mask");
    let ones = Mat::from_element(6, 6, 1.0);
    close("dropout_ones", &apply_dropout(&ones, &keep, 0.5), &get(ex, "expected", "dropout_ones"));
    let weights = get(ex, "inputs", "attn_weights_causal");
    close("dropout_attn_weights", &apply_dropout(&weights, &keep, 0.5), &get(ex, "expected", "dropout_attn_weights"));

    // Through the head, with the same mask: weights before dropout unchanged, context uses the dropped.
    let w = head_weights(&example("causal_masking_sa_v2")["weights"]);
    let opts = HeadOptions { dropout: Some(Dropout::Mask { p: 0.5, keep: keep.clone() }), ..causal() };
    let h = head_attention(&book::inputs(), &w, &opts, 0);
    close(
        "dropped weights in the head",
        h.attn_weights_dropout.as_ref().expect("dropout"),
        &get(ex, "expected", "dropout_attn_weights"),
    );
    assert_eq!(h.keep_mask.as_ref(), Some(&keep));
}

#[test]
fn causal_attention_class_is_the_causal_preset() {
    let ex = example("CausalAttention_seed123");
    let a = Request { mode: Mode::Causal, ..Request::default() }.run().expect("book causal");
    let h = &a.heads[0];
    close("queries", &h.queries, &get(ex, "intermediates", "queries"));
    close("keys", &h.keys, &get(ex, "intermediates", "keys"));
    close("values", &h.values, &get(ex, "intermediates", "values"));
    let unscaled = h.masked_scores.as_ref().expect("masked").map(|s| s / h.scale);
    close("attn_scores_masked", &unscaled, &get(ex, "intermediates", "attn_scores_masked"));
    close("attn_weights", &h.attn_weights, &get(ex, "intermediates", "attn_weights"));
    for b in 0..2 {
        close("context_vecs (batch item)", &a.context, &get3(ex, "expected", "context_vecs", b));
    }
}

fn wrapper_weights(ex: &Value) -> MultiHeadWeights {
    let heads = ex["weights"]["heads"].as_array().expect("heads").iter().map(head_weights).collect();
    MultiHeadWeights { heads, out_proj: None }
}

#[test]
fn multi_head_wrapper_and_exercise_3_2() {
    let ex = example("MultiHeadAttentionWrapper_seed123");
    let (heads, concat, out) = multi_head(&book::inputs(), &wrapper_weights(ex), &causal());
    for (h, head) in heads.iter().enumerate() {
        close("attn_weights_per_head", &head.attn_weights, &get3(ex, "intermediates", "attn_weights_per_head", h));
    }
    close("context_vecs", &out, &get3(ex, "expected", "context_vecs", 0));
    close("concat", &concat, &get3(ex, "expected", "context_vecs", 1));

    let ex = example("exercise_3_2_wrapper_d_out_1");
    let (_, _, out) = multi_head(&book::inputs(), &wrapper_weights(ex), &causal());
    close("exercise 3.2 context_vecs", &out, &get3(ex, "expected", "context_vecs", 0));
}

#[test]
fn multi_head_attention_class_is_the_multi_head_preset() {
    let ex = example("MultiHeadAttention_seed123");
    let a = Request { mode: Mode::MultiHead, ..Request::default() }.run().expect("book multi-head");
    assert_eq!(a.heads.len(), 2);
    for (h, head) in a.heads.iter().enumerate() {
        close("queries_per_head", &head.queries, &get3(ex, "intermediates", "queries_per_head", h));
        close("keys_per_head", &head.keys, &get3(ex, "intermediates", "keys_per_head", h));
        close("values_per_head", &head.values, &get3(ex, "intermediates", "values_per_head", h));
        let unscaled = head.masked_scores.as_ref().expect("masked").map(|s| s / head.scale);
        close("attn_scores_masked", &unscaled, &get3(ex, "intermediates", "attn_scores_masked", h));
        close("attn_weights", &head.attn_weights, &get3(ex, "intermediates", "attn_weights", h));
    }
    close(
        "context_before_out_proj",
        a.concat.as_ref().expect("concat"),
        &get(ex, "intermediates", "context_before_out_proj"),
    );
    close("context_vecs", &a.context, &get3(ex, "expected", "context_vecs", 0));
}

#[test]
fn batched_matmul_of_heads() {
    let ex = example("batched_matmul_heads");
    let a = &ex["inputs"]["a"]["value"][0];
    let want = &ex["expected"]["a_at_aT"]["value"][0];
    for h in 0..2 {
        let m = mat(&a[h]);
        close("a @ a.T per head", &matmul_t(&m, &m), &mat(&want[h]));
    }
    close("first_head", &matmul_t(&mat(&a[0]), &mat(&a[0])), &get(ex, "expected", "first_head"));
    close("second_head", &matmul_t(&mat(&a[1]), &mat(&a[1])), &get(ex, "expected", "second_head"));
}

#[test]
fn exercise_3_1_v1_with_v2_weights() {
    let ex = example("exercise_3_1_v1_with_v2_weights");
    let w = head_weights(&ex["weights"]);
    let h = head_attention(&book::inputs(), &w, &HeadOptions::default(), 0);
    close("sa_v1_context_vecs", &h.context_vec, &get(ex, "expected", "sa_v1_context_vecs"));
    close("sa_v2_context_vecs", &h.context_vec, &get(ex, "expected", "sa_v2_context_vecs"));
}

#[test]
fn exercise_3_3_gpt2_parameter_count() {
    let ex = example("exercise_3_3_gpt2_mha_param_count");
    let cfg = &ex["config"];
    let d = cfg["d_in"].as_u64().expect("d_in") as usize;
    let heads = cfg["num_heads"].as_u64().expect("heads") as usize;
    let fused = HeadWeights {
        W_query: Linear::new(Mat::zeros(d, d)),
        W_key: Linear::new(Mat::zeros(d, d)),
        W_value: Linear::new(Mat::zeros(d, d)),
    };
    let out_proj = Linear::with_bias(Mat::zeros(d, d), DVector::zeros(d));
    let w = MultiHeadWeights::split(&fused, Some(out_proj), heads);
    assert_eq!(w.heads[0].head_dim() as u64, cfg["head_dim"].as_u64().expect("head_dim"));
    assert_eq!(w.param_count() as u64, ex["expected"]["param_count"]["value"].as_u64().expect("count"));
}

//! The f32 model loaded from model.safetensors against Hugging Face BertModel, every sentence,
//! layer, head and attention weight.

#[path = "common_minilm/mod.rs"]
mod common;

use arcs_models::minilm::{Matrix, WeightFormat, HEAD_DIM, HIDDEN_SIZE, NUM_HEADS, NUM_LAYERS};

const ATTENTION_TOL: f32 = 1e-4;
const HIDDEN_TOL: f32 = 1e-3;

#[test]
fn f32_attention_and_hidden_state_match_hugging_face() {
    if !common::model_present("f32_attention_and_hidden_state_match_hugging_face") {
        return;
    }
    let model = common::f32_model();
    assert_eq!(model.weight_format(), WeightFormat::F32);
    let (mut max_attn, mut max_hidden) = (0.0f32, 0.0f32);
    for s in common::reference() {
        let out = model.forward(&s.input_ids).expect("forward");
        let n = s.input_ids.len();
        assert_eq!(out.layers.len(), NUM_LAYERS);
        for (l, layer) in out.layers.iter().enumerate() {
            for m in [&layer.layer_input, &layer.queries, &layer.keys, &layer.values] {
                assert_eq!(m.shape(), (n, HIDDEN_SIZE));
            }
            assert_eq!(layer.attn_weights.len(), NUM_HEADS);
            for (h, weights) in layer.attn_weights.iter().enumerate() {
                assert_eq!(weights.shape(), (n, n));
                for i in 0..n {
                    for j in 0..n {
                        let err = (weights.get(i, j) - s.attentions[l][h][i][j]).abs();
                        max_attn = max_attn.max(err);
                        assert!(
                            err <= ATTENTION_TOL,
                            "{} layer {l} head {h} [{i}][{j}]: {} vs reference {}",
                            s.id,
                            weights.get(i, j),
                            s.attentions[l][h][i][j]
                        );
                    }
                }
            }
        }
        assert_eq!(
            out.last_hidden_state.as_ref().expect("forward keeps the last hidden state").shape(),
            (n, HIDDEN_SIZE)
        );
        for (i, row) in s.last_hidden_state.iter().enumerate() {
            for (k, &want) in row.iter().enumerate() {
                let err = (out.last_hidden_state.as_ref().expect("forward keeps the last hidden state").get(i, k)
                    - want)
                    .abs();
                max_hidden = max_hidden.max(err);
                assert!(
                    err <= HIDDEN_TOL,
                    "{} last_hidden_state[{i}][{k}]: {} vs {want}",
                    s.id,
                    out.last_hidden_state.as_ref().expect("forward keeps the last hidden state").get(i, k)
                );
            }
        }
    }
    eprintln!("f32 path: max |attention - HF| = {max_attn:.2e}, max |last_hidden_state - HF| = {max_hidden:.2e}");
}

/// The recorded intermediates are consistent with each other: layer l+1 starts from what layer l
/// produced, and each head's weights are softmax(q k^T / sqrt(head_dim)) of the recorded q and k.
#[test]
fn recorded_intermediates_are_consistent() {
    if !common::model_present("recorded_intermediates_are_consistent") {
        return;
    }
    let model = common::f32_model();
    let s = &common::reference()[0];
    let out = model.forward(&s.input_ids).expect("forward");
    let n = s.input_ids.len();
    for l in 0..NUM_LAYERS - 1 {
        assert_ne!(out.layers[l].layer_input, out.layers[l + 1].layer_input);
    }
    // Layer 0's input is the LayerNorm-ed embedding: every row has mean ~beta-weighted, finite.
    assert!(out.layers[0].layer_input.data().iter().all(|v| v.is_finite()));
    for (l, layer) in out.layers.iter().enumerate() {
        for h in [0, 5, NUM_HEADS - 1] {
            let q: Matrix = layer.queries.column_block(h * HEAD_DIM, HEAD_DIM);
            let k = layer.keys.column_block(h * HEAD_DIM, HEAD_DIM);
            for i in 0..n {
                let scores: Vec<f64> = (0..n)
                    .map(|j| {
                        (0..HEAD_DIM).map(|c| q.get(i, c) as f64 * k.get(j, c) as f64).sum::<f64>()
                            / (HEAD_DIM as f64).sqrt()
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
                for (j, score) in scores.iter().enumerate() {
                    let want = ((score - max).exp() / z) as f32;
                    assert!((layer.attn_weights[h].get(i, j) - want).abs() < 1e-5, "layer {l} head {h}");
                }
            }
        }
    }
    // The Gram matrix the app draws is symmetric with the squared norms on the diagonal.
    let x = &out.layers[2].layer_input;
    let g = x.gram();
    assert_eq!(g.shape(), (n, n));
    let norm0: f32 = x.row(0).iter().map(|v| v * v).sum();
    assert!((g.get(0, 0) - norm0).abs() < 1e-3 * norm0);
    assert_eq!(g.get(1, 3), g.get(3, 1));
}

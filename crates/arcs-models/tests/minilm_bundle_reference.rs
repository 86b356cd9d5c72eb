//! The int8 browser bundle: size budget, round trip, and accuracy against Hugging Face.

#[path = "common_minilm/mod.rs"]
mod common;

use arcs_models::minilm::{encode_bundle, MiniLm, WeightFormat};

const DOWNLOAD_BUDGET: usize = 23_000_000;
const MAX_ATTENTION_ERROR: f32 = 2e-2;
const MIN_TOP_KEY_AGREEMENT: f64 = 0.98;

#[test]
fn bundle_fits_budget_and_round_trips() {
    if !common::model_present("bundle_fits_budget_and_round_trips") {
        return;
    }
    let bytes = common::bundle_bytes();
    eprintln!("bundle size: {} bytes (budget {DOWNLOAD_BUDGET})", bytes.len());
    assert!(bytes.len() <= DOWNLOAD_BUDGET, "bundle is {} bytes", bytes.len());
    let model = MiniLm::from_bundle(bytes).expect("bundle loads");
    assert_eq!(model.weight_format(), WeightFormat::Quantized);
    assert_eq!(model.config(), common::f32_model().config());
    assert_eq!(model.tokenizer(), common::f32_model().tokenizer());
    // Re-encoding an int8 model must not re-quantise: same bytes.
    assert!(encode_bundle(&model) == bytes, "bundle -> model -> bundle changed the bytes");
}

#[test]
fn bundle_attention_is_close_to_hugging_face() {
    if !common::model_present("bundle_attention_is_close_to_hugging_face") {
        return;
    }
    let model = MiniLm::from_bundle(common::bundle_bytes()).expect("bundle loads");
    let (mut max_err, mut max_hidden, mut rows, mut agree) = (0.0f32, 0.0f32, 0usize, 0usize);
    let mut sum_err = 0.0f64;
    let mut count = 0usize;
    for s in common::reference() {
        let enc = model.tokenizer().encode(&s.text);
        assert_eq!(enc.ids, s.input_ids, "{}", s.id);
        let out = model.forward(&enc.ids).expect("forward");
        for (l, layer) in out.layers.iter().enumerate() {
            for (h, weights) in layer.attn_weights.iter().enumerate() {
                for (i, ref_row) in s.attentions[l][h].iter().enumerate() {
                    let row = weights.row(i);
                    for (&got, &want) in row.iter().zip(ref_row) {
                        let err = (got - want).abs();
                        max_err = max_err.max(err);
                        sum_err += err as f64;
                        count += 1;
                    }
                    let top = (0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best });
                    rows += 1;
                    agree += usize::from(top == s.argmax[l][h][i]);
                }
            }
        }
        for (i, ref_row) in s.last_hidden_state.iter().enumerate() {
            for (&got, &want) in
                out.last_hidden_state.as_ref().expect("forward keeps the last hidden state").row(i).iter().zip(ref_row)
            {
                max_hidden = max_hidden.max((got - want).abs());
            }
        }
    }
    let agreement = agree as f64 / rows as f64;
    eprintln!(
        "bundle (quantised) vs HF: max |attention error| = {max_err:.4}, mean = {:.2e}, top-attended key agrees on {agree}/{rows} rows ({:.2}%), max |last_hidden_state error| = {max_hidden:.3}",
        sum_err / count as f64,
        agreement * 100.0
    );
    assert!(max_err <= MAX_ATTENTION_ERROR, "max attention error {max_err}");
    assert!(agreement >= MIN_TOP_KEY_AGREEMENT, "top-key agreement {agreement}");
}

#[test]
fn attention_only_pass_gives_the_same_attention() {
    if !common::model_present("attention_only_pass_gives_the_same_attention") {
        return;
    }
    let model = MiniLm::from_bundle(common::bundle_bytes()).expect("bundle loads");
    let ids = model.tokenizer().encode("The animal didn't cross the street because it was too tired.").ids;
    let full = model.forward(&ids).expect("forward");
    let short = model.forward_attention(&ids).expect("forward_attention");
    assert!(full.last_hidden_state.is_some());
    assert!(short.last_hidden_state.is_none());
    assert_eq!(short.num_tokens(), ids.len());
    // Bit for bit: the skipped work comes after every attention weight.
    assert_eq!(full.layers, short.layers);
}

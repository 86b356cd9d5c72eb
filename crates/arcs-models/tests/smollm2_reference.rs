//! The real model against the Hugging Face reference (reference/smollm2_reference.json).
//!
//! One test function loads the model once and runs every check on it, so the suite stays quick.

#[path = "common_smollm2/mod.rs"]
mod common;

use std::time::Instant;

use arcs_models::smollm2::{ModelError, SmolLm2, HEAD_DIM, HIDDEN, KV_DIM, MAX_POSITIONS, NUM_HEADS, NUM_LAYERS};
use serde_json::Value;

/// Attention tolerance: the brief asks for 1e-3; an f32 forward on the same dequantised weights as the
/// reference lands far inside that (the README expects 1e-4).
const ATTN_TOL: f64 = 1e-4;
/// Log-probabilities are stored with 4 decimals.
const LOGPROB_TOL: f64 = 2e-3;

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().expect("array").iter().map(|x| x.as_u64().expect("integer") as u32).collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

#[test]
fn gguf_file_is_the_reference_one() {
    let Some(bytes) = common::model_bytes("gguf_file_is_the_reference_one") else {
        return;
    };
    let reference = common::reference();
    let meta = &reference["meta"];
    if let Some(size) = meta["gguf_bytes"].as_u64() {
        assert_eq!(bytes.len() as u64, size, "model file size differs from the reference's");
    }
    if let Some(want) = meta["gguf_sha256"].as_str() {
        assert_eq!(common::sha256_hex(&bytes), want, "model file sha256 differs from the reference's");
    }
}

#[test]
fn matches_hf_reference() {
    let Some(bytes) = common::model_bytes("matches_hf_reference") else {
        return;
    };
    let reference = common::reference();
    let t0 = Instant::now();
    let model = SmolLm2::from_gguf(bytes).expect("model loads");
    eprintln!("load: {:.2?}", t0.elapsed());

    let sentences = reference["sentences"].as_array().expect("sentences");
    assert!(!sentences.is_empty());
    let mut worst_attn = 0.0f64;
    let mut report = Vec::new();
    for (k, s) in sentences.iter().enumerate() {
        let text = s["text"].as_str().expect("text");
        let want_ids = u32s(&s["token_ids"]);

        // --- tokenizer ---
        let enc = model.tokenize(text).expect("tokenize");
        assert_eq!(enc.ids, want_ids, "token ids of sentence {} ({text:?})", k + 1);
        let want_texts: Vec<&str> =
            s["token_texts"].as_array().expect("token_texts").iter().map(|t| t.as_str().expect("str")).collect();
        assert_eq!(enc.tokens, want_texts, "token texts of sentence {}", k + 1);
        let n = enc.ids.len();
        // Spans are contiguous, cover the text, and hold the token's text.
        assert_eq!(enc.offsets.first().map(|o| o.0), Some(0));
        assert_eq!(enc.offsets.last().map(|o| o.1), Some(text.len()));
        for (i, &(a, b)) in enc.offsets.iter().enumerate() {
            assert_eq!(&text[a..b], enc.tokens[i]);
            if i > 0 {
                assert_eq!(enc.offsets[i - 1].1, a);
            }
        }

        // --- forward ---
        let t = Instant::now();
        let out = model.forward(&enc.ids).expect("forward");
        eprintln!("sentence {}: {n} tokens, forward {:.2?}", k + 1, t.elapsed());
        assert_eq!(out.layers.len(), NUM_LAYERS);
        for layer in &out.layers {
            assert_eq!((layer.layer_input.rows(), layer.layer_input.cols()), (n, HIDDEN));
            assert_eq!((layer.queries.rows(), layer.queries.cols()), (n, NUM_HEADS * HEAD_DIM));
            assert_eq!((layer.keys.rows(), layer.keys.cols()), (n, KV_DIM));
            assert_eq!((layer.values.rows(), layer.values.cols()), (n, KV_DIM));
            assert_eq!(layer.attn_weights.len(), NUM_HEADS);
        }
        // Every hidden state stays finite.
        assert!(out.layers.iter().all(|l| l.layer_input.data().iter().all(|v| v.is_finite())));
        assert!(out.final_hidden.data().iter().all(|v| v.is_finite()));

        // Attention, every stored layer and head.
        let layers = u32s(&s["attention_layers"]);
        let attention = s["attention"].as_array().expect("attention");
        assert_eq!(layers.len(), attention.len());
        let mut worst_here = 0.0f64;
        for (li, &l) in layers.iter().enumerate() {
            let heads = attention[li].as_array().expect("heads");
            assert_eq!(heads.len(), NUM_HEADS);
            for (h, rows) in heads.iter().enumerate() {
                let got = &out.layers[l as usize].attn_weights[h];
                assert_eq!((got.rows(), got.cols()), (n, n));
                let rows = rows.as_array().expect("rows");
                assert_eq!(rows.len(), n);
                for (i, row) in rows.iter().enumerate() {
                    let want = f64s(row);
                    for (j, &w) in want.iter().enumerate() {
                        let g = got.get(i, j) as f64;
                        if j > i {
                            assert_eq!(g, 0.0, "masked weight layer {l} head {h} ({i},{j})");
                        }
                        let d = (g - w).abs();
                        worst_here = worst_here.max(d);
                        assert!(
                            d <= ATTN_TOL,
                            "sentence {} layer {l} head {h} query {i} key {j}: got {g}, reference {w}",
                            k + 1
                        );
                    }
                }
            }
        }
        worst_attn = worst_attn.max(worst_here);

        // Next-token predictions.
        let want_top5: Vec<u32> =
            s["top5_next"].as_array().expect("top5").iter().map(|t| t["id"].as_u64().expect("id") as u32).collect();
        let got_top5: Vec<u32> = out.top5_next.iter().map(|t| t.id).collect();
        let top1_prob_ref = s["top5_next"][0]["prob"].as_f64().expect("prob");
        if k < 3 {
            assert_eq!(got_top5[0], want_top5[0], "top-1 next token of sentence {}", k + 1);
            assert!(
                (out.top5_next[0].prob as f64 - top1_prob_ref).abs() < 1e-3,
                "top-1 probability of sentence {}: {} vs {top1_prob_ref}",
                k + 1,
                out.top5_next[0].prob
            );
        }
        let probs: Vec<f32> = out.top5_next.iter().map(|t| t.prob).collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "top5 sorted");
        let want_argmax = u32s(&s["argmax_next_per_position"]);
        let got_argmax: Vec<u32> = out.argmax_next_per_position.iter().map(|t| t.id).collect();
        let argmax_agree = got_argmax.iter().zip(&want_argmax).filter(|(a, b)| a == b).count();
        assert_eq!(out.argmax_next_per_position[n - 1].id, got_top5[0]);

        // The log-probability of each actual next token and the softmax normaliser pin down the logits.
        let want_lp = f64s(&s["logprob_of_actual_next_token"]);
        assert_eq!(out.logprob_of_actual_next_token.len(), want_lp.len());
        let mut worst_lp = 0.0f64;
        for (i, (&g, &w)) in out.logprob_of_actual_next_token.iter().zip(&want_lp).enumerate() {
            let d = (g as f64 - w).abs();
            worst_lp = worst_lp.max(d);
            assert!(d < LOGPROB_TOL, "sentence {} position {i}: log p(next) {g} vs {w}", k + 1);
        }
        let want_lse = f64s(&s["logsumexp_per_position"]);
        for (i, (&g, &w)) in out.logsumexp_per_position.iter().zip(&want_lse).enumerate() {
            assert!((g as f64 - w).abs() < LOGPROB_TOL, "sentence {} position {i}: logsumexp {g} vs {w}", k + 1);
        }
        report.push(format!(
            "sentence {}: {n} tokens, max |attn diff| {worst_here:.2e}, top5 {:?} (ref {:?}), top1 {:?} p={:.4} \
             (ref p={top1_prob_ref:.4}), argmax per position {argmax_agree}/{n} agree, max |logprob diff| {worst_lp:.1e}",
            k + 1,
            got_top5,
            want_top5,
            out.top5_next[0].token,
            out.top5_next[0].prob,
        ));
    }
    for line in &report {
        eprintln!("{line}");
    }
    eprintln!("max |attention - reference| over all sentences: {worst_attn:.2e}");

    // --- input errors ---
    assert_eq!(model.forward(&[]).unwrap_err(), ModelError::EmptyInput);
    // The context comes from the file's `llama.context_length`.
    let max_positions = model.config().max_positions;
    assert!(max_positions >= MAX_POSITIONS, "SmolLM2 was trained on at least {MAX_POSITIONS} positions");
    let too_long = vec![1u32; max_positions + 1];
    assert!(
        matches!(model.forward(&too_long), Err(ModelError::TooLong { tokens: n, max }) if n == max_positions + 1 && max == max_positions)
    );
    assert!(matches!(model.forward(&[5, 49152]), Err(ModelError::InvalidTokenId { id: 49152, .. })));

    // --- special tokens and the chat format ---
    let chat = model.tokenize("<|im_start|>user\nHi<|im_end|>").expect("tokenize");
    assert_eq!(chat.ids[0], 1, "<|im_start|> is id 1");
    assert_eq!(*chat.ids.last().unwrap(), 2, "<|im_end|> is id 2");
    assert_eq!(model.tokenizer().decode(&chat.ids), "<|im_start|>user\nHi<|im_end|>");
    let round = "Ünïcödé ✓ 🦀 tabs\tand  spaces\n\n2024!";
    let enc = model.tokenize(round).expect("tokenize");
    assert_eq!(model.tokenizer().decode(&enc.ids), round);
    assert_eq!(
        enc.ids
            .iter()
            .filter(|&&id| model
                .tokenizer()
                .piece(id)
                .is_some_and(|p| p.len() == 1 && p.as_bytes()[0].is_ascii_digit()))
            .count(),
        4,
        "digits split one by one"
    );
}

//! The app's research views on real (tiny) models, through the same functions the worker calls: the
//! logit lens read from a kept pass, and the neuron view's step-by-step weight.

use arcs_core::analysis::neuron;
use arcs_core::attention::Mode;
use arcs_models::open::{open, ModelFile, OpenedModel};
use attention_arcs::models::{self, forward_bert, forward_llama, to_attention, ModelKind};
use attention_arcs::state::Weighting;

fn root() -> String {
    env!("CARGO_MANIFEST_DIR").to_string()
}

fn read(rel: &str) -> Vec<ModelFile> {
    let path = format!("{}/reference/tiny/{rel}", root());
    let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let paths: Vec<std::path::PathBuf> = if meta.is_dir() {
        let mut v: Vec<_> = std::fs::read_dir(&path).expect("folder").map(|e| e.expect("entry").path()).collect();
        v.sort();
        v
    } else {
        vec![path.into()]
    };
    paths
        .into_iter()
        .map(|p| ModelFile {
            name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            bytes: std::fs::read(&p).expect("read"),
        })
        .collect()
}

const TEXT: &str = "The cat sat on the mat because it was tired.";

#[test]
fn the_logit_lens_of_a_kept_pass_ends_in_the_models_own_guesses_bit_for_bit() {
    let mut differing_rows = 0;
    for file in ["llama-gqa.Q8_0.gguf", "qwen3-gqa4.F16.gguf", "gpt2-tiny.Q8_0.gguf", "gemma3-tiny.Q8_0.gguf"] {
        let OpenedModel::Llama(m) = open(read(file)).expect(file) else { panic!("{file} is a decoder") };
        let f = forward_llama(&m, ModelKind::File, TEXT).expect("pass");
        let lens = models::logit_lens_of(&m, &f).expect("lens");
        let n = f.tokens.len();
        assert_eq!(lens.len(), m.config().num_layers, "{file}");
        assert!(lens.iter().all(|row| row.len() == n && row.iter().all(|top| top.len() == 5)), "{file}");
        let last = lens.last().expect("a layer");
        for (i, g) in f.next_per_position.iter().enumerate() {
            assert_eq!((last[i][0].id, last[i][0].prob.to_bits()), (g.id, g.prob.to_bits()), "{file} at {i}");
        }
        assert_eq!(last[n - 1], f.top5_next, "{file}: the last position is the next-word panel");
        // The same lens as a second pass computes it (the CLI's earlier way): the kept hidden states are
        // the pass's own.
        let ids = m.tokenize(TEXT).expect("tokens").ids;
        let again = m.logit_lens(&m.forward(&ids).expect("pass"));
        for (l, (ours, theirs)) in lens.iter().zip(&again).enumerate() {
            for (p, (a, b)) in ours.iter().zip(theirs).enumerate() {
                let ids_a: Vec<(u32, u32)> = a.iter().map(|g| (g.id, g.prob.to_bits())).collect();
                let ids_b: Vec<(u32, u32)> = b.iter().map(|g| (g.id, g.prob.to_bits())).collect();
                assert_eq!(ids_a, ids_b, "{file} layer {l} position {p}");
            }
        }
        differing_rows += usize::from(lens.iter().any(|row| row.iter().zip(last).any(|(a, b)| a[0].id != b[0].id)));
    }
    // Mid-stack rows are not copies of the output row (a tiny random model may agree at every layer).
    assert!(differing_rows >= 2, "{differing_rows}");
}

#[test]
fn the_neuron_view_rebuilds_each_heads_own_weights() {
    for (file, causal) in [("llama-gqa.F32.gguf", true), ("qwen3-gqa4.F16.gguf", true), ("bert-tiny", false)] {
        let f = match open(read(file)).expect(file) {
            OpenedModel::Llama(m) => forward_llama(&m, ModelKind::File, TEXT).expect("pass"),
            OpenedModel::Bert(b) => forward_bert(&b, ModelKind::File, TEXT).expect("pass"),
        };
        assert_eq!(f.shape.causal, causal);
        let n = f.tokens.len();
        let mut worst = 0f32;
        let mut masked = 0;
        for layer in 0..f.shape.layers {
            let run = f.run(layer);
            for head in 0..f.shape.heads {
                let a = to_attention(&run, Mode::SelfAttention, head, false, Weighting::Attention);
                let hs = &a.heads[0];
                for i in 0..n {
                    for j in 0..n {
                        let t = neuron(&hs.queries, &hs.keys, i, j, hs.scale, hs.mask.is_some()).expect("a pair");
                        worst = worst.max((t.weight - run.weight(layer, head, i, j)).abs());
                        masked += usize::from(t.masked);
                        let dot: f32 = t.query.iter().zip(&t.key).map(|(q, k)| q * k).sum();
                        assert!((t.score - dot).abs() <= 1e-5 * dot.abs().max(1.0));
                    }
                }
            }
        }
        assert!(worst < 1e-5, "{file}: the neuron view's weight is {worst} away from the model's");
        assert_eq!(masked > 0, causal, "{file}: only decoders mask");
    }
}

#[test]
fn the_page_exports_both_passes_of_a_comparison_with_the_view() {
    let OpenedModel::Llama(m) = open(read("llama-gqa.Q8_0.gguf")).expect("model") else { panic!("a decoder") };
    let a = forward_llama(&m, ModelKind::File, TEXT).expect("pass").run(1);
    let b = forward_llama(&m, ModelKind::File, "The cat sat on the mat because it was hungry.").expect("pass").run(1);
    let json: serde_json::Value =
        serde_json::from_str(&attention_arcs::cli_models::export(&a, Some(&b), "s=a%22b&vs=c")).expect("valid JSON");
    assert_eq!(json["view"], "#s=a%22b&vs=c");
    assert_eq!(json["tokens"].as_array().map(Vec::len), Some(a.tokens.len()));
    assert_eq!(json["compare"]["report"]["tokens"].as_array().map(Vec::len), Some(b.tokens.len()));
    let aligned = json["compare"]["aligned"].as_array().expect("pairs");
    assert_eq!(aligned.len(), attention_arcs::compare::align(&a.tokens, &b.tokens).len());
    assert_eq!(aligned[0], serde_json::json!([0, 0]));
    let alone: serde_json::Value =
        serde_json::from_str(&attention_arcs::cli_models::export(&a, None, "s=x")).expect("valid JSON");
    assert!(alone.get("compare").is_none() && alone["view"] == "#s=x");
}

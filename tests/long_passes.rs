//! Long decoder inputs (more than `MAX_ALL_LAYERS_TOKENS`): the worker's pass keeps no attention, and
//! every layer, thumbnail and head score the page gets from it is recomputed from the kept queries and
//! keys, through the same functions the worker calls. Each must equal what a pass that kept everything
//! gives, to the bit.

use arcs_core::attention::Mode;
use arcs_models::arch::llama::Llama;
use arcs_models::open::{open, ModelFile, OpenedModel};
use attention_arcs::layout::max_pool;
use attention_arcs::models::{self, forward_llama, to_attention, Forward, ModelKind, THUMBNAIL_CELLS};
use attention_arcs::state::Weighting;

fn root() -> String {
    env!("CARGO_MANIFEST_DIR").to_string()
}

fn tiny(file: &str) -> Llama {
    let path = format!("{}/reference/tiny/{file}", root());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match open(vec![ModelFile { name: file.to_string(), bytes }]).expect(file) {
        OpenedModel::Llama(m) => *m,
        OpenedModel::Bert(_) => panic!("{file} is a decoder"),
    }
}

/// The pass as the worker runs a long input: no attention kept.
fn lean(model: &Llama, kind: ModelKind, text: &str) -> Forward {
    let enc = models::llama_tokens(model, kind, text).expect("tokens");
    let mut pass = model.row_pass(&enc.ids, 0..enc.ids.len()).expect("pass");
    pass.keep_attention(false);
    while pass.layer().is_some() {
        let (keys, values) = pass.keys_values(model).expect("kv");
        pass.finish_layer(model, &keys, &values).expect("layer");
    }
    let out = pass.finish(model).expect("done");
    models::llama_forward_from(model, kind, text, enc, out)
}

/// Row-major bits (a `Mat` iterates column by column).
fn bits(m: &arcs_core::tensor::Mat) -> Vec<u32> {
    (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)].to_bits())).collect()
}

/// Everything the page gets from a lean pass equals the full pass's.
fn check(model: &Llama, kind: ModelKind, text: &str, what: &str) {
    let full = forward_llama(model, kind, text).expect("full pass");
    let mut thin = lean(model, kind, text);
    assert!(full.all_layers && !thin.all_layers, "{what}");
    assert!(thin.attention.0.is_empty(), "{what}: the lean pass holds no attention");
    let (layers, heads, n) = (full.shape.layers, full.shape.heads, full.tokens.len());
    for layer in 0..layers {
        let whole = full.run(layer);
        let run = models::run_of(&mut thin, layer, Some(model)).expect("run");
        assert!(run.layer_only && !whole.layer_only, "{what}");
        assert_eq!(run.attention.0.len(), heads * n * n, "{what}: one layer's heads only");
        for h in 0..heads {
            assert_eq!(bits(&run.attention(layer, h)), bits(&whole.attention(layer, h)), "{what} L{layer} H{h}");
            // Another layer is not there: NaN, never another layer's numbers.
            let other = (layer + 1) % layers;
            if other != layer {
                assert!(run.attention(other, h).iter().all(|v| v.is_nan()), "{what}");
            }
            // The thumbnails are the full matrices pooled.
            let t = run.thumbnails.as_ref().expect("thumbnails");
            for l in 0..layers {
                let m = whole.attention(l, h);
                let (side, cells) = max_pool(n, |i, j| m[(i, j)], THUMBNAIL_CELLS);
                assert_eq!(t.side, side, "{what}");
                assert_eq!(bits(&t.get(heads, l, h)), cells.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{what}");
            }
        }
        // "Which head links these words?" ranks the layer's own heads, as the full pass ranks them.
        let (q, k) = (n - 1, 0);
        let want: Vec<_> = whole.rank_heads(q, k).into_iter().filter(|&(l, _, _)| l == layer).collect();
        assert_eq!(run.rank_heads(q, k), want, "{what}");
        // Rollout needs every layer: the lean run shows the layer's own weights instead.
        let rolled = to_attention(&run, Mode::MultiHead, 0, false, Weighting::Rollout);
        let plain = to_attention(&whole, Mode::MultiHead, 0, false, Weighting::Attention);
        assert_eq!(rolled.heads.len(), heads, "{what}");
        assert_eq!(bits(&rolled.heads[0].attn_weights), bits(&plain.heads[0].attn_weights), "{what}");
        // The JSON export carries the layer it has.
        let json = attention_arcs::cli_models::export(&run, None, "s=x");
        assert!(json.contains(&format!("\"layers\":[{layer}]")), "{what}: {}", &json[..json.len().min(200)]);
    }
    // Head roles, one layer recomputed at a time.
    let induction = vec![0.5; layers * heads];
    let roles = thin.roles_by_layer(induction.clone(), |l| models::layer_mats_of(model, &thin, l)).expect("roles");
    assert_eq!(roles, full.roles(induction.clone()), "{what}");
    // Kept with the pass once computed: the next request reads them back.
    assert_eq!(thin.roles_kept(induction.clone(), Some(model)).as_ref(), Ok(&roles), "{what}");
    assert_eq!(thin.kept_roles.as_ref(), Some(&roles), "{what}");
    thin.kept_roles.as_mut().expect("kept").entropy_bits[0] = -1.0;
    let again = thin.roles_kept(induction, Some(model)).expect("kept");
    assert_eq!(again.entropy_bits[0], -1.0, "{what}: read back, not recomputed");
}

#[test]
fn a_long_pass_that_kept_no_attention_gives_the_page_the_full_passes_bits() {
    let text = "The cat sat on the mat because it was tired, and then the dog came in.";
    for file in ["llama-gqa.Q8_0.gguf", "qwen3-gqa4.F16.gguf", "gpt2-tiny.Q8_0.gguf", "gemma3-tiny.Q8_0.gguf"] {
        check(&tiny(file), ModelKind::File, text, file);
    }
}

#[test]
fn smollm2_past_256_tokens() {
    let path = format!("{}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", root());
    let Ok(bytes) = std::fs::read(&path) else {
        assert!(std::env::var("ARCS_REQUIRE_MODELS").as_deref() != Ok("1"), "{path} missing");
        eprintln!("skipping: {path} not found; run ./x models");
        return;
    };
    let model = Llama::from_gguf(bytes).expect("SmolLM2");
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(30);
    let n = models::llama_tokens(&model, ModelKind::SmolLm2, &text).expect("tokens").ids.len();
    assert!(n > models::MAX_ALL_LAYERS_TOKENS && n <= models::MAX_DECODER_TOKENS, "{n} tokens");
    let full = forward_llama(&model, ModelKind::SmolLm2, &text).expect("full pass");
    let mut thin = lean(&model, ModelKind::SmolLm2, &text);
    for layer in [0, 13, 29] {
        let (whole, run) = (full.run(layer), models::run_of(&mut thin, layer, Some(&model)).expect("run"));
        for h in 0..full.shape.heads {
            assert_eq!(bits(&run.attention(layer, h)), bits(&whole.attention(layer, h)), "L{layer} H{h}");
        }
    }
    assert_eq!(thin.next_per_position, full.next_per_position);
    assert_eq!(thin.top5_next, full.top5_next);
}

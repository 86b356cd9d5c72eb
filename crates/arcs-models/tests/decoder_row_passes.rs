//! A decoder's forward pass split by tokens, as the app splits it between its model worker and
//! helper workers: every part gets the keys and values of the tokens up to its last once per block,
//! and the parts stacked give one pass's numbers to the last bit, for every family and tensor type.

#[path = "common_smollm2/mod.rs"]
mod common;

use arcs_models::arch::llama::{balanced_cuts, pass_macs, DecoderPass, Llama, LlamaOutput};
use arcs_models::{Matrix, ModelError};

fn tiny_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference/tiny")
}

/// Every tiny decoder fixture with the token ids of the reference's sequences.
fn tiny_models() -> Vec<(String, Llama, Vec<Vec<u32>>)> {
    tiny_models_and_bytes().into_iter().map(|(file, model, ids, _)| (file, model, ids)).collect()
}

/// A fixture: its file name, the model, the reference's token sequences and the file's bytes.
type Fixture = (String, Llama, Vec<Vec<u32>>, Vec<u8>);

fn tiny_models_and_bytes() -> Vec<Fixture> {
    let text = std::fs::read_to_string(tiny_dir().join("tiny_reference.json")).expect("tiny_reference.json");
    let r: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let ids: Vec<Vec<u32>> = r["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .map(|s| s["ids"].as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect())
        .collect();
    r["files"]
        .as_object()
        .expect("files")
        .keys()
        .map(|file| {
            let bytes = std::fs::read(tiny_dir().join(file)).expect("fixture file");
            (file.clone(), Llama::from_gguf(bytes.clone()).expect("loads"), ids.clone(), bytes)
        })
        .collect()
}

/// Runs the parts in lock-step as the workers do: each block, every part's keys and values are
/// gathered, and each part finishes the block with those of the tokens up to its own last.
fn run_parts(model: &Llama, ids: &[u32], cuts: &[usize]) -> LlamaOutput {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(ids.len());
    let mut parts: Vec<DecoderPass> =
        bounds.windows(2).map(|w| model.row_pass(ids, w[0]..w[1]).expect("part")).collect();
    while parts[0].layer().is_some() {
        let kv: Vec<(Matrix, Matrix)> = parts.iter_mut().map(|p| p.keys_values(model).expect("kv")).collect();
        for (p, part) in parts.iter_mut().enumerate() {
            let (mut keys, mut values) = kv[0].clone();
            for (k, v) in &kv[1..=p] {
                keys.append_rows(k.clone()).expect("same width");
                values.append_rows(v.clone()).expect("same width");
            }
            part.finish_layer(model, &keys, &values).expect("finish");
        }
    }
    let outs = parts.into_iter().map(|p| p.finish(model).expect("done")).collect();
    LlamaOutput::stack(outs).expect("stack")
}

#[test]
fn any_split_by_tokens_gives_the_same_bits_for_every_family_and_type() {
    for (file, model, sequences) in tiny_models() {
        for ids in &sequences {
            let n = ids.len();
            let whole = model.forward(ids).expect("forward");
            let balanced = balanced_cuts(model.config(), n, 3);
            for cuts in [vec![n / 2], vec![1], vec![n - 1], vec![3, 7, 8], balanced] {
                let split = run_parts(&model, ids, &cuts);
                assert!(split == whole, "{file}, {n} tokens, cuts {cuts:?}: not the same bits as one pass");
            }
        }
    }
}

#[test]
fn smollm2_split_in_two_gives_the_same_bits() {
    let Some(bytes) = common::model_bytes("smollm2_split_in_two_gives_the_same_bits") else {
        return;
    };
    let model = Llama::from_gguf(bytes).expect("loads");
    let ids = model.tokenize("The quick brown fox jumps over the lazy dog because it wanted to.").expect("ids").ids;
    let whole = model.forward(&ids).expect("forward");
    let cuts = balanced_cuts(model.config(), ids.len(), 2);
    assert!(run_parts(&model, &ids, &cuts) == whole, "cuts {cuts:?}");
}

#[test]
fn parts_that_do_not_fit_are_errors_and_leave_the_pass_usable() {
    let (_, model, sequences) = tiny_models().into_iter().next().expect("a fixture");
    let ids = &sequences[0];
    let n = ids.len();
    let bad = |r: Result<DecoderPass, ModelError>| matches!(r, Err(ModelError::BadPart(_)));
    assert!(bad(model.row_pass(ids, 3..3)), "empty");
    assert!(bad(model.row_pass(ids, 2..n + 1)), "past the end");
    let mut part = model.row_pass(ids, 2..5).expect("part");
    let (keys, values) = part.keys_values(&model).expect("kv");
    // Only this part's own rows, not the tokens before them: refused, and the pass stays as it was.
    assert!(matches!(part.finish_layer(&model, &keys, &values), Err(ModelError::BadPart(_))));
    let mut whole = model.row_pass(ids, 0..5).expect("the first five");
    let (k5, v5) = whole.keys_values(&model).expect("kv");
    part.finish_layer(&model, &k5, &v5).expect("the tokens up to the part's last fit");
    assert_eq!(part.layer(), Some(1));
    assert!(matches!(part.finish(&model), Err(ModelError::BadPart(_))), "finish before the last block");
}

/// The multiply-add count behind the cuts (and the benchmarks' ceilings): every weight of a block's
/// matrices and of the unembedding multiplies once per row, counted from the file's tensors.
#[test]
fn a_rows_multiply_adds_are_the_files_matrix_weights() {
    for (file, model, _, bytes) in tiny_models_and_bytes() {
        let gguf = arcs_models::smollm2::Gguf::parse(&bytes).expect("parses");
        let in_blocks: u64 = gguf
            .tensors
            .iter()
            .filter(|t| t.name.starts_with("blk.") && t.dims.len() == 2)
            .map(|t| t.n_elements())
            .sum();
        let unembedding =
            gguf.tensor("output.weight").or_else(|| gguf.tensor("token_embd.weight")).expect("unembedding");
        let (matrices, attention) = pass_macs(model.config(), 1);
        assert_eq!(matrices, in_blocks + unembedding.n_elements(), "{file}");
        // One row attends to one key: a score and a weighted value per head dimension, in every block.
        let c = model.config();
        assert_eq!(attention, (c.num_layers * 2 * c.num_heads * c.head_dim) as u64, "{file}");
        assert_eq!(pass_macs(c, 10).1, attention * 55, "{file}: rows attend to 1 + 2 + ... + 10 keys");
    }
}

#[test]
fn balanced_cuts_give_later_parts_fewer_rows_and_equal_work() {
    let (_, model, _) = tiny_models().into_iter().next().expect("a fixture");
    let c = model.config();
    for (n, parts) in [(1, 2), (2, 2), (5, 4), (7, 7), (8, 4), (33, 2), (40, 3), (1000, 2), (1000, 8)] {
        let cuts = balanced_cuts(c, n, parts);
        assert_eq!(cuts.len(), parts.min(n) - 1, "{n} tokens, {parts} parts");
        let mut bounds = vec![0];
        bounds.extend(&cuts);
        bounds.push(n);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{n}/{parts}: every part has a row: {bounds:?}");
        if n >= 2 * parts {
            // Rows go through the kernels in pairs: only the last part may have an odd count.
            assert!(cuts.iter().all(|c| c % 2 == 0), "{n}/{parts}: cuts on even rows: {cuts:?}");
        }
        if n >= 1000 {
            // The tiny model's attention is a large share of a row's work at 1000 tokens: later
            // parts take fewer rows.
            let sizes: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(sizes.windows(2).all(|s| s[0] > s[1]), "{n}/{parts}: {sizes:?}");
        }
    }
}

#[test]
fn a_pass_without_attention_gets_each_layer_back_to_the_bit_from_its_queries_and_keys() {
    for (file, model, sequences) in tiny_models() {
        for ids in &sequences {
            let whole = model.forward(ids).expect("forward");
            // The same pass, split in two, keeping no attention.
            let cuts = balanced_cuts(model.config(), ids.len(), 2);
            let mut bounds = vec![0];
            bounds.extend(&cuts);
            bounds.push(ids.len());
            let mut parts: Vec<DecoderPass> = bounds
                .windows(2)
                .map(|w| {
                    let mut p = model.row_pass(ids, w[0]..w[1]).expect("part");
                    p.keep_attention(false);
                    p
                })
                .collect();
            while parts[0].layer().is_some() {
                let kv: Vec<(Matrix, Matrix)> = parts.iter_mut().map(|p| p.keys_values(&model).expect("kv")).collect();
                for (p, part) in parts.iter_mut().enumerate() {
                    let (mut keys, mut values) = kv[0].clone();
                    for (k, v) in &kv[1..=p] {
                        keys.append_rows(k.clone()).expect("width");
                        values.append_rows(v.clone()).expect("width");
                    }
                    part.finish_layer(&model, &keys, &values).expect("finish");
                }
            }
            let lean = LlamaOutput::stack(parts.into_iter().map(|p| p.finish(&model).expect("done")).collect())
                .expect("stack");
            assert!(lean.layers.iter().all(|l| l.attn_weights.is_empty()), "{file}: no attention kept");
            assert!(
                lean.final_hidden == whole.final_hidden
                    && lean.argmax_next_per_position == whole.argmax_next_per_position
            );
            for (l, (lean, kept)) in lean.layers.iter().zip(&whole.layers).enumerate() {
                assert!(lean.queries == kept.queries && lean.keys == kept.keys, "{file}: layer {l}'s queries and keys");
                let again = model.layer_attention(l, &lean.queries, &lean.keys).expect("layer attention");
                assert!(again == kept.attn_weights, "{file}: layer {l}'s attention is not the pass's own bits");
            }
            let (q, k) = (&whole.layers[0].queries, &whole.layers[0].keys);
            assert!(matches!(model.layer_attention(99, q, k), Err(ModelError::BadPart(_))), "no layer 99");
            let short = Matrix::from_vec(k.rows() - 1, k.cols(), k.data()[k.cols()..].to_vec()).expect("shape");
            assert!(matches!(model.layer_attention(0, q, &short), Err(ModelError::BadPart(_))), "a key short");
        }
    }
}

//! Every decoder family and GGUF tensor type through the generic path, against Hugging Face
//! transformers on the same (dequantised) weights: `reference/tiny/`, made by
//! `reference/make_tiny_models.py` (tiny random-weight models with awkward head counts and K/V ratios).

use arcs_models::arch::llama::Llama;
use serde_json::Value;

fn tiny_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference/tiny")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(tiny_dir().join("tiny_reference.json")).expect("tiny_reference.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Largest |ours - HF| over every layer, head and weight; `want` is HF's `[layer][head][query][key]`.
fn max_attention_diff<'a>(layers: impl Iterator<Item = &'a [arcs_models::Matrix]>, want: &Value) -> f32 {
    let want = want.as_array().expect("layers");
    let mut worst = 0f32;
    let mut seen = 0;
    for (heads, wl) in layers.zip(want) {
        seen += 1;
        for (h, wh) in wl.as_array().expect("heads").iter().enumerate() {
            for (i, row) in wh.as_array().expect("rows").iter().enumerate() {
                for (j, w) in row.as_array().expect("row").iter().enumerate() {
                    worst = worst.max((heads[h].get(i, j) - w.as_f64().expect("w") as f32).abs());
                }
            }
        }
    }
    assert_eq!(seen, want.len(), "as many layers as HF");
    worst
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array().expect("ids").iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

#[test]
fn every_family_and_tensor_type_matches_hugging_face() {
    let r = reference();
    let sequences = r["sequences"].as_array().expect("sequences");
    let files = r["files"].as_object().expect("files");
    assert!(files.len() >= 18, "every family and type has a file");
    let mut types_seen = std::collections::BTreeSet::new();
    for (file, spec) in files {
        let bytes = std::fs::read(tiny_dir().join(file)).expect("fixture file");
        let model = Llama::from_gguf(bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let c = model.config();
        assert_eq!(c.arch, spec["arch"].as_str().expect("arch"), "{file}");
        assert_eq!(c.num_heads as u64, spec["heads"].as_u64().expect("heads"), "{file}");
        assert_eq!(c.num_kv_heads as u64, spec["kv_heads"].as_u64().expect("kv"), "{file}");
        assert_eq!(c.head_dim as u64, spec["head_dim"].as_u64().expect("hd"), "{file}");
        let ty = spec["type"].as_str().expect("type");
        types_seen.insert(ty.to_string());
        assert_eq!(model.tensor_types()[0], ty, "{file}: the matrices' type is reported first");
        // Float weights: HF in f32 on the same values; quantised: the same decoded values, so only
        // float rounding differs too, but with larger weights.
        let tol = if matches!(ty, "F32" | "F16" | "BF16") { 1e-4 } else { 1e-3 };
        for (seq, run) in sequences.iter().zip(spec["runs"].as_array().expect("runs")) {
            let ids = ids_of(&seq["ids"]);
            let out = model.forward(&ids).unwrap_or_else(|e| panic!("{file}: {e}"));
            let worst = max_attention_diff(out.layers.iter().map(|l| l.attn_weights.as_slice()), &run["attentions"]);
            assert!(worst <= tol, "{file}: attention differs from HF by {worst:.2e} (tolerance {tol:.0e})");
            let argmax: Vec<u32> = out.argmax_next_per_position.iter().map(|t| t.id).collect();
            assert_eq!(argmax, ids_of(&run["argmax_next"]), "{file}: the next token at every position");
            assert_eq!(out.top5_next[0].id, ids_of(&run["top5_last"])[0], "{file}: top-1 after the last token");
            eprintln!("{file}: {} tokens, max |attention - HF| {worst:.2e}", ids.len());
        }
    }
    let all = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"];
    for t in all {
        assert!(types_seen.contains(t), "no fixture of type {t}");
    }
}

#[test]
fn the_gguf_tokenizer_gives_hugging_face_ids() {
    let r = reference();
    let bytes = std::fs::read(tiny_dir().join("llama-gqa.F32.gguf")).expect("fixture");
    let model = Llama::from_gguf(bytes).expect("loads");
    for seq in r["sequences"].as_array().expect("sequences") {
        let text = seq["text"].as_str().expect("text");
        assert_eq!(model.tokenize(text).expect("tokenizes").ids, ids_of(&seq["ids"]), "{text:?}");
    }
}

#[test]
fn opened_like_a_user_file_with_its_card() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let name = "qwen3-gqa4.Q5_0.gguf";
    let bytes = std::fs::read(tiny_dir().join(name)).expect("fixture");
    let opened = open(vec![ModelFile { name: name.into(), bytes }]).expect("opens");
    let info = opened.info(name);
    assert_eq!(info.name, "tiny-qwen3-gqa4");
    assert_eq!(
        (info.architecture.as_str(), info.layers, info.heads, info.kv_heads, info.head_dim),
        ("qwen3", 2, 12, 3, 16)
    );
    assert_eq!(info.tensor_types[0], "Q5_0");
    assert!(info.causal && info.vocab_size == 320);
    // Two blocks of 96 + 2 x 48 + 192 attention, 3 x 96 x 128 FFN, norms, q/k norms; untied output.
    let per_block = 96 * 192 + 2 * 96 * 48 + 192 * 96 + 3 * 96 * 128 + 2 * 96 + 2 * 16;
    assert_eq!(info.parameters, (2 * per_block + 2 * 320 * 96 + 96) as u64);
    assert!(matches!(opened, OpenedModel::Llama(_)));
}

/// The encoder's multiply-add count (the benchmarks' ceilings use it), from the file's tensors: every
/// encoder matrix once per token, but the last layer's output projection and feed-forward block,
/// which `forward_attention` skips.
#[test]
fn an_encoders_multiply_adds_are_the_files_matrix_weights() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let folder = tiny_dir().join("bert-tiny");
    let bytes = std::fs::read(folder.join("model.safetensors")).expect("fixture");
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).expect("header");
    let files = ["config.json", "model.safetensors", "vocab.txt"]
        .map(|name| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") });
    let OpenedModel::Bert(model) = open(files.to_vec()).expect("opens") else { panic!("an encoder") };
    let c = model.config();
    let last = format!("encoder.layer.{}.", c.num_layers - 1);
    let mut in_layers = 0u64;
    for (name, t) in header.as_object().expect("object") {
        let shape: Vec<u64> = t["shape"].as_array().map_or(vec![], |a| a.iter().filter_map(|d| d.as_u64()).collect());
        let skipped = name.starts_with(&last) && !name.contains("attention.self.");
        if name.starts_with("encoder.layer.") && shape.len() == 2 && !skipped {
            in_layers += shape.iter().product::<u64>();
        }
    }
    let (matrices, attention) = c.attention_pass_macs(1);
    assert_eq!(matrices, in_layers);
    assert_eq!(attention, (c.num_layers * 2 * c.hidden_size) as u64);
    assert_eq!(c.attention_pass_macs(7), (7 * matrices, 49 * attention), "every token attends to every key");
}

#[test]
fn a_hugging_face_bert_folder_matches_hugging_face() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let r = reference();
    let spec = &r["bert_folder"];
    let folder = tiny_dir().join("bert-tiny");
    let file = |name: &str| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") };
    // With tokenizer.json alone, and with vocab.txt alone: the same model.
    for tokenizer in ["tokenizer.json", "vocab.txt"] {
        let files = vec![file("config.json"), file("model.safetensors"), file(tokenizer)];
        let OpenedModel::Bert(model) = open(files).unwrap_or_else(|e| panic!("{tokenizer}: {e}")) else {
            panic!("a BERT folder opens as an encoder")
        };
        assert_eq!((model.config().num_layers, model.config().num_heads, model.config().head_dim), (3, 5, 12));
        for run in spec["runs"].as_array().expect("runs") {
            let text = run["text"].as_str().expect("text");
            let enc = model.tokenizer().encode(text);
            assert_eq!(enc.ids, ids_of(&run["ids"]), "{tokenizer}: ids of {text:?}");
            let out = model.forward(&enc.ids).expect("forward");
            let worst = max_attention_diff(out.layers.iter().map(|l| l.attn_weights.as_slice()), &run["attentions"]);
            assert!(worst < 1e-4, "{tokenizer}: attention differs from HF by {worst:.2e}");
        }
    }
    // Missing pieces are named.
    let e = open(vec![file("config.json"), file("vocab.txt")]).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    // Shapes that disagree with the config are named with the tensor.
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("config.json")).expect("config")).expect("JSON");
    config["intermediate_size"] = 97.into();
    let bad = ModelFile { name: "config.json".into(), bytes: config.to_string().into_bytes() };
    let e = open(vec![bad, file("model.safetensors"), file("vocab.txt")]).unwrap_err().to_string();
    assert!(e.contains("intermediate.dense.weight") && e.contains("97"), "{e}");
}

#[test]
fn every_gguf_pre_tokenizer_gives_hugging_face_ids_on_hard_strings() {
    use arcs_models::tokenizer::bpe::{PreTokenizer, Tokenizer};
    let r = reference();
    let p = &r["pre_tokenizers"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().expect("strings").iter().map(|s| s.as_str().expect("string").to_string()).collect()
    };
    let tokens = strings(&p["tokens"]);
    let merges = strings(&p["merges"]);
    let merges: Vec<&str> = merges.iter().map(String::as_str).collect();
    let types: Vec<i64> =
        p["token_types"].as_array().expect("types").iter().map(|t| t.as_i64().expect("type")).collect();
    let cases = p["cases"].as_object().expect("cases");
    assert_eq!(cases.len(), 4);
    let mut differs = 0;
    for (name, list) in cases {
        let pre = PreTokenizer::from_gguf_name(Some(name)).expect("a supported pre-tokenizer");
        let tok = Tokenizer::new(tokens.clone(), &merges, Some(&types)).expect("tokenizer").with_pre_tokenizer(pre);
        let plain = Tokenizer::new(tokens.clone(), &merges, Some(&types)).expect("tokenizer");
        for case in list.as_array().expect("cases") {
            let text = case["text"].as_str().expect("text");
            let enc = tok.encode(text);
            assert_eq!(enc.ids, ids_of(&case["ids"]), "{name}: {text:?}");
            assert_eq!(tok.decode(&enc.ids), text, "{name}: decoding gives the text back");
            differs += usize::from(plain.encode(text).ids != enc.ids);
        }
    }
    assert!(differs >= 5, "the cases tell the pre-tokenizers apart ({differs} differ from smollm's)");
    let e = PreTokenizer::from_gguf_name(Some("deepseek-coder")).unwrap_err().to_string();
    assert!(e.contains("deepseek-coder") && e.contains("llama-bpe"), "{e}");
}

#[test]
fn hugging_face_decoder_folders_match_hugging_face() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let r = reference();
    let folders = r["hf_folders"].as_object().expect("hf_folders");
    assert_eq!(folders.len(), 4, "llama, qwen3, gpt2 and gemma3 folders");
    for (folder_name, spec) in folders {
        let folder = tiny_dir().join(folder_name);
        let file =
            |name: &str| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") };
        let files = vec![file("config.json"), file("model.safetensors"), file("tokenizer.json")];
        let OpenedModel::Llama(model) = open(files).unwrap_or_else(|e| panic!("{folder_name}: {e}")) else {
            panic!("{folder_name}: a decoder folder opens as a decoder")
        };
        // The same model as its GGUF, from another source: the shapes agree.
        let gguf =
            Llama::from_gguf(std::fs::read(tiny_dir().join(spec["from"].as_str().expect("from"))).expect("gguf"))
                .expect("loads");
        let (a, b) = (model.config(), gguf.config());
        assert_eq!(
            (a.num_layers, a.num_heads, a.num_kv_heads, a.head_dim),
            (b.num_layers, b.num_heads, b.num_kv_heads, b.head_dim)
        );
        assert_eq!(model.tensor_types()[0], "F16");
        for run in spec["runs"].as_array().expect("runs") {
            let text = run["text"].as_str().expect("text");
            let ids = model.tokenize(text).expect("tokenizes").ids;
            assert_eq!(ids, ids_of(&run["ids"]), "{folder_name}: ids of {text:?} (BOS and pre-tokenizer included)");
            let out = model.forward(&ids).expect("forward");
            let worst = max_attention_diff(out.layers.iter().map(|l| l.attn_weights.as_slice()), &run["attentions"]);
            assert!(worst < 1e-4, "{folder_name}: attention differs from HF by {worst:.2e}");
            let argmax: Vec<u32> = out.argmax_next_per_position.iter().map(|t| t.id).collect();
            assert_eq!(argmax, ids_of(&run["argmax_next"]), "{folder_name}: the next token at every position");
            eprintln!("{folder_name}: {} tokens, max |attention - HF| {worst:.2e}", ids.len());
        }
    }
    // A decoder folder without tokenizer.json says what it needs.
    let folder = tiny_dir().join("qwen3-gqa4-hf");
    let file = |name: &str| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") };
    let vocab = ModelFile { name: "vocab.txt".into(), bytes: b"a\n".to_vec() };
    let e = open(vec![file("config.json"), file("model.safetensors"), vocab]).unwrap_err().to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
}

#[test]
fn sentencepiece_tokenizers_from_gguf_metadata_and_tokenizer_json_give_hugging_face_ids() {
    use arcs_models::tokenizer::bpe::Tokenizer;
    let r = reference();
    let spm = &r["sentencepiece"];
    let tokens: Vec<String> =
        spm["tokens"].as_array().expect("tokens").iter().map(|t| t.as_str().expect("token").to_string()).collect();
    let scores: Vec<f32> =
        spm["scores"].as_array().expect("scores").iter().map(|s| s.as_f64().expect("score") as f32).collect();
    let types: Vec<i64> =
        spm["token_types"].as_array().expect("types").iter().map(|t| t.as_i64().expect("type")).collect();
    // GGUF `llama` metadata: merges from scores, as llama.cpp does.
    let gguf = Tokenizer::sentencepiece(tokens, &scores, &types, true).expect("tokenizer");
    // tokenizer.json: Llama 2's layout (Prepend + Replace normalizer, byte fallback, BOS template).
    let json = std::fs::read_to_string(tiny_dir().join("spm-tokenizer.json")).expect("fixture");
    let (hf, bos) = Tokenizer::from_hf_json(&json).expect("tokenizer.json");
    assert_eq!(bos, Some(1), "the template's <s>");
    let mut fallbacks = 0;
    for case in spm["cases"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let want = ids_of(&case["ids"]);
        assert_eq!(hf.encode(text).ids, want, "tokenizer.json: {text:?}");
        let enc = gguf.encode(text);
        assert_eq!(enc.ids, want, "GGUF scores: {text:?}");
        // Decoding gives the text back, with the '▁' put first.
        let back = gguf.decode(&enc.ids);
        assert_eq!(back.strip_prefix(' ').unwrap_or(&back), text);
        fallbacks += enc.ids.iter().filter(|&&id| (3..259).contains(&id)).count();
    }
    assert!(fallbacks > 20, "emoji, CJK and accents fall back to byte tokens ({fallbacks})");

    // A GGUF whose tokenizer is SentencePiece ('llama'): a BOS first, as the file says.
    let model =
        Llama::from_gguf(std::fs::read(tiny_dir().join("llama-mqa.Q8_0.gguf")).expect("fixture")).expect("loads");
    assert_eq!(model.bos_token(), Some(1));
    for case in spm["cases"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = std::iter::once(1).chain(ids_of(&case["ids"])).collect();
        assert_eq!(model.tokenize(text).expect("tokenizes").ids, want, "{text:?}");
    }
}

#[test]
fn roberta_and_distilbert_folders_match_hugging_face() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let r = reference();
    for (name, spec) in r["encoder_folders"].as_object().expect("encoder_folders") {
        let folder = tiny_dir().join(name);
        let file = |f: &str| ModelFile { name: f.into(), bytes: std::fs::read(folder.join(f)).expect("fixture") };
        let opened = open(vec![file("config.json"), file("model.safetensors"), file("tokenizer.json")])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.info(name).architecture, spec["arch"].as_str().expect("arch"), "{name}");
        let OpenedModel::Bert(model) = opened else { panic!("{name}: an encoder") };
        for run in spec["runs"].as_array().expect("runs") {
            let text = run["text"].as_str().expect("text");
            let enc = model.tokenizer().encode(text);
            assert_eq!(enc.ids, ids_of(&run["ids"]), "{name}: ids of {text:?}");
            assert!(enc.offsets[0].is_none() && enc.offsets.last().is_some_and(|o| o.is_none()), "added tokens");
            let out = model.forward(&enc.ids).expect("forward");
            let worst = max_attention_diff(out.layers.iter().map(|l| l.attn_weights.as_slice()), &run["attentions"]);
            assert!(worst < 1e-4, "{name}: attention differs from HF by {worst:.2e}");
        }
    }
}

#[test]
fn split_gguf_files_give_the_single_files_numbers() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let single =
        Llama::from_gguf(std::fs::read(tiny_dir().join("gpt2-tiny.Q8_0.gguf")).expect("fixture")).expect("loads");
    let part = |k: usize| {
        let name = format!("gpt2-split.Q8_0-{k:05}-of-00003.gguf");
        ModelFile { bytes: std::fs::read(tiny_dir().join(&name)).expect("split fixture"), name }
    };
    // Given in any order.
    let OpenedModel::Llama(split) = open(vec![part(3), part(1), part(2)]).expect("opens") else { panic!("a decoder") };
    let ids = ids_of(&reference()["sequences"][1]["ids"]);
    let (a, b) = (single.forward(&ids).expect("forward"), split.forward(&ids).expect("forward"));
    assert_eq!(a.layers[0].attn_weights, b.layers[0].attn_weights, "bit for bit");
    assert_eq!(a.top5_next, b.top5_next);
    let e = open(vec![part(1), part(3)]).unwrap_err().to_string();
    assert!(e.contains("gpt2-split.Q8_0-00002-of-00003.gguf"), "the missing part is named: {e}");
}

/// `bytes` (one safetensors file) as two shards and their index, as `save_pretrained` writes them.
fn shard(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).expect("header");
    let data = &bytes[8 + n..];
    let mut names: Vec<&String> = header.keys().filter(|k| *k != "__metadata__").collect();
    names.sort();
    let mut files = Vec::new();
    let mut weight_map = serde_json::Map::new();
    for (k, chunk) in names.chunks(names.len().div_ceil(2)).enumerate() {
        let file = format!("model-{:05}-of-00002.safetensors", k + 1);
        let (mut head, mut body) = (serde_json::Map::new(), Vec::new());
        for name in chunk {
            let t = &header[name.as_str()];
            let off = t["data_offsets"].as_array().expect("offsets");
            let (s, e) = (off[0].as_u64().expect("s") as usize, off[1].as_u64().expect("e") as usize);
            let start = body.len();
            body.extend_from_slice(&data[s..e]);
            let mut entry = t.clone();
            entry["data_offsets"] = serde_json::json!([start, body.len()]);
            head.insert((*name).clone(), entry);
            weight_map.insert((*name).clone(), Value::from(file.clone()));
        }
        let head = serde_json::to_vec(&head).expect("json");
        let mut out = (head.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&head);
        out.extend_from_slice(&body);
        files.push((file, out));
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": weight_map });
    files.push(("model.safetensors.index.json".into(), index.to_string().into_bytes()));
    files
}

#[test]
fn sharded_safetensors_give_the_single_files_numbers() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    for folder_name in ["qwen3-gqa4-hf", "gpt2-tiny-hf"] {
        let folder = tiny_dir().join(folder_name);
        let file =
            |name: &str| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") };
        let OpenedModel::Llama(single) =
            open(vec![file("config.json"), file("model.safetensors"), file("tokenizer.json")]).expect("opens")
        else {
            panic!("a decoder")
        };
        let mut files: Vec<ModelFile> = shard(&file("model.safetensors").bytes)
            .into_iter()
            .map(|(name, bytes)| ModelFile { name, bytes })
            .collect();
        files.extend([file("config.json"), file("tokenizer.json")]);
        let missing_one: Vec<ModelFile> =
            files.iter().filter(|f| !f.name.starts_with("model-00002")).cloned().collect();
        let OpenedModel::Llama(sharded) = open(files).unwrap_or_else(|e| panic!("{folder_name}: {e}")) else {
            panic!("a decoder")
        };
        let ids = ids_of(&reference()["sequences"][0]["ids"]);
        let (a, b) = (single.forward(&ids).expect("forward"), sharded.forward(&ids).expect("forward"));
        assert_eq!(a.layers.last().map(|l| &l.attn_weights), b.layers.last().map(|l| &l.attn_weights), "{folder_name}");
        let e = open(missing_one).unwrap_err().to_string();
        assert!(e.contains("model-00002-of-00002.safetensors"), "{e}");
    }
}

#[test]
fn a_bert_gguf_matches_hugging_face_on_its_float16_weights() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let r = reference();
    let name = "bert-tiny.F16.gguf";
    let bytes = std::fs::read(tiny_dir().join(name)).expect("fixture");
    let opened = open(vec![ModelFile { name: name.into(), bytes }]).expect("opens");
    assert_eq!(opened.info(name).architecture, "bert");
    let OpenedModel::Bert(model) = opened else { panic!("an encoder") };
    for run in r["bert_folder"]["gguf_runs"].as_array().expect("runs") {
        let text = run["text"].as_str().expect("text");
        let enc = model.tokenizer().encode(text);
        assert_eq!(enc.ids, ids_of(&run["ids"]), "the vocabulary read back from '▁' pieces: {text:?}");
        let out = model.forward(&enc.ids).expect("forward");
        let worst = max_attention_diff(out.layers.iter().map(|l| l.attn_weights.as_slice()), &run["attentions"]);
        assert!(worst < 1e-4, "attention differs from HF by {worst:.2e}");
    }
}

#[test]
fn a_cased_wordpiece_tokenizer_json_keeps_case_and_accents_as_hugging_face_does() {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let r = reference();
    let folder = tiny_dir().join("bert-tiny");
    let file = |name: &str| ModelFile { name: name.into(), bytes: std::fs::read(folder.join(name)).expect("fixture") };
    let cased = ModelFile {
        name: "tokenizer.json".into(),
        bytes: std::fs::read(tiny_dir().join("bert-cased-tokenizer.json")).expect("fixture"),
    };
    let OpenedModel::Bert(model) = open(vec![file("config.json"), file("model.safetensors"), cased]).expect("opens")
    else {
        panic!("an encoder")
    };
    let (mut differs, uncased) = (0, {
        let OpenedModel::Bert(m) =
            open(vec![file("config.json"), file("model.safetensors"), file("vocab.txt")]).expect("opens")
        else {
            panic!("an encoder")
        };
        m
    });
    for case in r["bert_folder"]["cased"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let ids = model.tokenizer().encode(text).ids;
        assert_eq!(ids, ids_of(&case["ids"]), "{text:?}");
        differs += usize::from(ids != uncased.tokenizer().encode(text).ids);
    }
    assert!(differs >= 2, "casing and accents change the ids ({differs})");
}

#[test]
fn an_nfc_normalizer_makes_decomposed_text_tokenize_as_composed() {
    use arcs_models::tokenizer::bpe::Tokenizer;
    let json = std::fs::read_to_string(tiny_dir().join("gpt2-tiny-hf/tokenizer.json")).expect("fixture");
    let mut v: Value = serde_json::from_str(&json).expect("JSON");
    let (plain, _) = Tokenizer::from_hf_json(&json).expect("tokenizer");
    v["normalizer"] = serde_json::json!({ "type": "NFC" });
    let (nfc, _) = Tokenizer::from_hf_json(&v.to_string()).expect("tokenizer with NFC");
    let (composed, decomposed) = ("caf\u{e9} na\u{ef}ve", "cafe\u{301} nai\u{308}ve");
    assert_ne!(plain.encode(composed).ids, plain.encode(decomposed).ids, "bytes differ without NFC");
    assert_eq!(nfc.encode(decomposed).ids, plain.encode(composed).ids);
    assert_eq!(nfc.encode(composed).offsets, plain.encode(composed).offsets, "NFC text keeps its offsets");
    v["normalizer"] = serde_json::json!({ "type": "Lowercase" });
    assert!(Tokenizer::from_hf_json(&v.to_string()).unwrap_err().to_string().contains("'Lowercase'"));
}

#[test]
fn llama3_rope_scaling_from_config_json_equals_the_gguf_rope_freqs() {
    use arcs_models::arch::llama::LlamaConfig;
    let gguf =
        Llama::from_gguf(std::fs::read(tiny_dir().join("llama-mqa.Q8_0.gguf")).expect("fixture")).expect("loads");
    let from_file = gguf.config().rope_factors.clone().expect("rope_freqs.weight");
    let config = serde_json::json!({
        "model_type": "llama", "hidden_size": 96, "num_attention_heads": 3, "num_key_value_heads": 1,
        "head_dim": 32, "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 558,
        "max_position_embeddings": 64, "rope_theta": 10000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 32}
    });
    let c = LlamaConfig::from_hf_json(&config.to_string()).expect("config");
    let computed = c.rope_factors.expect("llama3 factors");
    assert_eq!(computed.len(), from_file.len());
    for (a, b) in computed.iter().zip(&from_file) {
        assert!((a - b).abs() <= 1e-5 * b, "{a} vs {b}");
    }
    assert!(computed.contains(&1.0) && computed.contains(&8.0), "kept, scaled and blended");
    let mut other = config.clone();
    other["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0});
    let e = LlamaConfig::from_hf_json(&other.to_string()).unwrap_err().to_string();
    assert!(e.contains("'yarn'"), "{e}");
}

#[test]
fn uncased_wordpiece_and_metaspace_tokenizers_give_hugging_face_ids_on_hard_strings() {
    use arcs_models::tokenizer::bpe::Tokenizer;
    use arcs_models::tokenizer::wordpiece::WordPiece;
    let r = reference();
    let vocab = std::fs::read_to_string(tiny_dir().join("bert-tiny/vocab.txt")).expect("fixture");
    let wp = WordPiece::from_vocab(&vocab).expect("vocab");
    for case in r["bert_folder"]["uncased"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(wp.encode(text).ids, ids_of(&case["ids"]), "{text:?}");
    }
    // spm-tokenizer.json with a Metaspace pre-tokenizer in place of its normalizer.
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(tiny_dir().join("spm-tokenizer.json")).expect("fixture"))
            .expect("JSON");
    v["normalizer"] = Value::Null;
    v["pre_tokenizer"] =
        serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false});
    let (tok, _) = Tokenizer::from_hf_json(&v.to_string()).expect("Metaspace tokenizer");
    for case in r["sentencepiece"]["metaspace"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        assert_eq!(tok.encode(text).ids, ids_of(&case["ids"]), "{text:?}");
    }
}

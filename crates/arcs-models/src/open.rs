//! "Open your own model": recognise what a user handed over (one GGUF file, or the files of a Hugging
//! Face folder) and load it, naming whatever is missing. Bytes in, model out: the caller reads the files
//! (the browser's File objects in the worker, `std::fs` in the CLI).

use crate::arch::bert::Bert;
use crate::arch::llama::Llama;
use crate::tokenizer::encoder::EncoderTokenizer;
use crate::tokenizer::wordpiece::WordPiece;
use crate::ModelError;

/// One file the user gave: its name (without folders) and its bytes.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A model opened from the user's files.
#[derive(Debug, Clone)]
pub enum OpenedModel {
    /// A BERT-style encoder (Hugging Face folder).
    Bert(Box<Bert>),
    /// A Llama-family decoder (GGUF).
    Llama(Box<Llama>),
}

/// What the model card shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The model's own name if its files give one, else the file or folder name.
    pub name: String,
    pub architecture: String,
    pub parameters: u64,
    /// Element types of the weight matrices, most common first.
    pub tensor_types: Vec<String>,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    /// The longest input the model takes (its positions or context).
    pub max_positions: usize,
    pub causal: bool,
}

impl OpenedModel {
    pub fn info(&self, fallback_name: &str) -> ModelInfo {
        match self {
            OpenedModel::Bert(m) => {
                let c = m.config();
                ModelInfo {
                    name: fallback_name.to_string(),
                    architecture: m.architecture().into(),
                    parameters: m.parameter_count(),
                    tensor_types: vec!["F32".into()],
                    layers: c.num_layers,
                    heads: c.num_heads,
                    kv_heads: c.num_heads,
                    head_dim: c.head_dim,
                    vocab_size: c.vocab_size,
                    max_positions: c.max_position_embeddings,
                    causal: false,
                }
            }
            OpenedModel::Llama(m) => {
                let c = m.config();
                ModelInfo {
                    name: c.name.clone().unwrap_or_else(|| fallback_name.to_string()),
                    architecture: c.arch.clone(),
                    parameters: m.parameter_count(),
                    tensor_types: m.tensor_types().into_iter().map(String::from).collect(),
                    layers: c.num_layers,
                    heads: c.num_heads,
                    kv_heads: c.num_kv_heads,
                    head_dim: c.head_dim,
                    vocab_size: c.vocab_size,
                    max_positions: c.max_positions,
                    causal: true,
                }
            }
        }
    }
}

/// `(model, k, n)` when `name` is part `-0000k-of-0000N` of a split GGUF.
fn split_part(name: &str) -> Option<(&str, usize, usize)> {
    let stem = name.strip_suffix(".gguf")?;
    let (head, total) = stem.rsplit_once("-of-")?;
    let (model, k) = head.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if model.is_empty() || !digits(k) || !digits(total) {
        return None;
    }
    Some((model, k.parse().ok()?, total.parse().ok()?))
}

fn is_split_gguf(name: &str) -> bool {
    split_part(name).is_some()
}

/// llama.cpp's split files of one model, all parts present, laid end to end in part order.
fn open_split(files: Vec<ModelFile>) -> Result<OpenedModel, ModelError> {
    let err = |m: String| Err(ModelError::Open(m));
    let mut parts = Vec::with_capacity(files.len());
    for f in files {
        let Some((stem, k, n)) = split_part(&f.name) else {
            return err(format!("{} is not a part of a split GGUF; open the parts alone, together", f.name));
        };
        parts.push((stem.to_string(), k, n, f.bytes));
    }
    let (stem, n) = (parts[0].0.clone(), parts[0].2);
    if parts.iter().any(|p| p.0 != stem || p.2 != n) {
        return err("these split files belong to different models; open the parts of one".into());
    }
    parts.sort_by_key(|p| p.1);
    let missing: Vec<String> =
        (1..=n).filter(|k| !parts.iter().any(|p| p.1 == *k)).map(|k| format!("{stem}-{k:05}-of-{n:05}.gguf")).collect();
    if !missing.is_empty() || parts.len() != n {
        return err(format!("a split model needs all its {n} parts; missing: {}", missing.join(", ")));
    }
    let total: usize = parts.iter().map(|p| p.3.len()).sum();
    let mut bytes = Vec::with_capacity(total);
    let mut ranges = Vec::with_capacity(n);
    for (_, _, _, part) in parts {
        ranges.push(bytes.len()..bytes.len() + part.len());
        bytes.extend_from_slice(&part);
    }
    Ok(OpenedModel::Llama(Box::new(Llama::from_gguf_split(bytes, &ranges)?)))
}

/// Open a model from the files the user gave (all files of one choice or drop).
pub fn open(mut files: Vec<ModelFile>) -> Result<OpenedModel, ModelError> {
    let open_err = |m: String| Err(ModelError::Open(m));
    if files.is_empty() {
        return open_err("no files were given".into());
    }
    let ggufs = files.iter().filter(|f| f.name.to_ascii_lowercase().ends_with(".gguf")).count();
    if ggufs > 0 {
        if files.iter().any(|f| is_split_gguf(&f.name)) {
            return open_split(files);
        }
        if files.len() > 1 {
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            return open_err(format!("open one model at a time: {} were given ({})", files.len(), names.join(", ")));
        }
        let file = files.remove(0);
        // An encoder (llama.cpp's `bert`) or a decoder.
        let is_bert = crate::source::gguf::Gguf::parse(&file.bytes)?
            .get("general.architecture")
            .and_then(|v| v.as_str())
            .is_some_and(|a| a == "bert");
        if is_bert {
            return Ok(OpenedModel::Bert(Box::new(Bert::from_gguf(&file.bytes)?)));
        }
        return Ok(OpenedModel::Llama(Box::new(Llama::from_gguf(file.bytes)?)));
    }
    // A Hugging Face folder, or its files picked together.
    let take = |files: &mut Vec<ModelFile>, name: &str| -> Option<Vec<u8>> {
        let i = files.iter().position(|f| f.name == name)?;
        Some(files.swap_remove(i).bytes)
    };
    let config = take(&mut files, "config.json");
    let weights = take(&mut files, "model.safetensors");
    let sharded = files.iter().any(|f| f.name == "model.safetensors.index.json");
    let vocab = take(&mut files, "vocab.txt");
    let tokenizer_json = take(&mut files, "tokenizer.json");
    let mut missing = Vec::new();
    if config.is_none() {
        missing.push("config.json");
    }
    if weights.is_none() && !sharded {
        missing.push("model.safetensors");
    }
    if vocab.is_none() && tokenizer_json.is_none() {
        missing.push("tokenizer.json (or vocab.txt)");
    }
    if !missing.is_empty() {
        let given: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        return open_err(format!(
            "this is neither a .gguf file nor a complete Hugging Face model folder: missing {}{}",
            missing.join(", "),
            if given.is_empty() { String::new() } else { format!(" (given: {})", given.join(", ")) }
        ));
    }
    let text = |bytes: Vec<u8>, what: &str| {
        String::from_utf8(bytes).map_err(|_| ModelError::Open(format!("{what} is not UTF-8 text")))
    };
    let config = text(config.unwrap_or_default(), "config.json")?;
    let model_type = serde_json::from_str::<serde_json::Value>(&config)
        .ok()
        .and_then(|v| v.get("model_type").and_then(|t| t.as_str()).map(String::from))
        .unwrap_or_default();
    // The weights: one model.safetensors, or the shards its index names, laid end to end.
    let (weights, parts) = match weights {
        Some(w) => {
            let whole = 0..w.len();
            (w, vec![whole])
        }
        None => shards(&mut files)?,
    };
    if crate::arch::llama::ARCHITECTURES.contains(&model_type.as_str()) || model_type == "gemma3_text" {
        let Some(tokenizer) = tokenizer_json else {
            return open_err(format!("a {model_type} folder needs its tokenizer.json (vocab.txt is BERT's)"));
        };
        let tokenizer = text(tokenizer, "tokenizer.json")?;
        return Ok(OpenedModel::Llama(Box::new(Llama::from_hf_shards(&config, weights, &parts, &tokenizer)?)));
    }
    if parts.len() > 1 {
        return open_err("sharded safetensors of an encoder cannot be opened yet (one model.safetensors can)".into());
    }
    let tokenizer = match model_type.as_str() {
        "bert" | "distilbert" => {
            // tokenizer.json says whether the model is cased; vocab.txt alone is taken as uncased.
            let (vocab_txt, lowercase, strip_accents) = match (tokenizer_json, vocab) {
                (Some(t), _) => wordpiece_vocab_from_tokenizer_json(&text(t, "tokenizer.json")?)?,
                (None, Some(v)) => (text(v, "vocab.txt")?, true, true),
                (None, None) => return open_err("no tokenizer".into()),
            };
            EncoderTokenizer::WordPiece(WordPiece::from_vocab(&vocab_txt)?.with_case(lowercase, strip_accents))
        }
        "roberta" => {
            let Some(t) = tokenizer_json else {
                return open_err("a roberta folder needs its tokenizer.json".into());
            };
            roberta_tokenizer(&text(t, "tokenizer.json")?)?
        }
        _ => {
            return open_err(format!(
                "Hugging Face folders of model_type '{model_type}' cannot be opened yet (folders: bert, roberta, \
                 distilbert, {}); for other architectures see README, \"Open your own model\"",
                crate::arch::llama::ARCHITECTURES.join(", ")
            ))
        }
    };
    Ok(OpenedModel::Bert(Box::new(Bert::from_hf(&config, &weights, tokenizer)?)))
}

/// The shards `model.safetensors.index.json` names, in the order it first names them, laid end to end;
/// a missing shard is named.
fn shards(files: &mut Vec<ModelFile>) -> Result<(Vec<u8>, Vec<std::ops::Range<usize>>), ModelError> {
    let bad = |m: String| ModelError::Open(m);
    let i =
        files.iter().position(|f| f.name == "model.safetensors.index.json").ok_or_else(|| bad("no weights".into()))?;
    let index: serde_json::Value = serde_json::from_slice(&files.swap_remove(i).bytes)
        .map_err(|e| bad(format!("model.safetensors.index.json is not JSON ({e})")))?;
    let map = index
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("model.safetensors.index.json has no weight_map".into()))?;
    let mut names: Vec<&str> = Vec::new();
    for shard in map.values().filter_map(|v| v.as_str()) {
        if !names.contains(&shard) {
            names.push(shard);
        }
    }
    let missing: Vec<&str> = names.iter().copied().filter(|n| !files.iter().any(|f| f.name == *n)).collect();
    if !missing.is_empty() {
        return Err(bad(format!("the index names shards that were not given: {}", missing.join(", "))));
    }
    let total: usize = files.iter().filter(|f| names.contains(&f.name.as_str())).map(|f| f.bytes.len()).sum();
    let (mut bytes, mut parts) = (Vec::with_capacity(total), Vec::with_capacity(names.len()));
    for name in names {
        if let Some(i) = files.iter().position(|f| f.name == name) {
            let f = files.swap_remove(i);
            parts.push(bytes.len()..bytes.len() + f.bytes.len());
            bytes.extend_from_slice(&f.bytes);
        }
    }
    Ok((bytes, parts))
}

/// RoBERTa's byte-level BPE with the `<s>` and `</s>` its `RobertaProcessing` puts around the text.
fn roberta_tokenizer(json: &str) -> Result<EncoderTokenizer, ModelError> {
    let bad = |m: &str| ModelError::Vocab(format!("tokenizer.json: {m}"));
    let (tokenizer, _) = crate::tokenizer::bpe::Tokenizer::from_hf_json(json)?;
    let v: serde_json::Value = serde_json::from_str(json).map_err(|_| bad("not JSON"))?;
    let post = v.get("post_processor").ok_or_else(|| bad("no post_processor (RobertaProcessing)"))?;
    let id = |key: &str| -> Result<u32, ModelError> {
        post.get(key)
            .and_then(|p| p.get(1))
            .and_then(|i| i.as_u64())
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| bad(&format!("the post-processor has no '{key}' token")))
    };
    Ok(EncoderTokenizer::Bpe { tokenizer: Box::new(tokenizer), cls: id("cls")?, sep: id("sep")? })
}

/// The vocabulary of a `tokenizer.json` whose model is WordPiece, one token a line in id order (what
/// `vocab.txt` holds), and its BertNormalizer's `lowercase` and `strip_accents`.
fn wordpiece_vocab_from_tokenizer_json(text: &str) -> Result<(String, bool, bool), ModelError> {
    let bad = |m: &str| ModelError::Vocab(format!("tokenizer.json: {m}"));
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let model = v.get("model").ok_or_else(|| bad("no 'model'"))?;
    let kind = model.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if kind != "WordPiece" {
        return Err(bad(&format!("a '{kind}' tokenizer with a BERT model; WordPiece is expected")));
    }
    let normalizer = v.get("normalizer").filter(|n| !n.is_null());
    if let Some(n) = normalizer {
        let ty = n.get("type").and_then(|t| t.as_str()).unwrap_or("");
        if ty != "BertNormalizer" {
            return Err(bad(&format!("a '{ty}' normalizer with WordPiece; BERT's is supported")));
        }
    }
    let lowercase = normalizer.and_then(|n| n.get("lowercase")).and_then(|l| l.as_bool()).unwrap_or(true);
    // HF: strip_accents unset follows lowercase.
    let strip_accents = normalizer.and_then(|n| n.get("strip_accents")).and_then(|l| l.as_bool()).unwrap_or(lowercase);
    let vocab = model.get("vocab").and_then(|m| m.as_object()).ok_or_else(|| bad("no 'model.vocab'"))?;
    let mut by_id: Vec<Option<&str>> = vec![None; vocab.len()];
    for (token, id) in vocab {
        let id = id.as_u64().and_then(|i| usize::try_from(i).ok()).filter(|&i| i < by_id.len());
        let slot = id.and_then(|i| by_id.get_mut(i)).ok_or_else(|| bad(&format!("id of '{token}' out of range")))?;
        *slot = Some(token);
    }
    let mut out = String::new();
    for (i, t) in by_id.iter().enumerate() {
        out.push_str(t.ok_or_else(|| bad(&format!("no token has id {i}")))?);
        out.push('\n');
    }
    Ok((out, lowercase, strip_accents))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> ModelFile {
        ModelFile { name: name.into(), bytes: bytes.to_vec() }
    }

    #[test]
    fn split_gguf_names_are_recognised() {
        assert!(is_split_gguf("Llama-3.1-8B-Q4_K_M-00001-of-00003.gguf"));
        assert_eq!(split_part("a-b-00002-of-00003.gguf"), Some(("a-b", 2, 3)));
        assert!(!is_split_gguf("SmolLM2-135M-Instruct.Q4_1.gguf"));
        assert!(!is_split_gguf("-of-00003.gguf"));
    }

    #[test]
    fn what_is_missing_is_named() {
        let e = open(vec![file("config.json", b"{}")]).unwrap_err().to_string();
        assert!(e.contains("model.safetensors") && e.contains("tokenizer.json"), "{e}");
        assert!(!e.contains("config.json,"), "config.json was given: {e}");
        let e = open(vec![file("notes.txt", b"hello")]).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("notes.txt"), "{e}");
        let e = open(Vec::new()).unwrap_err().to_string();
        assert!(e.contains("no files"), "{e}");
    }

    #[test]
    fn two_models_at_once_are_refused() {
        let e = open(vec![file("a.gguf", b"GGUF"), file("b.gguf", b"GGUF")]).unwrap_err().to_string();
        assert!(e.contains("one model at a time") && e.contains("a.gguf") && e.contains("b.gguf"), "{e}");
        let e = open(vec![file("m-00001-of-00002.gguf", b"GGUF")]).unwrap_err().to_string();
        assert!(e.contains("all its 2 parts") && e.contains("m-00002-of-00002.gguf"), "{e}");
        let e = open(vec![file("m-00001-of-00002.gguf", b""), file("n-00002-of-00002.gguf", b"")]).unwrap_err();
        assert!(e.to_string().contains("different models"), "{e}");
    }

    #[test]
    fn a_non_model_file_named_gguf_is_a_gguf_error() {
        let e = open(vec![file("photo.gguf", b"\x89PNG\r\n\x1a\n")]).unwrap_err().to_string();
        assert!(e.contains("not a GGUF file"), "{e}");
    }

    #[test]
    fn other_folders_are_named() {
        let files = vec![
            file("config.json", br#"{"model_type": "t5"}"#),
            file("model.safetensors", b""),
            file("tokenizer.json", b"{}"),
        ];
        let e = open(files).unwrap_err().to_string();
        assert!(e.contains("'t5'") && e.contains("gpt2"), "{e}");
    }

    #[test]
    fn wordpiece_vocab_comes_from_tokenizer_json_in_id_order() {
        let t = r#"{"normalizer": {"type": "BertNormalizer", "lowercase": true},
                    "model": {"type": "WordPiece", "vocab": {"[UNK]": 1, "[PAD]": 0, "a": 2}}}"#;
        assert_eq!(wordpiece_vocab_from_tokenizer_json(t).expect("vocab"), ("[PAD]\n[UNK]\na\n".into(), true, true));
        let gap = r#"{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "a": 2}}}"#;
        assert!(wordpiece_vocab_from_tokenizer_json(gap).is_err());
        let cased = r#"{"normalizer": {"type": "BertNormalizer", "lowercase": false}, "model": {"type": "WordPiece", "vocab": {"a": 0}}}"#;
        assert!(!wordpiece_vocab_from_tokenizer_json(cased).expect("cased").1, "cased");
        let nfc = r#"{"normalizer": {"type": "NFC"}, "model": {"type": "WordPiece", "vocab": {"a": 0}}}"#;
        assert!(wordpiece_vocab_from_tokenizer_json(nfc).unwrap_err().to_string().contains("'NFC'"));
        let bpe = r#"{"model": {"type": "BPE", "vocab": {}}}"#;
        assert!(wordpiece_vocab_from_tokenizer_json(bpe).unwrap_err().to_string().contains("'BPE'"));
    }
}

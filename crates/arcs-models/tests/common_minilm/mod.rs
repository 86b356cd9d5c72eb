//! Shared helpers for the integration tests: locating the model files and the reference data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arcs_models::minilm::{encode_bundle, MiniLm};
use serde_json::Value;

/// `models/minilm` of the repository (filled by scripts/fetch-models.sh, gitignored).
pub fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/minilm")
}

/// The shared reference computed by Hugging Face transformers.
pub fn reference_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reference/minilm_reference.json")
}

fn require_models() -> bool {
    std::env::var("ARCS_REQUIRE_MODELS").is_ok_and(|v| v == "1")
}

/// `true` if every file exists. Otherwise panics when ARCS_REQUIRE_MODELS=1 (CI), or prints a skip
/// note and returns `false` so the calling test can return early.
pub fn files_present(test: &str, files: &[PathBuf]) -> bool {
    let missing: Vec<_> = files.iter().filter(|p| !p.is_file()).collect();
    if missing.is_empty() {
        return true;
    }
    if require_models() {
        panic!("model files missing: run scripts/fetch-models.sh (missing: {missing:?})");
    }
    eprintln!("SKIP {test}: model files missing ({missing:?}); run scripts/fetch-models.sh");
    false
}

pub fn vocab_present(test: &str) -> bool {
    files_present(test, &[model_dir().join("vocab.txt"), reference_path()])
}

pub fn model_present(test: &str) -> bool {
    files_present(test, &[model_dir().join("vocab.txt"), model_dir().join("model.safetensors"), reference_path()])
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub fn vocab_txt() -> String {
    String::from_utf8(read(&model_dir().join("vocab.txt"))).expect("vocab.txt is UTF-8")
}

pub fn safetensors_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| read(&model_dir().join("model.safetensors")))
}

pub fn f32_model() -> &'static MiniLm {
    static MODEL: OnceLock<MiniLm> = OnceLock::new();
    MODEL.get_or_init(|| MiniLm::from_safetensors(safetensors_bytes(), &vocab_txt()).expect("safetensors loads"))
}

pub fn bundle_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| encode_bundle(f32_model()))
}

/// One sentence of the reference file.
pub struct RefSentence {
    pub id: String,
    pub text: String,
    pub tokens: Vec<String>,
    pub input_ids: Vec<u32>,
    /// `offsets_utf8`: byte ranges into `text`, `[0, 0]` for [CLS]/[SEP].
    pub offsets_utf8: Vec<(usize, usize)>,
    /// `[layer][head][query][key]`, rounded to 6 decimals.
    pub attentions: Vec<Vec<Vec<Vec<f32>>>>,
    /// `[layer][head][query]` -> key with the highest unrounded weight.
    pub argmax: Vec<Vec<Vec<usize>>>,
    /// `[token][feature]`.
    pub last_hidden_state: Vec<Vec<f32>>,
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

pub fn reference() -> &'static [RefSentence] {
    static REF: OnceLock<Vec<RefSentence>> = OnceLock::new();
    REF.get_or_init(|| {
        let json: Value = serde_json::from_slice(&read(&reference_path())).expect("reference is JSON");
        arr(&json["sentences"])
            .iter()
            .map(|s| RefSentence {
                id: s["id"].as_str().expect("id").to_owned(),
                text: s["text"].as_str().expect("text").to_owned(),
                tokens: arr(&s["tokens"]).iter().map(|t| t.as_str().expect("token").to_owned()).collect(),
                input_ids: arr(&s["input_ids"]).iter().map(|t| t.as_u64().expect("id") as u32).collect(),
                offsets_utf8: arr(&s["offsets_utf8"])
                    .iter()
                    .map(|o| (o[0].as_u64().expect("start") as usize, o[1].as_u64().expect("end") as usize))
                    .collect(),
                attentions: arr(&s["attentions"])
                    .iter()
                    .map(|layer| arr(layer).iter().map(|head| arr(head).iter().map(f32s).collect()).collect())
                    .collect(),
                argmax: arr(&s["attention_argmax_per_layer_head"])
                    .iter()
                    .map(|layer| {
                        arr(layer)
                            .iter()
                            .map(|head| arr(head).iter().map(|j| j.as_u64().expect("argmax") as usize).collect())
                            .collect()
                    })
                    .collect(),
                last_hidden_state: arr(&s["last_hidden_state"]).iter().map(f32s).collect(),
            })
            .collect()
    })
}

//! Messages between the page and the model worker, and the model manifest the worker downloads by.
//! Platform-agnostic so the encoding and the manifest checks are tested natively.

use crate::models::{FileIdentity, ModelKind, ModelRun, OpenedInfo};
use serde::{Deserialize, Serialize};

/// Page -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerIn {
    /// Run `model` on `text` and send every layer's attention plus `layer`'s details. Loads the model
    /// first if needed. `base` is the absolute URL of the folder holding `manifest.json` (a worker
    /// started from a blob cannot resolve relative URLs against the page).
    ///
    /// `helper`: absolute URL of the worker script to start helper workers from, which compute ranges
    /// of the tokens of each pass on other cores (see `web/helper_worker.rs`); `None` to work alone.
    /// `helpers`: how many to start for the model (the page's choice from the core count, at most
    /// `split_policy::MAX_HELPERS`); read when the model loads.
    ///
    /// `roles`: also send every head's role scores (the head-roles map is open).
    ///
    /// `value_norms`: also send the value norms of `layer`'s heads (value-weighted arcs).
    ///
    /// `lens`: also send the logit lens (decoders; computed once per pass and kept).
    Run {
        id: u64,
        model: ModelKind,
        base: String,
        text: String,
        layer: usize,
        helper: Option<String>,
        #[serde(default)]
        helpers: u32,
        roles: bool,
        #[serde(default)]
        value_norms: bool,
        #[serde(default)]
        lens: bool,
        /// A second sentence to run through the same model (the compare view); its pass comes back
        /// as `WorkerOut::Done::compare`.
        #[serde(default)]
        compare: Option<String>,
    },
    /// Open a model from the user's files (replacing any opened before). `expect`: the identity a share
    /// link recorded; a file whose SHA-256 differs is refused with both hashes.
    Open { files: Vec<OpenFile>, expect: Option<FileIdentity> },
    /// Stop reading the files of the last `Open`.
    CancelOpen,
}

/// A file the user chose or dropped, as the worker reads it: a `blob:` URL of this page's origin made
/// from the browser's File object (nothing leaves the machine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenFile {
    pub name: String,
    pub bytes: u64,
    pub url: String,
}

/// Worker -> page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerOut {
    /// Download or preparation progress: `loaded` of `total` bytes (total 0 = unknown).
    Progress {
        model: ModelKind,
        stage: String,
        loaded: u64,
        total: u64,
    },
    Ready {
        model: ModelKind,
        load_ms: f64,
        bytes: u64,
        from_cache: bool,
    },
    LoadFailed {
        model: ModelKind,
        message: String,
    },
    /// A model from the user's files is ready (`ModelKind::File`).
    Opened {
        info: Box<OpenedInfo>,
        load_ms: f64,
    },
    /// `wasm_memory_bytes`: the worker's WebAssembly memory, which only grows, so it is its peak.
    /// `helped`: helper workers computed part of the tokens of this pass (false: the model worker did
    /// it alone, or the pass was not recomputed).
    Done {
        id: u64,
        run: Box<ModelRun>,
        forward_ms: f64,
        wasm_memory_bytes: u64,
        helped: bool,
        /// The compared sentence's pass, at the same layer, when the request had one.
        #[serde(default)]
        compare: Option<Box<ModelRun>>,
        /// Why the compared sentence has no pass (too long, no tokens, ...).
        #[serde(default)]
        compare_error: Option<String>,
    },
    Failed {
        id: u64,
        message: String,
    },
    /// A long pass for request `id` has finished `layers_done` of its `layers` layers: sent between
    /// layers at most once a second, so the page can show how far it is and knows the worker lives.
    Working {
        id: u64,
        layers_done: usize,
        layers: usize,
    },
}

/// One file of a model as the build published it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// File name relative to the manifest (contains a content hash, so caches never mix releases).
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestModel {
    /// Pieces to fetch in order and concatenate (hosts often cap files at 50 MB).
    pub files: Vec<ManifestFile>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub minilm: Option<ManifestModel>,
    pub smollm2: Option<ManifestModel>,
}

/// Largest model the page will download: a manifest asking for more is refused, not obeyed.
pub const MAX_MODEL_BYTES: u64 = 160_000_000;

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| format!("the model manifest is not valid ({e})"))?;
        if m.version != 1 {
            return Err(format!("the model manifest has version {}, this app reads version 1", m.version));
        }
        for model in [&m.minilm, &m.smollm2].into_iter().flatten() {
            let total: u64 = model.files.iter().map(|f| f.bytes).sum();
            if model.files.is_empty() || total > MAX_MODEL_BYTES {
                return Err(format!("the model manifest lists {total} bytes in {} files; refusing", model.files.len()));
            }
            for f in &model.files {
                let safe = !f.name.is_empty()
                    && f.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    && !f.name.starts_with('.');
                if !safe {
                    return Err(format!("the model manifest names an unsafe file {:?}", f.name));
                }
                if f.sha256.len() != 64 || !f.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(format!("the model manifest has a malformed sha256 for {}", f.name));
                }
            }
        }
        Ok(m)
    }

    pub fn model(&self, kind: ModelKind) -> Option<&ManifestModel> {
        match kind {
            ModelKind::MiniLm => self.minilm.as_ref(),
            ModelKind::SmolLm2 => self.smollm2.as_ref(),
            ModelKind::File => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_checks() {
        let good = r#"{"version":1,"minilm":{"files":[{"name":"minilm-ab12.bundle","bytes":10,"sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]},"smollm2":null}"#;
        let m = Manifest::parse(good).expect("valid");
        assert!(m.model(ModelKind::MiniLm).is_some() && m.model(ModelKind::SmolLm2).is_none());
        for (bad, why) in [
            ("{", "not valid"),
            (r#"{"version":2,"minilm":null,"smollm2":null}"#, "version 2"),
            (&good.replace("minilm-ab12.bundle", "../etc/passwd"), "unsafe file"),
            (&good.replace("\"bytes\":10", "\"bytes\":999999999999"), "refusing"),
            (&good.replace("00112233", "zz112233"), "malformed sha256"),
        ] {
            let e = Manifest::parse(bad).expect_err(why);
            assert!(e.contains(why), "{e}");
        }
    }
}

//! The `attn` CLI's real-model paths and its plain-text output.

use crate::models::{self, ModelKind, ModelRun};
use arcs_core::analysis::{self, HeadRoles};
use arcs_core::attention::Mode;
use arcs_core::cli::{Analysis, CliArgs};
use arcs_core::report::{HeadRolesJson, NextToken, Num, Rows};
use arcs_core::tensor::{matmul, Mat};
use arcs_core::{Report, Source};
use arcs_models::open::{ModelFile, OpenedModel};
use std::path::{Path, PathBuf};

/// Where the CLI finds model files: `$ARCS_MODELS`, else `models/` next to the workspace root.
fn models_dir() -> PathBuf {
    std::env::var_os("ARCS_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path)
        .map_err(|e| format!("cannot read {} ({e}); run ./x models to fetch the model files", path.display()))
}

/// The real models `--model` takes, for `attn --help`.
pub const MODELS_HELP: &str = "
real models (--model):
  minilm                  all-MiniLM-L6-v2, f32 from models/minilm (--weights bundle: the browser's weights)
  smollm2                 SmolLM2-135M-Instruct, Q4_1 GGUF from models/smollm2
  PATH                    a .gguf file (llama, mistral, qwen2, qwen3, gemma3, gpt2, bert), a folder
                          holding one model's .gguf (or all its split parts), or a Hugging Face
                          folder (config.json, model.safetensors or its shards, tokenizer.json or
                          vocab.txt)
";

/// Whether `--model` names a file or folder rather than a built-in model: a `.gguf` name, or anything
/// with a path separator (`./my-bert`, `/models/x`).
pub fn is_model_path(value: &str) -> bool {
    value.to_ascii_lowercase().ends_with(".gguf") || value.contains('/') || value.contains('\\')
}

/// Options that only make sense for the toy engine.
const TOY_ONLY: [&str; 9] =
    ["--preset", "--seed", "--d-in", "--d-out", "--heads", "--dropout", "--mask", "--no-scale", "--normalization"];

/// A real model the CLI loaded: built in, or from a path.
enum Loaded {
    Bert(Box<arcs_models::arch::bert::Bert>),
    Llama(Box<arcs_models::arch::llama::Llama>),
}

/// The files of a Hugging Face folder the model loader looks at (others, such as PyTorch or ONNX
/// copies of the weights, are never read).
const FOLDER_FILES: [&str; 5] =
    ["config.json", "model.safetensors", "model.safetensors.index.json", "vocab.txt", "tokenizer.json"];

/// Load `--model`: a built-in name, a `.gguf` file or a Hugging Face folder. Returns the model, its
/// kind and the name the report gives it.
fn load(model: &str, args: &CliArgs) -> Result<(Loaded, ModelKind, String), String> {
    if let Some(kind) = ModelKind::parse(model) {
        let dir = models_dir();
        let loaded = match kind {
            ModelKind::MiniLm => Loaded::Bert(Box::new(
                match args.weights_path.as_deref() {
                    Some("bundle") => {
                        arcs_models::minilm::MiniLm::from_bundle(&read(&dir.join("minilm/minilm.bundle"))?)
                    }
                    Some(other) => return Err(format!("--weights for minilm is 'bundle' or nothing, not {other:?}")),
                    None => {
                        let vocab = String::from_utf8(read(&dir.join("minilm/vocab.txt"))?)
                            .map_err(|_| "vocab.txt is not UTF-8".to_string())?;
                        arcs_models::minilm::MiniLm::from_safetensors(
                            &read(&dir.join("minilm/model.safetensors"))?,
                            &vocab,
                        )
                    }
                }
                .map_err(|e| e.to_string())?,
            )),
            _ => {
                if args.weights_path.is_some() {
                    return Err("--weights does not apply to smollm2".into());
                }
                let bytes = read(&dir.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))?;
                Loaded::Llama(Box::new(arcs_models::smollm2::SmolLm2::from_gguf(bytes).map_err(|e| e.to_string())?))
            }
        };
        return Ok((loaded, kind, kind.as_str().to_string()));
    }
    if args.weights_path.is_some() {
        return Err("--weights does not apply to a model opened from a path".into());
    }
    let path = Path::new(model);
    let read_path = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {} ({e})", p.display()));
    let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let files = if path.is_dir() {
        let mut files = Vec::new();
        for f in FOLDER_FILES {
            let p = path.join(f);
            if p.is_file() {
                files.push(ModelFile { name: f.to_string(), bytes: read_path(&p)? });
            }
        }
        // Sharded weights: the files the index names.
        if let Some(index) = files.iter().find(|f| f.name == "model.safetensors.index.json") {
            let map: serde_json::Value = serde_json::from_slice(&index.bytes).unwrap_or_default();
            let mut shards: Vec<String> = map
                .get("weight_map")
                .and_then(|m| m.as_object())
                .map(|m| m.values().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            shards.sort();
            shards.dedup();
            for shard in shards {
                // Only plain file names: an index cannot send the loader elsewhere.
                if shard.contains(['/', '\\']) || shard.starts_with('.') {
                    return Err(format!("{model}: the index names an unsafe file {shard:?}"));
                }
                let p = path.join(&shard);
                if p.is_file() {
                    files.push(ModelFile { bytes: read_path(&p)?, name: shard });
                }
            }
        }
        if files.is_empty() {
            // A folder holding a GGUF file: that file (several are refused by name).
            let entries = std::fs::read_dir(path).map_err(|e| format!("cannot list {model} ({e})"))?;
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.to_ascii_lowercase().ends_with(".gguf") {
                    files.push(ModelFile { bytes: read_path(&e.path())?, name });
                }
            }
        }
        if files.is_empty() {
            return Err(format!(
                "{model}: no model files here: give a .gguf file, or a Hugging Face folder with config.json, \
                 model.safetensors and tokenizer.json (or vocab.txt)"
            ));
        }
        files
    } else if path.is_file() {
        vec![ModelFile { name: name_of(path), bytes: read_path(path)? }]
    } else {
        return Err(format!("{model}: no such file or folder"));
    };
    let loaded = match arcs_models::open::open(files).map_err(|e| format!("{model}: {e}"))? {
        OpenedModel::Bert(m) => Loaded::Bert(m),
        OpenedModel::Llama(m) => Loaded::Llama(m),
    };
    Ok((loaded, ModelKind::File, name_of(path)))
}

/// Runs a real model for the CLI: every layer (or `--layer L`) and every head, in the report's shape.
pub fn run(model: &str, args: &CliArgs) -> Result<Report, String> {
    if ModelKind::parse(model).is_none() && !is_model_path(model) {
        let names: Vec<&str> = ModelKind::BUILT_IN.iter().map(|k| k.as_str()).collect();
        return Err(format!(
            "unknown model {model:?}: use toy, {}, or a path to a .gguf file or a Hugging Face folder",
            names.join(", ")
        ));
    }
    if let Some(flag) = args.given.iter().find(|g| TOY_ONLY.contains(&g.as_str())) {
        return Err(format!("{flag} applies to the toy model only; {model} has its own trained weights"));
    }
    if args.request.mode != Mode::MultiHead {
        return Err(format!("--model {model} reports every head: use --mode multi-head"));
    }
    let Source::Sentence(text) = &args.request.source else {
        return Err(format!("--model {model} needs --sentence TEXT"));
    };
    let (loaded, kind, name) = load(model, args)?;
    let (num_layers, causal) = match &loaded {
        Loaded::Bert(m) => (m.config().num_layers, false),
        Loaded::Llama(m) => (m.config().num_layers, true),
    };
    if let Some(l) = args.layer.filter(|&l| l >= num_layers) {
        return Err(format!("--layer {l} is out of range: {model} has layers 0 to {}", num_layers - 1));
    }
    if args.analysis == Some(Analysis::LogitLens) && !causal {
        return Err(format!("--analysis logit-lens is for decoders; {model} is an encoder (try smollm2)"));
    }
    let wants = |part: Analysis| args.analysis.is_some_and(|a| a.includes(part));
    // The pass, the input's token ids, and what only the model itself can give: each layer's output
    // projection (value-weighted), the induction scores and the logit lens (decoders).
    let (fwd, ids, out_proj, induction, lens) = match &loaded {
        Loaded::Bert(m) => {
            let ids = models::bert_tokens(m, kind, text)?.ids;
            let out_proj = wants(Analysis::ValueWeighted).then(|| (0..num_layers).map(|l| m.out_proj(l)).collect());
            (models::forward_bert(m, kind, text)?, ids, out_proj, None, None)
        }
        Loaded::Llama(m) => {
            let ids = m.tokenize(text).map_err(|e| e.to_string())?.ids;
            let fwd = models::forward_llama(m, kind, text)?;
            let out_proj = wants(Analysis::ValueWeighted).then(|| (0..num_layers).map(|l| m.out_proj(l)).collect());
            let induction = if wants(Analysis::HeadRoles) { Some(models::induction_scores(m, &ids)?) } else { None };
            let lens = if wants(Analysis::LogitLens) { Some(logit_lens(m, &fwd)?) } else { None };
            (fwd, ids, out_proj, induction, lens)
        }
    };
    let run = fwd.run(args.layer.unwrap_or(0));
    let mut r = report(&run, args.layer);
    r.model = name;
    if args.analysis.is_some() {
        let shape = fwd.shape;
        let layers: Vec<Vec<Mat>> =
            (0..shape.layers).map(|l| (0..shape.heads).map(|h| run.attention(l, h)).collect()).collect();
        if wants(Analysis::Rollout) {
            r.rollout = Some(analysis::rollout(&layers).into_iter().map(Rows).collect());
        }
        if let Some(out_proj) = out_proj {
            r.value_weighted = Some(value_weighted(&fwd, &layers, out_proj)?);
        }
        if wants(Analysis::HeadRoles) {
            r.head_roles = Some(HeadRolesJson::from(&HeadRoles::of(&layers, &ids, induction)));
        }
        r.logit_lens = lens;
    }
    Ok(r)
}

/// `[layer][head]` attention weighted by the norms of what each value moves into the output.
fn value_weighted(
    fwd: &models::Forward,
    layers: &[Vec<Mat>],
    out_proj: Vec<Option<(usize, usize, Vec<f32>)>>,
) -> Result<Vec<Vec<Rows>>, String> {
    let shape = fwd.shape;
    layers
        .iter()
        .zip(out_proj)
        .zip(&fwd.layers)
        .map(|((heads, w), blocks)| {
            let (rows, cols, data) = w.ok_or("the model has fewer layers than its attention")?;
            let w_out = Mat::from_row_slice(rows, cols, &data);
            let norms = analysis::value_norms(&blocks.values.to_mat(), &w_out, shape.heads, shape.head_dim);
            Ok(heads.iter().zip(&norms).map(|(a, n)| Rows(analysis::value_weighted(a, n))).collect())
        })
        .collect()
}

/// A decoder's logit lens, `[layer][position]` top-5, from the pass's kept hidden states.
fn logit_lens(m: &arcs_models::arch::llama::Llama, fwd: &models::Forward) -> Result<Vec<Vec<Vec<NextToken>>>, String> {
    Ok(lens_json(&models::logit_lens_of(m, fwd)?))
}

fn lens_json(lens: &models::Lens) -> Vec<Vec<Vec<NextToken>>> {
    lens.iter()
        .map(|layer| {
            layer
                .iter()
                .map(|top| {
                    top.iter().map(|t| NextToken { id: t.id, token: t.token.clone(), prob: Num(t.prob) }).collect()
                })
                .collect()
        })
        .collect()
}

/// The page's JSON export of a real model's view: the CLI's report of the pass (with the logit lens when
/// it is open), the view's share link (`view`), and when two sentences are compared, the second one's
/// report and the token pairs `[a, b]` the compare view aligned (`compare`).
pub fn export(run: &ModelRun, other: Option<&ModelRun>, link: &str) -> String {
    let mut r = report(run, None);
    r.logit_lens = run.logit_lens.as_ref().map(lens_json);
    // The report's own JSON object with more members spliced in before its closing brace (a
    // serde_json::Value tree would add its serializer to the page's wasm for one button).
    let json = r.to_json();
    let Some(body) = json.strip_suffix('}') else { return json };
    let mut out = String::with_capacity(json.len() * if other.is_some() { 2 } else { 1 } + 64);
    out.push_str(body);
    let quoted = serde_json::to_string(&format!("#{link}")).unwrap_or_else(|_| "\"\"".into());
    out.push_str(&format!(",\"view\":{quoted}"));
    if let Some(o) = other {
        let aligned: Vec<String> =
            crate::compare::align(&run.tokens, &o.tokens).iter().map(|(a, b)| format!("[{a},{b}]")).collect();
        out.push_str(&format!(
            ",\"compare\":{{\"report\":{},\"aligned\":[{}]}}",
            report(o, None).to_json(),
            aligned.join(",")
        ));
    }
    out.push('}');
    out
}

/// The CLI report of a model run. `context[layer]` is the heads' context vectors side by side
/// (attn_weights @ V per head, before the output projection), recomputed from the run for the one layer
/// whose V it carries, so it is present only with `--layer`.
pub fn report(run: &ModelRun, layer: Option<usize>) -> Report {
    let layers: Vec<usize> = match layer {
        Some(l) => vec![l],
        // A long pass sent its shown layer only.
        None => (0..run.shape.layers).filter(|&l| run.has_layer(l)).collect(),
    };
    let heads = run.shape.heads;
    let attention = layers.iter().map(|&l| (0..heads).map(|h| Rows(run.attention(l, h))).collect()).collect();
    let context = match layer {
        Some(l) if l == run.layer => {
            let hd = run.shape.head_dim;
            let n = run.num_tokens();
            let mut ctx = Mat::zeros(n, heads * hd);
            for h in 0..heads {
                let v = run.values.columns((h / run.shape.group_size()) * hd, hd);
                let c = matmul(&run.attention(l, h), &v); // (n, n) @ (n, head_dim) -> (n, head_dim)
                ctx.columns_mut(h * hd, hd).copy_from(&c);
            }
            vec![Rows(ctx)]
        }
        _ => Vec::new(),
    };
    let top5 = (!run.top5_next.is_empty()).then(|| {
        run.top5_next.iter().map(|g| NextToken { id: g.id, token: g.token.clone(), prob: Num(g.prob) }).collect()
    });
    Report {
        tokens: run.tokens.clone(),
        mode: Mode::MultiHead.as_str().to_string(),
        model: run.model.as_str().to_string(),
        layers,
        attention,
        context,
        steps: None,
        top5_next: top5,
        rollout: None,
        value_weighted: None,
        head_roles: None,
        logit_lens: None,
    }
}

/// A short human-readable view of a report: the attention matrix of each head with token labels.
pub fn text_summary(r: &Report) -> String {
    let mut out = format!("model {}  mode {}  tokens {}\n", r.model, r.mode, r.tokens.len());
    let width = r.tokens.iter().map(|t| t.chars().count()).max().unwrap_or(0).clamp(4, 12);
    for (l, layer) in r.layers.iter().zip(&r.attention) {
        for (h, head) in layer.iter().enumerate() {
            out.push_str(&format!("\nlayer {l} head {h} attn_weights (rows: queries, columns: keys)\n"));
            out.push_str(&format!("{:width$} ", ""));
            for t in &r.tokens {
                out.push_str(&format!("{:>width$} ", truncate(t, width)));
            }
            out.push('\n');
            for (i, t) in r.tokens.iter().enumerate() {
                out.push_str(&format!("{:>width$} ", truncate(t, width)));
                for j in 0..r.tokens.len() {
                    out.push_str(&format!("{:>width$.4} ", head.0[(i, j)]));
                }
                out.push('\n');
            }
        }
    }
    if let Some(top) = &r.top5_next {
        out.push_str("\nnext token:");
        for t in top {
            out.push_str(&format!("  {:?} {:.3}", t.token, t.prob.0));
        }
        out.push('\n');
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

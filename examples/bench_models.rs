//! Native forward-pass timings of the real models (`./x bench`): medians of several runs at 8, 32 and
//! 128 tokens, written to bench/out/native-models.json. Needs models/ (`./x models`).
//! Also writes bench/out/inputs.json, the token ids of every benchmark sentence, so the peers (candle,
//! ONNX Runtime Web, PyTorch) run on exactly the same tokens. `--inputs-only` writes just that file.

use attention_arcs::models::{forward_bert, forward_llama, ModelKind};
use std::time::Instant;

fn sentence(tokens: usize) -> String {
    // Plain words that each tokenizer keeps as about one token apiece.
    let words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "to", "home"];
    (0..tokens).map(|i| words[i % words.len()]).collect::<Vec<_>>().join(" ")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut() -> usize) -> (f64, Vec<f64>, usize) {
    let mut n = 0;
    let samples: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            n = f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    (median(samples.clone()), samples, n)
}

fn main() -> Result<(), String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read(root.join(p)).map_err(|e| format!("{p}: {e} (run ./x models)"));
    let mut out = serde_json::Map::new();
    let inputs_only = std::env::args().any(|a| a == "--inputs-only");
    let dir = root.join("bench/out");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    let t = Instant::now();
    let minilm =
        arcs_models::minilm::MiniLm::from_bundle(&read("models/minilm/minilm.bundle")?).map_err(|e| e.to_string())?;
    out.insert("minilm_load_bundle_ms".into(), (t.elapsed().as_secs_f64() * 1000.0).into());
    let t = Instant::now();
    let smol = arcs_models::smollm2::SmolLm2::from_gguf(read("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")?)
        .map_err(|e| e.to_string())?;
    out.insert("smollm2_load_ms".into(), (t.elapsed().as_secs_f64() * 1000.0).into());

    let mut inputs = serde_json::Map::new();
    for (name, encode) in [
        ("minilm", &(|t: &str| minilm.tokenizer().encode(t).ids) as &dyn Fn(&str) -> Vec<u32>),
        ("smollm2", &|t: &str| smol.tokenizer().encode(t).ids),
    ] {
        let sizes: serde_json::Map<_, _> = [8usize, 32, 128]
            .iter()
            .map(|&n| (n.to_string(), serde_json::json!({"text": sentence(n), "ids": encode(&sentence(n))})))
            .collect();
        inputs.insert(name.into(), sizes.into());
    }
    let text = serde_json::to_string_pretty(&inputs).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("inputs.json"), text).map_err(|e| e.to_string())?;
    if inputs_only {
        return Ok(());
    }

    for n in [8usize, 32, 128] {
        let text = sentence(n);
        let (med, samples, toks) =
            time(7, || forward_bert(&minilm, ModelKind::MiniLm, &text).map(|f| f.tokens.len()).unwrap_or(0));
        eprintln!("minilm  {toks:4} tokens: median {med:8.1} ms");
        out.insert(
            format!("minilm_forward_ms_{n}"),
            serde_json::json!({"median": med, "samples": samples, "tokens": toks}),
        );
        let reps = if n >= 128 { 3 } else { 5 };
        let (med, samples, toks) =
            time(reps, || forward_llama(&smol, ModelKind::SmolLm2, &text).map(|f| f.tokens.len()).unwrap_or(0));
        eprintln!("smollm2 {toks:4} tokens: median {med:8.1} ms");
        out.insert(
            format!("smollm2_forward_ms_{n}"),
            serde_json::json!({"median": med, "samples": samples, "tokens": toks}),
        );
    }
    research_views(&mut out, &smol)?;
    open_as_user_files(&mut out, root)?;
    let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("native-models.json"), text).map_err(|e| e.to_string())?;
    Ok(())
}

/// The research views' cost on SmolLM2 at 32 words, next to the pass they read: every head's role scores
/// (the scores plus the induction pass over 25 seeded tokens twice; the budget is two passes' time) and
/// the logit lens (30 unembeddings). Compare costs one more pass of the second sentence.
fn research_views(
    out: &mut serde_json::Map<String, serde_json::Value>,
    smol: &arcs_models::smollm2::SmolLm2,
) -> Result<(), String> {
    use attention_arcs::models::{induction_scores, induction_tokens, logit_lens_of};
    let text = sentence(32);
    let f = forward_llama(smol, ModelKind::SmolLm2, &text)?;
    let ids = induction_tokens(smol.config().vocab_size);
    let (med, samples, _) = time(5, || {
        let induction = induction_scores(smol, &ids).map(|s| s.concat()).unwrap_or_default();
        f.roles(induction).previous_token.len()
    });
    eprintln!("smollm2 head roles, {} tokens: median {med:8.1} ms", f.tokens.len());
    out.insert("smollm2_head_roles_ms_32".into(), serde_json::json!({"median": med, "samples": samples}));
    let (med, samples, _) = time(3, || logit_lens_of(smol, &f).map(|l| l.len()).unwrap_or(0));
    eprintln!("smollm2 logit lens, {} tokens: median {med:8.1} ms", f.tokens.len());
    out.insert("smollm2_logit_lens_ms_32".into(), serde_json::json!({"median": med, "samples": samples}));
    Ok(())
}

/// "Open your own model" on the built-in models' own files: time to ready from the bytes (MiniLM's HF
/// folder, SmolLM2's GGUF) and forward passes at 32 and 128 words, through `arcs_models::open`, plus this
/// process's peak memory (Linux VmHWM).
fn open_as_user_files(
    out: &mut serde_json::Map<String, serde_json::Value>,
    root: &std::path::Path,
) -> Result<(), String> {
    use arcs_models::open::{open, ModelFile, OpenedModel};
    let file = |dir: &str, name: &str| -> Result<ModelFile, String> {
        let bytes = std::fs::read(root.join(dir).join(name)).map_err(|e| format!("{dir}/{name}: {e}"))?;
        Ok(ModelFile { name: name.into(), bytes })
    };
    let cases = [
        (
            "minilm_folder",
            vec![
                file("models/minilm", "config.json")?,
                file("models/minilm", "model.safetensors")?,
                file("models/minilm", "tokenizer.json")?,
            ],
        ),
        ("smollm2_gguf", vec![file("models/smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")?]),
    ];
    for (name, files) in cases {
        let t = Instant::now();
        let model = open(files).map_err(|e| e.to_string())?;
        let ready_ms = t.elapsed().as_secs_f64() * 1000.0;
        eprintln!("{name}: ready in {ready_ms:.1} ms");
        out.insert(format!("open_{name}_ready_ms"), ready_ms.into());
        for n in [32usize, 128] {
            let text = sentence(n);
            let (med, samples, toks) = time(if n >= 128 { 3 } else { 5 }, || match &model {
                OpenedModel::Bert(m) => forward_bert(m, ModelKind::File, &text).map(|f| f.tokens.len()).unwrap_or(0),
                OpenedModel::Llama(m) => forward_llama(m, ModelKind::File, &text).map(|f| f.tokens.len()).unwrap_or(0),
            });
            eprintln!("{name} {toks:4} tokens: median {med:8.1} ms");
            out.insert(
                format!("open_{name}_forward_ms_{n}"),
                serde_json::json!({"median": med, "samples": samples, "tokens": toks}),
            );
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(kb) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
    {
        out.insert("peak_memory_bytes".into(), (kb * 1024).into());
    }
    Ok(())
}

//! The `attn` CLI's contract: its JSON equals the library's result, and mistakes exit with code 2.

use arcs_core::{Mode, Request, Source};
use serde_json::Value;
use std::process::Command;

fn attn(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attn")).args(args).output().expect("attn runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = attn(args);
    assert_eq!(code, 0, "attn {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("attn {args:?}: not JSON ({e}): {out}"))
}

fn f(v: &Value) -> f32 {
    match v.as_str() {
        Some("-inf") => f32::NEG_INFINITY,
        Some("inf") => f32::INFINITY,
        Some("nan") => f32::NAN,
        _ => v.as_f64().expect("number") as f32,
    }
}

#[test]
fn json_equals_the_library_for_every_mode() {
    for mode in Mode::ALL {
        for sentence in [None, Some("The cat sat on the mat, didn't it?")] {
            let mut args = vec!["--mode", mode.as_str(), "--json", "--seed", "9"];
            let source = match sentence {
                Some(s) => {
                    args.extend(["--sentence", s, "--d-in", "5", "--d-out", "4"]);
                    Source::Sentence(s.into())
                }
                None => {
                    args.extend(["--preset", "book"]);
                    Source::Book
                }
            };
            let v = json(&args);
            let req = Request {
                source: source.clone(),
                mode,
                seed: 9,
                d_in: if sentence.is_some() { 5 } else { 3 },
                d_out: sentence.map(|_| 4),
                ..Request::default()
            };
            let a = req.run().expect("library runs");
            assert_eq!(v["mode"], mode.as_str());
            assert_eq!(v["model"], "toy");
            assert_eq!(v["layers"], serde_json::json!([0]));
            let tokens: Vec<&str> =
                v["tokens"].as_array().expect("tokens").iter().map(|t| t.as_str().expect("str")).collect();
            assert_eq!(tokens, a.tokens);
            let heads = v["attention"][0].as_array().expect("attention[0]");
            assert_eq!(heads.len(), a.heads.len());
            let n = a.num_tokens();
            for (h, (head, json)) in a.heads.iter().zip(heads).enumerate() {
                let rows = json.as_array().expect("rows");
                assert_eq!(rows.len(), n);
                for (i, row) in rows.iter().enumerate() {
                    let row = row.as_array().expect("row");
                    assert_eq!(row.len(), n);
                    for (j, w) in row.iter().enumerate() {
                        // Bit-for-bit: the JSON writes the shortest decimal that reads back to the same f32.
                        assert_eq!(f(w).to_bits(), head.attn_weights[(i, j)].to_bits(), "{mode:?} head {h} [{i}][{j}]");
                    }
                }
            }
            for i in 0..a.num_tokens() {
                for d in 0..a.context.ncols() {
                    assert_eq!(f(&v["context"][0][i][d]).to_bits(), a.context[(i, d)].to_bits());
                }
            }
            assert!(v["steps"]["heads"][0]["attn_scores"].is_array());
        }
    }
}

#[test]
fn causal_rows_are_post_softmax_with_exact_zeros_and_dropout_is_reported() {
    let v = json(&[
        "--sentence",
        "one two three four",
        "--mode",
        "causal",
        "--dropout",
        "0.5",
        "--mask",
        "renormalize",
        "--json",
    ]);
    let rows = v["attention"][0][0].as_array().expect("rows");
    for (i, row) in rows.iter().enumerate() {
        let row: Vec<f32> = row.as_array().expect("row").iter().map(f).collect();
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(row[i + 1..].iter().all(|&w| w == 0.0));
    }
    assert!(v["steps"]["heads"][0]["keep_mask"].is_array());
    assert!(v["steps"]["heads"][0]["attn_weights_dropout"].is_array());
    let v = json(&["--mode", "causal", "--json"]);
    assert_eq!(v["steps"]["heads"][0]["masked_scores"][0][1], "-inf", "non-finite numbers are strings");
}

#[test]
fn weights_file_is_used() {
    let dir = std::env::temp_dir().join(format!("attn-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("w.json");
    // Identity-like weights make Q = K = V = X[:, :2]: the result is checkable by hand.
    std::fs::write(
        &path,
        r#"{"W_query": [[1,0],[0,1],[0,0]], "W_key": [[1,0],[0,1],[0,0]], "W_value": [[1,0],[0,1],[0,0]]}"#,
    )
    .expect("write");
    let v = json(&["--mode", "self", "--weights", path.to_str().expect("utf8"), "--json"]);
    let q = &v["steps"]["heads"][0]["queries"];
    assert_eq!(f(&q[0][0]), 0.43);
    assert_eq!(f(&q[0][1]), 0.15);
    std::fs::write(&path, r#"{"W_query": [[1e39]], "W_key": [[1]], "W_value": [[1]]}"#).expect("write");
    let (code, _, err) = attn(&["--mode", "self", "--weights", path.to_str().expect("utf8"), "--json"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a finite f32"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mistakes_exit_with_code_2_and_say_what_is_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (&["--mode", "self", "--model", "nonsense", "--json"], "unknown model"),
        (&["--mode", "multi-head", "--sentence", "a b c", "--d-out", "6", "--heads", "4", "--json"], "do not divide"),
        (&["--mode", "causal", "--dropout", "1", "--json"], "below 1"),
        (&["--mode", "self", "--sentence", "   ", "--json"], "no words"),
        (&["--mode", "self", "--sentence", "", "--json"], "no words"),
        (&["--mode", "self", "--weights", "/nonexistent/w.json", "--json"], "cannot read weights file"),
        (&["--mode", "self", "--d-out", "0", "--sentence", "a", "--json"], "between 1 and"),
        (&["--json"], "--mode is required"),
    ];
    for (args, want) in cases {
        let (code, out, err) = attn(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(out.is_empty(), "{args:?} printed to stdout: {out}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, out, _) = attn(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--mode"));
}

/// Real-model tests need `models/` (`./x models`); `./x test` sets ARCS_REQUIRE_MODELS=1 so a missing
/// model fails there instead of skipping.
fn models_present(file: &str) -> bool {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
    if p.exists() {
        return true;
    }
    assert!(
        std::env::var("ARCS_REQUIRE_MODELS").as_deref() != Ok("1"),
        "model files missing: run scripts/fetch-models.sh ({})",
        p.display()
    );
    eprintln!("skipped: {} missing (run ./x models)", p.display());
    false
}

fn reference(name: &str) -> Value {
    let path = format!("{}/reference/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("reference JSON")
}

/// Largest |difference| between two `[head][query][key]` JSON blocks; a missing head or row counts as
/// infinitely different, so a short answer cannot pass.
fn max_head_diff(got: &Value, want: &Value, heads: usize) -> f32 {
    let mut worst = 0f32;
    for h in 0..heads {
        let (g, w) = (got[h].as_array(), want[h].as_array());
        let (Some(g), Some(w)) = (g, w) else { return f32::INFINITY };
        if g.len() != w.len() {
            return f32::INFINITY;
        }
        for (gr, wr) in g.iter().zip(w) {
            for (x, y) in gr.as_array().expect("row").iter().zip(wr.as_array().expect("row")) {
                worst = worst.max((f(x) - f(y)).abs());
            }
        }
    }
    worst
}

fn sentences(r: &Value) -> Vec<Value> {
    r["sentences"].as_array().cloned().or_else(|| r.as_array().cloned()).unwrap_or_default()
}

#[test]
fn minilm_cli_matches_hf_transformers() {
    if !models_present("minilm/model.safetensors") {
        return;
    }
    let r = reference("minilm_reference.json");
    let s = &sentences(&r)[0];
    let text = s["text"].as_str().or_else(|| s["sentence"].as_str()).expect("sentence text");
    let v = json(&["--model", "minilm", "--mode", "multi-head", "--sentence", text, "--layer", "3", "--json"]);
    assert_eq!(v["tokens"], s["tokens"]);
    assert_eq!(v["layers"], serde_json::json!([3]));
    let worst = max_head_diff(&v["attention"][0], &s["attentions"][3], 12);
    assert!(worst < 1e-4, "max attention difference {worst}");
    assert_eq!(v["context"][0].as_array().expect("context").len(), s["tokens"].as_array().expect("tokens").len());
}

#[test]
fn smollm2_cli_matches_hf_transformers() {
    if !models_present("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") {
        return;
    }
    let r = reference("smollm2_reference.json");
    let s = &sentences(&r)[0];
    let text = s["text"].as_str().or_else(|| s["sentence"].as_str()).expect("sentence text");
    let v = json(&["--model", "smollm2", "--mode", "multi-head", "--sentence", text, "--json"]);
    assert_eq!(v["layers"].as_array().expect("layers").len(), 30);
    assert_eq!(v["attention"][29].as_array().expect("heads").len(), 9);
    let want_top = &s["top5_next"][0];
    let want_id = want_top["id"].as_u64().or_else(|| want_top["token_id"].as_u64()).or_else(|| want_top[0].as_u64());
    assert_eq!(v["top5_next"][0]["id"].as_u64(), want_id, "top-1 next token");
    let layer = r["attention_layers"]
        .as_array()
        .or_else(|| s["attention_layers"].as_array())
        .and_then(|a| a.first())
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let worst = max_head_diff(&v["attention"][layer], &s["attention"][0], 9);
    assert!(worst < 1e-3, "max attention difference {worst}");
}

#[test]
fn model_cli_mistakes_exit_with_code_2() {
    for (args, want) in [
        (&["--model", "minilm", "--mode", "self", "--sentence", "x"][..], "use --mode multi-head"),
        (&["--model", "minilm", "--mode", "multi-head"][..], "needs --sentence"),
        (&["--model", "smollm2", "--mode", "multi-head", "--sentence", "x", "--seed", "3"][..], "toy model only"),
        (&["--model", "minilm", "--mode", "multi-head", "--sentence", "x", "--layer", "6"][..], "out of range"),
    ] {
        let (code, _, err) = attn(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// Largest |difference| between two equally shaped nested JSON arrays of numbers (nulls must match);
/// a shape mismatch is infinitely different.
fn max_nested_diff(got: &Value, want: &Value) -> f32 {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            g.iter().zip(w).map(|(x, y)| max_nested_diff(x, y)).fold(0.0, f32::max)
        }
        (Value::Null, Value::Null) => 0.0,
        (g, w) if g.is_number() && w.is_number() => (f(g) - f(w)).abs(),
        _ => f32::INFINITY,
    }
}

/// `--analysis all` on the real models against numpy's rollout and head roles from HF transformers'
/// attention (reference/analysis_reference.json): 1e-4 for MiniLM's f32 path, 1e-3 for SmolLM2's
/// quantised weights, as the stored attentions themselves agree.
#[test]
fn analysis_matches_an_independent_computation_from_hf_attention() {
    let r = reference("analysis_reference.json");
    for (model, file, tol) in
        [("minilm", "minilm/model.safetensors", 1e-4f32), ("smollm2", "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", 1e-3)]
    {
        if !models_present(file) {
            continue;
        }
        let cases = r["models"][model].as_array().expect("reference sentences");
        assert!(cases.len() >= 3, "{model}: a few sentences");
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let v =
                json(&["--model", model, "--mode", "multi-head", "--sentence", text, "--json", "--analysis", "all"]);
            let layers = if model == "minilm" { 6 } else { 30 };
            assert_eq!(v["rollout"].as_array().map(Vec::len), Some(layers), "{model}: one rollout a layer");
            let worst = max_nested_diff(&v["rollout"], &case["rollout"]);
            assert!(worst < tol, "{model} {text:?}: rollout differs by {worst}");
            for role in ["previous_token", "first_token", "self", "entropy_bits", "mean_distance", "duplicate_token"] {
                let worst = max_nested_diff(&v["head_roles"][role], &case["head_roles"][role]);
                // Entropy weighs tiny weights by their logarithm: a 1e-5 weight error moves it ~20x more.
                let tol = if role == "entropy_bits" { tol * 10.0 } else { tol };
                assert!(worst < tol, "{model} {text:?}: {role} differs by {worst}");
            }
            let induction = &v["head_roles"]["induction"];
            if model == "minilm" {
                assert!(induction.is_null(), "an encoder has no induction score");
            } else {
                assert_eq!(induction.as_array().map(Vec::len), Some(30));
            }
        }
    }
}

/// Heads the literature expects: a previous-token head in both models, an induction head in SmolLM2.
#[test]
fn analysis_finds_known_heads() {
    let max_of = |v: &Value| -> (f32, usize, usize) {
        let mut best = (f32::MIN, 0, 0);
        for (l, heads) in v.as_array().expect("layers").iter().enumerate() {
            for (h, x) in heads.as_array().expect("heads").iter().enumerate() {
                if f(x) > best.0 {
                    best = (f(x), l, h);
                }
            }
        }
        best
    };
    let text = "The cat that was sitting on the mat, which was next to the dog, jumped over the fence.";
    for (model, file) in
        [("minilm", "minilm/model.safetensors"), ("smollm2", "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")]
    {
        if !models_present(file) {
            continue;
        }
        let v =
            json(&["--model", model, "--mode", "multi-head", "--sentence", text, "--json", "--analysis", "head-roles"]);
        assert!(v.get("rollout").is_none(), "only what was asked for");
        let (score, l, h) = max_of(&v["head_roles"]["previous_token"]);
        assert!(score > 0.5, "{model}: best previous-token head L{l}H{h} scores {score}");
        eprintln!("{model}: previous-token head L{l}H{h} {score:.3}");
        if model == "smollm2" {
            let (score, l, h) = max_of(&v["head_roles"]["induction"]);
            assert!(score > 0.5, "smollm2: best induction head L{l}H{h} scores {score}");
            eprintln!("smollm2: induction head L{l}H{h} {score:.3}");
        }
    }
    let (code, _, err) =
        attn(&["--model", "minilm", "--mode", "multi-head", "--sentence", "a b", "--analysis", "logit-lens"]);
    assert_eq!(code, 2);
    assert!(err.contains("for decoders"), "{err}");
    let (code, _, err) =
        attn(&["--model", "minilm", "--mode", "multi-head", "--sentence", "a b", "--analysis", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown analysis"), "{err}");
}

/// Value-weighted attention and the logit lens against HF transformers' own modules
/// (reference/model_analysis_reference.json): value-weighted within 1e-4 (MiniLM, f32) and 1e-3
/// (SmolLM2's quantised weights); the lens's top-5 ids equal at every layer and position, probabilities
/// within 1e-3, and its last layer equal to the next-word guesses bit for bit.
#[test]
fn value_weighted_and_logit_lens_match_hf_transformers() {
    let r = reference("model_analysis_reference.json");
    for (model, file, tol) in
        [("minilm", "minilm/model.safetensors", 1e-4f32), ("smollm2", "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", 1e-3)]
    {
        if !models_present(file) {
            continue;
        }
        for case in r["models"][model].as_array().expect("reference sentences") {
            let text = case["text"].as_str().expect("text");
            let v =
                json(&["--model", model, "--mode", "multi-head", "--sentence", text, "--json", "--analysis", "all"]);
            let worst = max_nested_diff(&v["value_weighted"], &case["value_weighted"]);
            assert!(worst < tol, "{model} {text:?}: value-weighted attention differs by {worst}");
            if model == "minilm" {
                assert!(v.get("logit_lens").is_none(), "an encoder has no logit lens");
                continue;
            }
            let (got, want) = (v["logit_lens"].as_array().expect("lens"), case["logit_lens"].as_array().expect("lens"));
            assert_eq!(got.len(), 30);
            for (l, (gl, wl)) in got.iter().zip(want).enumerate() {
                for (p, (gp, wp)) in
                    gl.as_array().expect("positions").iter().zip(wl.as_array().expect("positions")).enumerate()
                {
                    let ids =
                        |x: &Value| x.as_array().expect("top5").iter().map(|e| e["id"].as_u64()).collect::<Vec<_>>();
                    assert_eq!(ids(gp), ids(wp), "{model} layer {l} position {p}: top-5 ids");
                    for (g, w) in gp.as_array().expect("top5").iter().zip(wp.as_array().expect("top5")) {
                        assert!((f(&g["prob"]) - f(&w["prob"])).abs() < 1e-3, "layer {l} position {p}: {g} vs {w}");
                    }
                }
            }
            assert_eq!(
                got[29].as_array().and_then(|p| p.last()),
                Some(&v["top5_next"]),
                "the lens ends in the model's guess"
            );
        }
    }
}

/// `--model PATH`: the built-in models opened from their own files give the same JSON (but the name),
/// and a tiny GGUF fixture prints the contract's fields.
#[test]
fn model_paths_give_the_same_numbers_as_the_built_in_models() {
    let root = env!("CARGO_MANIFEST_DIR");
    let tiny = format!("{root}/reference/tiny/qwen2-mha.Q4_1.gguf");
    let v =
        json(&["--model", &tiny, "--mode", "multi-head", "--sentence", "The cat sat.", "--json", "--analysis", "all"]);
    assert_eq!(v["model"], "qwen2-mha.Q4_1.gguf");
    assert_eq!(v["attention"].as_array().expect("layers").len(), 2);
    assert_eq!(v["attention"][1].as_array().expect("heads").len(), 6);
    assert_eq!(v["top5_next"].as_array().expect("a decoder's next tokens").len(), 5);
    assert_eq!(v["logit_lens"].as_array().expect("logit lens").len(), 2);
    let layer1 =
        json(&["--model", &tiny, "--mode", "multi-head", "--sentence", "The cat sat.", "--json", "--layer", "1"]);
    assert_eq!(layer1["attention"][0], v["attention"][1], "--layer L slices the same pass");

    let cases = [
        ("minilm/model.safetensors", "minilm", format!("{root}/models/minilm")),
        (
            "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            "smollm2",
            format!("{root}/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        ),
    ];
    for (file, name, path) in cases {
        if !models_present(file) {
            continue;
        }
        let args = |m: &str| {
            ["--model", m, "--mode", "multi-head", "--sentence", "The animal was tired.", "--json"].map(String::from)
        };
        let by_name = json(&args(name).each_ref().map(String::as_str));
        let mut by_path = json(&args(&path).each_ref().map(String::as_str));
        by_path["model"] = by_name["model"].clone();
        assert!(by_path == by_name, "{path}: the generic path differs from the built-in {name}");
    }
}

#[test]
fn model_path_mistakes_name_the_problem() {
    let root = env!("CARGO_MANIFEST_DIR");
    let reference_dir = format!("{root}/reference");
    let not_a_model = format!("{root}/reference/README.md");
    for (model, want) in [
        ("./no/such/place", "no such file or folder"),
        (reference_dir.as_str(), "no model files here"),
        (not_a_model.as_str(), "missing config.json"),
    ] {
        let (code, _, err) = attn(&["--model", model, "--mode", "multi-head", "--sentence", "x"]);
        assert_eq!(code, 2, "{model}: {err}");
        assert!(err.contains(want), "{model}: {err}");
    }
}

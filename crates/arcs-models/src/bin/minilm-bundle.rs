//! Writes the compact browser bundle (see `arcs_models::minilm::bundle`) from the Hugging Face files.
//!
//! Usage: `minilm-bundle MODEL_DIR OUT_FILE`, e.g.
//! `cargo run --release -p arcs-models --bin minilm-bundle -- models/minilm models/minilm/minilm.bundle`
//! MODEL_DIR must hold `model.safetensors` and `vocab.txt`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arcs_models::minilm::{encode_bundle, MiniLm};

/// The browser download budget the bundle has to stay under.
const BUDGET_BYTES: usize = 23_000_000;

fn run(model_dir: &Path, out: &Path) -> Result<(), String> {
    let read = |name: &str| {
        let path = model_dir.join(name);
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let safetensors = read("model.safetensors")?;
    let vocab = String::from_utf8(read("vocab.txt")?).map_err(|_| "vocab.txt is not UTF-8".to_string())?;
    let model = MiniLm::from_safetensors(&safetensors, &vocab).map_err(|e| e.to_string())?;
    let bundle = encode_bundle(&model);
    // Refuse to write something the loader would not accept.
    MiniLm::from_bundle(&bundle).map_err(|e| format!("internal error, bundle does not load back: {e}"))?;
    std::fs::write(out, &bundle).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "wrote {} ({} bytes, {:.2} MB; safetensors was {} bytes; budget {} bytes, {} to spare)",
        out.display(),
        bundle.len(),
        bundle.len() as f64 / 1e6,
        safetensors.len(),
        BUDGET_BYTES,
        BUDGET_BYTES as i64 - bundle.len() as i64
    );
    if bundle.len() > BUDGET_BYTES {
        return Err(format!("bundle is over the {BUDGET_BYTES}-byte budget"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_dir, out] = args.as_slice() else {
        eprintln!("usage: minilm-bundle MODEL_DIR OUT_FILE   (e.g. models/minilm models/minilm/minilm.bundle)");
        return ExitCode::from(2);
    };
    match run(&PathBuf::from(model_dir), &PathBuf::from(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minilm-bundle: {e}");
            ExitCode::FAILURE
        }
    }
}

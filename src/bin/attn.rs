//! `attn`: the engine's numbers on the command line, as JSON for scripts and outside checks.
//! The argument grammar and the JSON schema are a contract; see README.md ("The attn CLI").

use arcs_core::cli::{self, CliArgs};
use arcs_core::weights::CustomWeights;
use arcs_core::Report;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            use std::io::Write;
            // A closed pipe (`attn ... | head`) is the reader's choice, not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{out}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("attn: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let parsed = cli::parse(args).map_err(|e| format!("{e}\n(attn --help lists the options)"))?;
    if parsed.help {
        return Ok(format!("{}\n{}", cli::USAGE.trim_end(), attention_arcs::cli_models::MODELS_HELP.trim_end()));
    }
    let report = match parsed.model.as_str() {
        cli::TOY => toy(&parsed)?,
        other => attention_arcs::cli_models::run(other, &parsed)?,
    };
    Ok(if parsed.json { report.to_json() } else { attention_arcs::cli_models::text_summary(&report) })
}

fn toy(parsed: &CliArgs) -> Result<Report, String> {
    if parsed.layer.is_some_and(|l| l != 0) {
        return Err("the toy model has one layer: --layer 0 or nothing".into());
    }
    let mut request = parsed.request.clone();
    if let Some(path) = &parsed.weights_path {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read weights file {path:?}: {e}"))?;
        request.weights = Some(CustomWeights::from_json(&text).map_err(|e| e.to_string())?);
    }
    let attention = request.run().map_err(|e| e.to_string())?;
    Ok(Report::from_attention(&attention, true))
}

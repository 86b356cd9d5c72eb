//! The `attn` CLI's real-model paths and its plain-text output.

use arcs_core::cli::CliArgs;
use arcs_core::Report;

/// Runs a real model for the CLI.
pub fn run(model: &str, _args: &CliArgs) -> Result<Report, String> {
    Err(format!("model {model:?} is not wired into the CLI yet"))
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
    out
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

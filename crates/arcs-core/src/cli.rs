//! Argument parsing for the `attn` CLI, kept here (pure, no I/O) so it is unit-tested and fuzzable.
//!
//! ```text
//! attn [--preset book | --sentence TEXT] --mode simplified|self|causal|multi-head
//!      [--model toy] [--seed N] [--d-out N] [--heads N] [--dropout P] [--mask neg-inf|renormalize]
//!      [--weights FILE] --json
//! ```
//! plus `--d-in N`, `--no-scale`, `--normalization softmax|sum|naive-softmax`, `--no-causal` (multi-head),
//! `--layer L` (real models) and `--help`. Both `--flag value` and `--flag=value` work.

use crate::attention::{MaskStyle, Mode, Normalization};
use crate::request::{Request, Source};

/// The toy engine's name; the engine knows no other model (the `attn` binary names the real ones and
/// checks `--model` against them).
pub const TOY: &str = "toy";

pub const USAGE: &str = "\
attn: attention from chapter 3 of Build a Large Language Model (From Scratch), as numbers

usage: attn [--preset book | --sentence TEXT] --mode simplified|self|causal|multi-head [options] [--json]

  --preset book           the chapter's example (default when no sentence is given)
  --sentence TEXT         any sentence (toy model: seeded embeddings and weights)
  --mode M                simplified | self | causal | multi-head
  --model NAME            toy (default), or a real model (listed below)
  --seed N                seed for toy embeddings, weights and dropout (default 123)
  --d-in N                toy embedding size (default 3, like the book)
  --d-out N               output size (default 2, like the book)
  --heads N               heads in multi-head mode (default 2); must divide d-out
  --dropout P             dropout on attention weights, 0 <= P < 1 (causal, multi-head)
  --mask neg-inf|renormalize   causal masking convention (default neg-inf)
  --no-scale              do not divide scores by sqrt(head_dim)
  --normalization N       simplified mode: softmax (default) | sum | naive-softmax
  --no-causal             multi-head mode without the causal mask
  --weights FILE          W_query/W_key/W_value[/out_proj] as JSON, x @ W orientation
  --layer L               real models: only this layer
  --analysis A            real models: rollout | head-roles | value-weighted | logit-lens | all
  --json                  print the JSON report (see README)
  --help                  this text
";

/// What `--analysis` adds to a real model's report (README, "The attn CLI").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Analysis {
    Rollout,
    HeadRoles,
    ValueWeighted,
    LogitLens,
    All,
}

impl Analysis {
    pub fn parse(s: &str) -> Option<Analysis> {
        Some(match s {
            "rollout" => Analysis::Rollout,
            "head-roles" => Analysis::HeadRoles,
            "value-weighted" => Analysis::ValueWeighted,
            "logit-lens" => Analysis::LogitLens,
            "all" => Analysis::All,
            _ => return None,
        })
    }

    /// Whether this request includes `part` (`All` includes every part).
    pub fn includes(self, part: Analysis) -> bool {
        self == Analysis::All || self == part
    }
}

/// Parsed command line, before any file is read.
#[derive(Clone, Debug, PartialEq)]
pub struct CliArgs {
    pub request: Request,
    pub model: String,
    pub weights_path: Option<String>,
    pub layer: Option<usize>,
    /// Real models: summaries to add to the report (`--analysis`).
    pub analysis: Option<Analysis>,
    pub json: bool,
    pub help: bool,
    /// Options given explicitly (so real models can refuse toy-only ones).
    pub given: Vec<String>,
}

/// A command-line mistake; the CLI prints it with the usage line and exits with code 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

fn bad<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(msg.into()))
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, CliError> {
    v.trim().parse().map_err(|_| CliError(format!("{flag} expects a whole number, got {v:?}")))
}

/// Parses arguments (without the program name).
pub fn parse(args: &[String]) -> Result<CliArgs, CliError> {
    let mut request = Request::default();
    let mut mode: Option<Mode> = None;
    let mut sentence: Option<String> = None;
    let mut preset = false;
    let mut out = CliArgs {
        request: Request::default(),
        model: "toy".into(),
        weights_path: None,
        layer: None,
        analysis: None,
        json: false,
        help: false,
        given: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let takes_value = matches!(
            flag,
            "--preset"
                | "--sentence"
                | "--mode"
                | "--model"
                | "--seed"
                | "--d-in"
                | "--d-out"
                | "--heads"
                | "--dropout"
                | "--mask"
                | "--normalization"
                | "--weights"
                | "--layer"
                | "--analysis"
        );
        let value = if takes_value {
            match inline.or_else(|| it.next().cloned()) {
                Some(v) => v,
                None => return bad(format!("{flag} needs a value")),
            }
        } else if inline.is_some() {
            return bad(format!("{flag} takes no value"));
        } else {
            String::new()
        };
        if out.given.iter().any(|g| g == flag) {
            return bad(format!("{flag} is given twice"));
        }
        out.given.push(flag.to_string());
        match flag {
            "--preset" => {
                if value != "book" {
                    return bad(format!("unknown preset {value:?}: the only preset is 'book'"));
                }
                preset = true;
            }
            "--sentence" => sentence = Some(value),
            "--mode" => {
                mode = Some(Mode::parse(&value).ok_or_else(|| {
                    CliError(format!("unknown mode {value:?}: use simplified, self, causal or multi-head"))
                })?)
            }
            "--model" => {
                if value.trim().is_empty() {
                    return bad("--model needs a name or a path".to_string());
                }
                out.model = value;
            }
            "--seed" => request.seed = parse_num(flag, &value)?,
            "--d-in" => request.d_in = parse_num(flag, &value)?,
            "--d-out" => request.d_out = Some(parse_num(flag, &value)?),
            "--heads" => request.heads = Some(parse_num(flag, &value)?),
            "--dropout" => {
                let p: f32 =
                    value.trim().parse().map_err(|_| CliError(format!("--dropout expects a number, got {value:?}")))?;
                if !(0.0..1.0).contains(&p) {
                    return bad(format!("--dropout must be at least 0 and below 1, got {value}"));
                }
                request.dropout = p;
            }
            "--mask" => {
                request.mask = MaskStyle::parse(&value)
                    .ok_or_else(|| CliError(format!("unknown mask {value:?}: use neg-inf or renormalize")))?
            }
            "--normalization" => {
                request.normalization = Normalization::parse(&value).ok_or_else(|| {
                    CliError(format!("unknown normalization {value:?}: use softmax, sum or naive-softmax"))
                })?
            }
            "--no-scale" => request.scale = false,
            "--no-causal" => request.causal_heads = false,
            "--weights" => out.weights_path = Some(value),
            "--layer" => out.layer = Some(parse_num(flag, &value)?),
            "--analysis" => {
                out.analysis = Some(Analysis::parse(&value).ok_or_else(|| {
                    CliError(format!(
                        "unknown analysis {value:?}: use rollout, head-roles, value-weighted, logit-lens or all"
                    ))
                })?)
            }
            "--json" => out.json = true,
            "--help" | "-h" => out.help = true,
            other => return bad(format!("unknown option {other:?} (see --help)")),
        }
    }
    if out.help {
        return Ok(out);
    }
    request.source = match (preset, sentence) {
        (true, Some(_)) => return bad("--preset and --sentence exclude each other"),
        (_, Some(s)) => Source::Sentence(s),
        (_, None) => Source::Book,
    };
    request.mode = match mode {
        Some(m) => m,
        None => return bad("--mode is required: simplified, self, causal or multi-head"),
    };
    if let Some(h) = request.heads {
        if h == 0 {
            return bad("--heads must be at least 1");
        }
    }
    out.request = request;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_the_contract_example() {
        let a = parse(&args(&[
            "--sentence",
            "The cat sat",
            "--mode",
            "multi-head",
            "--model",
            "toy",
            "--seed",
            "7",
            "--d-out",
            "8",
            "--heads=4",
            "--dropout",
            "0.1",
            "--mask",
            "renormalize",
            "--json",
        ]))
        .expect("valid");
        assert_eq!(a.request.source, Source::Sentence("The cat sat".into()));
        assert_eq!(a.request.mode, Mode::MultiHead);
        assert_eq!((a.request.seed, a.request.d_out, a.request.heads), (7, Some(8), Some(4)));
        assert_eq!(a.request.mask, MaskStyle::Renormalize);
        assert!(a.json);
        let b = parse(&args(&["--preset", "book", "--mode", "self"])).expect("valid");
        assert_eq!(b.request.source, Source::Book);
    }

    #[test]
    fn rejects_bad_options_with_specific_messages() {
        let cases: &[(&[&str], &str)] = &[
            (&["--mode", "sideways"], "unknown mode"),
            (&["--mode", "self", "--model", " "], "needs a name or a path"),
            (&["--mode", "self", "--dropout", "1.0"], "below 1"),
            (&["--mode", "self", "--dropout", "-1"], "at least 0"),
            (&["--mode", "self", "--dropout", "NaN"], "below 1"),
            (&["--mode", "self", "--seed", "x"], "whole number"),
            (&["--mode", "self", "--heads", "0"], "at least 1"),
            (&["--mode"], "needs a value"),
            (&["--sentence", "a"], "--mode is required"),
            (&["--mode", "self", "--frobnicate"], "unknown option"),
            (&["--mode", "self", "--json=yes"], "takes no value"),
            (&["--mode", "self", "--mode", "causal"], "given twice"),
            (&["--preset", "book", "--sentence", "hi", "--mode", "self"], "exclude each other"),
            (&["--preset", "shakespeare", "--mode", "self"], "unknown preset"),
            (&["--mode", "causal", "--mask", "zero"], "unknown mask"),
        ];
        for (a, want) in cases {
            let e = parse(&args(a)).expect_err(&format!("{a:?}"));
            assert!(e.0.contains(want), "{a:?}: {e}");
        }
    }
}

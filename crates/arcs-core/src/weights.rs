//! Where weights come from besides the book: the seeded toy model, and a reader's own JSON file.
#![allow(non_snake_case)]

use crate::attention::{HeadWeights, Linear};
use crate::prng::SplitMix64;
use crate::tensor::Mat;
use nalgebra::DVector;
use serde_json::Value;
use std::fmt;

/// Toy embeddings: each token gets `d_in` numbers uniform in [0, 1) (like the book's hand-picked ones),
/// drawn from a stream named after the lower-cased token, so a word has the same embedding in every
/// sentence for a given seed.
pub fn seeded_embeddings(tokens: &[String], seed: u64, d_in: usize) -> Mat {
    let mut x = Mat::zeros(tokens.len(), d_in);
    for (i, t) in tokens.iter().enumerate() {
        let mut rng = SplitMix64::stream(seed, "emb", &t.to_lowercase());
        for j in 0..d_in {
            x[(i, j)] = rng.next_f32();
        }
    }
    x
}

/// Toy weights for a seed: W_query, W_key, W_value uniform in [0, 1) like `torch.rand(d_in, d_out)`
/// (SelfAttention_v1), drawn in that order row by row; out_proj and its bias uniform in
/// [-1/sqrt(d_out), 1/sqrt(d_out)) like `nn.Linear`'s default initialisation.
pub fn seeded_weights(seed: u64, d_in: usize, d_out: usize) -> (HeadWeights, Linear) {
    let mut rng = SplitMix64::stream(seed, "weights", &format!("{d_in}x{d_out}"));
    let mut draw = |rows: usize, cols: usize, lo: f32, hi: f32| {
        let mut m = Mat::zeros(rows, cols);
        for i in 0..rows {
            for j in 0..cols {
                m[(i, j)] = rng.uniform(lo, hi);
            }
        }
        m
    };
    let W_query = Linear::new(draw(d_in, d_out, 0.0, 1.0));
    let W_key = Linear::new(draw(d_in, d_out, 0.0, 1.0));
    let W_value = Linear::new(draw(d_in, d_out, 0.0, 1.0));
    let k = 1.0 / (d_out as f32).sqrt();
    let out_w = draw(d_out, d_out, -k, k);
    let out_b = draw(1, d_out, -k, k);
    let out_proj = Linear::with_bias(out_w, DVector::from_iterator(d_out, out_b.iter().copied()));
    (HeadWeights { W_query, W_key, W_value }, out_proj)
}

/// Weights from a JSON file, in `x @ W` orientation:
///
/// ```json
/// { "W_query": [[..d_out..], ..d_in rows..], "W_key": .., "W_value": ..,
///   "b_query": [..], "b_key": [..], "b_value": [..],            (optional)
///   "out_proj": { "weight": [[..d_out..], ..d_out rows..], "bias": [..] },  (optional)
///   "inputs": [[..d_in..], ..n rows..], "tokens": ["..", ..] }  (optional: your own X)
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CustomWeights {
    pub qkv: HeadWeights,
    pub out_proj: Option<Linear>,
    pub inputs: Option<Mat>,
    pub tokens: Option<Vec<String>>,
}

/// What is wrong with a weights file, precisely enough to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsError(pub String);

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "weights file: {}", self.0)
    }
}

impl std::error::Error for WeightsError {}

fn err<T>(msg: impl Into<String>) -> Result<T, WeightsError> {
    Err(WeightsError(msg.into()))
}

/// Largest dimension accepted from a file: far beyond any teaching example, small enough that a typo
/// cannot ask for gigabytes.
pub const MAX_DIM: usize = 4096;

fn number(v: &Value, path: &str) -> Result<f32, WeightsError> {
    let Some(x) = v.as_f64() else {
        return err(format!("{path} is {v}, not a number"));
    };
    let x32 = x as f32;
    if !x32.is_finite() {
        return err(format!("{path} = {x} is not a finite f32 number"));
    }
    Ok(x32)
}

fn vector(v: &Value, path: &str) -> Result<Vec<f32>, WeightsError> {
    let Some(items) = v.as_array() else {
        return err(format!("{path} must be a list of numbers"));
    };
    if items.is_empty() || items.len() > MAX_DIM {
        return err(format!("{path} has {} entries (1 to {MAX_DIM} allowed)", items.len()));
    }
    items.iter().enumerate().map(|(i, x)| number(x, &format!("{path}[{i}]"))).collect()
}

fn matrix(v: &Value, path: &str) -> Result<Mat, WeightsError> {
    let Some(rows) = v.as_array() else {
        return err(format!("{path} must be a list of rows"));
    };
    if rows.is_empty() || rows.len() > MAX_DIM {
        return err(format!("{path} has {} rows (1 to {MAX_DIM} allowed)", rows.len()));
    }
    let rows: Vec<Vec<f32>> =
        rows.iter().enumerate().map(|(i, r)| vector(r, &format!("{path}[{i}]"))).collect::<Result<_, _>>()?;
    let width = rows[0].len();
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != width) {
        return err(format!("{path}[{i}] has {} numbers but {path}[0] has {width}", r.len()));
    }
    Ok(Mat::from_fn(rows.len(), width, |i, j| rows[i][j]))
}

fn bias(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
    d_out: usize,
) -> Result<Option<DVector<f32>>, WeightsError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let b = vector(v, path)?;
            if b.len() != d_out {
                return err(format!("{path} has {} numbers, expected d_out = {d_out}", b.len()));
            }
            Ok(Some(DVector::from_vec(b)))
        }
    }
}

impl CustomWeights {
    pub fn from_json(text: &str) -> Result<Self, WeightsError> {
        let v: Value = serde_json::from_str(text).map_err(|e| WeightsError(format!("not valid JSON ({e})")))?;
        let Some(obj) = v.as_object() else {
            return err("the top level must be an object with W_query, W_key and W_value");
        };
        let get = |k: &str| obj.get(k).ok_or_else(|| WeightsError(format!("{k} is missing")));
        let wq = matrix(get("W_query")?, "W_query")?;
        let wk = matrix(get("W_key")?, "W_key")?;
        let wv = matrix(get("W_value")?, "W_value")?;
        for (name, m) in [("W_key", &wk), ("W_value", &wv)] {
            if m.shape() != wq.shape() {
                return err(format!(
                    "{name} is {}x{} but W_query is {}x{} (all three must be d_in x d_out)",
                    m.nrows(),
                    m.ncols(),
                    wq.nrows(),
                    wq.ncols()
                ));
            }
        }
        let (d_in, d_out) = wq.shape();
        let qkv = HeadWeights {
            W_query: Linear { weight: wq, bias: bias(obj, "b_query", "b_query", d_out)? },
            W_key: Linear { weight: wk, bias: bias(obj, "b_key", "b_key", d_out)? },
            W_value: Linear { weight: wv, bias: bias(obj, "b_value", "b_value", d_out)? },
        };
        let out_proj = match obj.get("out_proj") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => {
                let w = matrix(
                    p.get("weight").ok_or_else(|| WeightsError("out_proj.weight is missing".into()))?,
                    "out_proj.weight",
                )?;
                if w.shape() != (d_out, d_out) {
                    return err(format!("out_proj.weight is {}x{}, expected {d_out}x{d_out}", w.nrows(), w.ncols()));
                }
                Some(Linear { weight: w, bias: bias(p, "bias", "out_proj.bias", d_out)? })
            }
            Some(_) => return err("out_proj must be an object with weight (and optional bias)"),
        };
        let inputs = match obj.get("inputs") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let x = matrix(v, "inputs")?;
                if x.ncols() != d_in {
                    return err(format!("inputs rows have {} numbers but W_query has d_in = {d_in} rows", x.ncols()));
                }
                Some(x)
            }
        };
        let tokens = match obj.get("tokens") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let t: Option<Vec<String>> = items.iter().map(|s| s.as_str().map(str::to_string)).collect();
                let Some(t) = t else { return err("tokens must be a list of strings") };
                match &inputs {
                    Some(x) if x.nrows() != t.len() => {
                        return err(format!("tokens has {} entries but inputs has {} rows", t.len(), x.nrows()))
                    }
                    None => return err("tokens needs inputs (one row per token)"),
                    _ => {}
                }
                Some(t)
            }
            Some(_) => return err("tokens must be a list of strings"),
        };
        Ok(Self { qkv, out_proj, inputs, tokens })
    }

    pub fn d_in(&self) -> usize {
        self.qkv.d_in()
    }

    pub fn d_out(&self) -> usize {
        self.qkv.head_dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_in_range() {
        let toks: Vec<String> = ["The", "cat", "the"].iter().map(|s| s.to_string()).collect();
        let x = seeded_embeddings(&toks, 42, 4);
        assert_eq!(x, seeded_embeddings(&toks, 42, 4));
        assert_eq!(x.row(0), x.row(2), "same word, same embedding");
        assert_ne!(x.row(0), x.row(1));
        assert_ne!(x, seeded_embeddings(&toks, 43, 4));
        let (w, p) = seeded_weights(42, 4, 6);
        assert_eq!(w.W_query.weight.shape(), (4, 6));
        assert!(w.W_query.weight.iter().all(|&v| (0.0..1.0).contains(&v)));
        let k = 1.0 / 6f32.sqrt();
        assert!(p.weight.iter().all(|&v| v >= -k && v < k));
        assert_ne!(w.W_query, w.W_key);
    }

    #[test]
    fn custom_weights_parse_and_reject_clearly() {
        let ok = r#"{"W_query": [[1,0],[0,1],[1,1]], "W_key": [[1,0],[0,1],[1,1]], "W_value": [[1,0],[0,1],[1,1]],
                     "out_proj": {"weight": [[1,0],[0,1]], "bias": [0.5, -0.5]}}"#;
        let w = CustomWeights::from_json(ok).expect("valid file");
        assert_eq!((w.d_in(), w.d_out()), (3, 2));
        assert!(w.out_proj.is_some());

        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "top level must be an object"),
            (r#"{"W_key": [[1]], "W_value": [[1]]}"#, "W_query is missing"),
            (r#"{"W_query": [[1,2],[3]], "W_key": [[1]], "W_value": [[1]]}"#, "W_query[1] has 1 numbers"),
            (r#"{"W_query": [[1e39]], "W_key": [[1]], "W_value": [[1]]}"#, "not a finite f32"),
            (r#"{"W_query": [["nan"]], "W_key": [[1]], "W_value": [[1]]}"#, "not a number"),
            (r#"{"W_query": [[1]], "W_key": [[1, 2]], "W_value": [[1]]}"#, "W_key is 1x2"),
            (
                r#"{"W_query": [[1]], "W_key": [[1]], "W_value": [[1]], "out_proj": {"weight": [[1,2]]}}"#,
                "out_proj.weight is 1x2",
            ),
            (r#"{"W_query": [[1]], "W_key": [[1]], "W_value": [[1]], "b_query": [1, 2]}"#, "b_query has 2 numbers"),
            (r#"{"W_query": [], "W_key": [[1]], "W_value": [[1]]}"#, "W_query has 0 rows"),
            (r#"{"W_query": [[1]], "W_key": [[1]], "W_value": [[1]], "inputs": [[1, 2]]}"#, "inputs rows have 2"),
        ];
        for (text, want) in cases {
            let e = CustomWeights::from_json(text).expect_err(text).to_string();
            assert!(e.contains(want), "{text}: got {e:?}, want {want:?}");
        }
    }
}

//! The JSON the `attn` CLI prints and the app exports. Its top-level shape is a contract:
//!
//! ```text
//! {"tokens": [..], "mode": "..", "model": "..", "layers": [0],
//!  "attention": [layer][head][query][key], "context": [layer][token][dim], "steps": {...}}
//! ```
//!
//! Rows of `attention` are post-softmax, with masked entries exactly 0. Numbers are written as the
//! shortest decimal that reads back to the same f32; non-finite ones as the strings "-inf", "inf", "nan".

use crate::analysis::HeadRoles;
use crate::attention::{Attention, HeadSteps, Mode};
use crate::tensor::Mat;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

/// An f32 that serialises non-finite values as strings (JSON has no NaN or infinity).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f32);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f32(x)
        } else if x.is_nan() {
            s.serialize_str("nan")
        } else if x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

/// A matrix serialised as a list of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows(pub Mat);

impl Serialize for Rows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = &self.0;
        let mut seq = s.serialize_seq(Some(m.nrows()))?;
        for i in 0..m.nrows() {
            let row: Vec<Num> = m.row(i).iter().map(|&x| Num(x)).collect();
            seq.serialize_element(&row)?;
        }
        seq.end()
    }
}

fn rows(m: &Mat) -> Rows {
    Rows(m.clone())
}

/// One head's intermediates, named as in the book.
#[derive(Clone, Debug, Serialize)]
pub struct HeadStepsJson {
    pub queries: Rows,
    pub keys: Rows,
    pub values: Rows,
    pub attn_scores: Rows,
    pub scale: Num,
    pub scaled_scores: Rows,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_scores: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attn_weights_unmasked: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_unnormalized: Option<Rows>,
    pub attn_weights: Rows,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_mask: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attn_weights_dropout: Option<Rows>,
    pub context_vec: Rows,
}

impl From<&HeadSteps> for HeadStepsJson {
    fn from(h: &HeadSteps) -> Self {
        Self {
            queries: rows(&h.queries),
            keys: rows(&h.keys),
            values: rows(&h.values),
            attn_scores: rows(&h.attn_scores),
            scale: Num(h.scale),
            scaled_scores: rows(&h.scaled_scores),
            mask: h.mask.as_ref().map(rows),
            masked_scores: h.masked_scores.as_ref().map(rows),
            attn_weights_unmasked: h.attn_weights_unmasked.as_ref().map(rows),
            masked_unnormalized: h.masked_unnormalized.as_ref().map(rows),
            attn_weights: rows(&h.attn_weights),
            keep_mask: h.keep_mask.as_ref().map(rows),
            attn_weights_dropout: h.attn_weights_dropout.as_ref().map(rows),
            context_vec: rows(&h.context_vec),
        }
    }
}

/// Every intermediate of the toy engine.
#[derive(Clone, Debug, Serialize)]
pub struct Steps {
    pub inputs: Rows,
    pub d_in: usize,
    pub d_out: usize,
    pub num_heads: usize,
    pub head_dim: usize,
    pub heads: Vec<HeadStepsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concat: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_normalized: Option<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naive_softmax: Option<Rows>,
}

/// A next-token guess (causal language models).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NextToken {
    pub id: u32,
    pub token: String,
    pub prob: Num,
}

/// The report. Field order is the contract's order.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub tokens: Vec<String>,
    pub mode: String,
    pub model: String,
    pub layers: Vec<usize>,
    /// [layer][head] of (query x key) matrices.
    pub attention: Vec<Vec<Rows>>,
    /// [layer] of (token x dim) matrices.
    pub context: Vec<Rows>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Steps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top5_next: Option<Vec<NextToken>>,
    /// `--analysis rollout|all`: `[layer][query][key]`, rollout through layers 0..=layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Vec<Rows>>,
    /// `--analysis value-weighted|all`: `[layer][head][query][key]`, attention times value norms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_weighted: Option<Vec<Vec<Rows>>>,
    /// `--analysis head-roles|all`: every score `[layer][head]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_roles: Option<HeadRolesJson>,
    /// `--analysis logit-lens|all` (decoders): `[layer][position]`, the five likeliest next tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_lens: Option<Vec<Vec<Vec<NextToken>>>>,
}

/// [`HeadRoles`] in the contract's names and order; `duplicate_token` is null where no token repeats,
/// `induction` null for encoders.
#[derive(Clone, Debug, Serialize)]
pub struct HeadRolesJson {
    pub previous_token: Vec<Vec<Num>>,
    pub first_token: Vec<Vec<Num>>,
    #[serde(rename = "self")]
    pub self_score: Vec<Vec<Num>>,
    pub entropy_bits: Vec<Vec<Num>>,
    pub mean_distance: Vec<Vec<Num>>,
    pub duplicate_token: Vec<Vec<Option<Num>>>,
    pub induction: Option<Vec<Vec<Num>>>,
}

impl From<&HeadRoles> for HeadRolesJson {
    fn from(r: &HeadRoles) -> Self {
        let nums = |v: &Vec<Vec<f32>>| v.iter().map(|hs| hs.iter().map(|&x| Num(x)).collect()).collect();
        HeadRolesJson {
            previous_token: nums(&r.previous_token),
            first_token: nums(&r.first_token),
            self_score: nums(&r.self_score),
            entropy_bits: nums(&r.entropy_bits),
            mean_distance: nums(&r.mean_distance),
            duplicate_token: r.duplicate_token.iter().map(|hs| hs.iter().map(|x| x.map(Num)).collect()).collect(),
            induction: r.induction.as_ref().map(nums),
        }
    }
}

impl Report {
    /// The toy engine's result as a report (one layer, `model` = "toy").
    pub fn from_attention(a: &Attention, with_steps: bool) -> Self {
        let head_dim = a.heads.first().map_or(0, |h| h.values.ncols());
        let steps = with_steps.then(|| Steps {
            inputs: rows(&a.inputs),
            d_in: a.inputs.ncols(),
            d_out: if a.mode == Mode::Simplified { a.inputs.ncols() } else { head_dim * a.heads.len() },
            num_heads: a.heads.len(),
            head_dim,
            heads: a.heads.iter().map(HeadStepsJson::from).collect(),
            concat: a.concat.as_ref().map(rows),
            sum_normalized: a.sum_normalized.as_ref().map(rows),
            naive_softmax: a.naive_softmax.as_ref().map(rows),
        });
        Self {
            tokens: a.tokens.clone(),
            mode: a.mode.as_str().to_string(),
            model: "toy".to_string(),
            layers: vec![0],
            attention: vec![a.heads.iter().map(|h| rows(&h.attn_weights)).collect()],
            context: vec![rows(&a.context)],
            steps,
            top5_next: None,
            rollout: None,
            value_weighted: None,
            head_roles: None,
            logit_lens: None,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising our own types to a String cannot fail: no maps with non-string keys, no I/O.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_numbers_are_strings_and_finite_ones_round_trip() {
        let m = Mat::from_row_slice(1, 4, &[f32::NEG_INFINITY, f32::INFINITY, f32::NAN, 0.1]);
        let s = serde_json::to_string(&Rows(m)).expect("serialises");
        assert_eq!(s, r#"[["-inf","inf","nan",0.1]]"#);
        let x = 0.29611194f32;
        let back: f64 = serde_json::from_str(&serde_json::to_string(&Num(x)).expect("num")).expect("parse");
        assert_eq!(back as f32, x);
    }
}

//! One request in, one `Attention` out: the single entry point the CLI and the app share, so both always
//! compute the same numbers from the same options.

use crate::attention::{
    head_attention, multi_head, simplified, Attention, Dropout, HeadOptions, MaskStyle, Mode, MultiHeadWeights,
    Normalization,
};
use crate::attention::{HeadWeights, Linear};
use crate::book;
use crate::tensor::Mat;
use crate::tokenize::tokenize;
use crate::weights::{seeded_embeddings, seeded_weights, CustomWeights};
use std::fmt;

/// Tokens a request may have. Past this the arcs are unreadable and the page would stall.
pub const MAX_TOKENS: usize = 256;
/// Characters a sentence may have: generous for 256 tokens, small enough to reject a pasted book.
pub const MAX_CHARS: usize = 4000;
/// Largest d_in / d_out of the toy model.
pub const MAX_DIM: usize = 256;

/// Where the tokens and embeddings come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The chapter's sentence with its own embeddings and weights.
    Book,
    /// Any sentence: toy tokenizer, seeded embeddings.
    Sentence(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub source: Source,
    pub mode: Mode,
    /// Seeds the toy embeddings and weights, and every dropout mask.
    pub seed: u64,
    /// Toy embedding width (the book's is 3).
    pub d_in: usize,
    /// None: the book's 2, or the weights file's.
    pub d_out: Option<usize>,
    /// None: the book's 2 in multi-head mode.
    pub heads: Option<usize>,
    /// Dropout rate on the attention weights, 0 <= p < 1; only causal and multi-head modes use it.
    pub dropout: f32,
    pub mask: MaskStyle,
    pub scale: bool,
    /// Simplified mode only.
    pub normalization: Normalization,
    /// Multi-head mode: mask the future in every head (the book's class does).
    pub causal_heads: bool,
    pub weights: Option<CustomWeights>,
}

impl Default for Request {
    fn default() -> Self {
        Self {
            source: Source::Book,
            mode: Mode::SelfAttention,
            seed: 123,
            d_in: book::D_IN,
            d_out: None,
            heads: None,
            dropout: 0.0,
            mask: MaskStyle::NegInf,
            scale: true,
            normalization: Normalization::Softmax,
            causal_heads: true,
            weights: None,
        }
    }
}

/// Why a request cannot run, in words a learner can act on.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestError {
    EmptySentence,
    TooLong { chars: usize, max: usize },
    TooManyTokens { tokens: usize, max: usize },
    DimOutOfRange { name: &'static str, value: usize, max: usize },
    HeadsDoNotDivide { d_out: usize, heads: usize },
    DropoutOutOfRange(f32),
    BookIsFixed(String),
    Weights(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::EmptySentence => {
                write!(f, "The sentence has no words or punctuation to attend to. Type a few words.")
            }
            RequestError::TooLong { chars, max } => {
                write!(f, "The sentence has {chars} characters; the limit is {max}. Shorten it to see its attention.")
            }
            RequestError::TooManyTokens { tokens, max } => {
                write!(f, "The sentence has {tokens} tokens; the limit is {max}. Shorten it to see its attention.")
            }
            RequestError::DimOutOfRange { name, value, max } => {
                write!(f, "{name} must be between 1 and {max}, not {value}.")
            }
            RequestError::HeadsDoNotDivide { d_out, heads } => {
                write!(
                    f,
                    "{heads} heads do not divide d_out = {d_out}: each head needs d_out / heads whole dimensions."
                )
            }
            RequestError::DropoutOutOfRange(p) => write!(f, "Dropout p must be at least 0 and below 1, not {p}."),
            RequestError::BookIsFixed(why) => write!(f, "{why}"),
            RequestError::Weights(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Tokenizes a sentence for the toy model, with the request limits applied.
pub fn sentence_tokens(text: &str) -> Result<Vec<String>, RequestError> {
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(RequestError::TooLong { chars, max: MAX_CHARS });
    }
    let tokens: Vec<String> = tokenize(text).into_iter().map(|t| t.text).collect();
    if tokens.is_empty() {
        return Err(RequestError::EmptySentence);
    }
    if tokens.len() > MAX_TOKENS {
        return Err(RequestError::TooManyTokens { tokens: tokens.len(), max: MAX_TOKENS });
    }
    Ok(tokens)
}

fn check_dim(name: &'static str, value: usize) -> Result<usize, RequestError> {
    if value == 0 || value > MAX_DIM {
        return Err(RequestError::DimOutOfRange { name, value, max: MAX_DIM });
    }
    Ok(value)
}

impl Request {
    /// The number of heads the request will run (1 outside multi-head mode).
    pub fn num_heads(&self) -> usize {
        match self.mode {
            Mode::MultiHead => self.heads.unwrap_or(book::NUM_HEADS),
            _ => 1,
        }
    }

    /// Computes the attention, or says precisely what is wrong with the request.
    pub fn run(&self) -> Result<Attention, RequestError> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(RequestError::DropoutOutOfRange(self.dropout));
        }
        let (tokens, inputs) = self.tokens_and_inputs()?;
        let mode = self.mode;
        if mode == Mode::Simplified {
            let steps = simplified(&inputs, self.normalization);
            let context = steps.context_vec.clone();
            let scores = &steps.attn_scores;
            let sum_normalized = Some(Normalization::SumNormalized.apply(scores));
            let naive_softmax = Some(Normalization::NaiveSoftmax.apply(scores));
            return Ok(Attention {
                mode,
                tokens,
                inputs,
                heads: vec![steps],
                concat: None,
                context,
                sum_normalized,
                naive_softmax,
            });
        }

        let (qkv, out_proj) = self.projections(inputs.ncols())?;
        let d_out = qkv.head_dim();
        let dropout = (self.dropout > 0.0 && mode != Mode::SelfAttention)
            .then_some(Dropout::Seeded { p: self.dropout, seed: self.seed });
        let opts = HeadOptions {
            causal: match mode {
                Mode::Causal => true,
                Mode::MultiHead => self.causal_heads,
                _ => false,
            },
            mask_style: self.mask,
            scale: self.scale,
            dropout,
        };
        if mode == Mode::MultiHead {
            let num_heads = self.num_heads();
            if num_heads == 0 || num_heads > d_out || d_out % num_heads != 0 {
                return Err(RequestError::HeadsDoNotDivide { d_out, heads: num_heads });
            }
            let w = MultiHeadWeights::split(&qkv, out_proj, num_heads);
            let (heads, concat, context) = multi_head(&inputs, &w, &opts);
            return Ok(Attention {
                mode,
                tokens,
                inputs,
                heads,
                concat: Some(concat),
                context,
                sum_normalized: None,
                naive_softmax: None,
            });
        }
        let steps = head_attention(&inputs, &qkv, &opts, 0);
        let context = steps.context_vec.clone();
        Ok(Attention {
            mode,
            tokens,
            inputs,
            heads: vec![steps],
            concat: None,
            context,
            sum_normalized: None,
            naive_softmax: None,
        })
    }

    fn tokens_and_inputs(&self) -> Result<(Vec<String>, Mat), RequestError> {
        if let Some((w, x)) = self.weights.as_ref().and_then(|w| w.inputs.as_ref().map(|x| (w, x))) {
            if let Source::Sentence(_) = self.source {
                return Err(RequestError::Weights(
                    "The weights file brings its own inputs; drop the sentence or the file's inputs.".into(),
                ));
            }
            if x.nrows() > MAX_TOKENS {
                return Err(RequestError::TooManyTokens { tokens: x.nrows(), max: MAX_TOKENS });
            }
            let tokens = w.tokens.clone().unwrap_or_else(|| (1..=x.nrows()).map(|i| format!("x{i}")).collect());
            return Ok((tokens, x.clone()));
        }
        match &self.source {
            Source::Book => Ok((book::tokens(), book::inputs())),
            Source::Sentence(text) => {
                let tokens = sentence_tokens(text)?;
                let d_in = match &self.weights {
                    Some(w) => w.d_in(),
                    None => check_dim("d_in", self.d_in)?,
                };
                let x = seeded_embeddings(&tokens, self.seed, d_in);
                Ok((tokens, x))
            }
        }
    }

    /// W_query, W_key, W_value (fused, d_in x d_out) and out_proj for this request.
    fn projections(&self, d_in: usize) -> Result<(HeadWeights, Option<Linear>), RequestError> {
        if let Some(w) = &self.weights {
            if w.d_in() != d_in {
                return Err(RequestError::Weights(format!(
                    "The weights expect d_in = {} but the inputs have {d_in} features.",
                    w.d_in()
                )));
            }
            if let Some(d) = self.d_out {
                if d != w.d_out() {
                    return Err(RequestError::Weights(format!(
                        "d_out {d} was asked for but the weights file has d_out = {}.",
                        w.d_out()
                    )));
                }
            }
            return Ok((w.qkv.clone(), w.out_proj.clone()));
        }
        match self.source {
            Source::Book => {
                if let Some(d) = self.d_out.filter(|&d| d != book::D_OUT) {
                    return Err(RequestError::BookIsFixed(format!(
                        "The book example has fixed weights with d_out = {}; d_out = {d} needs your own sentence.",
                        book::D_OUT
                    )));
                }
                Ok(match self.mode {
                    Mode::SelfAttention => (book::self_attention_v1(), None),
                    Mode::Causal => (book::causal_attention(), None),
                    Mode::MultiHead | Mode::Simplified => {
                        let (fused, out_proj) = book::multi_head_attention();
                        (fused, Some(out_proj))
                    }
                })
            }
            Source::Sentence(_) => {
                let d_out = check_dim("d_out", self.d_out.unwrap_or(book::D_OUT))?;
                let (qkv, out_proj) = seeded_weights(self.seed, d_in, d_out);
                Ok((qkv, Some(out_proj)))
            }
        }
    }
}

/// The digest of one fixed seeded request (multi-head, causal, dropout), over the bits of every number it
/// produces. Native tests and the wasm32 tests both compare it with [`DETERMINISM_DIGEST`]: if a change
/// makes the platforms disagree, or silently changes the seeded numbers, one of them fails.
pub fn determinism_digest() -> u64 {
    let req = Request {
        source: Source::Sentence("The cat that was sitting on the mat, which was next to the dog, jumped.".into()),
        mode: Mode::MultiHead,
        seed: 2024,
        d_in: 16,
        d_out: Some(12),
        heads: Some(3),
        dropout: 0.1,
        ..Request::default()
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |m: &Mat| {
        for x in m.iter() {
            for b in x.to_bits().to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    };
    match req.run() {
        Ok(a) => {
            eat(&a.inputs);
            for head in &a.heads {
                eat(&head.attn_weights);
                eat(&head.context_vec);
            }
            eat(&a.context);
        }
        Err(_) => return 0,
    }
    h
}

/// See [`determinism_digest`]. Changing the seeded model on purpose means updating this value.
pub const DETERMINISM_DIGEST: u64 = 15_870_174_486_644_028_781;

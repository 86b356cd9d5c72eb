//! An encoder's tokenizer: BERT's WordPiece, or RoBERTa's byte-level BPE with `<s>` … `</s>` around the
//! text. Both give a [`wordpiece::Encoding`](crate::tokenizer::wordpiece::Encoding): the added tokens
//! have no span in the text.

use crate::tokenizer::bpe;
use crate::tokenizer::wordpiece::{Encoding, WordPiece};

#[derive(Debug, Clone, PartialEq)]
pub enum EncoderTokenizer {
    WordPiece(WordPiece),
    /// Byte-level BPE; `cls` and `sep` are put before and after the text (RoBERTa's post-processor).
    Bpe {
        tokenizer: Box<bpe::Tokenizer>,
        cls: u32,
        sep: u32,
    },
}

impl EncoderTokenizer {
    pub fn encode(&self, text: &str) -> Encoding {
        match self {
            EncoderTokenizer::WordPiece(w) => w.encode(text),
            EncoderTokenizer::Bpe { tokenizer, cls, sep } => {
                let inner = tokenizer.encode(text);
                let mut out = Encoding::default();
                for (id, span) in std::iter::once((*cls, None))
                    .chain(inner.ids.iter().zip(&inner.offsets).map(|(&id, &s)| (id, Some(s))))
                    .chain(std::iter::once((*sep, None)))
                {
                    out.ids.push(id);
                    out.tokens.push(tokenizer.token_text(id));
                    out.offsets.push(span);
                }
                out
            }
        }
    }

    pub fn vocab_size(&self) -> usize {
        match self {
            EncoderTokenizer::WordPiece(w) => w.vocab_size(),
            EncoderTokenizer::Bpe { tokenizer, .. } => tokenizer.vocab_size(),
        }
    }

    /// The WordPiece vocabulary (the MiniLM bundle stores it), if this is one.
    pub fn wordpiece(&self) -> Option<&WordPiece> {
        match self {
            EncoderTokenizer::WordPiece(w) => Some(w),
            EncoderTokenizer::Bpe { .. } => None,
        }
    }
}

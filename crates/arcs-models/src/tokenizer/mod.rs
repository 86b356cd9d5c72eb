//! Tokenizers whose ids equal Hugging Face's: WordPiece (BERT) and byte-level BPE (GPT-2 style, from GGUF).

pub mod bpe;
pub mod wordpiece;

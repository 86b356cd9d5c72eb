//! Tokenizers whose ids equal Hugging Face's: WordPiece (BERT), byte-level and SentencePiece-style BPE
//! (from GGUF metadata or `tokenizer.json`), and the encoders' wrapper over both.

pub mod bpe;
pub mod encoder;
pub mod wordpiece;

//! The browser bundle: all-MiniLM-L6-v2's weights quantised and entropy-coded, plus `vocab.txt`,
//! in one file under the 23,000,000-byte download budget (the f32 safetensors file is 90.9 MB).
//!
//! # Format `ARCSMLM1`, version 1
//!
//! All integers are little-endian.
//!
//! | offset | size | field                                                          |
//! |--------|------|----------------------------------------------------------------|
//! | 0      | 8    | magic `ARCSMLM1`                                               |
//! | 8      | 4    | `u32` format version (1)                                       |
//! | 12     | 4    | `u32` header length `H` in bytes                               |
//! | 16     | 8    | `u64` payload length `P` in bytes                              |
//! | 24     | 8    | `u64` FNV-1a 64 of the `H + P` bytes that follow               |
//! | 32     | `H`  | header: UTF-8 JSON, see below                                  |
//! | 32+H   | `P`  | payload: `vocab.txt` bytes, then every tensor in header order  |
//!
//! The file is exactly `32 + H + P` bytes long. The header is
//! `{"model": "...", "config": {..Config fields..}, "vocab_bytes": N,
//!   "tensors": [{"name": "...", "encoding": "qh" | "f16", "shape": [..]}, ...]}`;
//! the loader requires `config` to be all-MiniLM-L6-v2's and the tensor list to be exactly the one
//! this crate writes (Hugging Face BertModel names, pooler dropped, token-type embedding 0 added
//! into every position row since the model only ever sees token type 0), so a file for another
//! model or a damaged header is refused with a message instead of misread.
//!
//! Tensor encodings, packed back to back with no padding:
//! * `f16`, shape `[len]`: IEEE half floats, for biases and LayerNorm parameters (61 KB in all;
//!   relative error 5e-4, well below the weights' quantisation error).
//! * `qh`, shape `[rows, cols]`: a weight matrix as integers `q` with one step per row,
//!   `w[r][c] = q[r][c] * step[r]`, Huffman-coded:
//!   1. `rows` bf16 steps (2 bytes each);
//!   2. 16 bytes: canonical Huffman code lengths (0 = unused) of the categories 0..=15;
//!   3. `u32` length in bytes of the bit stream, then the bit stream (most significant bit
//!      first, zero-padded to a byte). For each value, row-major: the Huffman code of its
//!      category `k` = bit length of `|q|` (0 for q = 0); if `k > 0`, one sign bit (1 =
//!      negative) and the low `k - 1` bits of `|q|` (its top bit is implied). So `|q| < 2^15`.
//!
//! # Why entropy-coded rather than plain int8
//!
//! Plain int8 with a max-abs scale per row fits the budget (22.9 MB) but is too coarse: the worst
//! attention weight over the reference sentences was off by 0.077 (position embeddings and the
//! FFN down-projection have outlier weights that stretch their rows' scales). Rounding instead to
//! a step proportional to each row's RMS, and entropy-coding the integers (most are small: about
//! 7 bits each for int8-like precision), lets large outliers cost a few extra bits instead of
//! coarsening their whole row, and frees about 0.75 bit per weight to spend where it matters.
//!
//! The step is `RMS(row) / precision`, with `precision` chosen per kind of matrix
//! ([`precision_for`]). Those values came from a calibration run on our own sentences (none from
//! the reference set): each kind of matrix was quantised alone at `precision = 32` and the largest
//! attention change against the f32 model measured; then bits were shared out to minimise the
//! summed squared error at a fixed total size (errors `e_g`, sizes `n_g`: extra bits
//! `log2(e_g / sqrt(lambda * n_g))`), within the byte budget. Word embeddings, half of all weights
//! but barely sensitive, stay near int8 precision; the small position table and the attention
//! projections get 2-2.7 more bits.
//!
//! [`Bert::from_bundle`] decodes to i16 integers and per-row f32 steps, kept like that in
//! memory (45 MB instead of 90 MB of f32 in a browser tab); the matmul expands one weight row at
//! a time into f32, once per call, and reuses it for every token, which costs next to nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::arch::bert::{tensor_layout, Loaded, TensorKind, TensorRef, POSITION_AND_TYPE0};
use crate::arch::bert::{Bert, Config};
use crate::numeric::float_kernels::WeightMatrix;
use crate::numeric::half::{bf16_to_f32, f16_to_f32, f32_to_bf16_round_up, f32_to_f16};
use crate::tokenizer::encoder::EncoderTokenizer;
use crate::tokenizer::wordpiece::WordPiece;
use crate::ModelError;

/// First 8 bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"ARCSMLM1";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the JSON header.
pub const PREFIX_LEN: usize = 32;
const MODEL_NAME: &str = "sentence-transformers/all-MiniLM-L6-v2";
const QH: &str = "qh";
const F16: &str = "f16";
/// Categories 0..=15: `|q|` has at most 15 bits.
const NUM_CATEGORIES: usize = 16;
const MAX_ABS_Q: f32 = 32767.0;

/// Steps per row RMS for each kind of matrix; see the module docs for how they were chosen.
pub fn precision_for(tensor_name: &str) -> f32 {
    const GLOBAL: f32 = 0.97; // keeps the bundle ~90 KB under budget
    let p = if tensor_name == "embeddings.word_embeddings.weight" {
        32.0
    } else if tensor_name == POSITION_AND_TYPE0 {
        180.0
    } else if tensor_name.ends_with("attention.self.query.weight") {
        200.0
    } else if tensor_name.ends_with("attention.self.key.weight") {
        176.0
    } else if tensor_name.ends_with("attention.self.value.weight") {
        136.0
    } else if tensor_name.ends_with("attention.output.dense.weight") {
        66.0
    } else if tensor_name.ends_with("intermediate.dense.weight") {
        136.0
    } else {
        // output.dense.weight, the FFN down-projection.
        78.0
    };
    p * GLOBAL
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    model: String,
    config: Config,
    vocab_bytes: u64,
    tensors: Vec<TensorEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TensorEntry {
    name: String,
    encoding: String,
    shape: Vec<usize>,
}

fn expected_entries(config: &Config) -> Vec<TensorEntry> {
    tensor_layout(config)
        .into_iter()
        .map(|(name, kind)| TensorEntry {
            name,
            encoding: match kind {
                TensorKind::Matrix { .. } => QH,
                TensorKind::Vector { .. } => F16,
            }
            .to_owned(),
            shape: kind.shape(),
        })
        .collect()
}

/// Serialises `model` as a bundle. f32 weights are quantised; a model that was itself loaded from
/// a bundle is written back bit for bit. Bundles hold WordPiece encoders (MiniLM); another tokenizer is
/// written as an empty vocabulary, which reading the bundle refuses.
pub fn encode_bundle(model: &Bert) -> Vec<u8> {
    let config = *model.config();
    let vocab = model.tokenizer().wordpiece().map(|w| w.vocab_txt()).unwrap_or_default();
    let header = Header {
        model: MODEL_NAME.to_owned(),
        config,
        vocab_bytes: vocab.len() as u64,
        tensors: expected_entries(&config),
    };
    // Plain strings and numbers: serialising cannot fail.
    let header_json = serde_json::to_vec(&header).expect("bundle header serialises");

    let mut body = header_json;
    let header_len = body.len();
    body.extend_from_slice(vocab.as_bytes());
    for ((name, _), tensor) in tensor_layout(&config).iter().zip(model.tensors()) {
        match tensor {
            TensorRef::Matrix(m) => write_matrix(m, precision_for(name), &mut body),
            TensorRef::Vector(v) => {
                for &x in v {
                    body.extend_from_slice(&f32_to_f16(x).to_le_bytes());
                }
            }
        }
    }
    let payload_len = body.len() - header_len;

    let mut out = Vec::with_capacity(PREFIX_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(header_len as u32).to_le_bytes());
    out.extend_from_slice(&(payload_len as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn write_matrix(m: &WeightMatrix, precision: f32, out: &mut Vec<u8>) {
    let (steps, values): (Vec<u16>, std::borrow::Cow<'_, [i16]>) = match m {
        WeightMatrix::Quantized { data, steps, .. } => {
            (steps.iter().map(|&s| f32_to_bf16_round_up(s)).collect(), data.as_slice().into())
        }
        WeightMatrix::F32(m) => {
            let mut values = Vec::with_capacity(m.rows() * m.cols());
            let steps = m.iter_rows().map(|row| quantize_row(row, precision, &mut values)).collect();
            (steps, values.into())
        }
    };
    for s in steps {
        out.extend_from_slice(&s.to_le_bytes());
    }
    let mut freq = [0u64; NUM_CATEGORIES];
    for &q in values.iter() {
        freq[category(q)] += 1;
    }
    let lengths = huffman_lengths(&freq);
    let codes = canonical_codes(&lengths);
    out.extend_from_slice(&lengths);
    let mut w = BitWriter::default();
    for &q in values.iter() {
        let k = category(q);
        w.put(codes[k] as u64, lengths[k] as u32);
        if k > 0 {
            let mag = q.unsigned_abs() as u64;
            let extra = ((q < 0) as u64) << (k - 1) | (mag & ((1 << (k - 1)) - 1));
            w.put(extra, k as u32);
        }
    }
    let stream = w.finish();
    out.extend_from_slice(&(stream.len() as u32).to_le_bytes());
    out.extend_from_slice(&stream);
}

/// Bit length of `|q|`.
fn category(q: i16) -> usize {
    (16 - q.unsigned_abs().leading_zeros()) as usize
}

/// Rounds one row to multiples of `RMS / precision` (never so fine that `|q|` overflows 15 bits),
/// appending the integers to `out`; returns the step as bf16 bits.
fn quantize_row(row: &[f32], precision: f32, out: &mut Vec<i16>) -> u16 {
    let max_abs = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max_abs == 0.0 || row.is_empty() {
        out.extend(std::iter::repeat_n(0, row.len()));
        return 0;
    }
    let rms = (row.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / row.len() as f64).sqrt() as f32;
    let step_bits = f32_to_bf16_round_up((rms / precision).max(max_abs / MAX_ABS_Q));
    let step = bf16_to_f32(step_bits);
    out.extend(row.iter().map(|&v| (v / step).round().clamp(-MAX_ABS_Q, MAX_ABS_Q) as i16));
    step_bits
}

/// Huffman code lengths for the category frequencies (0 for unused categories). With 16 symbols no
/// code can exceed 15 bits, so no length limiting is needed.
fn huffman_lengths(freq: &[u64; NUM_CATEGORIES]) -> [u8; NUM_CATEGORIES] {
    let mut lengths = [0u8; NUM_CATEGORIES];
    // Each node: (weight, symbols below it).
    let mut nodes: Vec<(u64, Vec<usize>)> =
        (0..NUM_CATEGORIES).filter(|&s| freq[s] > 0).map(|s| (freq[s], vec![s])).collect();
    if nodes.len() == 1 {
        lengths[nodes[0].1[0]] = 1;
        return lengths;
    }
    while nodes.len() > 1 {
        // Smallest two (ties broken by position, so the result is deterministic).
        nodes.sort_by_key(|n| std::cmp::Reverse(n.0));
        let (wa, sa) = nodes.pop().unwrap_or_default();
        let (wb, sb) = nodes.pop().unwrap_or_default();
        for &s in sa.iter().chain(&sb) {
            lengths[s] += 1;
        }
        nodes.push((wa + wb, sa.into_iter().chain(sb).collect()));
    }
    lengths
}

/// Canonical codes: by increasing length, then symbol, consecutive integers.
fn canonical_codes(lengths: &[u8; NUM_CATEGORIES]) -> [u32; NUM_CATEGORIES] {
    let mut codes = [0u32; NUM_CATEGORIES];
    let mut code = 0u32;
    let mut prev_len = 0u8;
    let mut order: Vec<usize> = (0..NUM_CATEGORIES).filter(|&s| lengths[s] > 0).collect();
    order.sort_by_key(|&s| (lengths[s], s));
    for s in order {
        code <<= lengths[s] - prev_len;
        codes[s] = code;
        code += 1;
        prev_len = lengths[s];
    }
    codes
}

#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    nbits: u32,
}

impl BitWriter {
    /// Appends the low `n` (<= 32) bits of `v`, most significant first.
    fn put(&mut self, v: u64, n: u32) {
        self.acc = (self.acc << n) | (v & ((1u64 << n) - 1));
        self.nbits += n;
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.bytes.push((self.acc >> self.nbits) as u8);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.nbits > 0 {
            self.bytes.push((self.acc << (8 - self.nbits)) as u8);
        }
        self.bytes
    }
}

/// MSB-first bit reader that reads zeros past the end; the caller checks for overrun at the end.
struct BitReader<'a> {
    bytes: &'a [u8],
    next_byte: usize,
    buf: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, next_byte: 0, buf: 0, nbits: 0 }
    }

    /// Ensures at least 57 buffered bits.
    #[inline]
    fn refill(&mut self) {
        while self.nbits <= 56 {
            let b = self.bytes.get(self.next_byte).copied().unwrap_or(0);
            self.next_byte += 1;
            self.buf |= (b as u64) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    /// Next `n` (1..=32) bits without consuming them.
    #[inline]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.nbits -= n;
    }

    fn bits_consumed(&self) -> u64 {
        self.next_byte as u64 * 8 - self.nbits as u64
    }
}

/// Decodes `rows * cols` values of a `qh` tensor's bit stream.
fn decode_values(name: &str, lengths: &[u8], stream: &[u8], count: usize) -> Result<Vec<i16>, ModelError> {
    let bad = |what: &str| ModelError::BadBundle(format!("tensor `{name}`: {what}"));
    let mut lens = [0u8; NUM_CATEGORIES];
    lens.copy_from_slice(lengths);
    let max_len = lens.iter().copied().max().unwrap_or(0) as u32;
    if max_len == 0 || max_len > 15 {
        return Err(bad("invalid Huffman code lengths"));
    }
    // Kraft inequality: the lengths must describe a prefix code.
    let kraft: u64 = lens.iter().filter(|&&l| l > 0).map(|&l| 1u64 << (max_len - l as u32)).sum();
    if kraft > 1u64 << max_len {
        return Err(bad("Huffman code lengths do not form a prefix code"));
    }
    // Lookup table indexed by the next `max_len` bits: (category, code length); length 0 = invalid.
    let codes = canonical_codes(&lens);
    let mut table = vec![(0u8, 0u8); 1 << max_len];
    for s in 0..NUM_CATEGORIES {
        let l = lens[s] as u32;
        if l == 0 {
            continue;
        }
        let first = (codes[s] << (max_len - l)) as usize;
        let span = 1usize << (max_len - l);
        for entry in &mut table[first..first + span] {
            *entry = (s as u8, l as u8);
        }
    }

    let mut values = Vec::with_capacity(count);
    let mut r = BitReader::new(stream);
    for _ in 0..count {
        r.refill();
        let (k, l) = table[r.peek(max_len) as usize];
        if l == 0 {
            return Err(bad("invalid code in bit stream"));
        }
        r.consume(l as u32);
        if k == 0 {
            values.push(0);
            continue;
        }
        let k = k as u32;
        let extra = r.peek(k);
        r.consume(k);
        let negative = extra >> (k - 1) == 1;
        let mag = (1u32 << (k - 1)) | (extra & ((1u32 << (k - 1)) - 1));
        // k <= 15, so mag <= 32767 fits in i16.
        let mag = mag as i16;
        values.push(if negative { -mag } else { mag });
    }
    if r.bits_consumed() > stream.len() as u64 * 8 {
        return Err(bad("bit stream is truncated"));
    }
    Ok(values)
}

/// Reads bytes off the payload, turning any overrun into an error instead of a panic.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| ModelError::BadBundle(format!("payload too short for {what}")))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Bert {
    /// Loads a bundle written by [`encode_bundle`] (e.g. by the `minilm-bundle` binary). Checks the
    /// magic, version, lengths, checksum, header, every tensor shape and the bit streams; never
    /// panics on bad bytes.
    pub fn from_bundle(bytes: &[u8]) -> Result<Bert, ModelError> {
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(ModelError::BadMagic);
        }
        if bytes.len() < PREFIX_LEN {
            return Err(ModelError::Truncated { expected: PREFIX_LEN as u64, found: bytes.len() as u64 });
        }
        let version = u32_at(bytes, 8);
        if version != VERSION {
            return Err(ModelError::UnsupportedVersion(version));
        }
        let header_len = u32_at(bytes, 12) as u64;
        let payload_len = u64_at(bytes, 16);
        let expected_len = (PREFIX_LEN as u64).checked_add(header_len).and_then(|v| v.checked_add(payload_len));
        if expected_len != Some(bytes.len() as u64) {
            return Err(ModelError::Truncated {
                expected: expected_len.unwrap_or(u64::MAX),
                found: bytes.len() as u64,
            });
        }
        let body = &bytes[PREFIX_LEN..];
        let checksum = u64_at(bytes, 24);
        let computed = fnv1a64(body);
        if checksum != computed {
            return Err(ModelError::ChecksumMismatch { expected: checksum, found: computed });
        }
        // header_len <= body.len() since the total length matched.
        let (header_bytes, payload) = body.split_at(header_len as usize);

        let header: Header =
            serde_json::from_slice(header_bytes).map_err(|e| ModelError::BadBundle(format!("header: {e}")))?;
        if header.config != Config::MINILM_L6_V2 {
            return Err(ModelError::BadBundle(format!("unsupported model config {:?}", header.config)));
        }
        let expected = expected_entries(&header.config);
        if header.tensors.len() != expected.len() {
            return Err(ModelError::BadBundle(format!(
                "{} tensors listed, expected {}",
                header.tensors.len(),
                expected.len()
            )));
        }
        for (got, want) in header.tensors.iter().zip(&expected) {
            if got.name != want.name {
                return Err(ModelError::BadBundle(format!(
                    "tensor `{}` found where `{}` belongs",
                    got.name, want.name
                )));
            }
            if got.shape != want.shape {
                return Err(ModelError::WrongShape {
                    name: got.name.clone(),
                    expected: want.shape.clone(),
                    found: got.shape.clone(),
                });
            }
            if got.encoding != want.encoding {
                return Err(ModelError::WrongDtype {
                    name: got.name.clone(),
                    expected: if want.encoding == QH { QH } else { F16 },
                    found: got.encoding.clone(),
                });
            }
        }

        let mut cur = Cursor { bytes: payload, pos: 0 };
        let vocab_len =
            usize::try_from(header.vocab_bytes).map_err(|_| ModelError::BadBundle("vocabulary too large".into()))?;
        let vocab = std::str::from_utf8(cur.take(vocab_len, "the vocabulary")?)
            .map_err(|_| ModelError::Vocab("vocabulary is not UTF-8".into()))?;
        let tokenizer = WordPiece::from_vocab(vocab)?;

        let mut loaded = HashMap::new();
        for (name, kind) in tensor_layout(&header.config) {
            let tensor = match kind {
                TensorKind::Matrix { rows, cols } => Loaded::Matrix(read_matrix(&mut cur, &name, rows, cols)?),
                TensorKind::Vector { len } => Loaded::Vector(read_f16(&mut cur, &name, len)?),
            };
            loaded.insert(name, tensor);
        }
        if cur.pos != payload.len() {
            return Err(ModelError::BadBundle(format!(
                "{} unexpected bytes after the last tensor",
                payload.len() - cur.pos
            )));
        }
        Bert::assemble(header.config, EncoderTokenizer::WordPiece(tokenizer), loaded)
    }
}

fn read_matrix(cur: &mut Cursor<'_>, name: &str, rows: usize, cols: usize) -> Result<WeightMatrix, ModelError> {
    let steps: Vec<f32> =
        cur.take(rows * 2, name)?.chunks_exact(2).map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect();
    if steps.iter().any(|s| !s.is_finite() || *s < 0.0) {
        return Err(ModelError::NonFinite(name.to_owned()));
    }
    let lengths = cur.take(NUM_CATEGORIES, name)?;
    let stream_len = u32_at(cur.take(4, name)?, 0) as usize;
    let stream = cur.take(stream_len, name)?;
    let data = decode_values(name, lengths, stream, rows * cols)?;
    Ok(WeightMatrix::quantized(rows, cols, data, steps))
}

fn read_f16(cur: &mut Cursor<'_>, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
    let values: Vec<f32> =
        cur.take(len * 2, name)?.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite(name.to_owned()));
    }
    Ok(values)
}

/// FNV-1a, 64-bit: tiny, dependency-free, and plenty to catch a truncated or garbled download
/// (it is not meant to resist tampering).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_step_never_rounds_down() {
        for &x in &[1.0f32, 0.001_234_5, 3.3e-5, 0.787_4, 1e-30] {
            let b = bf16_to_f32(f32_to_bf16_round_up(x));
            assert!(b >= x && b <= x * (1.0 + 1.0 / 128.0), "{x} -> {b}");
        }
        assert_eq!(bf16_to_f32(f32_to_bf16_round_up(0.5)), 0.5);
    }

    #[test]
    fn quantize_row_error_is_half_a_step_and_outliers_fit() {
        let mut row: Vec<f32> = (0..384).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        row[17] = 40.0; // an outlier far beyond the RMS-based range of int8
        let mut q = Vec::new();
        let step = bf16_to_f32(quantize_row(&row, 100.0, &mut q));
        let rms = (row.iter().map(|v| v * v).sum::<f32>() / 384.0).sqrt();
        assert!(step >= rms / 100.0 && step < rms / 99.0);
        for (&w, &qv) in row.iter().zip(&q) {
            assert!((w - qv as f32 * step).abs() <= step * 0.5 + 1e-6);
        }
        // Extreme dynamic range: the step grows so nothing overflows 15 bits.
        let mut q = Vec::new();
        let step = bf16_to_f32(quantize_row(&[1e6, 1e-6, 0.0, 1.0], 1e6, &mut q));
        assert!(q[0] > 30000 && (q[0] as f32 * step - 1e6).abs() <= step);
        let mut q = Vec::new();
        assert_eq!(quantize_row(&[0.0; 8], 50.0, &mut q), 0);
        assert_eq!(q, [0i16; 8]);
    }

    #[test]
    fn huffman_stream_round_trips() {
        let values: Vec<i16> = (0..5000i32)
            .map(|i| {
                let x = (i * 7919 % 2001 - 1000) as f32 / 1000.0;
                (x * x * x * 3000.0) as i16
            })
            .chain([32767, -32767, 0, 1, -1, 2, -2])
            .collect();
        let m = WeightMatrix::quantized(1, values.len(), values.clone(), vec![0.5]);
        let mut out = Vec::new();
        write_matrix(&m, 1.0, &mut out);
        let mut cur = Cursor { bytes: &out, pos: 0 };
        let back = read_matrix(&mut cur, "t", 1, values.len()).unwrap();
        assert_eq!(back, m);
        assert_eq!(cur.pos, out.len());
        // Cutting the stream short is an error, not a panic or garbage.
        let mut cut = out.clone();
        let n = cut.len();
        cut[2 + 16..2 + 20].copy_from_slice(&((n - 2 - 20 - 10) as u32).to_le_bytes());
        cut.truncate(n - 10);
        assert!(read_matrix(&mut Cursor { bytes: &cut, pos: 0 }, "t", 1, values.len()).is_err());
        // A single symbol still gets a 1-bit code.
        let zeros = WeightMatrix::quantized(2, 3, vec![0; 6], vec![0.0, 0.0]);
        let mut out = Vec::new();
        write_matrix(&zeros, 1.0, &mut out);
        assert_eq!(read_matrix(&mut Cursor { bytes: &out, pos: 0 }, "z", 2, 3).unwrap(), zeros);
    }

    #[test]
    fn fnv1a64_known_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}

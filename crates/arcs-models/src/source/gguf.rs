//! A small reader for GGUF files (the llama.cpp model format), versions 2 and 3.
//!
//! Layout (all little-endian):
//! ```text
//! "GGUF" | version u32 | tensor_count u64 | kv_count u64
//! kv_count   x (key: string, value_type: u32, value)
//! tensor_count x (name: string, n_dims: u32, dims: n_dims x u64, ggml_type: u32, offset: u64)
//! padding to `general.alignment` (default 32)
//! tensor data (each tensor at data_offset + offset)
//! string = len u64 + UTF-8 bytes
//! ```
//! The parser only borrows the bytes: tensors are described by absolute byte ranges into the file so the
//! caller can keep the one owned copy of the weights. Every length read from the file is checked against the
//! bytes that are actually left before anything is allocated, so a corrupt or hostile file yields a
//! [`GgufError`] and never a panic or a huge allocation.

use std::collections::HashMap;
use std::fmt;

/// Why a GGUF file could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufError {
    /// The first four bytes are not "GGUF".
    BadMagic([u8; 4]),
    /// Only versions 2 and 3 are understood (version 1 used 32-bit counts).
    UnsupportedVersion(u32),
    /// The file ended while reading `what` at byte `offset`.
    Truncated { what: &'static str, offset: usize },
    /// A count or length in the header cannot fit in the file (guards allocations).
    AbsurdCount { what: &'static str, count: u64 },
    /// A metadata value type id that GGUF does not define.
    UnknownValueType(u32),
    /// A tensor type id this reader has no size table for.
    UnknownTensorType { tensor: String, type_id: u32 },
    /// Arrays nested deeper than this reader allows.
    NestingTooDeep,
    /// A bool stored as something other than 0 or 1.
    InvalidBool(u8),
    /// `general.alignment` is zero, not a power of two, or not an integer.
    BadAlignment(u64),
    /// A tensor with zero or more than four dimensions, or a zero-sized dimension.
    BadDims { tensor: String, dims: Vec<u64> },
    /// A quantised tensor whose rows are not whole blocks.
    RowNotBlockAligned { tensor: String, row_len: u64, block: u64 },
    /// A tensor's data offset is not a multiple of the alignment.
    MisalignedTensor { tensor: String, offset: u64 },
    /// A tensor's data lies (partly) outside the file.
    TensorOutOfRange { tensor: String, start: u64, len: u64, file_len: u64 },
    /// Two tensors have the same name.
    DuplicateTensor(String),
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GgufError::BadMagic(m) => write!(f, "not a GGUF file: magic bytes are {m:?}, expected \"GGUF\""),
            GgufError::UnsupportedVersion(v) => {
                write!(f, "unsupported GGUF version {v} (only 2 and 3 are supported)")?;
                if matches!(v.swap_bytes(), 2 | 3) {
                    write!(f, "; this looks like a big-endian GGUF, which is not supported")?;
                }
                Ok(())
            }
            GgufError::Truncated { what, offset } => {
                write!(f, "GGUF file is truncated: ran out of bytes reading {what} at byte {offset}")
            }
            GgufError::AbsurdCount { what, count } => {
                write!(f, "GGUF {what} count/length {count} is larger than the file could hold")
            }
            GgufError::UnknownValueType(t) => write!(f, "unknown GGUF metadata value type {t}"),
            GgufError::UnknownTensorType { tensor, type_id } => {
                write!(f, "tensor '{tensor}' has unknown ggml type {type_id}")
            }
            GgufError::NestingTooDeep => write!(f, "GGUF metadata arrays are nested too deeply"),
            GgufError::InvalidBool(b) => write!(f, "GGUF bool value {b} is neither 0 nor 1"),
            GgufError::BadAlignment(a) => write!(f, "GGUF general.alignment {a} is not a power of two"),
            GgufError::BadDims { tensor, dims } => write!(f, "tensor '{tensor}' has invalid dimensions {dims:?}"),
            GgufError::RowNotBlockAligned { tensor, row_len, block } => {
                write!(f, "tensor '{tensor}' has rows of {row_len} elements, not a multiple of its block size {block}")
            }
            GgufError::MisalignedTensor { tensor, offset } => {
                write!(f, "tensor '{tensor}' data offset {offset} is not aligned")
            }
            GgufError::TensorOutOfRange { tensor, start, len, file_len } => write!(
                f,
                "tensor '{tensor}' data (bytes {start}..{}) lies outside the file ({file_len} bytes)",
                start.saturating_add(*len)
            ),
            GgufError::DuplicateTensor(name) => write!(f, "tensor '{name}' appears twice"),
        }
    }
}

impl std::error::Error for GgufError {}

/// Element types of ggml tensors. Only some have kernels in this crate (see [`GgmlType::has_kernel`]); the
/// others are known so that the reader can size (and range-check) them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    Iq2Xxs,
    Iq2Xs,
    Iq3Xxs,
    Iq1S,
    Iq4Nl,
    Iq3S,
    Iq2S,
    Iq4Xs,
    I8,
    I16,
    I32,
    I64,
    F64,
    Iq1M,
    Bf16,
    Tq1_0,
    Tq2_0,
    Mxfp4,
}

impl GgmlType {
    /// The ggml type id as stored in the file.
    pub fn from_id(id: u32) -> Option<Self> {
        use GgmlType::*;
        Some(match id {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2K,
            11 => Q3K,
            12 => Q4K,
            13 => Q5K,
            14 => Q6K,
            15 => Q8K,
            16 => Iq2Xxs,
            17 => Iq2Xs,
            18 => Iq3Xxs,
            19 => Iq1S,
            20 => Iq4Nl,
            21 => Iq3S,
            22 => Iq2S,
            23 => Iq4Xs,
            24 => I8,
            25 => I16,
            26 => I32,
            27 => I64,
            28 => F64,
            29 => Iq1M,
            30 => Bf16,
            34 => Tq1_0,
            35 => Tq2_0,
            39 => Mxfp4,
            _ => return None,
        })
    }

    /// (elements per block, bytes per block), from ggml's type traits.
    pub fn block_layout(self) -> (u64, u64) {
        use GgmlType::*;
        match self {
            F32 => (1, 4),
            F16 => (1, 2),
            Q4_0 => (32, 18),
            Q4_1 => (32, 20),
            Q5_0 => (32, 22),
            Q5_1 => (32, 24),
            Q8_0 => (32, 34),
            Q8_1 => (32, 36),
            Q2K => (256, 84),
            Q3K => (256, 110),
            Q4K => (256, 144),
            Q5K => (256, 176),
            Q6K => (256, 210),
            Q8K => (256, 292),
            Iq2Xxs => (256, 66),
            Iq2Xs => (256, 74),
            Iq3Xxs => (256, 98),
            Iq1S => (256, 50),
            Iq4Nl => (32, 18),
            Iq3S => (256, 110),
            Iq2S => (256, 82),
            Iq4Xs => (256, 136),
            I8 => (1, 1),
            I16 => (1, 2),
            I32 => (1, 4),
            I64 => (1, 8),
            F64 => (1, 8),
            Iq1M => (256, 56),
            Bf16 => (1, 2),
            Tq1_0 => (256, 54),
            Tq2_0 => (256, 66),
            Mxfp4 => (32, 17),
        }
    }

    /// The types [`crate::numeric::quant`] can dequantise: everything llama.cpp's usual `Q*_0`, `Q*_1` and
    /// `Q*_K_S`/`Q*_K_M` files contain.
    pub const SUPPORTED: [GgmlType; 13] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Bf16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
    ];

    /// Whether [`crate::numeric::quant`] can dequantise this type.
    pub fn has_kernel(self) -> bool {
        Self::SUPPORTED.contains(&self)
    }

    /// The name llama.cpp gives the type (`Q4_K`, `IQ2_XXS`, ...), for messages.
    pub fn name(self) -> &'static str {
        use GgmlType::*;
        match self {
            F32 => "F32",
            F16 => "F16",
            Q4_0 => "Q4_0",
            Q4_1 => "Q4_1",
            Q5_0 => "Q5_0",
            Q5_1 => "Q5_1",
            Q8_0 => "Q8_0",
            Q8_1 => "Q8_1",
            Q2K => "Q2_K",
            Q3K => "Q3_K",
            Q4K => "Q4_K",
            Q5K => "Q5_K",
            Q6K => "Q6_K",
            Q8K => "Q8_K",
            Iq2Xxs => "IQ2_XXS",
            Iq2Xs => "IQ2_XS",
            Iq3Xxs => "IQ3_XXS",
            Iq1S => "IQ1_S",
            Iq4Nl => "IQ4_NL",
            Iq3S => "IQ3_S",
            Iq2S => "IQ2_S",
            Iq4Xs => "IQ4_XS",
            I8 => "I8",
            I16 => "I16",
            I32 => "I32",
            I64 => "I64",
            F64 => "F64",
            Iq1M => "IQ1_M",
            Bf16 => "BF16",
            Tq1_0 => "TQ1_0",
            Tq2_0 => "TQ2_0",
            Mxfp4 => "MXFP4",
        }
    }

    /// "F32, F16, ..., Q6_K": the supported types, for messages.
    pub fn supported_list() -> String {
        Self::SUPPORTED.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    /// Strings are UTF-8 by the spec; invalid sequences are replaced (U+FFFD) rather than rejected.
    String(String),
    Array(Vec<GgufValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl GgufValue {
    /// Any integer type that fits a u64 (negative values do not).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v),
            GgufValue::I8(v) => u64::try_from(v).ok(),
            GgufValue::I16(v) => u64::try_from(v).ok(),
            GgufValue::I32(v) => u64::try_from(v).ok(),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any integer type as i64 (u64 values above i64::MAX do not fit).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            GgufValue::I8(v) => Some(v.into()),
            GgufValue::I16(v) => Some(v.into()),
            GgufValue::I32(v) => Some(v.into()),
            GgufValue::I64(v) => Some(v),
            _ => self.as_u64().and_then(|v| i64::try_from(v).ok()),
        }
    }

    /// F32 or F64 (integers too, for tolerance of writers that store e.g. the RoPE base as an int).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::F32(v) => Some(v.into()),
            GgufValue::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            GgufValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            GgufValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the innermost (contiguous) dimension, i.e. the row length. A PyTorch weight
    /// `[out, in]` is stored as dims `[in, out]`.
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset relative to the start of the data section, as stored.
    pub offset: u64,
    /// Absolute byte range in the file.
    pub start: usize,
    pub len: usize,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF header: metadata and tensor directory. Holds no tensor data.
#[derive(Debug, Clone)]
pub struct Gguf {
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, GgufValue)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: usize,
    meta_index: HashMap<String, usize>,
    tensor_index: HashMap<String, usize>,
}

/// Arrays of arrays are legal but never deep in practice; the limit keeps recursion bounded.
const MAX_NESTING: usize = 4;
/// ggml tensors have at most 4 dimensions (GGML_MAX_DIMS).
const MAX_DIMS: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;

impl Gguf {
    /// Parse the header of a GGUF file held in `bytes` and check every tensor range against `bytes.len()`.
    pub fn parse(bytes: &[u8]) -> Result<Gguf, GgufError> {
        let mut r = Reader { bytes, pos: 0 };
        let magic = r.array4("magic")?;
        if &magic != b"GGUF" {
            return Err(GgufError::BadMagic(magic));
        }
        let version = r.u32("version")?;
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = r.u64("tensor count")?;
        let kv_count = r.u64("metadata count")?;
        // The smallest kv is an empty key (8) + type (4) + a u8 (1); the smallest tensor info an empty name
        // (8) + n_dims (4) + type (4) + offset (8). Counts that could not fit are corrupt.
        let kv_count = r.check_count("metadata", kv_count, 13)?;
        let tensor_count = r.check_count("tensor", tensor_count, 24)?;

        let mut metadata = Vec::with_capacity(kv_count);
        let mut meta_index = HashMap::with_capacity(kv_count);
        for _ in 0..kv_count {
            let key = r.string("metadata key")?;
            let type_id = r.u32("metadata value type")?;
            let value = r.value(type_id, 0)?;
            // Later duplicates win, like a map insert; the Vec keeps both for inspection.
            meta_index.insert(key.clone(), metadata.len());
            metadata.push((key, value));
        }

        let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
            None => DEFAULT_ALIGNMENT,
            Some(v) => {
                let a = v.as_u64().ok_or(GgufError::BadAlignment(0))?;
                if a == 0 || !a.is_power_of_two() {
                    return Err(GgufError::BadAlignment(a));
                }
                a
            }
        };

        struct RawInfo {
            name: String,
            dims: Vec<u64>,
            ggml_type: GgmlType,
            offset: u64,
            n_bytes: u64,
        }
        let mut raw = Vec::with_capacity(tensor_count);
        let mut tensor_index = HashMap::with_capacity(tensor_count);
        for i in 0..tensor_count {
            let name = r.string("tensor name")?;
            let n_dims = r.u32("tensor n_dims")?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(GgufError::BadDims { tensor: name, dims: vec![] });
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64("tensor dims")?);
            }
            let type_id = r.u32("tensor type")?;
            let offset = r.u64("tensor offset")?;
            let ggml_type =
                GgmlType::from_id(type_id).ok_or(GgufError::UnknownTensorType { tensor: name.clone(), type_id })?;
            if dims.contains(&0) {
                return Err(GgufError::BadDims { tensor: name, dims });
            }
            let (block, block_bytes) = ggml_type.block_layout();
            if dims[0] % block != 0 {
                return Err(GgufError::RowNotBlockAligned { tensor: name, row_len: dims[0], block });
            }
            let n_elements = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
            let n_bytes = n_elements.and_then(|n| (n / block).checked_mul(block_bytes));
            let Some(n_bytes) = n_bytes else {
                return Err(GgufError::BadDims { tensor: name, dims });
            };
            if offset % alignment != 0 {
                return Err(GgufError::MisalignedTensor { tensor: name, offset });
            }
            if tensor_index.insert(name.clone(), i).is_some() {
                return Err(GgufError::DuplicateTensor(name));
            }
            raw.push(RawInfo { name, dims, ggml_type, offset, n_bytes });
        }

        // The data section starts at the next multiple of the alignment after the tensor directory.
        let header_end = r.pos as u64;
        let data_offset = header_end.div_ceil(alignment) * alignment;
        let file_len = bytes.len() as u64;
        let mut tensors = Vec::with_capacity(raw.len());
        for t in raw {
            let start = data_offset.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.n_bytes));
            match (start, end) {
                (Some(s), Some(e)) if e <= file_len => tensors.push(TensorInfo {
                    name: t.name,
                    dims: t.dims,
                    ggml_type: t.ggml_type,
                    offset: t.offset,
                    // Both fit in the file length, which is a usize.
                    start: s as usize,
                    len: t.n_bytes as usize,
                }),
                _ => {
                    return Err(GgufError::TensorOutOfRange {
                        tensor: t.name,
                        start: data_offset.saturating_add(t.offset),
                        len: t.n_bytes,
                        file_len,
                    })
                }
            }
        }
        if !tensors.is_empty() && data_offset > file_len {
            return Err(GgufError::Truncated { what: "alignment padding", offset: bytes.len() });
        }

        Ok(Gguf {
            version,
            metadata,
            tensors,
            alignment,
            data_offset: data_offset.min(file_len) as usize,
            meta_index,
            tensor_index,
        })
    }

    /// llama.cpp's split files laid end to end in `bytes` (`parts`: each file's byte range, first part
    /// first): the first part's metadata and every part's tensors, their ranges in `bytes`.
    pub fn parse_split(bytes: &[u8], parts: &[std::ops::Range<usize>]) -> Result<Gguf, GgufError> {
        let mut merged: Option<Gguf> = None;
        for range in parts {
            let part =
                bytes.get(range.clone()).ok_or(GgufError::Truncated { what: "split part", offset: range.end })?;
            let mut g = Gguf::parse(part)?;
            for t in &mut g.tensors {
                t.start += range.start;
            }
            match &mut merged {
                None => merged = Some(g),
                Some(m) => {
                    for t in g.tensors {
                        if m.tensor_index.contains_key(&t.name) {
                            return Err(GgufError::DuplicateTensor(t.name));
                        }
                        m.tensor_index.insert(t.name.clone(), m.tensors.len());
                        m.tensors.push(t);
                    }
                }
            }
        }
        merged.ok_or(GgufError::Truncated { what: "split files", offset: 0 })
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// A tensor's directory entry by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }
}

/// A cursor over the file bytes that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated { what, offset: self.pos });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array4(&mut self, what: &'static str) -> Result<[u8; 4], GgufError> {
        let s = self.take(4, what)?;
        Ok([s[0], s[1], s[2], s[3]])
    }

    fn array8(&mut self, what: &'static str) -> Result<[u8; 8], GgufError> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, GgufError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, GgufError> {
        let s = self.take(2, what)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array4(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array8(what)?))
    }

    /// A count of items of at least `min_item_bytes` each must fit in what is left of the file.
    fn check_count(&self, what: &'static str, count: u64, min_item_bytes: u64) -> Result<usize, GgufError> {
        match count.checked_mul(min_item_bytes) {
            Some(need) if need <= self.remaining() as u64 => Ok(count as usize),
            _ => Err(GgufError::AbsurdCount { what, count }),
        }
    }

    fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
        let len = self.u64(what)?;
        let len = self.check_count(what, len, 1)?;
        let s = self.take(len, what)?;
        Ok(String::from_utf8_lossy(s).into_owned())
    }

    fn value(&mut self, type_id: u32, depth: usize) -> Result<GgufValue, GgufError> {
        const W: &str = "metadata value";
        Ok(match type_id {
            0 => GgufValue::U8(self.u8(W)?),
            1 => GgufValue::I8(self.u8(W)? as i8),
            2 => GgufValue::U16(self.u16(W)?),
            3 => GgufValue::I16(self.u16(W)? as i16),
            4 => GgufValue::U32(self.u32(W)?),
            5 => GgufValue::I32(self.u32(W)? as i32),
            6 => GgufValue::F32(f32::from_bits(self.u32(W)?)),
            7 => match self.u8(W)? {
                0 => GgufValue::Bool(false),
                1 => GgufValue::Bool(true),
                b => return Err(GgufError::InvalidBool(b)),
            },
            8 => GgufValue::String(self.string("metadata string")?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(GgufError::NestingTooDeep);
                }
                let elem_type = self.u32("array element type")?;
                let count = self.u64("array length")?;
                let min_size = match elem_type {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 => 8,  // the length prefix of each string
                    9 => 12, // element type + length of each inner array
                    10..=12 => 8,
                    t => return Err(GgufError::UnknownValueType(t)),
                };
                let count = self.check_count("array", count, min_size)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(elem_type, depth + 1)?);
                }
                GgufValue::Array(items)
            }
            10 => GgufValue::U64(self.u64(W)?),
            11 => GgufValue::I64(self.u64(W)? as i64),
            12 => GgufValue::F64(f64::from_bits(self.u64(W)?)),
            t => return Err(GgufError::UnknownValueType(t)),
        })
    }
}

/// Helpers to build GGUF bytes in tests (here and in the integration tests through `pub`).
#[doc(hidden)]
pub mod build {
    /// A minimal GGUF writer for crafting test files.
    #[derive(Default)]
    pub struct GgufBuilder {
        pub version: u32,
        kvs: Vec<u8>,
        n_kv: u64,
        infos: Vec<u8>,
        n_tensors: u64,
        data: Vec<u8>,
        pub alignment: usize,
    }

    impl GgufBuilder {
        pub fn new() -> Self {
            GgufBuilder { version: 3, alignment: 32, ..Default::default() }
        }

        fn push_str(buf: &mut Vec<u8>, s: &str) {
            buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }

        /// Raw key/value: `type_id` and already-encoded value bytes.
        pub fn kv_raw(&mut self, key: &str, type_id: u32, value: &[u8]) -> &mut Self {
            Self::push_str(&mut self.kvs, key);
            self.kvs.extend_from_slice(&type_id.to_le_bytes());
            self.kvs.extend_from_slice(value);
            self.n_kv += 1;
            self
        }

        pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
            self.kv_raw(key, 4, &v.to_le_bytes())
        }

        pub fn kv_f32(&mut self, key: &str, v: f32) -> &mut Self {
            self.kv_raw(key, 6, &v.to_le_bytes())
        }

        pub fn kv_bool(&mut self, key: &str, v: bool) -> &mut Self {
            self.kv_raw(key, 7, &[v as u8])
        }

        pub fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
            let mut b = Vec::new();
            Self::push_str(&mut b, v);
            self.kv_raw(key, 8, &b)
        }

        pub fn kv_str_array(&mut self, key: &str, items: &[&str]) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&8u32.to_le_bytes());
            b.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for s in items {
                Self::push_str(&mut b, s);
            }
            self.kv_raw(key, 9, &b)
        }

        pub fn kv_i32_array(&mut self, key: &str, items: &[i32]) -> &mut Self {
            let mut b = Vec::new();
            b.extend_from_slice(&5u32.to_le_bytes());
            b.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for v in items {
                b.extend_from_slice(&v.to_le_bytes());
            }
            self.kv_raw(key, 9, &b)
        }

        /// A tensor with `dims` in ggml order and raw `data`, placed at the next aligned offset.
        pub fn tensor(&mut self, name: &str, dims: &[u64], type_id: u32, data: &[u8]) -> &mut Self {
            while !self.data.len().is_multiple_of(self.alignment) {
                self.data.push(0);
            }
            let offset = self.data.len() as u64;
            self.tensor_at(name, dims, type_id, offset);
            self.data.extend_from_slice(data);
            self
        }

        /// A tensor directory entry with an explicit offset and no data.
        pub fn tensor_at(&mut self, name: &str, dims: &[u64], type_id: u32, offset: u64) -> &mut Self {
            Self::push_str(&mut self.infos, name);
            self.infos.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                self.infos.extend_from_slice(&d.to_le_bytes());
            }
            self.infos.extend_from_slice(&type_id.to_le_bytes());
            self.infos.extend_from_slice(&offset.to_le_bytes());
            self.n_tensors += 1;
            self
        }

        pub fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(b"GGUF");
            out.extend_from_slice(&self.version.to_le_bytes());
            out.extend_from_slice(&self.n_tensors.to_le_bytes());
            out.extend_from_slice(&self.n_kv.to_le_bytes());
            out.extend_from_slice(&self.kvs);
            out.extend_from_slice(&self.infos);
            if !self.data.is_empty() {
                while out.len() % self.alignment != 0 {
                    out.push(0);
                }
                out.extend_from_slice(&self.data);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::GgufBuilder;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = GgufBuilder::new();
        b.kv_str("general.architecture", "llama")
            .kv_u32("llama.block_count", 2)
            .kv_f32("llama.rope.freq_base", 10000.0)
            .kv_bool("flag", true)
            .kv_str_array("tokenizer.ggml.tokens", &["a", "b", "Ġc"])
            .kv_i32_array("tokenizer.ggml.token_type", &[1, 1, 3])
            .tensor("w", &[4, 2], 0, &[0u8; 32])
            .tensor("q", &[32, 1], 8, &[0u8; 34]);
        b.build()
    }

    #[test]
    fn parses_crafted_file() {
        let bytes = sample();
        let g = Gguf::parse(&bytes).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.get("general.architecture").and_then(|v| v.as_str()), Some("llama"));
        assert_eq!(g.get("llama.block_count").and_then(|v| v.as_u64()), Some(2));
        assert_eq!(g.get("llama.rope.freq_base").and_then(|v| v.as_f64()), Some(10000.0));
        assert_eq!(g.get("flag").and_then(|v| v.as_bool()), Some(true));
        let toks: Vec<&str> =
            g.get("tokenizer.ggml.tokens").unwrap().as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(toks, ["a", "b", "Ġc"]);
        let w = g.tensor("w").unwrap();
        assert_eq!((w.ggml_type, w.len, w.start % 32, w.start), (GgmlType::F32, 32, 0, g.data_offset));
        let q = g.tensor("q").unwrap();
        assert_eq!((q.ggml_type, q.len, q.offset), (GgmlType::Q8_0, 34, 32));
        assert_eq!(q.start + q.len, bytes.len());
    }
}

//! The GGUF reader and model loader on crafted bytes: every malformed input is a clear error, never a panic.

use arcs_models::smollm2::{GgmlType, Gguf, GgufError, GgufValue, ModelError, SmolLm2};
use arcs_models::source::gguf::build::GgufBuilder;

fn header(version: u32, n_tensors: u64, n_kv: u64) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(version.to_le_bytes());
    b.extend(n_tensors.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b
}

fn string(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend(s.as_bytes());
    b
}

fn valid() -> Vec<u8> {
    let mut b = GgufBuilder::new();
    b.kv_str("general.architecture", "llama")
        .kv_u32("n", 7)
        .kv_str_array("list", &["x", "yz"])
        .tensor("a", &[2, 2], 0, &[0u8; 16])
        .tensor("b", &[32], 3, &[0u8; 20]);
    b.build()
}

#[test]
fn valid_file_parses() {
    let bytes = valid();
    let g = Gguf::parse(&bytes).expect("valid file");
    assert_eq!(g.tensors.len(), 2);
    assert_eq!(g.get("n"), Some(&GgufValue::U32(7)));
    assert_eq!(g.tensor("b").map(|t| t.ggml_type), Some(GgmlType::Q4_1));
    assert_eq!(g.tensor("b").map(|t| (t.start, t.len)), Some((bytes.len() - 20, 20)));
}

#[test]
fn bad_magic() {
    let mut bytes = valid();
    bytes[0] = b'X';
    assert_eq!(Gguf::parse(&bytes).unwrap_err(), GgufError::BadMagic(*b"XGUF"));
    assert!(matches!(Gguf::parse(b"GGML\x03\0\0\0"), Err(GgufError::BadMagic(_))));
}

#[test]
fn unsupported_versions() {
    for v in [0u32, 1, 4, 0xffff_ffff] {
        let mut bytes = valid();
        bytes[4..8].copy_from_slice(&v.to_le_bytes());
        assert_eq!(Gguf::parse(&bytes).unwrap_err(), GgufError::UnsupportedVersion(v));
    }
    let mut v2 = valid();
    v2[4..8].copy_from_slice(&2u32.to_le_bytes());
    assert!(Gguf::parse(&v2).is_ok());
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = valid();
    for len in 0..bytes.len() {
        let r = Gguf::parse(&bytes[..len]);
        assert!(r.is_err(), "prefix of {len} bytes parsed");
    }
    // The header alone cut mid-way says where.
    assert_eq!(Gguf::parse(b"GGUF\x03\0").unwrap_err(), GgufError::Truncated { what: "version", offset: 4 });
}

#[test]
fn absurd_counts_do_not_allocate() {
    let e = Gguf::parse(&header(3, u64::MAX, 0)).unwrap_err();
    assert!(matches!(e, GgufError::AbsurdCount { what: "tensor", .. }), "{e:?}");
    let e = Gguf::parse(&header(3, 0, u64::MAX)).unwrap_err();
    assert!(matches!(e, GgufError::AbsurdCount { what: "metadata", .. }), "{e:?}");
    // A key claiming 2^62 bytes.
    let mut b = header(3, 0, 1);
    b.extend((1u64 << 62).to_le_bytes());
    assert!(matches!(Gguf::parse(&b).unwrap_err(), GgufError::AbsurdCount { .. }));
    // An array claiming u64::MAX strings.
    let mut b = header(3, 0, 1);
    b.extend(string("k"));
    b.extend(9u32.to_le_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend(u64::MAX.to_le_bytes());
    assert!(matches!(Gguf::parse(&b).unwrap_err(), GgufError::AbsurdCount { what: "array", .. }));
}

#[test]
fn bad_values() {
    let mut b = GgufBuilder::new();
    b.kv_raw("k", 13, &[0]);
    assert_eq!(Gguf::parse(&b.build()).unwrap_err(), GgufError::UnknownValueType(13));
    let mut b = GgufBuilder::new();
    b.kv_raw("k", 7, &[2]);
    assert_eq!(Gguf::parse(&b.build()).unwrap_err(), GgufError::InvalidBool(2));
    // Arrays of arrays nested past the limit.
    let mut v = Vec::new();
    for _ in 0..8 {
        v.extend(9u32.to_le_bytes());
        v.extend(1u64.to_le_bytes());
    }
    v.extend(0u32.to_le_bytes());
    v.extend(0u64.to_le_bytes());
    let mut b = GgufBuilder::new();
    b.kv_raw("deep", 9, &v);
    assert_eq!(Gguf::parse(&b.build()).unwrap_err(), GgufError::NestingTooDeep);
    // Every value type round-trips.
    let mut b = GgufBuilder::new();
    b.kv_raw("u8", 0, &[200])
        .kv_raw("i8", 1, &[0xff])
        .kv_raw("u16", 2, &500u16.to_le_bytes())
        .kv_raw("i16", 3, &(-500i16).to_le_bytes())
        .kv_raw("i32", 5, &(-7i32).to_le_bytes())
        .kv_raw("u64", 10, &(1u64 << 40).to_le_bytes())
        .kv_raw("i64", 11, &(-3i64).to_le_bytes())
        .kv_raw("f64", 12, &0.25f64.to_le_bytes())
        .kv_f32("f32", 1.5)
        .kv_bool("b", false)
        .kv_i32_array("ints", &[1, -2]);
    let bytes = b.build();
    let g = Gguf::parse(&bytes).expect("all types");
    assert_eq!(g.get("u8"), Some(&GgufValue::U8(200)));
    assert_eq!(g.get("i8"), Some(&GgufValue::I8(-1)));
    assert_eq!(g.get("u16"), Some(&GgufValue::U16(500)));
    assert_eq!(g.get("i16"), Some(&GgufValue::I16(-500)));
    assert_eq!(g.get("i32").and_then(|v| v.as_i64()), Some(-7));
    assert_eq!(g.get("i32").and_then(|v| v.as_u64()), None);
    assert_eq!(g.get("u64").and_then(|v| v.as_u64()), Some(1 << 40));
    assert_eq!(g.get("i64"), Some(&GgufValue::I64(-3)));
    assert_eq!(g.get("f64").and_then(|v| v.as_f64()), Some(0.25));
    assert_eq!(g.get("f32").and_then(|v| v.as_f64()), Some(1.5));
    assert_eq!(g.get("b").and_then(|v| v.as_bool()), Some(false));
    assert_eq!(g.get("ints"), Some(&GgufValue::Array(vec![GgufValue::I32(1), GgufValue::I32(-2)])));
}

#[test]
fn alignment() {
    for a in [0u32, 3, 48] {
        let mut b = GgufBuilder::new();
        b.kv_u32("general.alignment", a);
        assert_eq!(Gguf::parse(&b.build()).unwrap_err(), GgufError::BadAlignment(a as u64));
    }
    let mut b = GgufBuilder::new();
    b.alignment = 64;
    b.kv_u32("general.alignment", 64).tensor("t", &[4], 0, &[1u8; 16]).tensor("u", &[4], 0, &[2u8; 16]);
    let bytes = b.build();
    let g = Gguf::parse(&bytes).expect("64-aligned");
    assert_eq!(g.alignment, 64);
    assert_eq!(g.data_offset % 64, 0);
    assert_eq!(g.tensor("u").map(|t| t.offset), Some(64));
    let u = g.tensor("u").unwrap();
    assert_eq!(&bytes[u.start..u.start + u.len], &[2u8; 16]);
    // An offset that is not a multiple of the alignment.
    let mut b = GgufBuilder::new();
    b.tensor_at("t", &[4], 0, 8);
    assert!(matches!(Gguf::parse(&b.build()).unwrap_err(), GgufError::MisalignedTensor { offset: 8, .. }));
}

#[test]
fn tensor_directory_errors() {
    let parse = |b: &GgufBuilder| Gguf::parse(&b.build()).unwrap_err();
    // Data beyond the end of the file.
    let mut b = GgufBuilder::new();
    b.tensor("t", &[4], 0, &[0u8; 16]).tensor_at("far", &[4], 0, 1 << 20);
    assert!(matches!(parse(&b), GgufError::TensorOutOfRange { ref tensor, .. } if tensor == "far"));
    // Offset + size overflowing u64.
    let mut b = GgufBuilder::new();
    b.tensor("t", &[4], 0, &[0u8; 16]).tensor_at("wrap", &[4], 0, u64::MAX - 31);
    assert!(matches!(parse(&b), GgufError::TensorOutOfRange { .. }));
    // Dimensions whose product overflows.
    let mut b = GgufBuilder::new();
    b.tensor_at("huge", &[1 << 40, 1 << 40], 0, 0);
    assert!(matches!(parse(&b), GgufError::BadDims { .. }));
    // Zero dims, too many dims, a zero-sized dim.
    let mut b = GgufBuilder::new();
    b.tensor_at("scalar", &[], 0, 0);
    assert!(matches!(parse(&b), GgufError::BadDims { .. }));
    let mut b = GgufBuilder::new();
    b.tensor_at("5d", &[1, 1, 1, 1, 1], 0, 0);
    assert!(matches!(parse(&b), GgufError::BadDims { .. }));
    let mut b = GgufBuilder::new();
    b.tensor_at("empty", &[4, 0], 0, 0);
    assert!(matches!(parse(&b), GgufError::BadDims { .. }));
    // Unknown tensor type; a Q8_0 row that is not whole blocks; duplicate names.
    let mut b = GgufBuilder::new();
    b.tensor_at("t", &[4], 4, 0);
    assert_eq!(parse(&b), GgufError::UnknownTensorType { tensor: "t".into(), type_id: 4 });
    let mut b = GgufBuilder::new();
    b.tensor_at("q", &[33], 8, 0);
    assert!(matches!(parse(&b), GgufError::RowNotBlockAligned { row_len: 33, block: 32, .. }));
    let mut b = GgufBuilder::new();
    b.tensor("t", &[4], 0, &[0u8; 16]).tensor("t", &[4], 0, &[0u8; 16]);
    assert_eq!(parse(&b), GgufError::DuplicateTensor("t".into()));
}

#[test]
fn errors_display_clearly() {
    let e = Gguf::parse(b"NOPE\x03\0\0\0").unwrap_err();
    assert!(e.to_string().contains("not a GGUF file"), "{e}");
    let e = Gguf::parse(&header(1, 0, 0)).unwrap_err();
    assert!(e.to_string().contains("version 1"), "{e}");
    let be = Gguf::parse(&header(3u32.swap_bytes(), 0, 0)).unwrap_err();
    assert!(be.to_string().contains("big-endian"), "{be}");
    let m: ModelError = e.into();
    assert!(std::error::Error::source(&m).is_some());
    assert!(m.to_string().contains("unsupported GGUF version"));
}

#[test]
fn model_loader_rejects_wrong_models() {
    // Not even GGUF.
    assert!(matches!(SmolLm2::from_gguf(b"hello".to_vec()), Err(ModelError::Gguf(GgufError::BadMagic(_)))));
    // Valid GGUF, wrong architecture.
    let mut b = GgufBuilder::new();
    b.kv_str("general.architecture", "gpt2");
    let e = SmolLm2::from_gguf(b.build()).unwrap_err();
    assert!(matches!(e, ModelError::Metadata(ref m) if m.contains("gpt2")), "{e}");
    // Hyper-parameters but no tokenizer.
    let mut b = GgufBuilder::new();
    b.kv_str("general.architecture", "llama")
        .kv_u32("llama.block_count", 30)
        .kv_u32("llama.embedding_length", 576)
        .kv_u32("llama.feed_forward_length", 1536)
        .kv_u32("llama.attention.head_count", 9)
        .kv_u32("llama.attention.head_count_kv", 3);
    let e = SmolLm2::from_gguf(b.build()).unwrap_err();
    assert!(matches!(e, ModelError::Metadata(ref m) if m.contains("tokenizer")), "{e}");
}

/// A GGUF with a three-token byte-level BPE vocabulary and the given architecture keys, no tensors.
fn with_tokenizer(arch: &str, keys: &[(&str, u32)]) -> Vec<u8> {
    let mut b = GgufBuilder::new();
    b.kv_str("general.architecture", arch)
        .kv_str("tokenizer.ggml.model", "gpt2")
        .kv_str_array("tokenizer.ggml.tokens", &["a", "b", "ab"])
        .kv_str_array("tokenizer.ggml.merges", &["a b"]);
    for (k, v) in keys {
        b.kv_u32(&format!("{arch}.{k}"), *v);
    }
    b.build()
}

#[test]
fn metadata_that_cannot_describe_a_model_is_named() {
    let full = [
        ("block_count", 2),
        ("embedding_length", 12),
        ("feed_forward_length", 20),
        ("attention.head_count", 3),
        ("attention.head_count_kv", 1),
    ];
    // Each key missing in turn is named.
    for skip in 0..4 {
        let keys: Vec<_> = full.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, kv)| *kv).collect();
        let e = SmolLm2::from_gguf(with_tokenizer("qwen2", &keys)).unwrap_err().to_string();
        assert!(e.contains(full[skip].0), "{e}");
    }
    // Heads that do not share K/V heads evenly, an odd head width, a zero.
    let bad = [("attention.head_count_kv", 2)];
    let e = SmolLm2::from_gguf(with_tokenizer("llama", &[&full[..4], &bad[..]].concat())).unwrap_err().to_string();
    assert!(e.contains("3 query heads cannot share 2"), "{e}");
    let e = SmolLm2::from_gguf(with_tokenizer("llama", &[&full[..], &[("attention.key_length", 5)]].concat()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("odd"), "{e}");
    let e = SmolLm2::from_gguf(with_tokenizer("llama", &[&full[1..], &[("block_count", 0)]].concat()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("block_count") && e.contains("is 0"), "{e}");
    // Everything right but the tensors: the first one needed is named.
    let e = SmolLm2::from_gguf(with_tokenizer("llama", &full)).unwrap_err().to_string();
    assert!(e.contains("token_embd.weight"), "{e}");
    // Another architecture: named, with the list of those that run.
    let e = SmolLm2::from_gguf(with_tokenizer("falcon", &full)).unwrap_err().to_string();
    assert!(e.contains("'falcon'") && e.contains("qwen3") && e.contains("bert"), "{e}");
}

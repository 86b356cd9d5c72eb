//! Malformed inputs give errors, never panics.

#[path = "common_minilm/mod.rs"]
mod common;

use arcs_models::minilm::{MiniLm, ModelError};
use arcs_models::source::bundle::{fnv1a64, MAGIC, PREFIX_LEN, VERSION};

const TINY_VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n";

/// A safetensors file holding the given f32 tensors (zeros), written by hand.
fn safetensors(tensors: &[(&str, &str, &[usize])]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (i, (name, dtype, shape)) in tensors.iter().enumerate() {
        let size = shape.iter().product::<usize>() * if *dtype == "F16" { 2 } else { 4 };
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{offset},{}]}}",
            offset + size
        ));
        offset += size;
    }
    header.push('}');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + offset, 0);
    out
}

/// A syntactically valid bundle prefix + body whose content is `body`.
fn bundle_with_body(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = header.to_vec();
    body.extend_from_slice(payload);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn bad_safetensors_containers_are_errors() {
    for bytes in
        [&b""[..], b"\x05\0\0\0\0\0\0\0{}", b"\xff\xff\xff\xff\xff\xff\xff\xff{}", b"not a safetensors file at all"]
    {
        assert!(matches!(MiniLm::from_safetensors(bytes, TINY_VOCAB), Err(ModelError::SafeTensors(_))));
    }
    let file = safetensors(&[("embeddings.word_embeddings.weight", "F32", &[5, 384])]);
    for cut in [0, 7, 8, 20, file.len() - 1] {
        assert!(
            matches!(MiniLm::from_safetensors(&file[..cut], TINY_VOCAB), Err(ModelError::SafeTensors(_))),
            "cut {cut}"
        );
    }
}

#[test]
fn missing_mis_shaped_and_mis_typed_tensors_are_named() {
    let wrong_shape = safetensors(&[("embeddings.word_embeddings.weight", "F32", &[5, 383])]);
    let err = MiniLm::from_safetensors(&wrong_shape, TINY_VOCAB).unwrap_err();
    assert_eq!(
        err,
        ModelError::WrongShape {
            name: "embeddings.word_embeddings.weight".into(),
            expected: vec![30522, 384],
            found: vec![5, 383]
        }
    );
    assert!(err.to_string().contains("embeddings.word_embeddings.weight"));

    // F32, F16 and BF16 are read; integers are not weights.
    let wrong_dtype = safetensors(&[("embeddings.word_embeddings.weight", "I32", &[30522, 384])]);
    assert!(matches!(MiniLm::from_safetensors(&wrong_dtype, TINY_VOCAB), Err(ModelError::WrongDtype { .. })));

    let missing = safetensors(&[("embeddings.word_embeddings.weight", "F32", &[30522, 384])]);
    assert!(matches!(
        MiniLm::from_safetensors(&missing, TINY_VOCAB),
        Err(ModelError::MissingTensor(name)) if name.starts_with("embeddings.position")
    ));
    // The vocabulary is checked first.
    assert!(matches!(MiniLm::from_safetensors(&missing, "the\n"), Err(ModelError::Vocab(_))));
}

#[test]
fn bundle_prefix_errors() {
    assert_eq!(MiniLm::from_bundle(b"").unwrap_err(), ModelError::Truncated { expected: 32, found: 0 });
    assert_eq!(MiniLm::from_bundle(b"ARCSML").unwrap_err(), ModelError::Truncated { expected: 32, found: 6 });
    assert_eq!(MiniLm::from_bundle(b"PK\x03\x04 this is a zip").unwrap_err(), ModelError::BadMagic);
    assert_eq!(MiniLm::from_bundle(b"ARCSMLM2").unwrap_err(), ModelError::BadMagic);

    let good = bundle_with_body(b"{}", b"payload");
    let mut v2 = good.clone();
    v2[8] = 2;
    assert_eq!(MiniLm::from_bundle(&v2).unwrap_err(), ModelError::UnsupportedVersion(2));
    assert!(matches!(MiniLm::from_bundle(&good[..good.len() - 1]), Err(ModelError::Truncated { .. })));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(MiniLm::from_bundle(&longer), Err(ModelError::Truncated { .. })));
    let mut huge = good.clone();
    huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(MiniLm::from_bundle(&huge), Err(ModelError::Truncated { .. })));

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(matches!(MiniLm::from_bundle(&flipped), Err(ModelError::ChecksumMismatch { .. })));

    // Valid checksum but nonsense header.
    assert!(matches!(MiniLm::from_bundle(&good), Err(ModelError::BadBundle(_))));
    assert_eq!(good.len(), PREFIX_LEN + 2 + 7);
}

/// Rewrites the JSON header of a real bundle (same length or not) and fixes up lengths and
/// checksum, so only the header content is wrong.
fn with_header_edit(bundle: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let header_len = u32::from_le_bytes(bundle[12..16].try_into().expect("4 bytes")) as usize;
    let header = std::str::from_utf8(&bundle[PREFIX_LEN..PREFIX_LEN + header_len]).expect("the header is UTF-8");
    let new_header = edit(header);
    assert_ne!(new_header, header, "edit changed nothing");
    bundle_with_body(new_header.as_bytes(), &bundle[PREFIX_LEN + header_len..])
}

#[test]
fn damaged_real_bundles_are_errors() {
    if !common::model_present("damaged_real_bundles_are_errors") {
        return;
    }
    let bundle = common::bundle_bytes();
    // The helper itself reproduces the original bytes when nothing is edited.
    let header_len = u32::from_le_bytes(bundle[12..16].try_into().unwrap()) as usize;
    let payload = &bundle[PREFIX_LEN + header_len..];
    let header = &bundle[PREFIX_LEN..PREFIX_LEN + header_len];
    assert!(bundle_with_body(header, payload) == bundle);

    let wrong_shape = with_header_edit(bundle, |h| h.replacen("\"shape\":[1536,384]", "\"shape\":[384,1536]", 1));
    assert!(matches!(
        MiniLm::from_bundle(&wrong_shape),
        Err(ModelError::WrongShape { name, .. }) if name == "encoder.layer.0.intermediate.dense.weight"
    ));
    let wrong_encoding = with_header_edit(bundle, |h| h.replacen("\"encoding\":\"f16\"", "\"encoding\":\"f32\"", 1));
    assert!(matches!(MiniLm::from_bundle(&wrong_encoding), Err(ModelError::WrongDtype { .. })));
    let other_model = with_header_edit(bundle, |h| h.replacen("\"num_layers\":6", "\"num_layers\":12", 1));
    assert!(matches!(MiniLm::from_bundle(&other_model), Err(ModelError::BadBundle(_))));
    let short_vocab = with_header_edit(bundle, |h| h.replacen("\"vocab_bytes\":231508", "\"vocab_bytes\":231000", 1));
    assert!(MiniLm::from_bundle(&short_vocab).is_err());

    // Truncation anywhere, and corruption with a recomputed checksum, never panic.
    for cut in [8, 31, 32, 1000, bundle.len() / 2, bundle.len() - 1] {
        assert!(MiniLm::from_bundle(&bundle[..cut]).is_err(), "cut at {cut}");
    }
    for (i, at) in
        [231_508 + 100, 231_508 + 30522 * 2 + 3, payload.len() / 3, payload.len() - 5].into_iter().enumerate()
    {
        let mut p = payload.to_vec();
        p[at] ^= 0xa5;
        p[at + 1] = p[at + 1].wrapping_add(77);
        // Either rejected or (if the flip only changed weight values) loaded; never a panic.
        let _ = MiniLm::from_bundle(&bundle_with_body(header, &p)).map_err(|e| eprintln!("corruption {i}: {e}"));
    }
    let mut short = payload.to_vec();
    short.truncate(payload.len() - 100);
    assert!(matches!(MiniLm::from_bundle(&bundle_with_body(header, &short)), Err(ModelError::BadBundle(_))));
}

#[test]
fn real_safetensors_cut_short_is_an_error() {
    if !common::model_present("real_safetensors_cut_short_is_an_error") {
        return;
    }
    let bytes = common::safetensors_bytes();
    let vocab = common::vocab_txt();
    for cut in [100, bytes.len() / 2, bytes.len() - 4] {
        assert!(matches!(MiniLm::from_safetensors(&bytes[..cut], &vocab), Err(ModelError::SafeTensors(_))));
    }
    // Vocabulary that does not match the embedding table.
    let short_vocab: String = vocab.lines().take(30000).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        MiniLm::from_safetensors(bytes, &short_vocab).unwrap_err(),
        ModelError::VocabSizeMismatch { vocab: 30000, embeddings: 30522 }
    );
}

#[test]
fn forward_rejects_bad_ids() {
    if !common::model_present("forward_rejects_bad_ids") {
        return;
    }
    let model = common::f32_model();
    assert_eq!(model.forward(&[]).unwrap_err(), ModelError::EmptyInput);
    let too_long = vec![1996u32; 513];
    let err = model.forward(&too_long).unwrap_err();
    assert_eq!(err, ModelError::TooLong { tokens: 513, max: 512 });
    assert!(err.to_string().contains("512"));
    assert_eq!(
        model.forward(&[101, 30522, 102]).unwrap_err(),
        ModelError::InvalidTokenId { id: 30522, vocab_size: 30522 }
    );
    // Exactly 512 tokens is fine.
    let mut ids = vec![1996u32; 512];
    ids[0] = 101;
    ids[511] = 102;
    let out = model.forward(&ids).expect("512 tokens");
    assert_eq!(out.attention(5, 11).shape(), (512, 512));
}

//! Every GGUF tensor type the crate reads, dequantised and compared with gguf-py's `dequantize`
//! (llama.cpp's reference) on seeded random blocks: `reference/gguf_quant_reference.json`, made by
//! `reference/make_gguf_quant_reference.py`.

use arcs_models::numeric::quant::{dequantize_row, row_bytes};
use arcs_models::smollm2::GgmlType;
use serde_json::Value;

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../reference/gguf_quant_reference.json");
    let text = std::fs::read_to_string(path).expect("reference/gguf_quant_reference.json");
    serde_json::from_str(&text).expect("reference JSON")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn every_supported_type_matches_gguf_py_to_the_bit() {
    let r = reference();
    let types = r["types"].as_object().expect("types");
    let mut seen = Vec::new();
    for (name, case) in types {
        let id = case["id"].as_u64().expect("id") as u32;
        let t = GgmlType::from_id(id).expect("a type this reader knows");
        assert_eq!(t.name(), name, "type id {id}");
        assert!(t.has_kernel(), "{name} is in the reference, so it must be supported");
        let (block, block_bytes) = t.block_layout();
        assert_eq!(
            (block, block_bytes),
            (case["block"].as_u64().expect("block"), case["block_bytes"].as_u64().expect("bytes"))
        );
        let raw = hex(case["raw_hex"].as_str().expect("raw"));
        let want: Vec<f32> =
            case["values"].as_array().expect("values").iter().map(|v| v.as_f64().expect("f") as f32).collect();
        assert_eq!(row_bytes(t, want.len()), Some(raw.len()), "{name}: byte count");
        let mut got = vec![f32::NAN; want.len()];
        dequantize_row(t, &raw, &mut got);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Same f32 operations in the same order as the reference, so the same bits (+0.0 and -0.0
            // compare equal: numpy and Rust may sign a zero product differently).
            assert!(g == w, "{name} value {i}: got {g}, gguf-py {w}");
        }
        seen.push(t);
    }
    let mut supported = GgmlType::SUPPORTED.to_vec();
    supported.sort_by_key(|t| t.name());
    seen.sort_by_key(|t| t.name());
    assert_eq!(seen, supported, "the reference covers every supported type, and only those");
}

#[test]
fn unsupported_types_are_named_as_llama_cpp_names_them() {
    for (id, name) in [(16, "IQ2_XXS"), (20, "IQ4_NL"), (23, "IQ4_XS"), (34, "TQ1_0"), (35, "TQ2_0"), (39, "MXFP4")] {
        let t = GgmlType::from_id(id).expect("known id");
        assert_eq!(t.name(), name);
        assert!(!t.has_kernel(), "{name}");
    }
    let list = GgmlType::supported_list();
    for name in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"] {
        assert!(list.contains(name), "{list}");
    }
}

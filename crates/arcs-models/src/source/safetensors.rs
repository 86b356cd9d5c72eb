//! Hugging Face `model.safetensors` as a tensor directory over the file's own bytes, in GGUF's terms
//! (ggml types and dims, byte ranges), so a decoder reads it with the same code as a GGUF file and
//! nothing is copied: the weights stay where the file put them.
//!
//! Format: 8 bytes little-endian header length `N`, `N` bytes of JSON
//! `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [start, end]}, "__metadata__": {..}}`, then the
//! data; offsets are relative to the data's start.

use std::collections::HashMap;

use crate::source::gguf::{GgmlType, TensorInfo};
use crate::source::Tensors;
use crate::ModelError;

/// The tensors of one safetensors file, named as the caller chose (e.g. GGUF names).
#[derive(Debug, Clone, Default)]
pub struct SafetensorsDir {
    tensors: HashMap<String, TensorInfo>,
}

impl Tensors for SafetensorsDir {
    fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }
}

impl SafetensorsDir {
    /// The names of the tensors kept.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The named 2-D tensors transposed (GPT-2's Conv1D weights are `[in, out]`, the kernels read
    /// `[out, in]`): each is copied, transposed, to the end of `bytes` and its entry points there.
    pub fn transpose(mut self, bytes: &mut Vec<u8>, names: &[String]) -> Result<SafetensorsDir, ModelError> {
        for name in names {
            let Some(t) = self.tensors.get_mut(name) else { continue };
            let [cols, rows] = t.dims[..] else {
                return Err(ModelError::WrongShape {
                    name: name.clone(),
                    expected: vec![0, 0],
                    found: t.dims.iter().map(|&d| d as usize).collect(),
                });
            };
            let (rows, cols) = (rows as usize, cols as usize);
            let size = t.len / (rows * cols).max(1);
            let start = bytes.len();
            bytes.resize(start + t.len, 0);
            // Element (r, c) of `[rows, cols]` goes to (c, r) of `[cols, rows]`.
            for r in 0..rows {
                for c in 0..cols {
                    let from = t.start + (r * cols + c) * size;
                    let to = start + (c * rows + r) * size;
                    bytes.copy_within(from..from + size, to);
                }
            }
            t.dims = vec![rows as u64, cols as u64];
            t.start = start;
        }
        Ok(self)
    }

    /// Shards laid end to end in `bytes` (`parts`: each file's range): every shard's tensors, their
    /// ranges in `bytes`. A tensor in two shards is an error.
    pub fn parse_parts(
        bytes: &[u8],
        parts: &[std::ops::Range<usize>],
        rename: impl Fn(&str) -> Option<String>,
    ) -> Result<SafetensorsDir, ModelError> {
        let mut all = SafetensorsDir::default();
        for range in parts {
            let part =
                bytes.get(range.clone()).ok_or_else(|| ModelError::SafeTensors("a shard out of range".into()))?;
            for (name, mut t) in SafetensorsDir::parse(part, &rename)?.tensors {
                t.start += range.start;
                if all.tensors.insert(name.clone(), t).is_some() {
                    return Err(ModelError::SafeTensors(format!("tensor `{name}` is in two shards")));
                }
            }
        }
        Ok(all)
    }

    /// Reads the header of `bytes`; `rename` maps a Hugging Face name to the name the model asks for
    /// (`None`: not needed). Only F32, F16 and BF16 tensors are accepted.
    pub fn parse(bytes: &[u8], rename: impl Fn(&str) -> Option<String>) -> Result<SafetensorsDir, ModelError> {
        let bad = |m: String| ModelError::SafeTensors(m);
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("shorter than its 8-byte header".into()))?;
        let header_len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("header too large".into()))?;
        let data_start = 8usize.checked_add(header_len).filter(|&e| e <= bytes.len()).ok_or_else(|| {
            bad(format!("the header says {header_len} bytes but the file has {}", bytes.len().saturating_sub(8)))
        })?;
        let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| bad(format!("the header is not a JSON object ({e})")))?;
        let data_len = bytes.len() - data_start;
        let mut tensors = HashMap::new();
        for (name, v) in &header {
            if name == "__metadata__" {
                continue;
            }
            let Some(target) = rename(name) else { continue };
            let dtype = v.get("dtype").and_then(|d| d.as_str()).unwrap_or("");
            let ggml_type = match dtype {
                "F32" => GgmlType::F32,
                "F16" => GgmlType::F16,
                "BF16" => GgmlType::Bf16,
                other => {
                    return Err(ModelError::WrongDtype {
                        name: name.clone(),
                        expected: "F32, F16 or BF16",
                        found: other.to_string(),
                    })
                }
            };
            let shape: Vec<u64> = v
                .get("shape")
                .and_then(|s| s.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
                .ok_or_else(|| bad(format!("tensor `{name}` has no shape")))?;
            let offsets: Vec<usize> = v
                .get("data_offsets")
                .and_then(|s| s.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_u64().and_then(|x| usize::try_from(x).ok())).collect())
                .unwrap_or_default();
            let [start, end] = offsets[..] else {
                return Err(bad(format!("tensor `{name}` has no data_offsets")));
            };
            let elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
            let size = if ggml_type == GgmlType::F32 { 4 } else { 2 };
            let expected = elements.and_then(|e| e.checked_mul(size));
            if start > end || end > data_len || expected != Some((end - start) as u64) {
                return Err(bad(format!(
                    "tensor `{name}` ({dtype} {shape:?}) does not fit its bytes {start}..{end} of {data_len}"
                )));
            }
            // ggml order: the innermost (row) dimension first.
            let dims: Vec<u64> = shape.iter().rev().copied().collect();
            let info = TensorInfo {
                name: target.clone(),
                dims,
                ggml_type,
                offset: start as u64,
                start: data_start + start,
                len: end - start,
            };
            tensors.insert(target, info);
        }
        Ok(SafetensorsDir { tensors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn tensors_point_into_the_file_in_ggml_order() {
        let h = r#"{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},
                   "skip":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#;
        let bytes = file(h, &[0u8; 16]);
        let dir = SafetensorsDir::parse(&bytes, |n| (n != "skip").then(|| format!("x.{n}"))).expect("parses");
        let t = dir.tensor("x.a.weight").expect("renamed");
        assert_eq!((t.dims.as_slice(), t.ggml_type, t.start, t.len), (&[3u64, 2][..], GgmlType::F16, 8 + h.len(), 12));
        assert!(dir.tensor("skip").is_none() && dir.tensor("x.skip").is_none());
    }

    #[test]
    fn broken_files_are_errors() {
        let ok = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let all = |_: &str| Some(String::from("a"));
        for (bytes, want) in [
            (b"1234".to_vec(), "8-byte header"),
            (file(ok, &[0u8; 4]), "does not fit"),
            (file(&ok.replace("F32", "I64"), &[0u8; 8]), "I64"),
            (file("[1,2]", b""), "not a JSON object"),
            (file(&ok.replace("[0,8]", "[8,0]"), &[0u8; 8]), "does not fit"),
            (file(&ok.replace("[2]", "[3]"), &[0u8; 8]), "does not fit"),
        ] {
            let e = SafetensorsDir::parse(&bytes, all).expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        }
        let mut huge = file(ok, &[0u8; 8]);
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(SafetensorsDir::parse(&huge, all).is_err());
    }
}

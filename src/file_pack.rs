//! Several model files in one buffer and back: how an opened model made of more than one file (a
//! Hugging Face folder, a split GGUF) is handed to helper workers, which open it as the model worker
//! did. One buffer, so it crosses to each helper as a single transferable copy.
//!
//! Layout (little-endian): the file count (u32), then per file its name's length (u32), the name
//! (UTF-8) and its length in bytes (u64); then every file's bytes, in the same order. Unpacking checks
//! every length against what is there and never panics.

use std::ops::Range;

/// More files than any model folder has: a count past it means the bytes are not a pack.
const MAX_FILES: usize = 4096;

/// The head of a pack of files with these names and lengths; their bytes follow it, in this order.
pub fn header(files: &[(&str, usize)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + files.iter().map(|(name, _)| 12 + name.len()).sum::<usize>());
    out.extend_from_slice(&(files.len() as u32).to_le_bytes());
    for (name, len) in files {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(*len as u64).to_le_bytes());
    }
    out
}

/// Each file's name and where its bytes are in a pack of `total` bytes, reading the head through
/// `read(at, len)` (which gives those bytes of the pack; only the head is read, so a helper need not
/// copy the whole pack first). Fails, without a panic, on anything [`header`] did not write.
pub fn contents(
    total: usize,
    mut read: impl FnMut(usize, usize) -> Vec<u8>,
) -> Result<Vec<(String, Range<usize>)>, String> {
    let mut at = 0usize;
    let mut take = |n: usize, what: &str| -> Result<Vec<u8>, String> {
        let end = at.checked_add(n).filter(|&e| e <= total).ok_or_else(|| format!("the pack ends inside {what}"))?;
        let s = read(at, n);
        if s.len() != n {
            return Err(format!("the pack ends inside {what}"));
        }
        at = end;
        Ok(s)
    };
    let u32_of = |s: Vec<u8>| <[u8; 4]>::try_from(s).map(u32::from_le_bytes).map_err(|_| "a short count".to_string());
    let count = u32_of(take(4, "the file count")?)? as usize;
    if count > MAX_FILES {
        return Err(format!("{count} files in a pack (at most {MAX_FILES})"));
    }
    let mut heads = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = u32_of(take(4, "a name's length")?)? as usize;
        let name = String::from_utf8(take(name_len, "a name")?).map_err(|_| "a name that is not UTF-8".to_string())?;
        let len =
            <[u8; 8]>::try_from(take(8, "a file's length")?).map(u64::from_le_bytes).map_err(|_| "a short length")?;
        heads.push((name, len));
    }
    let mut files = Vec::with_capacity(count);
    for (name, len) in heads {
        let end = usize::try_from(len).ok().and_then(|l| at.checked_add(l)).filter(|&e| e <= total);
        let end = end.ok_or_else(|| format!("the pack ends inside {name}"))?;
        files.push((name, at..end));
        at = end;
    }
    if at != total {
        return Err(format!("the pack goes on for {} bytes after its last file", total - at));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arcs_models::open::ModelFile;

    fn file(name: &str, bytes: &[u8]) -> ModelFile {
        ModelFile { name: name.into(), bytes: bytes.to_vec() }
    }

    /// As the model worker packs: the head, then every file's bytes.
    fn pack(files: &[ModelFile]) -> Vec<u8> {
        let heads: Vec<(&str, usize)> = files.iter().map(|f| (f.name.as_str(), f.bytes.len())).collect();
        let mut out = header(&heads);
        files.iter().for_each(|f| out.extend_from_slice(&f.bytes));
        out
    }

    /// As a helper unpacks, reading the head through a window on the buffer.
    fn unpack(bytes: &[u8]) -> Result<Vec<ModelFile>, String> {
        let read = |at: usize, len: usize| bytes.get(at..at.saturating_add(len)).map_or_else(Vec::new, <[u8]>::to_vec);
        let found = contents(bytes.len(), read)?;
        Ok(found.into_iter().map(|(name, r)| ModelFile { name, bytes: bytes[r].to_vec() }).collect())
    }

    #[test]
    fn a_folder_comes_back_as_it_went() {
        let files = vec![
            file("config.json", b"{\"model_type\": \"llama\"}"),
            file("model-00001-of-00002.safetensors", &[1, 2, 3, 4, 5]),
            file("empty", b""),
            file("tokenizer \u{e9}.json", &[0; 300]),
        ];
        let back = unpack(&pack(&files)).expect("unpacks");
        assert_eq!(back.len(), files.len());
        for (a, b) in back.iter().zip(&files) {
            assert_eq!((&a.name, &a.bytes), (&b.name, &b.bytes));
        }
        assert!(unpack(&pack(&[])).expect("no files").is_empty());
    }

    #[test]
    fn damaged_packs_are_refused_without_a_panic() {
        let packed = pack(&[file("a.gguf", &[7; 40]), file("b.gguf", &[9; 3])]);
        // Every cut short of the whole, and every single corrupted byte, either fails or gives files
        // whose bytes all came from the buffer.
        for cut in 0..packed.len() {
            assert!(unpack(&packed[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..packed.len() {
            for v in [0u8, 0x80, 0xff] {
                let mut bad = packed.clone();
                bad[i] = v;
                if let Ok(files) = unpack(&bad) {
                    assert!(files.iter().map(|f| f.bytes.len()).sum::<usize>() <= bad.len());
                }
            }
        }
        let mut longer = packed.clone();
        longer.push(0);
        assert_eq!(unpack(&longer).err().as_deref(), Some("the pack goes on for 1 bytes after its last file"));
        assert!(unpack(&u32::MAX.to_le_bytes()).is_err(), "an absurd count");
    }
}

//! Tokenize each line of stdin (a JSON string per line, or plain text) and print the ids, one line each:
//! `cargo run --release -p arcs-models --example smollm2_tokenize [GGUF] < lines.txt`.

use std::io::BufRead;

use arcs_models::smollm2::SmolLm2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").to_string()
    });
    let model = SmolLm2::from_gguf(std::fs::read(&path)?)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let text = unescape_json_string(&line).unwrap_or(line);
        let enc = model.tokenize(&text)?;
        let ids: Vec<String> = enc.ids.iter().map(|i| i.to_string()).collect();
        println!("{}", ids.join(" "));
    }
    Ok(())
}

/// `"..."` with JSON escapes (\n, \t, \", \\, \uXXXX incl. surrogate pairs) -> text; None if not quoted.
fn unescape_json_string(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            '/' => out.push('/'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'u' => {
                let hex = |chars: &mut std::str::Chars| -> Option<u32> {
                    let h: String = chars.by_ref().take(4).collect();
                    u32::from_str_radix(&h, 16).ok()
                };
                let hi = hex(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    chars.next()?;
                    chars.next()?;
                    let lo = hex(&mut chars)?;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                out.push(char::from_u32(code)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

//! The share link: a [`ViewState`] written into the URL fragment and read back.
//!
//! `#s=The%20cat%20sat&m=causal&seed=7&f=2&pin=1` — only values that differ from the defaults are
//! written, so links stay short. Reading never fails: every part that is unknown or malformed falls
//! back to its default and yields a notice the page shows, so a mangled link still opens a working view.

use crate::models::ModelKind;
use crate::state::{HeadView, View, ViewState, MAX_HEADS};
use arcs_core::attention::{MaskStyle, Mode, Normalization};

/// Longest sentence a link may carry; the rest is cut with a notice (the engine has its own, lower limit
/// and says so; this one only keeps a pasted megabyte out of the text box).
pub const MAX_LINK_SENTENCE: usize = 20_000;

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space, as forms write it); `None` for a broken escape or bytes
/// that are not UTF-8.
pub fn decode_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The fragment (without `#`) for a view.
pub fn encode(s: &ViewState) -> String {
    let d = ViewState::default();
    let mut parts: Vec<(&str, String)> = Vec::new();
    // A lesson step first: opening it applies the step's view, and everything after it is written out
    // in full, so the link restores this exact view even where it equals the defaults.
    let lesson = s.lesson.is_some();
    if let Some(n) = s.lesson {
        parts.push(("lesson", n.to_string()));
    }
    if s.sentence != d.sentence || lesson {
        parts.push(("s", encode_component(&s.sentence)));
    }
    parts.push(("m", s.mode.as_str().to_string()));
    let mut num = |key: &'static str, differs: bool, v: String| {
        if differs {
            parts.push((key, v));
        }
    };
    num("seed", s.seed != d.seed, s.seed.to_string());
    num("din", s.d_in != d.d_in || lesson, s.d_in.to_string());
    num("dout", s.d_out != d.d_out || lesson, s.d_out.to_string());
    num("h", s.heads != d.heads || lesson, s.heads.to_string());
    num("p", s.dropout != d.dropout, s.dropout.to_string());
    num("mask", s.mask != d.mask, s.mask.as_str().to_string());
    num("scale", s.scale != d.scale, u8::from(s.scale).to_string());
    num("norm", s.normalization != d.normalization, s.normalization.as_str().to_string());
    num("causal", s.causal_heads != d.causal_heads, u8::from(s.causal_heads).to_string());
    // In a lesson "no focus" must be said ("-"), or the step's own pinned token would come back.
    num("f", s.focus.is_some() || lesson, s.focus.map_or("-".to_string(), |f| f.to_string()));
    num("pin", s.pinned || (lesson && s.focus.is_some()), u8::from(s.pinned).to_string());
    let hidden: Vec<String> = (0..MAX_HEADS).filter(|&h| !s.head_visible(h)).map(|h| h.to_string()).collect();
    num("hide", !hidden.is_empty(), hidden.join("."));
    num("hv", s.head_view != d.head_view, s.head_view.as_str().to_string());
    num("v", s.view != d.view, s.view.as_str().to_string());
    num("k", s.top_k != d.top_k, s.top_k.to_string());
    num("th", s.threshold != d.threshold, s.threshold.to_string());
    num("model", s.model.is_some() || lesson, s.model.map_or("toy", |m| m.as_str()).to_string());
    num("l", s.layer != d.layer || lesson, s.layer.to_string());
    num("hd", s.head != d.head || lesson, s.head.to_string());
    num("special", s.hide_special, "hide".into());
    num("pieces", s.join_pieces, "join".into());
    parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Reads a fragment (with or without the leading `#`). Returns the view and one notice per part that
/// was ignored or replaced by its default.
pub fn decode(fragment: &str) -> (ViewState, Vec<String>) {
    let mut s = ViewState::default();
    let mut notes = Vec::new();
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.is_empty() {
        return (s, notes);
    }
    for part in fragment.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = part.split_once('=').unwrap_or((part, ""));
        let shown_key: String = key.chars().take(20).collect();
        let Some(value) = decode_component(raw) else {
            notes.push(format!("The link's “{shown_key}” part is not properly encoded; it was ignored."));
            continue;
        };
        let mut bad = |what: &str, default: String| {
            let shown: String = value.chars().take(40).collect();
            notes.push(format!("The link's {what} “{shown}” is not valid; using {default}."));
        };
        match key {
            "s" => {
                if value.chars().count() > MAX_LINK_SENTENCE {
                    s.sentence = value.chars().take(MAX_LINK_SENTENCE).collect();
                    notes.push(format!(
                        "The link's sentence was longer than {MAX_LINK_SENTENCE} characters and was cut."
                    ));
                } else {
                    s.sentence = value;
                }
            }
            "m" => match Mode::parse(&value) {
                Some(m) => s.mode = m,
                None => bad("mode", "self-attention".into()),
            },
            "seed" => match value.parse() {
                Ok(x) => s.seed = x,
                Err(_) => bad("seed", s.seed.to_string()),
            },
            "din" => match value.parse::<usize>() {
                Ok(x) if (1..=arcs_core::request::MAX_DIM).contains(&x) => s.d_in = x,
                _ => bad("d_in", s.d_in.to_string()),
            },
            "dout" => match value.parse::<usize>() {
                Ok(x) if (1..=arcs_core::request::MAX_DIM).contains(&x) => s.d_out = x,
                _ => bad("d_out", s.d_out.to_string()),
            },
            "h" => match value.parse::<usize>() {
                Ok(x) if (1..=MAX_HEADS).contains(&x) => s.heads = x,
                _ => bad("number of heads", s.heads.to_string()),
            },
            "p" => match value.parse::<f32>() {
                Ok(x) if (0.0..0.96).contains(&x) => s.dropout = x,
                _ => bad("dropout", "0".into()),
            },
            "mask" => match MaskStyle::parse(&value) {
                Some(m) => s.mask = m,
                None => bad("mask", "neg-inf".into()),
            },
            "scale" | "causal" | "pin" => match value.as_str() {
                "0" | "1" => {
                    let on = value == "1";
                    match key {
                        "scale" => s.scale = on,
                        "causal" => s.causal_heads = on,
                        _ => s.pinned = on,
                    }
                }
                _ => bad(key, "the default".into()),
            },
            "norm" => match Normalization::parse(&value) {
                Some(n) => s.normalization = n,
                None => bad("normalization", "softmax".into()),
            },
            "f" if value == "-" => s.focus = None,
            "f" => match value.parse::<usize>() {
                Ok(x) if x < arcs_core::request::MAX_TOKENS => s.focus = Some(x),
                _ => bad("focused token", "none".into()),
            },
            "hide" => {
                let heads: Option<Vec<usize>> =
                    value.split('.').map(|h| h.parse().ok().filter(|&h| h < MAX_HEADS)).collect();
                match heads {
                    Some(hs) => s.hidden_heads = hs.iter().fold(0u64, |acc, &h| acc | (1u64 << h)),
                    None => bad("hidden heads", "all heads shown".into()),
                }
            }
            "hv" => match HeadView::parse(&value) {
                Some(v) => s.head_view = v,
                None => bad("head view", "all".into()),
            },
            "v" => match View::parse(&value) {
                Some(v) => s.view = v,
                None => bad("view", "arcs".into()),
            },
            "k" => match value.parse::<usize>() {
                Ok(x) if (1..=64).contains(&x) => s.top_k = x,
                _ => bad("top-k", s.top_k.to_string()),
            },
            "th" => match value.parse::<f32>() {
                Ok(x) if (0.0..=1.0).contains(&x) => s.threshold = x,
                _ => bad("threshold", "0".into()),
            },
            "model" => match ModelKind::parse(&value) {
                Some(m) => s.model = Some(m),
                None if value == "toy" => s.model = None,
                None => bad("model", "the toy model".into()),
            },
            "l" => match value.parse::<usize>() {
                Ok(x) if x < 64 => s.layer = x,
                _ => bad("layer", "0".into()),
            },
            "hd" => match value.parse::<usize>() {
                Ok(x) if x < MAX_HEADS => s.head = x,
                _ => bad("head", "0".into()),
            },
            "special" => match value.as_str() {
                "hide" => s.hide_special = true,
                "show" => s.hide_special = false,
                _ => bad("special-token setting", "show".into()),
            },
            "lesson" => match value.parse::<usize>() {
                Ok(n) if n < crate::lesson::STEPS.len() => {
                    // The step's own view, including its pinned token; later parts of the link override it.
                    s = s.apply(crate::state::Action::OpenLesson(n));
                }
                _ => bad("lesson step", "the app without the lesson".into()),
            },
            "pieces" => match value.as_str() {
                "join" => s.join_pieces = true,
                "split" => s.join_pieces = false,
                _ => bad("word-piece setting", "split".into()),
            },
            _ => notes.push(format!("The link has an unknown part “{shown_key}”; it was ignored.")),
        }
    }
    if s.focus.is_none() {
        s.pinned = false;
    }
    let s = ViewState::default().apply(crate::state::Action::Replace(Box::new(s)));
    (s, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Action;

    #[test]
    fn round_trips_every_field() {
        let s = ViewState::default()
            .apply(Action::SetSentence("Hello, wörld & <b>friends</b> 👋 100% #1".into()))
            .apply(Action::SetMode(Mode::MultiHead))
            .apply(Action::SetSeed(u64::MAX))
            .apply(Action::SetDIn(7))
            .apply(Action::SetDOut(12))
            .apply(Action::SetHeads(4))
            .apply(Action::SetDropout(0.25))
            .apply(Action::SetMask(MaskStyle::Renormalize))
            .apply(Action::SetScale(false))
            .apply(Action::SetNormalization(Normalization::NaiveSoftmax))
            .apply(Action::SetCausalHeads(false))
            .apply(Action::TogglePin(3))
            .apply(Action::ToggleHead(2))
            .apply(Action::SetHeadView(HeadView::Max))
            .apply(Action::SetView(View::Heatmap))
            .apply(Action::SetTopK(7))
            .apply(Action::SetThreshold(0.125))
            .apply(Action::SetModel(Some(ModelKind::SmolLm2)))
            .apply(Action::SetLayer(13))
            .apply(Action::SetHead(8))
            .apply(Action::SetHideSpecial(true))
            .apply(Action::SetJoinPieces(true))
            .apply(Action::OpenLesson(5))
            .apply(Action::SetSentence("changed back".into()))
            .apply(Action::SetDOut(2))
            .apply(Action::TogglePin(1))
            .apply(Action::TogglePin(3));
        let link = encode(&s);
        assert!(!link.contains(' ') && !link.contains('<') && !link.contains('#'));
        let (back, notes) = decode(&format!("#{link}"));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(back, s);
        let (d, notes) = decode(&encode(&ViewState::default()));
        assert!(notes.is_empty());
        assert_eq!(d, ViewState::default());
    }

    #[test]
    fn malformed_parts_fall_back_with_notices() {
        let (s, notes) = decode("#m=sideways&seed=-3&dout=0&h=999&p=1.5&f=x&zzz=1&s=%E0%A4&mask=&v=3d&hide=1.z&k=0&th=nan&model=gpt9&l=x&hd=-1&special=maybe");
        assert_eq!(s.mode, Mode::SelfAttention);
        assert_eq!(s.seed, 123);
        assert_eq!(s.sentence, ViewState::default().sentence, "broken sentence keeps the default");
        assert_eq!(notes.len(), 17, "{notes:#?}");
        let (s, _) = decode("#model=minilm&l=40&hd=40");
        assert_eq!((s.layer, s.head), (5, 11), "clamped to the model");
        assert!(notes.iter().any(|n| n.contains("unknown part “zzz”")));
        assert!(notes.iter().any(|n| n.contains("mode “sideways”")));
    }

    #[test]
    fn hostile_and_random_input_never_panics() {
        for frag in
            ["#", "#&&&", "#=", "#s", "#s=%", "#s=%G1", "#%%%", "#s=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "#\u{0}\u{1}"]
        {
            let _ = decode(frag);
        }
        let (s, _) = decode("#s=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E");
        assert_eq!(s.sentence, "\"><img src=x onerror=alert(1)>", "kept as text, shown as text");
        let (s, _) = decode("#s=%253Cb%253E");
        assert_eq!(s.sentence, "%3Cb%3E", "double-encoded stays one level encoded");
        // A cheap deterministic byte soup.
        let mut x: u32 = 1;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..40)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 16) as u8
                })
                .collect();
            let _ = decode(&String::from_utf8_lossy(&bytes));
        }
    }
}

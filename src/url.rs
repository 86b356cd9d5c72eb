//! The share link: a [`ViewState`] written into the URL fragment and read back.
//!
//! `#s=The%20cat%20sat&m=causal&seed=7&f=2&pin=1` — only values that differ from the defaults are
//! written, so links stay short. Reading never fails: every part that is unknown or malformed falls
//! back to its default and yields a notice the page shows, so a mangled link still opens a working view.

use crate::models::{FileIdentity, ModelKind};
use crate::state::{
    Action, Display, EngineSettings, Focus, HeadView, LensView, ModelChoice, Role, View, ViewState, Weighting,
    MAX_HEADS,
};
use crate::text;
use arcs_core::attention::{MaskStyle, Mode, Normalization};

/// Longest sentence a link may carry; the rest is cut with a notice (the engine has its own, lower limit
/// and says so; this one only keeps a pasted megabyte out of the text box).
pub const MAX_LINK_SENTENCE: usize = 20_000;

/// Token indices a link may name (focus, a lens cell, a neuron-view key): the longest input any model
/// takes here.
const MAX_LINK_TOKENS: usize = 1024;

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
    let mut parts = Parts { lesson: s.lesson.is_some(), out: Vec::new() };
    // A lesson step first: opening it applies the step's view, and everything after it is written out
    // in full, so the link restores this exact view even where it equals the defaults.
    if let Some(n) = s.lesson {
        parts.out.push(("lesson", n.to_string()));
    }
    encode_engine(&s.engine, &mut parts);
    encode_focus(&s.focus, &mut parts);
    encode_display(s, &mut parts);
    encode_model(&s.model, &mut parts);
    parts.out.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The parts of a link being written.
struct Parts {
    /// In a lesson, the parts its step sets are written even at their defaults.
    lesson: bool,
    out: Vec<(&'static str, String)>,
}

impl Parts {
    /// Writes `key` when the value differs from its default (or, with `in_lesson`, whenever a lesson is open).
    fn put(&mut self, key: &'static str, differs: bool, in_lesson: bool, value: impl FnOnce() -> String) {
        if differs || (in_lesson && self.lesson) {
            self.out.push((key, value()));
        }
    }
}

fn encode_engine(e: &EngineSettings, p: &mut Parts) {
    let d = EngineSettings::default();
    p.put("s", e.sentence != d.sentence, true, || encode_component(&e.sentence));
    p.put("m", true, true, || e.mode.as_str().to_string());
    p.put("seed", e.seed != d.seed, false, || e.seed.to_string());
    p.put("din", e.d_in != d.d_in, true, || e.d_in.to_string());
    p.put("dout", e.d_out != d.d_out, true, || e.d_out.to_string());
    p.put("h", e.heads != d.heads, true, || e.heads.to_string());
    p.put("p", e.dropout != d.dropout, false, || e.dropout.to_string());
    p.put("mask", e.mask != d.mask, false, || e.mask.as_str().to_string());
    p.put("scale", e.scale != d.scale, false, || u8::from(e.scale).to_string());
    p.put("norm", e.normalization != d.normalization, false, || e.normalization.as_str().to_string());
    p.put("causal", e.causal_heads != d.causal_heads, false, || u8::from(e.causal_heads).to_string());
    if let Some(c) = &e.compare {
        p.put("vs", true, false, || encode_component(c));
    }
}

fn encode_focus(f: &Focus, p: &mut Parts) {
    // In a lesson "no focus" must be said ("-"), or the step's own pinned token would come back.
    p.put("f", f.token.is_some(), true, || f.token.map_or("-".to_string(), |t| t.to_string()));
    let step_pins = p.lesson && f.token.is_some();
    p.put("pin", f.pinned || step_pins, false, || u8::from(f.pinned).to_string());
}

fn encode_display(s: &ViewState, p: &mut Parts) {
    let (v, d) = (&s.display, Display::default());
    let hidden: Vec<String> = (0..MAX_HEADS).filter(|&h| !s.head_visible(h)).map(|h| h.to_string()).collect();
    p.put("hide", !hidden.is_empty(), false, || hidden.join("."));
    p.put("hv", v.head_view != d.head_view, false, || v.head_view.as_str().to_string());
    p.put("v", v.view != d.view, false, || v.view.as_str().to_string());
    p.put("k", v.top_k != d.top_k, false, || v.top_k.to_string());
    p.put("th", v.threshold != d.threshold, false, || v.threshold.to_string());
    p.put("pieces", v.join_pieces, false, || "join".into());
    p.put("arcs", v.every_head, false, || "every".into());
    p.put("roles", v.roles.is_some(), false, || v.roles.map_or("", |r| r.as_str()).to_string());
    p.put("wt", v.weighting != d.weighting, false, || v.weighting.as_str().to_string());
    if let Some(lens) = v.lens {
        p.put("lens", true, false, || lens.pin.map_or("open".to_string(), |(l, q)| format!("{l}.{q}")));
    }
    if let Some(k) = v.neuron {
        p.put("nk", true, false, || k.to_string());
    }
}

fn encode_model(m: &ModelChoice, p: &mut Parts) {
    p.put("model", m.kind.is_some(), true, || m.kind.map_or("toy", |k| k.as_str()).to_string());
    p.put("l", m.layer != 0, true, || m.layer.to_string());
    p.put("hd", m.head != 0, true, || m.head.to_string());
    p.put("special", m.hide_special, false, || "hide".into());
    // An opened model: which file (name~bytes~sha256~architecture) the link needs.
    if let Some(f) = &m.file {
        p.put("file", true, true, || encode_component(&format!("{}~{}~{}~{}", f.name, f.bytes, f.sha256, f.arch)));
    }
}

/// `name~bytes~sha256~arch` (the name may itself hold `~`).
fn parse_file_identity(value: &str) -> Option<FileIdentity> {
    let mut parts = value.rsplitn(4, '~');
    let arch = parts.next()?.to_string();
    let sha256 = parts.next()?.to_ascii_lowercase();
    let bytes = parts.next()?.parse().ok()?;
    let name = parts.next()?.to_string();
    let arch_ok =
        !arch.is_empty() && arch.len() <= 32 && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let ok =
        sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit()) && !name.is_empty() && name.len() <= 255;
    (ok && arch_ok).then_some(FileIdentity { name, bytes, sha256, arch })
}

/// Reads a fragment (with or without the leading `#`). Returns the view and one notice per part that
/// was ignored or replaced by its default.
pub fn decode(fragment: &str) -> (ViewState, Vec<String>) {
    let mut s = ViewState::default();
    let mut notes = Vec::new();
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    for part in fragment.split('&').filter(|p| !p.is_empty()) {
        let (key, raw) = part.split_once('=').unwrap_or((part, ""));
        let shown_key: String = key.chars().take(20).collect();
        let Some(value) = decode_component(raw) else {
            notes.push(text::link_part_not_encoded(&shown_key));
            continue;
        };
        if key == "lesson" {
            match value.parse::<usize>() {
                // The step's own view, including its pinned token; later parts of the link override it.
                Ok(n) if n < crate::lesson::STEPS.len() => s = s.apply(Action::OpenLesson(n)),
                _ => notes.push(text::link_value_invalid("lesson step", &value, text::LINK_NO_LESSON)),
            }
            continue;
        }
        let known = decode_engine(key, &value, &mut s.engine, &mut notes)
            || decode_focus(key, &value, &mut s.focus, &mut notes)
            || decode_display(key, &value, &mut s.display, &mut notes)
            || decode_model(key, &value, &mut s.model, &mut notes);
        if !known {
            notes.push(text::link_part_unknown(&shown_key));
        }
    }
    if s.model.kind == Some(ModelKind::File) && s.model.file.is_none() {
        notes.push(text::LINK_FILE_MISSING.to_string());
    }
    let s = ViewState::default().apply(Action::Replace(Box::new(s)));
    (s, notes)
}

/// Parses `value` into `slot` when `ok`, else notes it and keeps the slot's default.
fn set<T>(slot: &mut T, parsed: Option<T>, what: &str, value: &str, default: &str, notes: &mut Vec<String>) {
    match parsed {
        Some(x) => *slot = x,
        None => notes.push(text::link_value_invalid(what, value, default)),
    }
}

fn number<T: std::str::FromStr + PartialOrd>(value: &str, ok: impl Fn(&T) -> bool) -> Option<T> {
    value.parse::<T>().ok().filter(ok)
}

fn bit(value: &str) -> Option<bool> {
    match value {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

/// One engine part of a link; false if `key` is not one.
fn decode_engine(key: &str, value: &str, e: &mut EngineSettings, notes: &mut Vec<String>) -> bool {
    use arcs_core::request::MAX_DIM;
    let dims = |x: &usize| (1..=MAX_DIM).contains(x);
    match key {
        "s" => {
            if value.chars().count() > MAX_LINK_SENTENCE {
                e.sentence = value.chars().take(MAX_LINK_SENTENCE).collect();
                notes.push(text::link_sentence_cut(MAX_LINK_SENTENCE));
            } else {
                e.sentence = value.to_string();
            }
        }
        "m" => set(&mut e.mode, Mode::parse(value), "mode", value, "self-attention", notes),
        "seed" => set(&mut e.seed, number(value, |_| true), "seed", value, "123", notes),
        "din" => {
            let default = e.d_in.to_string();
            set(&mut e.d_in, number(value, dims), "d_in", value, &default, notes)
        }
        "dout" => {
            let default = e.d_out.to_string();
            set(&mut e.d_out, number(value, dims), "d_out", value, &default, notes)
        }
        "h" => {
            let default = e.heads.to_string();
            set(&mut e.heads, number(value, |x| (1..=MAX_HEADS).contains(x)), "number of heads", value, &default, notes)
        }
        "p" => set(&mut e.dropout, number(value, |x| (0.0..0.96).contains(x)), "dropout", value, "0", notes),
        "mask" => set(&mut e.mask, MaskStyle::parse(value), "mask", value, "neg-inf", notes),
        "scale" => set(&mut e.scale, bit(value), "scale", value, "the default", notes),
        "causal" => set(&mut e.causal_heads, bit(value), "causal", value, "the default", notes),
        "norm" => set(&mut e.normalization, Normalization::parse(value), "normalization", value, "softmax", notes),
        "vs" => {
            let cut: String = value.chars().take(MAX_LINK_SENTENCE).collect();
            if cut.len() < value.len() {
                notes.push(text::link_sentence_cut(MAX_LINK_SENTENCE));
            }
            e.compare = Some(cut);
        }
        _ => return false,
    }
    true
}

fn decode_focus(key: &str, value: &str, f: &mut Focus, notes: &mut Vec<String>) -> bool {
    match key {
        "f" if value == "-" => f.token = None,
        "f" => {
            let ok = number(value, |x| *x < MAX_LINK_TOKENS).map(Some);
            set(&mut f.token, ok, "focused token", value, "none", notes)
        }
        "pin" => set(&mut f.pinned, bit(value), "pin", value, "the default", notes),
        _ => return false,
    }
    true
}

fn decode_display(key: &str, value: &str, d: &mut Display, notes: &mut Vec<String>) -> bool {
    match key {
        "hide" => {
            let heads: Option<Vec<usize>> = value.split('.').map(|h| number(h, |h| *h < MAX_HEADS)).collect();
            let mask = heads.map(|hs| hs.iter().fold(0u64, |acc, &h| acc | (1u64 << h)));
            set(&mut d.hidden_heads, mask, "hidden heads", value, "all heads shown", notes)
        }
        "hv" => set(&mut d.head_view, HeadView::parse(value), "head view", value, "all", notes),
        "v" => set(&mut d.view, View::parse(value), "view", value, "arcs", notes),
        "k" => set(&mut d.top_k, number(value, |x| (1..=64).contains(x)), "top-k", value, "4", notes),
        "th" => set(&mut d.threshold, number(value, |x| (0.0..=1.0).contains(x)), "threshold", value, "0", notes),
        "pieces" => {
            let ok = match value {
                "join" => Some(true),
                "split" => Some(false),
                _ => None,
            };
            set(&mut d.join_pieces, ok, "word-piece setting", value, "split", notes)
        }
        "arcs" => {
            let ok = match value {
                "every" => Some(true),
                "lead" => Some(false),
                _ => None,
            };
            set(&mut d.every_head, ok, "arcs setting", value, "one head's arcs", notes)
        }
        "roles" => set(&mut d.roles, Role::parse(value).map(Some), "head role", value, "no head-roles map", notes),
        "wt" => set(&mut d.weighting, Weighting::parse(value), "arc weighting", value, "the attention weights", notes),
        "lens" => {
            let pin = |v: &str| -> Option<(usize, usize)> {
                let (l, q) = v.split_once('.')?;
                Some((number(l, |x| *x < 256)?, number(q, |x| *x < MAX_LINK_TOKENS)?))
            };
            let parsed =
                if value == "open" { Some(LensView::default()) } else { pin(value).map(|p| LensView { pin: Some(p) }) };
            set(&mut d.lens, parsed.map(Some), "logit-lens cell", value, "no logit lens", notes)
        }
        "nk" => {
            let ok = number(value, |x| *x < MAX_LINK_TOKENS).map(Some);
            set(&mut d.neuron, ok, "neuron-view key token", value, "no neuron view", notes)
        }
        _ => return false,
    }
    true
}

fn decode_model(key: &str, value: &str, m: &mut ModelChoice, notes: &mut Vec<String>) -> bool {
    match key {
        "model" => {
            let ok = match value {
                "toy" => Some(None),
                "file" => Some(Some(ModelKind::File)),
                _ => ModelKind::parse(value).map(Some),
            };
            set(&mut m.kind, ok, "model", value, "the toy model", notes)
        }
        "file" => set(&mut m.file, parse_file_identity(value).map(Some), "model file", value, "none", notes),
        "l" => set(&mut m.layer, number(value, |x| *x < 64), "layer", value, "0", notes),
        "hd" => set(&mut m.head, number(value, |x| *x < MAX_HEADS), "head", value, "0", notes),
        "special" => {
            let ok = match value {
                "hide" => Some(true),
                "show" => Some(false),
                _ => None,
            };
            set(&mut m.hide_special, ok, "special-token setting", value, "show", notes)
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view with every field away from its default, drawn from `rng`: a real model or not, a lesson
    /// step or not, any focus, any hidden heads, sentences with characters a URL must escape.
    fn random_view(rng: &mut arcs_core::prng::SplitMix64) -> ViewState {
        let mut pick = |n: u64| (rng.next_u64() % n) as usize;
        let (seed, hidden_heads) = (pick(u64::MAX) as u64, (pick(u64::MAX) & pick(u64::MAX)) as u64);
        const PIECES: [&str; 8] = ["Hello", ",", " wörld", " & ", "<b>friends</b>", " 👋", " 100%", " #1+2=3"];
        let sentence: String = (0..pick(12)).map(|_| PIECES[pick(PIECES.len() as u64)]).collect();
        let modes = [Mode::Simplified, Mode::SelfAttention, Mode::Causal, Mode::MultiHead];
        let models = [None, Some(ModelKind::MiniLm), Some(ModelKind::SmolLm2), Some(ModelKind::File)];
        let sha: String = (0..64).map(|_| char::from(b"0123456789abcdef"[pick(16)])).collect();
        let file = FileIdentity {
            name: format!("my model~{}.Q4_K_M.gguf", pick(100)),
            bytes: pick(u64::MAX) as u64,
            sha256: sha,
            arch: ["llama", "qwen3", "bert"][pick(3)].to_string(),
        };
        let token = (pick(3) > 0).then(|| pick(arcs_core::request::MAX_TOKENS as u64));
        let s = ViewState {
            engine: EngineSettings {
                sentence,
                mode: modes[pick(4)],
                seed,
                d_in: 1 + pick(64),
                d_out: 1 + pick(64),
                heads: 1 + pick(MAX_HEADS as u64),
                dropout: pick(96) as f32 / 100.0,
                mask: [MaskStyle::NegInf, MaskStyle::Renormalize][pick(2)],
                scale: pick(2) == 1,
                normalization: [Normalization::Softmax, Normalization::NaiveSoftmax, Normalization::SumNormalized]
                    [pick(3)],
                causal_heads: pick(2) == 1,
                compare: [None, Some("The trophy is too small & 100% #2".to_string()), Some(String::new())][pick(3)]
                    .clone(),
            },
            display: Display {
                view: [View::Arcs, View::Heatmap][pick(2)],
                head_view: [HeadView::All, HeadView::Mean, HeadView::Max][pick(3)],
                hidden_heads,
                top_k: 1 + pick(64),
                threshold: pick(1001) as f32 / 1000.0,
                join_pieces: pick(2) == 1,
                every_head: pick(2) == 1,
                roles: [None, Some(Role::Induction), Some(Role::PreviousToken), Some(Role::Entropy)][pick(4)],
                weighting: Weighting::ALL[pick(3)],
                lens: [None, Some(LensView::default()), Some(LensView { pin: Some((pick(30), pick(200))) })][pick(3)],
                neuron: (pick(2) == 1).then(|| pick(200)),
            },
            model: ModelChoice {
                kind: models[pick(4)],
                layer: pick(64),
                head: pick(64),
                hide_special: pick(2) == 1,
                file: Some(file),
            },
            focus: Focus { token, pinned: pick(2) == 1 },
            lesson: (pick(3) == 0).then(|| pick(crate::lesson::STEPS.len() as u64)),
        };
        // What the reducer keeps: layer and head inside the model, no pin without a token.
        ViewState::default().apply(Action::Replace(Box::new(s)))
    }

    #[test]
    fn random_views_round_trip_through_links() {
        let mut rng = arcs_core::prng::SplitMix64::new(2026);
        for i in 0..3000 {
            let s = random_view(&mut rng);
            let link = encode(&s);
            assert!(!link.contains(' ') && !link.contains('<') && !link.contains('#'), "{link}");
            let (back, notes) = decode(&format!("#{link}"));
            assert!(notes.is_empty(), "view {i}: {notes:?}");
            assert_eq!(back, s, "view {i}, link {link}");
        }
        let (d, notes) = decode(&encode(&ViewState::default()));
        assert!(notes.is_empty());
        assert_eq!(d, ViewState::default());
    }

    #[test]
    fn random_views_reach_every_field() {
        // The generator above must leave every field's default, or the round trip tests nothing there.
        let mut rng = arcs_core::prng::SplitMix64::new(7);
        let views: Vec<ViewState> = (0..500).map(|_| random_view(&mut rng)).collect();
        let d = ViewState::default();
        let differs = |f: &dyn Fn(&ViewState) -> bool| views.iter().any(f);
        assert!(differs(&|v| v.engine.sentence != d.engine.sentence && v.lesson.is_none()));
        assert!(differs(&|v| v.engine.seed != d.engine.seed && v.engine.dropout > 0.0 && !v.engine.scale));
        assert!(differs(&|v| v.engine.mask != d.engine.mask && v.engine.normalization != d.engine.normalization));
        assert!(differs(&|v| !v.engine.causal_heads && v.engine.heads != d.engine.heads));
        assert!(differs(&|v| v.display.hidden_heads != 0 && v.display.head_view != d.display.head_view));
        assert!(differs(&|v| v.display.view != d.display.view && v.display.top_k != d.display.top_k));
        assert!(differs(&|v| v.display.threshold > 0.0 && v.display.join_pieces && v.display.every_head));
        assert!(differs(&|v| v.display.roles.is_some()));
        assert!(differs(&|v| v.engine.compare.is_some() && v.display.neuron.is_some()));
        assert!(differs(&|v| v.display.lens.is_some_and(|l| l.pin.is_some())));
        assert!(differs(&|v| v.model.kind.is_some() && v.model.layer > 0 && v.model.head > 0 && v.model.hide_special));
        assert!(differs(&|v| v.focus.pinned && v.lesson.is_some()));
        assert!(differs(&|v| v.focus.token.is_none() && v.lesson.is_some()));
    }

    #[test]
    fn malformed_parts_fall_back_with_notices() {
        let (s, notes) = decode("#m=sideways&seed=-3&dout=0&h=999&p=1.5&f=x&zzz=1&s=%E0%A4&mask=&v=3d&hide=1.z&k=0&th=nan&model=gpt9&l=x&hd=-1&special=maybe");
        assert_eq!(s.engine.mode, Mode::SelfAttention);
        assert_eq!(s.engine.seed, 123);
        assert_eq!(s.engine.sentence, ViewState::default().engine.sentence, "broken sentence keeps the default");
        assert_eq!(notes.len(), 17, "{notes:#?}");
        let (s, _) = decode("#model=minilm&l=40&hd=40");
        assert_eq!((s.model.layer, s.model.head), (5, 11), "clamped to the model");
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
        assert_eq!(s.engine.sentence, "\"><img src=x onerror=alert(1)>", "kept as text, shown as text");
        let (s, _) = decode("#s=%253Cb%253E");
        assert_eq!(s.engine.sentence, "%3Cb%3E", "double-encoded stays one level encoded");
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

//! Geometry and colour for the arc view and heatmap: which arcs to draw, where, and how strong.
//!
//! Pure functions of the numbers, so they are tested natively and the components only turn their
//! output into SVG. Colours are concrete values, not CSS classes, so an exported SVG looks exactly
//! like the screen.

use crate::state::HeadView;
use arcs_core::attention::{Attention, Mode};
use arcs_core::tensor::Mat;
use std::rc::Rc;

/// Okabe & Ito's colour-blind-safe palette (without black), then Paul Tol's "muted" colours for models
/// with more heads; heads past the list reuse it.
pub const HEAD_COLOURS: [&str; 15] = [
    "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#B8A200", "#882255", "#44AA99", "#999933",
    "#AA4499", "#332288", "#88CCEE", "#117733", "#DDCC77",
];

pub fn head_colour(h: usize) -> &'static str {
    HEAD_COLOURS[h % HEAD_COLOURS.len()]
}

/// Arcs drawn in total before pruning kicks in: beyond this SVG repaints stop feeling instant.
pub const ARC_BUDGET: usize = 4096;

/// Where each token sits on the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLayout {
    /// Centre x of each token.
    pub x: Vec<f32>,
    /// Width of each token's box.
    pub w: Vec<f32>,
    pub width: f32,
}

/// Approximate advance of one character at the arc view's font size (the layout needs no font metrics
/// to be good enough: boxes only need to not overlap).
pub const CHAR_W: f32 = 8.6;
pub const TOKEN_PAD: f32 = 14.0;
pub const MARGIN: f32 = 16.0;

/// Lays tokens out left to right. Short sentences are spread to `min_width` so their arcs are big
/// enough to read; long ones get exactly the room their text needs (the view scrolls).
pub fn layout_tokens(tokens: &[String], min_width: f32) -> TokenLayout {
    const GAP: f32 = 4.0;
    let w: Vec<f32> = tokens.iter().map(|t| t.chars().count().clamp(1, 24) as f32 * CHAR_W + TOKEN_PAD).collect();
    let natural: f32 = w.iter().sum::<f32>() + GAP * tokens.len() as f32 + 2.0 * MARGIN;
    let extra = if tokens.is_empty() { 0.0 } else { ((min_width - natural) / tokens.len() as f32).max(0.0) };
    let mut x = Vec::with_capacity(tokens.len());
    let mut cursor = MARGIN;
    for &wi in &w {
        let slot = wi + GAP + extra;
        x.push(cursor + slot / 2.0);
        cursor += slot;
    }
    TokenLayout { x, w, width: cursor + MARGIN }
}

/// Words made of several WordPieces: `(first, last, word)` for each run of a piece followed by `##`
/// continuations, e.g. `sit ##ting` -> (i, i+1, "sitting"). Single-piece words are left out.
pub fn piece_groups(tokens: &[String]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let mut j = i;
        while j + 1 < tokens.len() && tokens[j + 1].starts_with("##") {
            j += 1;
        }
        if j > i {
            let word: String = tokens[i..=j].iter().map(|t| t.strip_prefix("##").unwrap_or(t)).collect();
            out.push((i, j, word));
        }
        i = j + 1;
    }
    out
}

/// One arc: query `from` attends to key `to` with `weight`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arc {
    pub from: usize,
    pub to: usize,
    pub head: Option<usize>,
    pub weight: f32,
}

/// Chooses the arcs to draw. Zero weights (the causal future) are never drawn. When the arcs would
/// exceed [`ARC_BUDGET`], each query keeps only its `top_k` strongest keys per head; the focused query
/// always keeps all of its arcs, since that is the one being read. `threshold` hides weaker arcs.
pub fn select_arcs(
    heads: &[(Option<usize>, &Mat)],
    focus: Option<usize>,
    top_k: usize,
    threshold: f32,
) -> (Vec<Arc>, bool) {
    let n = heads.first().map_or(0, |(_, m)| m.nrows());
    let pruned = n * n * heads.len() > ARC_BUDGET;
    let mut arcs = Vec::new();
    for &(head, m) in heads {
        for i in 0..n {
            let mut row: Vec<(usize, f32)> =
                (0..n).map(|j| (j, m[(i, j)])).filter(|&(_, w)| w > 0.0 && w.is_finite() && w >= threshold).collect();
            if pruned && focus != Some(i) {
                row.sort_by(|a, b| b.1.total_cmp(&a.1));
                row.truncate(top_k);
            }
            arcs.extend(row.into_iter().map(|(j, w)| Arc { from: i, to: j, head, weight: w }));
        }
    }
    // Strong arcs last, so they paint over weak ones.
    arcs.sort_by(|a, b| a.weight.total_cmp(&b.weight));
    (arcs, pruned)
}

/// The SVG path of an arc above the baseline `y`. `lift` separates heads drawn on the same pair.
pub fn arc_path(layout: &TokenLayout, from: usize, to: usize, y: f32, lift: f32) -> String {
    let (x1, x2) = (layout.x[from], layout.x[to]);
    if from == to {
        // A self-loop: a small teardrop over the token.
        let h = 26.0 + lift;
        return format!(
            "M{:.1} {y:.1}C{:.1} {:.1} {:.1} {:.1} {:.1} {y:.1}",
            x1 - 5.0,
            x1 - 16.0,
            y - h,
            x1 + 16.0,
            y - h,
            x1 + 5.0
        );
    }
    // Height grows with distance so nested arcs do not coincide, capped to stay on screen.
    let h = ((x2 - x1).abs() * 0.42 + 12.0 + lift).min(arc_height_cap());
    format!("M{x1:.1} {y:.1}C{x1:.1} {:.1} {x2:.1} {:.1} {x2:.1} {y:.1}", y - h, y - h)
}

pub fn arc_height_cap() -> f32 {
    230.0
}

/// Stroke width and opacity for an arc, given whether it belongs to the focused token (`Some(true)`),
/// another token while one is focused (`Some(false)`), or nothing is focused (`None`).
pub fn arc_style(weight: f32, focused: Option<bool>) -> (f32, f32) {
    let w = weight.clamp(0.0, 1.0);
    let width = 0.6 + 7.0 * w;
    let opacity = match focused {
        None => 0.12 + 0.78 * w,
        Some(true) => 0.35 + 0.65 * w,
        Some(false) => 0.04,
    };
    (width, opacity)
}

/// A sequential colour for a weight in [0, 1]: light to dark blue in light mode, dark to bright in dark
/// mode, so that strong always means more contrast with the page.
pub fn heat_colour(weight: f32, dark: bool) -> String {
    let c = heat_rgb(weight, dark);
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// [`heat_colour`] as red, green, blue bytes (canvases paint pixels from these, no strings).
pub fn heat_rgb(weight: f32, dark: bool) -> [u8; 3] {
    let t = if weight.is_finite() { weight.clamp(0.0, 1.0).sqrt() } else { 0.0 };
    let (from, to) =
        if dark { ([28.0, 32.0, 44.0], [255.0, 196.0, 64.0]) } else { ([247.0, 251.0, 255.0], [8.0, 48.0, 107.0]) };
    std::array::from_fn(|k| (from[k] + (to[k] - from[k]) * t).round() as u8)
}

/// Rows (and columns) of an `n x n` matrix after [`max_pool`] to at most `max`.
pub fn pooled_side(n: usize, max: usize) -> usize {
    n.div_ceil(n.div_ceil(max.max(1)).max(1))
}

/// A square matrix shrunk to at most `max` rows and columns by taking the largest weight of each block
/// (so a strong weight never disappears from a thumbnail): `(side, values)` row-major.
pub fn max_pool(n: usize, at: impl Fn(usize, usize) -> f32, max: usize) -> (usize, Vec<f32>) {
    let f = n.div_ceil(max.max(1)).max(1);
    let side = pooled_side(n, max);
    let mut out = vec![0.0f32; side * side];
    for i in 0..n {
        for j in 0..n {
            let o = &mut out[(i / f) * side + j / f];
            let w = at(i, j);
            if w > *o {
                *o = w;
            }
        }
    }
    (side, out)
}

/// A diverging colour for a signed value scaled to [-1, 1] (B − A, a vector's coordinates): blue below
/// zero, red above, the page's own neutral at zero, so a difference of nothing disappears.
pub fn diverging_colour(t: f32, dark: bool) -> String {
    let t = if t.is_finite() { t.clamp(-1.0, 1.0) } else { 0.0 };
    let mid: [f32; 3] = if dark { [28.0, 32.0, 44.0] } else { [247.0, 247.0, 247.0] };
    let end: [f32; 3] = if t < 0.0 { [33.0, 102.0, 172.0] } else { [178.0, 24.0, 43.0] };
    let a = t.abs().sqrt();
    let c: Vec<u8> = (0..3).map(|k| (mid[k] + (end[k] - mid[k]) * a).round() as u8).collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Text colour readable on [`heat_colour`] of the same weight.
pub fn heat_text_colour(weight: f32, dark: bool) -> &'static str {
    let strong = weight.is_finite() && weight.clamp(0.0, 1.0).sqrt() > 0.55;
    match (dark, strong) {
        (false, true) => "#ffffff",
        (false, false) => "#1a1a1a",
        (true, true) => "#111111",
        (true, false) => "#e8e8e8",
    }
}

/// More heads than this drawn in their own colours at once is a tangle nobody can read (MiniLM has 12 a
/// layer, SmolLM2 9): past it the arc view draws one lead head in full, and every head only from the
/// focused token. The book's examples (2 heads) and small toy settings stay as they are.
pub const MANY_HEADS: usize = 4;
/// Arcs per head from the focused token while a lead head is drawn (the lead head shows all of its own).
pub const FOCUS_ARCS_PER_HEAD: usize = 3;

/// Up to this many tokens the focused token shows every arc of a head drawn in full.
pub const FOCUS_ALL_UP_TO: usize = 256;
/// Past [`FOCUS_ALL_UP_TO`] tokens, the focused token's strongest arcs per head drawn in full: a
/// thousand hairlines per head cannot be told apart, and re-drawing them on every hover costs more
/// than a frame.
pub const FOCUS_ARCS_LONG: usize = 128;
/// Past [`FOCUS_ALL_UP_TO`] tokens, the focused token's arcs over all the heads drawn in full, shared
/// out evenly: every head of a layer in full (SmolLM2's 9) at 1 000 tokens was 1 152 paths rebuilt per
/// hover, 40 ms of script; 28 a head carry most of each head's weight and stay within a frame.
pub const FOCUS_ARCS_LONG_TOTAL: usize = 256;
/// However many heads share [`FOCUS_ARCS_LONG_TOTAL`], each shows at least this many.
pub const FOCUS_ARCS_LONG_MIN: usize = 16;

/// How many of a head's arcs from the focused token are drawn among `n` tokens when `in_full` heads
/// are drawn in full: [`FOCUS_ARCS_PER_HEAD`] for heads other than a lead head; all for the lead
/// head, or every head where none leads, up to [`FOCUS_ALL_UP_TO`] tokens, and past it the strongest
/// [`FOCUS_ARCS_LONG`], or their share of [`FOCUS_ARCS_LONG_TOTAL`] if that is fewer.
pub fn focus_limit(lead: Option<usize>, head: Option<usize>, n: usize, in_full: usize) -> Option<usize> {
    if lead.is_some() && head != lead {
        Some(FOCUS_ARCS_PER_HEAD)
    } else {
        // A lead head is the only one drawn in full.
        let in_full = if lead.is_some() { 1 } else { in_full.max(1) };
        (n > FOCUS_ALL_UP_TO).then(|| (FOCUS_ARCS_LONG_TOTAL / in_full).clamp(FOCUS_ARCS_LONG_MIN, FOCUS_ARCS_LONG))
    }
}

/// The head drawn in full when many heads are drawn at once: `preferred` (a real model's chosen head)
/// if it is drawn, else the first drawn head. `None` when every head is drawn in full: few heads, a
/// combined (mean/max) view, or the user asked for every head.
pub fn lead_head(drawn: &[(Option<usize>, Rc<Mat>)], preferred: usize, every_head: bool) -> Option<usize> {
    let heads: Vec<usize> = drawn.iter().filter_map(|(h, _)| *h).collect();
    if every_head || heads.len() <= MANY_HEADS {
        return None;
    }
    Some(if heads.contains(&preferred) { preferred } else { heads[0] })
}

/// The focused token's arcs in each drawn matrix: its weights at or above `threshold`, only the strongest
/// `limit(head)` of a matrix where that is `Some`, weakest first so the strongest paint on top. Where the
/// limit is `None` the focused token shows all it attends to.
pub fn focus_arcs(
    drawn: &[(Option<usize>, &Mat)],
    query: usize,
    threshold: f32,
    limit: impl Fn(Option<usize>) -> Option<usize>,
) -> Vec<Arc> {
    let mut arcs = Vec::new();
    for &(head, m) in drawn {
        if query >= m.nrows() {
            continue;
        }
        let mut row: Vec<(usize, f32)> = (0..m.ncols())
            .map(|j| (j, m[(query, j)]))
            .filter(|&(_, w)| w > 0.0 && w.is_finite() && w >= threshold)
            .collect();
        if let Some(k) = limit(head) {
            row.sort_by(|a, b| b.1.total_cmp(&a.1));
            row.truncate(k);
        }
        arcs.extend(row.into_iter().map(|(j, w)| Arc { from: query, to: j, head, weight: w }));
    }
    arcs.sort_by(|a, b| a.weight.total_cmp(&b.weight));
    arcs
}

/// The matrices the arc view and heatmap draw: one per visible head (tagged with the head), or their
/// mean or max (untagged); nothing when every head is hidden. Single-head modes draw their one head.
pub fn drawn_weights(
    a: &Attention,
    head_view: HeadView,
    visible: impl Fn(usize) -> bool,
) -> Vec<(Option<usize>, Rc<Mat>)> {
    if a.mode != Mode::MultiHead {
        return a.heads.first().map(|h| (None, Rc::new(h.attn_weights.clone()))).into_iter().collect();
    }
    let shown: Vec<usize> = (0..a.heads.len()).filter(|&h| visible(h)).collect();
    if shown.is_empty() {
        return Vec::new();
    }
    match head_view {
        HeadView::All => shown.iter().map(|&h| (Some(h), Rc::new(a.heads[h].attn_weights.clone()))).collect(),
        HeadView::Mean => vec![(None, Rc::new(a.mean_weights_over(&shown)))],
        HeadView::Max => vec![(None, Rc::new(a.max_weights_over(&shown)))],
    }
}

/// Rows either side of the focus the steps panel prints in a long matrix.
pub const ROW_WINDOW: usize = 2;
/// Matrices up to this many rows are printed whole.
pub const ROWS_IN_FULL: usize = 12;

/// The rows the steps panel prints: all of a short matrix; the first two and the last row and a window
/// around the focus of a long one (`None` marks an ellipsis).
pub fn visible_rows(n: usize, focus: Option<usize>) -> Vec<Option<usize>> {
    if n <= ROWS_IN_FULL {
        return (0..n).map(Some).collect();
    }
    let f = focus.unwrap_or(0).min(n - 1);
    let mut keep: Vec<usize> = vec![0, 1, n - 1];
    keep.extend(f.saturating_sub(ROW_WINDOW)..=(f + ROW_WINDOW).min(n - 1));
    keep.sort_unstable();
    keep.dedup();
    let mut out = Vec::new();
    for (k, &r) in keep.iter().enumerate() {
        if k > 0 && r > keep[k - 1] + 1 {
            out.push(None);
        }
        out.push(Some(r));
    }
    out
}

/// Appends an SVG `path` element with `attrs` (name, value) to `out`. The arc view writes its focused
/// token's arcs as one piece of markup that the browser parses at once: hundreds of elements whose
/// attributes a hover would otherwise set one call at a time (at 1 000 tokens those calls, and their
/// strings crossing from wasm, took most of a hover). Only numbers and colours ever reach it, never a
/// token's text; every value is escaped all the same.
pub fn push_path_markup(out: &mut String, attrs: &[(&str, &str)]) {
    out.push_str("<path");
    for (name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push_str("/>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_markup_escapes_every_value() {
        let mut out = String::new();
        push_path_markup(&mut out, &[("d", "M1 2C3 4"), ("data-head", "<g>\"&'")]);
        assert_eq!(out, "<path d=\"M1 2C3 4\" data-head=\"&lt;g&gt;&quot;&amp;'\"/>");
    }

    fn toks(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    #[test]
    fn tokens_do_not_overlap() {
        let l = layout_tokens(&["a".into(), "journey".into(), "👩‍👩‍👧".into()], 0.0);
        let wide = layout_tokens(&["a".into(), "b".into()], 900.0);
        assert!((wide.width - 900.0).abs() < 1.0);
        for i in 1..3 {
            assert!(l.x[i] - l.w[i] / 2.0 >= l.x[i - 1] + l.w[i - 1] / 2.0);
        }
        assert!(l.width > l.x[2] + l.w[2] / 2.0);
    }

    #[test]
    fn causal_zeros_are_never_drawn_and_small_inputs_are_complete() {
        let m = Mat::from_fn(5, 5, |i, j| if j <= i { 1.0 / (i + 1) as f32 } else { 0.0 });
        let (arcs, pruned) = select_arcs(&[(None, &m)], None, 2, 0.0);
        assert!(!pruned);
        assert_eq!(arcs.len(), 15);
        assert!(arcs.iter().all(|a| a.to <= a.from));
        assert!(arcs.windows(2).all(|p| p[0].weight <= p[1].weight));
    }

    #[test]
    fn long_inputs_keep_top_k_but_the_focused_row_whole() {
        let n = 100;
        let m = Mat::from_fn(n, n, |i, j| ((i * 31 + j * 17) % 97) as f32 / 97.0 + 0.001);
        let (arcs, pruned) = select_arcs(&[(None, &m)], Some(7), 3, 0.0);
        assert!(pruned);
        assert_eq!(arcs.iter().filter(|a| a.from == 7).count(), n);
        assert_eq!(arcs.iter().filter(|a| a.from == 8).count(), 3);
        let best = (0..n).max_by(|&a, &b| m[(8, a)].total_cmp(&m[(8, b)])).expect("non-empty");
        assert!(arcs.iter().any(|a| a.from == 8 && a.to == best));
        let (arcs, _) = select_arcs(&[(None, &m)], None, 3, 0.9);
        assert!(arcs.iter().all(|a| a.weight >= 0.9));
    }

    #[test]
    fn word_pieces_group_into_words() {
        let t: Vec<String> =
            ["[CLS]", "sit", "##ting", "##s", "on", "em", "##bed", "[SEP]"].iter().map(|s| s.to_string()).collect();
        assert_eq!(piece_groups(&t), vec![(1, 3, "sittings".to_string()), (5, 6, "embed".to_string())]);
        assert!(piece_groups(&["##x".to_string()]).is_empty());
    }

    #[test]
    fn paths_and_styles_are_sane() {
        let l = layout_tokens(&toks(4), 600.0);
        let p = arc_path(&l, 3, 0, 300.0, 0.0);
        assert!(p.starts_with('M') && p.contains('C'));
        assert!(arc_path(&l, 2, 2, 300.0, 0.0).contains('C'));
        let (w0, o0) = arc_style(0.0, None);
        let (w1, o1) = arc_style(1.0, None);
        assert!(w1 > w0 && o1 > o0);
        assert!(arc_style(1.0, Some(false)).1 < arc_style(0.0, Some(true)).1);
        assert_eq!(heat_colour(0.0, false), "#f7fbff");
        assert_eq!(heat_colour(f32::NAN, true), heat_colour(0.0, true));
    }

    fn multi_head(n: usize, heads: usize) -> Attention {
        let req = arcs_core::Request {
            source: arcs_core::Source::Sentence((0..n).map(|i| format!("w{i} ")).collect()),
            mode: Mode::MultiHead,
            heads: Some(heads),
            d_out: Some(2 * heads),
            ..arcs_core::Request::default()
        };
        req.run().expect("toy model runs")
    }

    #[test]
    fn drawn_weights_follow_the_head_view_and_hidden_heads() {
        let a = multi_head(5, 3);
        let all = drawn_weights(&a, HeadView::All, |h| h != 1);
        assert_eq!(all.iter().map(|(h, _)| *h).collect::<Vec<_>>(), vec![Some(0), Some(2)]);
        assert_eq!(*all[1].1, a.heads[2].attn_weights);
        let mean = drawn_weights(&a, HeadView::Mean, |h| h != 1);
        let expected = (&a.heads[0].attn_weights + &a.heads[2].attn_weights) / 2.0;
        assert!((&*mean[0].1 - expected).abs().max() < 1e-7, "mean of the visible heads only");
        let max = drawn_weights(&a, HeadView::Max, |h| h == 0 || h == 1);
        let expected = a.heads[0].attn_weights.zip_map(&a.heads[1].attn_weights, f32::max);
        assert_eq!(*max[0].1, expected);
        assert!(drawn_weights(&a, HeadView::Mean, |_| false).is_empty(), "every head hidden: nothing to draw");
        let mean_all = drawn_weights(&a, HeadView::Mean, |_| true);
        assert_eq!(*mean_all[0].1, a.mean_weights());
        for row in 0..5 {
            assert!((mean_all[0].1.row(row).sum() - 1.0).abs() < 1e-5, "a mean of softmax rows sums to 1");
        }
    }

    #[test]
    fn single_head_modes_draw_their_one_head() {
        let mut a = multi_head(4, 2);
        a.mode = Mode::Causal;
        let w = drawn_weights(&a, HeadView::Mean, |_| false);
        assert_eq!((w.len(), w[0].0), (1, None));
        assert_eq!(*w[0].1, a.heads[0].attn_weights);
    }

    #[test]
    fn visible_rows_keep_the_ends_and_a_window_round_the_focus() {
        assert_eq!(visible_rows(3, Some(2)), vec![Some(0), Some(1), Some(2)]);
        assert_eq!(visible_rows(0, None), Vec::<Option<usize>>::new());
        let rows = |n, f| {
            visible_rows(n, f)
                .iter()
                .map(|r| r.map_or("…".to_string(), |r| r.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(rows(20, None), "0 1 2 … 19");
        assert_eq!(rows(20, Some(10)), "0 1 … 8 9 10 11 12 … 19");
        assert_eq!(rows(20, Some(19)), "0 1 … 17 18 19");
        assert_eq!(rows(20, Some(3)), "0 1 2 3 4 5 … 19", "no ellipsis for an empty gap");
        assert_eq!(rows(13, Some(99)), "0 1 … 10 11 12", "a focus past the end is the last row");
    }

    #[test]
    fn many_heads_draw_one_lead_head_and_the_focused_tokens_strongest() {
        let a = multi_head(16, 12);
        let drawn = drawn_weights(&a, HeadView::All, |_| true);
        assert_eq!(lead_head(&drawn, 1, false), Some(1), "the chosen head leads");
        assert_eq!(lead_head(&drawn, 40, false), Some(0), "a head that is not drawn cannot lead");
        assert_eq!(lead_head(&drawn, 1, true), None, "every head on request");
        let few = drawn_weights(&multi_head(16, 4), HeadView::All, |_| true);
        assert_eq!(lead_head(&few, 1, false), None, "four heads are drawn as they are");
        let mean = drawn_weights(&a, HeadView::Mean, |_| true);
        assert_eq!(lead_head(&mean, 1, false), None, "one combined matrix");
        let hidden = drawn_weights(&a, HeadView::All, |h| h >= 7);
        assert_eq!(lead_head(&hidden, 1, false), Some(7), "the first drawn head when the chosen one is hidden");

        // What the arc view draws by default for a 12-head layer: one head's arcs, not twelve.
        let refs: Vec<(Option<usize>, &Mat)> = drawn.iter().map(|(h, m)| (*h, m.as_ref())).collect();
        let lead: Vec<(Option<usize>, &Mat)> = refs.iter().copied().filter(|(h, _)| *h == Some(1)).collect();
        let (base, _) = select_arcs(&lead, None, crate::state::DEFAULT_TOP_K, 0.0);
        let (all, _) = select_arcs(&refs, None, crate::state::DEFAULT_TOP_K, 0.0);
        assert!(base.len() <= 16 * 16 && base.iter().all(|a| a.head == Some(1)));
        assert!(all.len() > 3 * base.len(), "{} arcs for every head vs {} for one", all.len(), base.len());
        let focused = focus_arcs(&refs, 5, 0.0, |h| focus_limit(Some(1), h, 16, 12));
        let lead_row = a.heads[1].attn_weights.row(5).iter().filter(|w| **w > 0.0).count();
        assert_eq!(focused.len(), 11 * FOCUS_ARCS_PER_HEAD + lead_row, "three per head, the lead head's all");
        assert_eq!(focused.iter().filter(|a| a.head == Some(1)).count(), lead_row);
        for h in (0..12).filter(|&h| h != 1) {
            let row = a.heads[h].attn_weights.row(5);
            let mut sorted: Vec<f32> = row.iter().copied().collect();
            sorted.sort_by(|x, y| y.total_cmp(x));
            let mine: Vec<f32> = focused.iter().filter(|a| a.head == Some(h)).map(|a| a.weight).collect();
            assert!(mine.iter().all(|w| *w >= sorted[2]), "head {h}: the three strongest");
        }
        assert!(focused.windows(2).all(|p| p[0].weight <= p[1].weight), "strongest paint last");
        assert_eq!(
            focus_limit(Some(1), Some(1), 1000, 12),
            Some(FOCUS_ARCS_LONG),
            "a long input's lead head: its strongest"
        );
        assert_eq!(focus_limit(None, Some(4), FOCUS_ALL_UP_TO, 12), None);
        assert_eq!(focus_limit(Some(1), Some(4), 1000, 12), Some(FOCUS_ARCS_PER_HEAD));
        // Every head in full on a long input: the budget shared out, within its bounds.
        assert_eq!(focus_limit(None, Some(4), 1000, 1), Some(FOCUS_ARCS_LONG));
        assert_eq!(focus_limit(None, Some(4), 1000, 9), Some(28));
        assert_eq!(focus_limit(None, Some(4), 1000, 32), Some(FOCUS_ARCS_LONG_MIN));
        assert_eq!(focus_limit(None, None, 1000, 0), Some(FOCUS_ARCS_LONG), "no heads: one matrix");
        let every = focus_arcs(&refs, 5, 0.0, |h| focus_limit(None, h, 16, 12));
        let visible: usize = a.heads.iter().map(|h| h.attn_weights.row(5).iter().filter(|w| **w > 0.0).count()).sum();
        assert_eq!(every.len(), visible, "without a limit, every key of every head (causal heads: 6 a head)");
        assert!(focus_arcs(&refs, 99, 0.0, |_| None).is_empty(), "a focus past the end draws nothing");
    }

    #[test]
    fn diverging_colours_have_a_neutral_middle_and_two_sides() {
        assert_eq!(diverging_colour(0.0, false), "#f7f7f7");
        assert_eq!(diverging_colour(f32::NAN, true), diverging_colour(0.0, true));
        assert_eq!(diverging_colour(-1.0, false), "#2166ac");
        assert_eq!(diverging_colour(5.0, false), "#b2182b", "clamped");
        assert_ne!(diverging_colour(0.2, false), diverging_colour(-0.2, false));
    }

    #[test]
    fn thumbnails_pool_by_the_largest_weight() {
        let (side, v) = max_pool(5, |i, j| if (i, j) == (4, 1) { 0.9 } else { 0.1 }, 2);
        assert_eq!((side, v.len()), (2, 4), "blocks of 3: 5 rows become 2");
        assert_eq!(v, vec![0.1, 0.1, 0.9, 0.1], "the strong weight survives in its block");
        let (side, v) = max_pool(3, |i, j| (i * 3 + j) as f32, 64);
        assert_eq!((side, v[8]), (3, 8.0), "small matrices stay as they are");
        assert_eq!(heat_colour(0.3, true), {
            let c = heat_rgb(0.3, true);
            format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
        });
    }
}

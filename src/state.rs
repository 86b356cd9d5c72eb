//! The app's whole view as one plain value, and the actions that change it.
//!
//! This is the reducer at the root of the Yew app, written without Yew so it is tested natively: every
//! click, key and keystroke becomes an [`Action`], and [`ViewState::apply`] is the only place the view
//! changes. The share link is this value written into the URL (see `url.rs`).

use crate::models::ModelKind;
use arcs_core::attention::{MaskStyle, Mode, Normalization};
use arcs_core::book;
use arcs_core::request::{Request, Source};

/// What the centre of the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Arcs,
    Heatmap,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Arcs => "arcs",
            View::Heatmap => "heatmap",
        }
    }

    pub fn parse(s: &str) -> Option<View> {
        match s {
            "arcs" => Some(View::Arcs),
            "heatmap" => Some(View::Heatmap),
            _ => None,
        }
    }
}

/// Which heads the multi-head views combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadView {
    /// Every selected head in its own colour.
    All,
    Mean,
    Max,
}

impl HeadView {
    pub fn as_str(self) -> &'static str {
        match self {
            HeadView::All => "all",
            HeadView::Mean => "mean",
            HeadView::Max => "max",
        }
    }

    pub fn parse(s: &str) -> Option<HeadView> {
        match s {
            "all" => Some(HeadView::All),
            "mean" => Some(HeadView::Mean),
            "max" => Some(HeadView::Max),
            _ => None,
        }
    }
}

/// How many arcs per query token survive on long inputs.
pub const DEFAULT_TOP_K: usize = 4;
/// Past this many tokens weak arcs are pruned (drawing n^2 arcs would freeze the page).
pub const PRUNE_ABOVE: usize = 64;
/// Most heads the UI tracks selection for.
pub const MAX_HEADS: usize = 64;

/// Everything needed to redraw the page exactly; everything in it goes into the share link.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    pub sentence: String,
    pub mode: Mode,
    pub seed: u64,
    pub d_in: usize,
    pub d_out: usize,
    pub heads: usize,
    pub dropout: f32,
    pub mask: MaskStyle,
    pub scale: bool,
    pub normalization: Normalization,
    pub causal_heads: bool,
    /// The token whose arcs stand out (hover or keyboard).
    pub focus: Option<usize>,
    /// Whether the focus is pinned (click or Enter), so leaving the token keeps it.
    pub pinned: bool,
    /// Heads hidden in the multi-head views (bit h set = head h hidden).
    pub hidden_heads: u64,
    pub head_view: HeadView,
    pub view: View,
    /// Arcs per query token kept on long inputs.
    pub top_k: usize,
    /// Arcs below this weight are not drawn on long inputs.
    pub threshold: f32,
    /// A real model instead of the toy engine.
    pub model: Option<ModelKind>,
    /// Real models: the layer and the head the single-head modes show.
    pub layer: usize,
    pub head: usize,
    /// Real models: hide [CLS]/[SEP] (encoder) or the first-token sink (LLM) and renormalise.
    pub hide_special: bool,
    /// MiniLM: draw each word's WordPieces ("sit ##ting") joined under the arcs.
    pub join_pieces: bool,
    /// The lesson step on screen, if the lesson is open.
    pub lesson: Option<usize>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            sentence: book::SENTENCE.to_string(),
            mode: Mode::SelfAttention,
            seed: 123,
            d_in: book::D_IN,
            d_out: book::D_OUT,
            heads: book::NUM_HEADS,
            dropout: 0.0,
            mask: MaskStyle::NegInf,
            scale: true,
            normalization: Normalization::Softmax,
            causal_heads: true,
            focus: None,
            pinned: false,
            hidden_heads: 0,
            head_view: HeadView::All,
            view: View::Arcs,
            top_k: DEFAULT_TOP_K,
            threshold: 0.0,
            model: None,
            layer: 0,
            head: 0,
            hide_special: false,
            join_pieces: false,
            lesson: None,
        }
    }
}

/// Everything a user can do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    SetSentence(String),
    UseBookExample,
    SetMode(Mode),
    SetSeed(u64),
    SetDIn(usize),
    SetDOut(usize),
    SetHeads(usize),
    SetDropout(f32),
    SetMask(MaskStyle),
    SetScale(bool),
    SetNormalization(Normalization),
    SetCausalHeads(bool),
    /// Pointer entered a token (ignored while pinned).
    Hover(usize),
    /// Pointer left the tokens (ignored while pinned).
    Unhover,
    /// Click or tap on a token: pin it, or unpin if it is already the pinned one.
    TogglePin(usize),
    /// Esc.
    Unpin,
    /// Arrow keys: move the focus by this many tokens, clamped to the sentence.
    MoveFocus(isize, usize),
    ToggleHead(usize),
    SetHeadView(HeadView),
    SetView(View),
    SetTopK(usize),
    SetThreshold(f32),
    SetModel(Option<ModelKind>),
    SetLayer(usize),
    SetHead(usize),
    SetHideSpecial(bool),
    SetJoinPieces(bool),
    /// Open lesson step n (clamped), with the view it comes with.
    OpenLesson(usize),
    CloseLesson,
    /// Jump to one head of a real model (from the overview grid or "which head links these words?").
    OpenHead {
        layer: usize,
        head: usize,
    },
    /// A whole state, e.g. decoded from a link.
    Replace(Box<ViewState>),
}

impl ViewState {
    /// Whether the sentence is the book's, which brings the book's own embeddings and weights.
    pub fn is_book(&self) -> bool {
        self.model.is_none() && self.sentence.trim() == book::SENTENCE
    }

    /// The engine request for this view.
    pub fn request(&self) -> Request {
        let book = self.is_book();
        Request {
            source: if book { Source::Book } else { Source::Sentence(self.sentence.clone()) },
            mode: self.mode,
            seed: self.seed,
            d_in: self.d_in,
            d_out: if book { None } else { Some(self.d_out) },
            heads: Some(self.heads),
            dropout: self.dropout,
            mask: self.mask,
            scale: self.scale,
            normalization: self.normalization,
            causal_heads: self.causal_heads,
            weights: None,
        }
    }

    /// Keeps layer and head inside the chosen model.
    fn clamp_to_model(&mut self) {
        match self.model {
            Some(m) => {
                self.layer = self.layer.min(m.num_layers() - 1);
                self.head = self.head.min(m.num_heads() - 1);
            }
            None => {
                self.layer = 0;
                self.head = 0;
            }
        }
    }

    /// The view without the hovered/pinned token: what panels that do not follow the focus compare, so
    /// hovering does not re-render them.
    pub fn without_focus(&self) -> ViewState {
        ViewState { focus: None, pinned: false, ..self.clone() }
    }

    /// Whether the toy engine draws this view (else a real model's run does).
    pub fn is_toy(&self) -> bool {
        self.model.is_none()
    }

    pub fn head_visible(&self, h: usize) -> bool {
        h >= MAX_HEADS || self.hidden_heads & (1u64 << h) == 0
    }

    /// Returns the next state. Never fails: out-of-range values are clamped here, and requests the engine
    /// refuses (heads not dividing d_out, ...) are reported by the engine with the state kept.
    pub fn apply(&self, action: Action) -> ViewState {
        let mut s = self.clone();
        match action {
            Action::SetSentence(text) => {
                s.sentence = text;
                // Token indices of the old sentence mean nothing in the new one.
                s.focus = None;
                s.pinned = false;
            }
            Action::UseBookExample => {
                s.model = None;
                s.layer = 0;
                s.head = 0;
                s.sentence = book::SENTENCE.to_string();
                s.d_in = book::D_IN;
                s.d_out = book::D_OUT;
                s.heads = book::NUM_HEADS;
                s.focus = None;
                s.pinned = false;
            }
            Action::SetMode(m) => s.mode = m,
            Action::SetSeed(x) => s.seed = x,
            Action::SetDIn(x) => s.d_in = x.clamp(1, arcs_core::request::MAX_DIM),
            Action::SetDOut(x) => s.d_out = x.clamp(1, arcs_core::request::MAX_DIM),
            Action::SetHeads(x) => s.heads = x.clamp(1, MAX_HEADS),
            Action::SetDropout(p) => s.dropout = if p.is_finite() { p.clamp(0.0, 0.95) } else { 0.0 },
            Action::SetMask(m) => s.mask = m,
            Action::SetScale(b) => s.scale = b,
            Action::SetNormalization(n) => s.normalization = n,
            Action::SetCausalHeads(b) => s.causal_heads = b,
            Action::Hover(i) => {
                if !s.pinned {
                    s.focus = Some(i);
                }
            }
            Action::Unhover => {
                if !s.pinned {
                    s.focus = None;
                }
            }
            Action::TogglePin(i) => {
                if s.pinned && s.focus == Some(i) {
                    s.pinned = false;
                } else {
                    s.focus = Some(i);
                    s.pinned = true;
                }
            }
            Action::Unpin => {
                s.pinned = false;
                s.focus = None;
            }
            Action::MoveFocus(delta, n) => {
                if n > 0 {
                    let cur = s.focus.map_or(if delta >= 0 { -1 } else { n as isize }, |f| f as isize);
                    s.focus = Some((cur + delta).clamp(0, n as isize - 1) as usize);
                }
            }
            Action::ToggleHead(h) => {
                if h < MAX_HEADS {
                    s.hidden_heads ^= 1u64 << h;
                }
            }
            Action::SetHeadView(v) => s.head_view = v,
            Action::SetView(v) => s.view = v,
            Action::SetTopK(k) => s.top_k = k.clamp(1, 64),
            Action::SetThreshold(t) => s.threshold = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 },
            Action::SetModel(m) => {
                if m != s.model {
                    s.model = m;
                    // Token indices differ between tokenizers.
                    s.focus = None;
                    s.pinned = false;
                    s.hidden_heads = 0;
                    s.clamp_to_model();
                }
            }
            Action::SetLayer(l) => {
                s.layer = l;
                s.clamp_to_model();
            }
            Action::SetHead(h) => {
                s.head = h;
                s.clamp_to_model();
            }
            Action::SetHideSpecial(b) => s.hide_special = b,
            Action::SetJoinPieces(b) => s.join_pieces = b,
            Action::OpenLesson(n) => {
                let n = n.min(crate::lesson::STEPS.len() - 1);
                s.lesson = Some(n);
                if let crate::lesson::Widget::View(p) = crate::lesson::STEPS[n].widget {
                    s.sentence = p.sentence.to_string();
                    s.mode = p.mode;
                    s.model = p.model;
                    s.layer = p.layer;
                    s.head = p.head;
                    s.d_in = p.d_in;
                    s.d_out = p.d_out;
                    s.heads = p.heads;
                    s.hidden_heads = 0;
                    s.focus = p.focus;
                    s.pinned = p.focus.is_some();
                    s.clamp_to_model();
                }
            }
            Action::CloseLesson => s.lesson = None,
            Action::OpenHead { layer, head } => {
                s.layer = layer;
                s.head = head;
                s.mode = Mode::SelfAttention;
                s.clamp_to_model();
            }
            Action::Replace(new) => {
                s = *new;
                s.clamp_to_model();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_book_example() {
        let s = ViewState::default();
        assert!(s.is_book());
        assert_eq!(s.request().source, Source::Book);
        let a = s.request().run().expect("book runs");
        assert_eq!(a.tokens, book::tokens());
    }

    #[test]
    fn hover_pin_and_escape() {
        let s = ViewState::default().apply(Action::Hover(2));
        assert_eq!(s.focus, Some(2));
        let s = s.apply(Action::TogglePin(3));
        assert_eq!((s.focus, s.pinned), (Some(3), true));
        let s = s.apply(Action::Hover(1)).apply(Action::Unhover);
        assert_eq!(s.focus, Some(3), "pinned focus ignores hover");
        let s = s.apply(Action::TogglePin(3));
        assert!(!s.pinned);
        let s = s.apply(Action::TogglePin(4)).apply(Action::Unpin);
        assert_eq!((s.focus, s.pinned), (None, false));
    }

    #[test]
    fn arrow_keys_clamp_to_the_sentence() {
        let s = ViewState::default().apply(Action::MoveFocus(1, 6));
        assert_eq!(s.focus, Some(0));
        let s = s.apply(Action::MoveFocus(-1, 6));
        assert_eq!(s.focus, Some(0));
        let s = s.apply(Action::MoveFocus(10, 6));
        assert_eq!(s.focus, Some(5));
        assert_eq!(ViewState::default().apply(Action::MoveFocus(-1, 6)).focus, Some(5));
        assert_eq!(ViewState::default().apply(Action::MoveFocus(1, 0)).focus, None);
    }

    #[test]
    fn new_sentence_clears_focus_and_values_are_clamped() {
        let s = ViewState::default().apply(Action::TogglePin(5)).apply(Action::SetSentence("a b".into()));
        assert_eq!((s.focus, s.pinned), (None, false));
        assert!(!s.is_book());
        let s = s.apply(Action::SetDOut(0)).apply(Action::SetDropout(f32::NAN)).apply(Action::SetHeads(1000));
        assert_eq!((s.d_out, s.dropout, s.heads), (1, 0.0, MAX_HEADS));
        let s = s.apply(Action::ToggleHead(1)).apply(Action::ToggleHead(3));
        assert!(s.head_visible(0) && !s.head_visible(1) && !s.head_visible(3));
    }

    #[test]
    fn lesson_steps_open_their_views() {
        let s = ViewState::default().apply(Action::OpenLesson(99));
        assert_eq!(s.lesson, Some(crate::lesson::STEPS.len() - 1));
        assert_eq!(s.model, Some(ModelKind::MiniLm));
        let s = s.apply(Action::OpenLesson(4));
        assert_eq!((s.mode, s.model, s.focus, s.pinned), (Mode::Causal, None, Some(0), true));
        assert_eq!(s.apply(Action::CloseLesson).lesson, None);
    }

    #[test]
    fn models_clamp_layer_and_head() {
        let s = ViewState::default()
            .apply(Action::SetModel(Some(ModelKind::MiniLm)))
            .apply(Action::SetLayer(99))
            .apply(Action::SetHead(99));
        assert_eq!((s.layer, s.head), (5, 11));
        assert!(!s.is_book(), "a real model never uses the book's embeddings");
        let s = s.apply(Action::OpenHead { layer: 3, head: 1 });
        assert_eq!((s.layer, s.head, s.mode), (3, 1, Mode::SelfAttention));
        let s = s.apply(Action::SetModel(None));
        assert_eq!((s.layer, s.head), (0, 0));
    }
}

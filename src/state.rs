//! The app's whole view as one plain value, and the actions that change it.
//!
//! This is the reducer at the root of the Yew app, written without Yew so it is tested natively: every
//! click, key and keystroke becomes an [`Action`], and [`ViewState::apply`] is the only place the view
//! changes. The share link is this value written into the URL (see `url.rs`).

use crate::models::{FileIdentity, ModelKind};
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

/// What a real model's arcs show (research views): the attention weights, the weights scaled by how
/// much each value moves the output (Kobayashi et al. 2020), or attention rolled out through the layers
/// (Abnar & Zuidema 2020).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Weighting {
    #[default]
    Attention,
    ValueNorm,
    Rollout,
}

impl Weighting {
    pub const ALL: [Weighting; 3] = [Weighting::Attention, Weighting::ValueNorm, Weighting::Rollout];

    pub fn as_str(self) -> &'static str {
        match self {
            Weighting::Attention => "weights",
            Weighting::ValueNorm => "value",
            Weighting::Rollout => "rollout",
        }
    }

    pub fn parse(s: &str) -> Option<Weighting> {
        Weighting::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// A head role the head-roles map colours by (definitions: `arcs_core::analysis`, text: `text::role_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    PreviousToken,
    FirstToken,
    SelfScore,
    Entropy,
    Distance,
    DuplicateToken,
    Induction,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::PreviousToken,
        Role::FirstToken,
        Role::SelfScore,
        Role::Entropy,
        Role::Distance,
        Role::DuplicateToken,
        Role::Induction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PreviousToken => "previous-token",
            Role::FirstToken => "first-token",
            Role::SelfScore => "self",
            Role::Entropy => "entropy",
            Role::Distance => "distance",
            Role::DuplicateToken => "duplicate-token",
            Role::Induction => "induction",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How many arcs per query token survive on long inputs.
pub const DEFAULT_TOP_K: usize = 4;
/// Past this many tokens weak arcs are pruned (drawing n^2 arcs would freeze the page).
pub const PRUNE_ABOVE: usize = 64;
/// Most heads the UI tracks selection for.
pub const MAX_HEADS: usize = 64;

/// The engine's settings: what the toy model computes (a real model uses the sentence and the mode).
#[derive(Clone, Debug, PartialEq)]
pub struct EngineSettings {
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
    /// Real models: a second sentence run through the same model, compared with the first (minimal
    /// pairs); `None`: no comparison.
    pub compare: Option<String>,
}

impl Default for EngineSettings {
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
            compare: None,
        }
    }
}

/// How the weights are drawn, whoever computed them.
#[derive(Clone, Debug, PartialEq)]
pub struct Display {
    pub view: View,
    pub head_view: HeadView,
    /// Heads hidden in the multi-head views (bit h set = head h hidden).
    pub hidden_heads: u64,
    /// Arcs per query token kept on long inputs.
    pub top_k: usize,
    /// Arcs below this weight are not drawn on long inputs.
    pub threshold: f32,
    /// MiniLM: draw each word's WordPieces ("sit ##ting") joined under the arcs.
    pub join_pieces: bool,
    /// Multi-head with many heads: draw every head's arcs, not only the lead head's (see
    /// `layout::lead_head`).
    pub every_head: bool,
    /// Real models: the head-roles map is open, coloured by this role.
    pub roles: Option<Role>,
    /// Real models: what the arcs show.
    pub weighting: Weighting,
    /// Decoders: the logit-lens grid is open.
    pub lens: Option<LensView>,
    /// The neuron view is open on this key token (its query is the focused token).
    pub neuron: Option<usize>,
}

/// The logit-lens grid, and the cell a click pinned: `(layer, position)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LensView {
    pub pin: Option<(usize, usize)>,
}

impl Default for Display {
    fn default() -> Self {
        Self {
            view: View::Arcs,
            head_view: HeadView::All,
            hidden_heads: 0,
            top_k: DEFAULT_TOP_K,
            threshold: 0.0,
            join_pieces: false,
            every_head: false,
            roles: None,
            weighting: Weighting::Attention,
            lens: None,
            neuron: None,
        }
    }
}

/// A real model instead of the toy engine, and where in it the page looks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModelChoice {
    /// `None`: the toy engine.
    pub kind: Option<ModelKind>,
    /// The layer, and the head the single-head modes show.
    pub layer: usize,
    pub head: usize,
    /// Hide [CLS]/[SEP] (encoder) or the first-token sink (LLM) and renormalise.
    pub hide_special: bool,
    /// With `ModelKind::File`: which file the view was made with (kept in share links).
    pub file: Option<FileIdentity>,
}

/// The token whose arcs stand out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Focus {
    /// Hovered, or moved to with the keyboard.
    pub token: Option<usize>,
    /// Pinned (click or Enter), so leaving the token keeps it. Never true without a token.
    pub pinned: bool,
}

/// Everything needed to redraw the page exactly; everything in it goes into the share link.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ViewState {
    pub engine: EngineSettings,
    pub display: Display,
    pub model: ModelChoice,
    pub focus: Focus,
    /// The lesson step on screen, if the lesson is open.
    pub lesson: Option<usize>,
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
    /// A model from the user's files is ready: show it.
    ModelOpened(FileIdentity),
    SetLayer(usize),
    SetHead(usize),
    SetHideSpecial(bool),
    SetJoinPieces(bool),
    /// Many heads: draw every head's arcs (true) or the lead head's and the focused token's (false).
    SetEveryHead(bool),
    /// Open the head-roles map coloured by a role, or close it.
    SetRoles(Option<Role>),
    SetWeighting(Weighting),
    /// Open the logit lens, or close it.
    SetLens(bool),
    /// Pin a cell of the logit lens `(layer, position)`, or unpin.
    PinLens(Option<(usize, usize)>),
    /// Open the neuron view on a key token, or close it.
    SetNeuron(Option<usize>),
    /// Compare with a second sentence, or stop comparing.
    SetCompare(Option<String>),
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
    /// A real model's arcs rolled out through the layers: one matrix (of `heads` drawn) standing for
    /// every head together, not head 0.
    pub fn rolled_out(&self, heads: usize) -> bool {
        self.model.kind.is_some() && self.display.weighting == Weighting::Rollout && heads == 1
    }

    /// Whether the sentence is the book's, which brings the book's own embeddings and weights.
    pub fn is_book(&self) -> bool {
        self.model.kind.is_none() && self.engine.sentence.trim() == book::SENTENCE
    }

    /// The engine request for this view.
    pub fn request(&self) -> Request {
        let book = self.is_book();
        let e = &self.engine;
        Request {
            source: if book { Source::Book } else { Source::Sentence(e.sentence.clone()) },
            mode: e.mode,
            seed: e.seed,
            d_in: e.d_in,
            d_out: if book { None } else { Some(e.d_out) },
            heads: Some(e.heads),
            dropout: e.dropout,
            mask: e.mask,
            scale: e.scale,
            normalization: e.normalization,
            causal_heads: e.causal_heads,
            weights: None,
        }
    }

    /// Keeps layer and head inside the chosen model, and the focus consistent.
    fn canonicalize(&mut self) {
        let m = &mut self.model;
        // A file identity belongs to an opened model only, and an opened model needs one.
        if m.kind != Some(ModelKind::File) {
            m.file = None;
        } else if m.file.is_none() {
            m.kind = None;
        }
        match m.kind {
            // An opened model's shape arrives with its passes; the views clamp to it there.
            Some(k) => {
                if let Some(s) = k.shape() {
                    m.layer = m.layer.min(s.layers - 1);
                    m.head = m.head.min(s.heads - 1);
                }
            }
            None => {
                m.layer = 0;
                m.head = 0;
            }
        }
        self.focus.pinned &= self.focus.token.is_some();
    }

    /// The view without the hovered/pinned token: what panels that do not follow the focus compare, so
    /// hovering does not re-render them.
    pub fn without_focus(&self) -> ViewState {
        ViewState { focus: Focus::default(), ..self.clone() }
    }

    /// Whether the toy engine draws this view (else a real model's run does).
    pub fn is_toy(&self) -> bool {
        self.model.kind.is_none()
    }

    pub fn head_visible(&self, h: usize) -> bool {
        h >= MAX_HEADS || self.display.hidden_heads & (1u64 << h) == 0
    }

    /// Returns the next state. Never fails: out-of-range values are clamped here, and requests the engine
    /// refuses (heads not dividing d_out, ...) are reported by the engine with the state kept.
    pub fn apply(&self, action: Action) -> ViewState {
        let mut s = self.clone();
        let (e, d) = (&mut s.engine, &mut s.display);
        match action {
            Action::SetSentence(text) => {
                e.sentence = text;
                // Token indices of the old sentence mean nothing in the new one.
                s.focus = Focus::default();
                d.neuron = d.neuron.map(|_| 0);
                d.lens = d.lens.map(|_| LensView::default());
            }
            Action::UseBookExample => {
                s.model = ModelChoice { hide_special: s.model.hide_special, ..ModelChoice::default() };
                e.sentence = book::SENTENCE.to_string();
                e.d_in = book::D_IN;
                e.d_out = book::D_OUT;
                e.heads = book::NUM_HEADS;
                s.focus = Focus::default();
            }
            Action::SetMode(m) => e.mode = m,
            Action::SetSeed(x) => e.seed = x,
            Action::SetDIn(x) => e.d_in = x.clamp(1, arcs_core::request::MAX_DIM),
            Action::SetDOut(x) => e.d_out = x.clamp(1, arcs_core::request::MAX_DIM),
            Action::SetHeads(x) => e.heads = x.clamp(1, MAX_HEADS),
            Action::SetDropout(p) => e.dropout = if p.is_finite() { p.clamp(0.0, 0.95) } else { 0.0 },
            Action::SetMask(m) => e.mask = m,
            Action::SetScale(b) => e.scale = b,
            Action::SetNormalization(n) => e.normalization = n,
            Action::SetCausalHeads(b) => e.causal_heads = b,
            Action::Hover(i) => {
                if !s.focus.pinned {
                    s.focus.token = Some(i);
                }
            }
            Action::Unhover => {
                if !s.focus.pinned {
                    s.focus.token = None;
                }
            }
            Action::TogglePin(i) => {
                if s.focus.pinned && s.focus.token == Some(i) {
                    s.focus.pinned = false;
                } else {
                    s.focus = Focus { token: Some(i), pinned: true };
                }
            }
            Action::Unpin => s.focus = Focus::default(),
            Action::MoveFocus(delta, n) => {
                if n > 0 {
                    let cur = s.focus.token.map_or(if delta >= 0 { -1 } else { n as isize }, |f| f as isize);
                    s.focus.token = Some((cur + delta).clamp(0, n as isize - 1) as usize);
                }
            }
            Action::ToggleHead(h) => {
                if h < MAX_HEADS {
                    d.hidden_heads ^= 1u64 << h;
                }
            }
            Action::SetHeadView(v) => d.head_view = v,
            Action::SetView(v) => d.view = v,
            Action::SetTopK(k) => d.top_k = k.clamp(1, 64),
            Action::SetThreshold(t) => d.threshold = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 },
            Action::SetModel(m) => {
                if m != s.model.kind {
                    s.model.kind = m;
                    // Token indices differ between tokenizers.
                    s.focus = Focus::default();
                    d.hidden_heads = 0;
                    d.neuron = d.neuron.map(|_| 0);
                    d.lens = d.lens.map(|_| LensView::default());
                }
                if m != Some(ModelKind::File) {
                    s.model.file = None;
                }
            }
            Action::ModelOpened(id) => {
                if s.model.kind != Some(ModelKind::File) || s.model.file.as_ref() != Some(&id) {
                    s.focus = Focus::default();
                    d.hidden_heads = 0;
                    d.neuron = d.neuron.map(|_| 0);
                    d.lens = d.lens.map(|_| LensView::default());
                    // Another model's layer and head mean nothing here (a link's own are kept).
                    if s.model.file.as_ref() != Some(&id) {
                        s.model.layer = 0;
                        s.model.head = 0;
                    }
                }
                s.model.kind = Some(ModelKind::File);
                s.model.file = Some(id);
            }
            Action::SetLayer(l) => s.model.layer = l,
            Action::SetHead(h) => s.model.head = h,
            Action::SetHideSpecial(b) => s.model.hide_special = b,
            Action::SetJoinPieces(b) => d.join_pieces = b,
            Action::SetEveryHead(b) => d.every_head = b,
            Action::SetRoles(r) => d.roles = r,
            Action::SetWeighting(w) => d.weighting = w,
            Action::SetLens(open) => d.lens = open.then(|| d.lens.unwrap_or_default()),
            Action::PinLens(pin) => d.lens = Some(LensView { pin }),
            Action::SetNeuron(key) => d.neuron = key,
            Action::SetCompare(text) => e.compare = text,
            Action::OpenLesson(n) => {
                let n = n.min(crate::lesson::STEPS.len() - 1);
                s.lesson = Some(n);
                if let crate::lesson::Widget::View(p) = crate::lesson::STEPS[n].widget {
                    e.sentence = p.sentence.to_string();
                    e.mode = p.mode;
                    e.d_in = p.d_in;
                    e.d_out = p.d_out;
                    e.heads = p.heads;
                    d.hidden_heads = 0;
                    s.model = ModelChoice { kind: p.model, layer: p.layer, head: p.head, file: None, ..s.model };
                    s.focus = Focus { token: p.focus, pinned: p.focus.is_some() };
                }
            }
            Action::CloseLesson => s.lesson = None,
            Action::OpenHead { layer, head } => {
                s.model.layer = layer;
                s.model.head = head;
                e.mode = Mode::SelfAttention;
            }
            Action::Replace(new) => s = *new,
        }
        s.canonicalize();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_models_single_rolled_out_matrix_is_named_rollout() {
        let mut s = ViewState::default();
        s.display.weighting = Weighting::Rollout;
        assert!(!s.rolled_out(1), "the toy engine has no rollout");
        s.model.kind = Some(ModelKind::MiniLm);
        assert!(s.rolled_out(1));
        assert!(!s.rolled_out(12), "twelve matrices are heads");
        s.display.weighting = Weighting::Attention;
        assert!(!s.rolled_out(1));
    }

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
        assert_eq!(s.focus.token, Some(2));
        let s = s.apply(Action::TogglePin(3));
        assert_eq!(s.focus, Focus { token: Some(3), pinned: true });
        let s = s.apply(Action::Hover(1)).apply(Action::Unhover);
        assert_eq!(s.focus.token, Some(3), "pinned focus ignores hover");
        let s = s.apply(Action::TogglePin(3));
        assert!(!s.focus.pinned);
        let s = s.apply(Action::TogglePin(4)).apply(Action::Unpin);
        assert_eq!(s.focus, Focus::default());
    }

    #[test]
    fn arrow_keys_clamp_to_the_sentence() {
        let s = ViewState::default().apply(Action::MoveFocus(1, 6));
        assert_eq!(s.focus.token, Some(0));
        let s = s.apply(Action::MoveFocus(-1, 6));
        assert_eq!(s.focus.token, Some(0));
        let s = s.apply(Action::MoveFocus(10, 6));
        assert_eq!(s.focus.token, Some(5));
        assert_eq!(ViewState::default().apply(Action::MoveFocus(-1, 6)).focus.token, Some(5));
        assert_eq!(ViewState::default().apply(Action::MoveFocus(1, 0)).focus.token, None);
    }

    #[test]
    fn new_sentence_clears_focus_and_values_are_clamped() {
        let s = ViewState::default().apply(Action::TogglePin(5)).apply(Action::SetSentence("a b".into()));
        assert_eq!(s.focus, Focus::default());
        assert!(!s.is_book());
        let s = s.apply(Action::SetDOut(0)).apply(Action::SetDropout(f32::NAN)).apply(Action::SetHeads(1000));
        assert_eq!((s.engine.d_out, s.engine.dropout, s.engine.heads), (1, 0.0, MAX_HEADS));
        let s = s.apply(Action::ToggleHead(1)).apply(Action::ToggleHead(3));
        assert!(s.head_visible(0) && !s.head_visible(1) && !s.head_visible(3));
    }

    #[test]
    fn lesson_steps_open_their_views() {
        let s = ViewState::default().apply(Action::OpenLesson(99));
        assert_eq!(s.lesson, Some(crate::lesson::STEPS.len() - 1));
        assert_eq!(s.model.kind, Some(ModelKind::MiniLm));
        let s = s.apply(Action::OpenLesson(4));
        assert_eq!(
            (s.engine.mode, s.model.kind, s.focus),
            (Mode::Causal, None, Focus { token: Some(0), pinned: true })
        );
        assert_eq!(s.apply(Action::CloseLesson).lesson, None);
    }

    #[test]
    fn models_clamp_layer_and_head() {
        let s = ViewState::default()
            .apply(Action::SetModel(Some(ModelKind::MiniLm)))
            .apply(Action::SetLayer(99))
            .apply(Action::SetHead(99));
        assert_eq!((s.model.layer, s.model.head), (5, 11));
        assert!(!s.is_book(), "a real model never uses the book's embeddings");
        let s = s.apply(Action::OpenHead { layer: 3, head: 1 });
        assert_eq!((s.model.layer, s.model.head, s.engine.mode), (3, 1, Mode::SelfAttention));
        let s = s.apply(Action::SetModel(None));
        assert_eq!((s.model.layer, s.model.head), (0, 0));
    }

    #[test]
    fn research_views_open_and_forget_token_indices_of_another_sentence() {
        let s = ViewState::default()
            .apply(Action::SetModel(Some(ModelKind::SmolLm2)))
            .apply(Action::SetLens(true))
            .apply(Action::PinLens(Some((3, 4))))
            .apply(Action::SetNeuron(Some(2)))
            .apply(Action::SetCompare(Some("The trophy is too small".into())));
        assert_eq!(s.display.lens, Some(LensView { pin: Some((3, 4)) }));
        assert_eq!(s.display.neuron, Some(2));
        assert_eq!(s.apply(Action::SetLens(true)).display.lens, s.display.lens, "opening again keeps the pin");
        let t = s.apply(Action::SetSentence("The trophy is too big".into()));
        assert_eq!((t.display.lens, t.display.neuron), (Some(LensView::default()), Some(0)), "views stay open");
        assert_eq!(t.engine.compare.as_deref(), Some("The trophy is too small"), "the comparison stays");
        let u = t.apply(Action::SetLens(false)).apply(Action::SetNeuron(None)).apply(Action::SetCompare(None));
        assert_eq!((u.display.lens, u.display.neuron, u.engine.compare), (None, None, None));
    }
}

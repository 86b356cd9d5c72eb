//! The lesson: from the RNN bottleneck to multi-head attention, as numbered, linkable steps.
//!
//! Each step is data: a title, a few paragraphs in our own words, a formula (constant MathML), the view
//! it opens, and a question whose answer the widget's own numbers decide. The text lives here, in one
//! place, so translations can be added later; the components in `app/lesson.rs` only draw it.

use crate::models::ModelKind;
use arcs_core::attention::Mode;

/// The two sentences of the lecture that make the case for attention.
pub const HARRY: &str = "Harry Potter went to station number 9 3/4 and took the train to the school.";
pub const CAT: &str = "The cat that was sitting on the mat, which was next to the dog, jumped.";
/// The translation example: English in, French out. The adjectives swap places ("black cat" -> "chat
/// noir"), so the alignment is not a diagonal.
pub const EN: &str = "The black cat jumped over the lazy dog";
pub const FR: &str = "Le chat noir a sauté par-dessus le chien paresseux";

/// What a trained translator's attention looks like on [`FR`] over [`EN`], set by hand (no trained
/// translation model ships with the app): for each French word (by position among the words of
/// `arcs_core::tokenize`), the English words it attends to and how much. The rest of each row is spread
/// evenly over the other English words, so rows sum to 1 as a softmax's do.
pub const CROSS_ALIGNMENT: [&[(usize, f32)]; 11] = [
    &[(0, 0.82), (2, 0.06)], // Le -> The
    &[(2, 0.86), (1, 0.05)], // chat -> cat
    &[(1, 0.84), (2, 0.08)], // noir -> black (before "cat" in English)
    &[(3, 0.62), (2, 0.14)], // a -> jumped (the auxiliary of "a sauté"), a little of its subject
    &[(3, 0.88)],            // sauté -> jumped
    &[(4, 0.80), (3, 0.06)], // par -> over
    &[(4, 0.70)],            // - -> over
    &[(4, 0.82), (5, 0.04)], // dessus -> over
    &[(5, 0.80), (7, 0.08)], // le -> the
    &[(7, 0.85), (6, 0.06)], // chien -> dog
    &[(6, 0.84), (7, 0.08)], // paresseux -> lazy (after "chien" in French)
];

/// [`CROSS_ALIGNMENT`] as a full (French words, English words) matrix; `None` if the sentences and the
/// table disagree in length (a test keeps them in step).
pub fn cross_alignment(fr_words: usize, en_words: usize) -> Option<arcs_core::tensor::Mat> {
    if fr_words != CROSS_ALIGNMENT.len() {
        return None;
    }
    let mut m = arcs_core::tensor::Mat::zeros(fr_words, en_words);
    for (i, links) in CROSS_ALIGNMENT.iter().enumerate() {
        let set: f32 = links.iter().map(|&(_, w)| w).sum();
        let others = en_words.checked_sub(links.len()).filter(|&k| k > 0)?;
        for j in 0..en_words {
            m[(i, j)] = (1.0 - set) / others as f32;
        }
        for &(j, w) in *links {
            *m.get_mut((i, j))? = w;
        }
    }
    Some(m)
}
pub const ANIMAL: &str = "The animal didn't cross the street because it was too tired.";

/// What a step shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Widget {
    /// An RNN encoder's single final state next to attention's direct access.
    Rnn,
    /// Queries from the French words, keys and values from the English ones.
    Cross,
    /// The app itself, opened on this view.
    View(Preset),
}

/// The view a step opens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    pub sentence: &'static str,
    pub mode: Mode,
    pub model: Option<ModelKind>,
    pub layer: usize,
    pub head: usize,
    pub d_in: usize,
    pub d_out: usize,
    pub heads: usize,
    /// The token whose arcs the step talks about (focused and pinned on opening).
    pub focus: Option<usize>,
}

impl Preset {
    const fn book(mode: Mode, focus: Option<usize>) -> Preset {
        Preset {
            sentence: arcs_core::book::SENTENCE,
            mode,
            model: None,
            layer: 0,
            head: 0,
            d_in: 3,
            d_out: 2,
            heads: 2,
            focus,
        }
    }
}

/// A question the widget answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Question {
    /// "Which token gets the most attention from token `query`?" (the arcs' own argmax).
    MostAttended { query: usize },
    /// "Which word has the smallest share in the RNN's final state?"
    RnnFaintest,
    /// "Which English word does French word `query` look at most?"
    CrossMost { query: usize },
    /// "How much attention does token `query` pay to token `key`?" (the causal future: zero).
    WeightOf { query: usize, key: usize },
}

pub struct Step {
    /// Stable name (not shown); the link uses the step number.
    pub slug: &'static str,
    pub title: &'static str,
    pub paragraphs: &'static [&'static str],
    /// Constant MathML (never user text).
    pub formula: &'static str,
    pub widget: Widget,
    pub question: &'static str,
    pub check: Question,
}

pub const STEPS: &[Step] = &[
    Step {
        slug: "why-attention",
        title: "Why attention: one state cannot hold a sentence",
        paragraphs: &[
            "Translating word by word fails: languages order words differently, and a word's meaning depends on the others. \
             Encoder–decoder RNNs read the whole sentence first, updating one hidden state word by word, and hand only the final \
             state to the decoder.",
            "That final state has a fixed size however long the sentence is. In the simplest recurrent cell each step keeps a \
             fraction of the old state, so a word's share of the final state shrinks with every word read after it. Switch to \
             the longer sentence and watch the first words all but vanish.",
            "Attention removes the bottleneck: when producing each output, the model looks back at every input token directly, \
             with weights it computes on the spot. No word has to survive a long chain of updates.",
        ],
        formula: "<math display=\"block\"><msub><mi>h</mi><mi>t</mi></msub><mo>=</mo><mi>a</mi><msub><mi>h</mi><mrow><mi>t</mi><mo>−</mo><mn>1</mn></mrow></msub><mo>+</mo><mo>(</mo><mn>1</mn><mo>−</mo><mi>a</mi><mo>)</mo><msub><mi>x</mi><mi>t</mi></msub><mspace width=\"2em\"/><mtext>share of word&#160;</mtext><mi>i</mi><mo>∝</mo><msup><mi>a</mi><mrow><mi>n</mi><mo>−</mo><mn>1</mn><mo>−</mo><mi>i</mi></mrow></msup></math>",
        widget: Widget::Rnn,
        question: "Which word has the smallest share in the RNN's final state?",
        check: Question::RnnFaintest,
    },
    Step {
        slug: "bahdanau",
        title: "Bahdanau attention: the decoder looks back",
        paragraphs: &[
            "In 2014 Bahdanau, Cho and Bengio let the decoder of a translation model attend to all encoder states. For every \
             word it writes, it scores each input word, turns the scores into weights with a softmax, and mixes the inputs by \
             those weights.",
            "Here the French words ask (queries) and the English words answer (keys and values): cross-attention between two \
             sequences. The weights are set by hand to look like a trained translator's: each French word looks at the \
             English word it translates, even where the order differs ('chat noir' reads 'black cat' backwards).",
        ],
        formula: "<math display=\"block\"><msub><mi>α</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><msub><mi>softmax</mi><mi>j</mi></msub><mo>(</mo><msub><mi>q</mi><mi>i</mi></msub><mo>·</mo><msub><mi>k</mi><mi>j</mi></msub><mo>)</mo><mspace width=\"2em\"/><msub><mi>c</mi><mi>i</mi></msub><mo>=</mo><munder><mo>∑</mo><mi>j</mi></munder><msub><mi>α</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><msub><mi>v</mi><mi>j</mi></msub></math>",
        widget: Widget::Cross,
        question: "Which English word does 'noir' attend to most?",
        check: Question::CrossMost { query: 2 },
    },
    Step {
        slug: "simplified",
        title: "Self-attention, simplified",
        paragraphs: &[
            "Self-attention turns the same idea inward: every token of one sentence attends to every token of the same sentence. \
             Start without any learned weights: score two tokens by the dot product of their embeddings, normalise each row with \
             a softmax, and build each token's context vector as the weighted sum of all embeddings.",
            "Hover a token to see its weights; the steps panel shows the scores, the weights, and the context vector spelled out \
             term by term. The chapter also shows two cruder normalisations; try them in the options.",
        ],
        formula: "<math display=\"block\"><msub><mi>ω</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><msub><mi>x</mi><mi>i</mi></msub><mo>·</mo><msub><mi>x</mi><mi>j</mi></msub><mspace width=\"1.5em\"/><msub><mi>α</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><mfrac><msup><mi>e</mi><msub><mi>ω</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub></msup><mrow><munder><mo>∑</mo><mi>k</mi></munder><msup><mi>e</mi><msub><mi>ω</mi><mrow><mi>i</mi><mi>k</mi></mrow></msub></msup></mrow></mfrac><mspace width=\"1.5em\"/><msub><mi>z</mi><mi>i</mi></msub><mo>=</mo><munder><mo>∑</mo><mi>j</mi></munder><msub><mi>α</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><msub><mi>x</mi><mi>j</mi></msub></math>",
        widget: Widget::View(Preset::book(Mode::Simplified, Some(1))),
        question: "Which token gets the most attention from 'journey'?",
        check: Question::MostAttended { query: 1 },
    },
    Step {
        slug: "trainable",
        title: "Trainable weights: queries, keys and values",
        paragraphs: &[
            "Raw embeddings can only match tokens that already look alike. Three learned matrices give each token three roles: \
             a query (what it looks for), a key (what it offers) and a value (what it passes on). Scores compare queries with \
             keys; the context vector mixes values.",
            "Scores are divided by the square root of the key size before the softmax: without it, larger dimensions make the \
             softmax nearly one-hot and its gradients vanish. Untick 'scale by √d_k' to compare.",
        ],
        formula: "<math display=\"block\"><mi>Q</mi><mo>=</mo><mi>X</mi><msub><mi>W</mi><mi>q</mi></msub><mo>,</mo><mspace width=\"0.5em\"/><mi>K</mi><mo>=</mo><mi>X</mi><msub><mi>W</mi><mi>k</mi></msub><mo>,</mo><mspace width=\"0.5em\"/><mi>V</mi><mo>=</mo><mi>X</mi><msub><mi>W</mi><mi>v</mi></msub><mspace width=\"1.5em\"/><mi>Z</mi><mo>=</mo><mi>softmax</mi><mo>(</mo><mfrac><mrow><mi>Q</mi><msup><mi>K</mi><mi>T</mi></msup></mrow><msqrt><msub><mi>d</mi><mi>k</mi></msub></msqrt></mfrac><mo>)</mo><mi>V</mi></math>",
        widget: Widget::View(Preset::book(Mode::SelfAttention, Some(1))),
        question: "With the chapter's weights (random, seed 123), which token gets the most attention from 'journey' now?",
        check: Question::MostAttended { query: 1 },
    },
    Step {
        slug: "causal",
        title: "Causal attention: no peeking at the future",
        paragraphs: &[
            "A model that writes text one token at a time must predict each token from the ones before it only. So the weights \
             above the diagonal are hidden: every token looks left.",
            "Two ways give the same result: set future scores to −∞ before the softmax, or take the softmax, zero the future and \
             renormalise each row. Switch the masking option and compare the steps. Dropout (training only) randomly hides \
             weights and scales the rest by 1/(1−p); set p to see its keep-mask.",
        ],
        formula: "<math display=\"block\"><msub><mi>α</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><mn>0</mn><mspace width=\"0.5em\"/><mtext>for&#160;</mtext><mi>j</mi><mo>&gt;</mo><mi>i</mi><mspace width=\"1.5em\"/><mi>softmax</mi><mo>(</mo><mi>S</mi><mo>+</mo><mi>M</mi><mo>)</mo><mo>,</mo><mspace width=\"0.5em\"/><msub><mi>M</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub><mo>=</mo><mo>−</mo><mi>∞</mi><mspace width=\"0.5em\"/><mtext>if&#160;</mtext><mi>j</mi><mo>&gt;</mo><mi>i</mi></math>",
        widget: Widget::View(Preset::book(Mode::Causal, Some(0))),
        question: "How much attention does 'Your' pay to 'step'?",
        check: Question::WeightOf { query: 0, key: 5 },
    },
    Step {
        slug: "multi-head",
        title: "Multi-head attention: several views at once",
        paragraphs: &[
            "One head learns one kind of relation. Multi-head attention runs several smaller heads side by side on the same \
             tokens, each with its own W_query, W_key and W_value (head_dim = d_out / heads), concatenates their context vectors \
             and mixes them with an output projection.",
            "Each colour is one head. Toggle heads, compare their small grids, or switch to the mean and max over heads.",
        ],
        formula: "<math display=\"block\"><mi>MultiHead</mi><mo>(</mo><mi>X</mi><mo>)</mo><mo>=</mo><mo>[</mo><msub><mi>head</mi><mn>1</mn></msub><mo>;</mo><mo>…</mo><mo>;</mo><msub><mi>head</mi><mi>h</mi></msub><mo>]</mo><msub><mi>W</mi><mi>o</mi></msub></math>",
        widget: Widget::View(Preset { sentence: CAT, mode: Mode::MultiHead, model: None, layer: 0, head: 0, d_in: 8, d_out: 8, heads: 4, focus: Some(16) }),
        question: "Which token gets the most attention from 'jumped' (mean over the selected heads)?",
        check: Question::MostAttended { query: 16 },
    },
    Step {
        slug: "real-heads",
        title: "What real heads learned",
        paragraphs: &[
            "Seeded weights show the mechanism; trained weights show why it matters. This is MiniLM-L6, a real encoder running \
             in your browser: layer 3, head 1 links 'it' to 'animal' — the head resolved the pronoun.",
            "In SmolLM2, a causal language model, layer 13 head 8 links 'jumped' back to 'cat' across the whole relative clause. \
             Open it from the link below, or use 'Which head links these words?' to search every head.",
        ],
        formula: "<math display=\"block\"><msubsup><mi>α</mi><mrow><mi>it</mi><mo>,</mo><mi>animal</mi></mrow><mrow><mo>(</mo><mn>3</mn><mo>,</mo><mn>1</mn><mo>)</mo></mrow></msubsup><mo>≈</mo><mn>0.68</mn></math>",
        widget: Widget::View(Preset { sentence: ANIMAL, mode: Mode::SelfAttention, model: Some(ModelKind::MiniLm), layer: 3, head: 1, d_in: 3, d_out: 2, heads: 2, focus: Some(10) }),
        question: "Which token does 'it' attend to most in this head?",
        check: Question::MostAttended { query: 10 },
    },
];

/// The index of the largest value (first on ties); None for an empty or NaN-only row.
pub fn argmax(row: &[f32]) -> Option<usize> {
    row.iter()
        .enumerate()
        .filter(|(_, w)| w.is_finite())
        .fold(None, |best: Option<(usize, f32)>, (j, &w)| match best {
            Some((_, b)) if b >= w => best,
            _ => Some((j, w)),
        })
        .map(|(j, _)| j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_complete() {
        assert!(STEPS.len() >= 7);
        for s in STEPS {
            assert!(!s.paragraphs.is_empty() && s.paragraphs.len() <= 3, "{}", s.slug);
            assert!(s.formula.starts_with("<math") && s.formula.ends_with("</math>"), "{}", s.slug);
            assert!(!s.question.is_empty());
        }
    }

    #[test]
    fn toy_steps_focus_the_word_their_text_talks_about() {
        let want = [("simplified", "journey"), ("trainable", "journey"), ("causal", "Your"), ("multi-head", "jumped")];
        for (slug, word) in want {
            let step = STEPS.iter().find(|s| s.slug == slug).expect("step");
            let Widget::View(p) = step.widget else { panic!("{slug} has a view") };
            let tokens = arcs_core::tokenize::tokenize(p.sentence);
            assert_eq!(tokens[p.focus.expect("focus")].text, word, "{slug}");
            if let Question::MostAttended { query } = step.check {
                assert_eq!(Some(query), p.focus, "{slug}: the question is about the pinned token");
            }
        }
    }

    #[test]
    fn argmax_picks_the_first_largest() {
        assert_eq!(argmax(&[0.1, 0.5, 0.5, 0.2]), Some(1));
        assert_eq!(argmax(&[f32::NAN, 0.2]), Some(1));
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn the_translation_alignment_fits_its_sentences_and_reorders() {
        let words = |s: &str| arcs_core::tokenize::tokenize(s).into_iter().map(|t| t.text).collect::<Vec<_>>();
        let (en, fr) = (words(EN), words(FR));
        let m = cross_alignment(fr.len(), en.len()).expect("one row per French word");
        for i in 0..fr.len() {
            assert!((m.row(i).sum() - 1.0).abs() < 1e-5, "row {i} sums to 1");
            assert!(m.row(i).iter().all(|w| *w > 0.0), "row {i}: every weight positive, as a softmax's");
        }
        let top = |f: &str| {
            let i = fr.iter().position(|w| w == f).expect("French word");
            en[argmax(&m.row(i).iter().copied().collect::<Vec<_>>()).expect("row")].clone()
        };
        assert_eq!(top("sauté"), "jumped");
        assert_eq!((top("chat"), top("noir")), ("cat".to_string(), "black".to_string()), "reordered");
        assert_eq!((top("chien"), top("paresseux")), ("dog".to_string(), "lazy".to_string()), "reordered");
        let Question::CrossMost { query } = STEPS.iter().find(|s| s.slug == "bahdanau").expect("step").check else {
            panic!("the Bahdanau step asks about the alignment")
        };
        assert_eq!(fr[query], "noir", "the question names the word it checks");
        assert!(cross_alignment(fr.len() + 1, en.len()).is_none());
    }
}

//! Every sentence the app says, in one place so it can be reviewed and translated as one text.
//! The explanations follow chapter 3 of *Build a Large Language Model (From Scratch)*, in our own words.

use crate::models::ModelKind;
use crate::state::Role;
use arcs_core::attention::Mode;

pub fn mode_label(m: Mode) -> &'static str {
    match m {
        Mode::Simplified => "Simplified",
        Mode::SelfAttention => "Self-attention",
        Mode::Causal => "Causal",
        Mode::MultiHead => "Multi-head",
    }
}

/// Why this mode exists: a short paragraph for the panel beside the arcs.
pub fn mode_why(m: Mode) -> &'static str {
    match m {
        Mode::Simplified => {
            "Why attention: a word's meaning depends on its neighbours. Each token scores every token by a dot \
             product of their embeddings, softmax turns the scores into weights that sum to 1, and the token's \
             context vector is the weighted sum of all embeddings. No weights are learned yet."
        }
        Mode::SelfAttention => {
            "Why trainable weights: raw embeddings can only match tokens that already look alike. Three learned \
             matrices W_query, W_key and W_value project each token into a query (what it looks for), a key (what \
             it offers) and a value (what it passes on). Scores are divided by √d_k so the softmax does not \
             saturate as dimensions grow."
        }
        Mode::Causal => {
            "Why mask the future: a model that writes text one token at a time must not peek at tokens it has not \
             written yet. Scores above the diagonal are hidden (set to −∞ before the softmax, or zeroed after it \
             and the rows renormalised: the result is the same), so every token only looks left. Dropout can \
             randomly hide weights during training."
        }
        Mode::MultiHead => {
            "Why several heads: one head yields one kind of relation. Several smaller heads (head_dim = d_out / \
             heads) look at the same tokens in parallel, each with its own W_query, W_key and W_value; their \
             context vectors are concatenated and mixed by an output projection."
        }
    }
}

/// The formula of each step, for the steps panel.
pub fn step_formula(step: &str) -> &'static str {
    match step {
        "inputs" => "X (one row per token)",
        "queries" => "Q = X W_query",
        "keys" => "K = X W_key",
        "values" => "V = X W_value",
        "attn_scores" => "attn_scores = Q Kᵀ",
        "scaled_scores" => "scaled = attn_scores / √d_k",
        "masked_scores" => "masked: future scores set to −∞",
        "attn_weights_unmasked" => "softmax(scaled) before masking",
        "masked_unnormalized" => "softmax × mask (rows no longer sum to 1)",
        "attn_weights" => "attn_weights = softmax(masked scores)",
        "keep_mask" => "dropout keep-mask (1 = kept)",
        "attn_weights_dropout" => "dropout: kept weights × 1/(1−p)",
        "context_vec" => "context_vec = attn_weights V",
        "concat" => "concatenate the heads' context vectors",
        "output" => "out_proj(concat)",
        "sum-normalised" => "attn_scores / row sum (section 3.3.1)",
        "attn_scores (simplified)" => "attn_scores = X Xᵀ",
        "attn_weights (simplified)" => "attn_weights = softmax(attn_scores)",
        "attn_weights (no mask)" => "attn_weights = softmax(scaled)",
        "context_vec (simplified)" => "context_vec = attn_weights X",
        "naive softmax" => "exp(s) / Σ exp(s), no max subtraction",
        _ => "",
    }
}

/// "journey attends to starts 0.24, journey 0.23, ...": what a screen reader announces for a token.
pub fn attends_sentence(tokens: &[String], query: usize, weights: &[(usize, f32)], limit: usize) -> String {
    let mut sorted: Vec<(usize, f32)> = weights.iter().copied().filter(|&(_, w)| w > 0.0).collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> =
        sorted.iter().take(limit).filter_map(|&(j, w)| tokens.get(j).map(|t| format!("{t} {w:.2}"))).collect();
    let who = tokens.get(query).map_or("?", String::as_str);
    let more = if sorted.len() > limit { format!(", and {} more", sorted.len() - limit) } else { String::new() };
    format!("{who} attends to {}{more}", parts.join(", "))
}

// ---- The page (web/app) ----

pub const TITLE: &str = "Attention Arcs";
pub const TAGLINE: &str =
    "How transformers pay attention — chapter 3 of Build a Large Language Model (From Scratch), live.";
pub const OPEN_LESSON: &str = "Lesson";
pub const THEME_LABEL: &str = "Toggle dark mode";

pub fn theme_button(dark: bool) -> &'static str {
    if dark {
        "☀ Light"
    } else {
        "☾ Dark"
    }
}

pub const DISMISS: &str = "Dismiss";
pub const SHOWING_LAST_GOOD: &str = " Showing the last sentence that worked.";
/// Where a real model's view will be, before its first pass: `computing` once the model has loaded
/// and is on the sentence.
pub fn model_wait(computing: bool) -> &'static str {
    if computing {
        "The model is reading the sentence; its attention appears here when the pass is done."
    } else {
        "The model's attention appears here once it has loaded."
    }
}

/// The budget line: tokens of the sentence (`None` while a model's worker has not yet counted them)
/// out of the most the model takes.
pub fn token_budget(tokens: Option<usize>, max: usize) -> String {
    match tokens {
        Some(n) => format!("{n} / {max} tokens"),
        None => format!("counting tokens (at most {max})"),
    }
}
pub const EXPLAIN_LABEL: &str = "What this mode shows";
pub const SOURCE_BOOK: &str = "Book example: the chapter's embeddings and weights.";

pub fn toy_source(seed: u64) -> String {
    format!("Toy model: seeded embeddings and weights (seed {seed}).")
}

/// "MiniLM-L6 (real encoder): layer 3, head 1." for a real model's view; an opened model by its file.
pub fn model_source(m: ModelKind, file: Option<&str>, layer: usize, mode: Mode, head: usize) -> String {
    let heads = if mode == Mode::MultiHead { "all heads".to_string() } else { format!("head {head}") };
    let name = match (m, file) {
        (ModelKind::File, Some(f)) => f,
        _ => m.label(),
    };
    format!("{name}: layer {layer}, {heads}.")
}

/// What a mode means on a real model when it is not what the model itself computes.
pub fn model_mode_caveat(m: ModelKind, mode: Mode) -> Option<&'static str> {
    match mode {
        Mode::Causal if m.shape().is_some_and(|s| !s.causal) => Some(
            "This encoder was trained to look both ways: the mask here is applied for comparison, it is not what \
             the model computes.",
        ),
        Mode::Simplified => Some("Simplified: softmax(X Xᵀ) on the hidden states entering this layer."),
        _ => None,
    }
}

// The arc view and its options.
pub const VISUAL_LABEL: &str = "Attention";
pub const ARCS_LABEL: &str = "Arcs from each token to the tokens it attends to";
pub const VIEW_LABEL: &str = "View";
pub const ARCS: &str = "Arcs";
pub const HEATMAP: &str = "Heatmap";
pub const HEADS_LABEL: &str = "Heads";
pub const HEATMAP_LABEL: &str = "Attention weights: rows are queries, columns are keys";
pub const HEATMAP_CANVAS_LABEL: &str = "Attention weights as a heatmap (large input)";
pub const HEATMAP_KEYS: &str =
    "Heatmaps of attention weights: arrow keys move the query row, Enter pins it, Escape unpins";
pub const DIFF_KEYS: &str =
    "B minus A on the shared tokens: arrow keys move the query row, Enter pins it, Escape unpins";

/// A head's section in the steps panel (its summary and its accessible name).
pub fn head_steps_title(h: usize, head_dim: usize) -> String {
    format!("head {h} (head_dim = {head_dim})")
}

pub const MULTIPLES_LABEL: &str = "Each head, the mean and the max";
pub const EACH_HEAD: &str = "each head";
pub const MEAN: &str = "mean";
pub const MAX: &str = "max";
pub const ARCS_PER_TOKEN: &str = "arcs per token";
pub const HIDE_BELOW: &str = "hide weights below";

pub const EVERY_HEAD_BUTTON: &str = "draw every head's arcs";

/// Above the arcs when many heads are drawn: what is shown, and how to see the rest. `picker`: a real
/// model, whose head picker chooses the lead head (the toy's leads with its first shown head).
pub fn lead_note(lead: Option<usize>, picker: bool) -> String {
    let choose = if picker { "the head picker chooses it" } else { "the first head shown" };
    match lead {
        Some(h) => format!(
            "Head {h} is drawn in full ({choose}); hover or pin a token to see the three strongest arcs of every \
             other head from it too. "
        ),
        None => "Every head's arcs are drawn. ".to_string(),
    }
}

pub fn head_chip(h: usize) -> String {
    format!("head {h}")
}

/// What a screen reader says for a token box (1-based, as people count).
pub fn token_aria(i: usize, token: &str) -> String {
    format!("token {}: {token}", i + 1)
}

/// A long forward pass on its way, after `done` of its `layers` layers.
pub fn pass_progress(done: usize, layers: usize) -> String {
    format!("computing the new sentence: {done} of {layers} layers done")
}

/// `strongest`: how many of its arcs per head a hovered token shows on a long input (all if `None`).
pub fn pruned_note(top_k: usize, strongest: Option<usize>) -> String {
    match strongest {
        Some(s) => format!(
            "Showing the {top_k} strongest arcs per token; hover a token for its {s} strongest per head (the heatmap has them all)."
        ),
        None => format!("Showing the {top_k} strongest arcs per token; hover a token for all of its arcs."),
    }
}

// The share bar.
pub const COPY_LINK: &str = "Copy link";
pub const EXPORT_SVG: &str = "Export SVG";
pub const EXPORT_PNG: &str = "Export PNG";
pub const EXPORT_JSON: &str = "Export JSON";
pub const PRIVACY: &str = "Everything is computed in your browser; nothing you type is sent anywhere.";
pub const LINK_COPIED: &str = "Link copied.";
pub const ARCS_NOT_ON_SCREEN: &str = "the arc view is not on screen";

pub fn link_not_copied(why: &str) -> String {
    format!("Could not copy the link ({why}).")
}

pub fn exported(file: &str) -> String {
    format!("Exported {file}.")
}

pub fn export_failed(why: &str) -> String {
    format!("Export failed: {why}")
}

// Real models, the lesson, the steps panel and the controls.
pub const HIDE_CLS_SEP: &str = "hide [CLS]/[SEP] and renormalise";
pub const HIDE_SINK: &str = "hide the first-token sink and renormalise";
pub const JOIN_PIECES: &str = "show word pieces joined (sit ##ting → sitting)";
pub const WORKER_SILENT: &str = "The model worker has not answered for 20 seconds; it may have stopped. ";
pub const RESTART_WORKER: &str = "Restart the model worker";
pub const TOY_MODEL: &str = "Toy (the engine)";
pub const NEXT_WORD: &str = "Next word";
pub const NEXT_WORD_WHY: &str = "Causal attention exists for this: predicting the next token from the ones before it.";
pub const NEXT_WORD_HINT: &str = "Hover a token to see the model's guess at that point.";
pub const WHICH_HEAD: &str = "Which head links these words?";
pub const TOY_STAYS_USABLE: &str = " The toy model stays usable meanwhile.";
pub const TOY_WORKS_WITHOUT: &str = " The toy model works without it.";
pub const RETRY: &str = "Retry";
pub const ALSO: &str = "Also: ";
pub const SMOLLM2_PRESET: &str = "SmolLM2, layer 13, head 8: 'jumped' looks back at 'cat'";
pub const LESSON_VIEW_HINT: &str = "The view below is this step's widget: hover, click and change the options.";
pub const CHECK_YOURSELF_LEAD: &str = "Check yourself: ";
pub const PREVIOUS: &str = "← Previous";
pub const NEXT: &str = "Next →";
pub const LEAVE_LESSON: &str = "Leave the lesson";
pub const CROSS_NOTE: &str = "Top: French output words (queries). Bottom: English input words (keys and values). \
     The weights are set by hand to show what a trained translator's attention looks like; nothing here was computed.";
pub const RNN_NOTE: &str =
    "Illustrative: the simplest recurrent cell (each step keeps 70 % of the state) and seeded embeddings.";
pub const MASK_NEG_INF: &str = "−∞ before softmax";
pub const MASK_RENORMALIZE_SHORT: &str = "softmax, zero, renormalise";
pub const WITH_DROPOUT_HALF: &str = "with dropout p = 0.5";
pub const STEP_BY_STEP: &str = "Step by step";
pub const LONG_INPUT_PRUNED: &str = " · long input: weak arcs are pruned (see options)";
pub const SENTENCE_PLACEHOLDER: &str = "Type any sentence";
pub const CHECK_YOURSELF: &str = "Check yourself";
pub const LESSON_STEPS: &str = "Lesson steps";
pub const EVERY_HEAD_LABEL: &str = "Every layer and head";

pub fn every_head(layers: usize, heads: usize) -> String {
    format!("Every layer and head ({layers} × {heads}): click one to open it")
}

/// The lesson's heading, counting steps from 1.
pub fn lesson_step_title(n: usize, steps: usize, title: &str) -> String {
    format!("Step {} of {steps}: {title}", n + 1)
}

pub fn verdict(right: bool, why: &str) -> String {
    if right {
        format!("Right. {why}")
    } else {
        format!("Not quite. {why}")
    }
}

pub fn rnn_share(words: usize) -> String {
    format!("RNN encoder: share of each word in the single final state ({words} words)")
}

pub fn attention_share(last: &str) -> String {
    format!("Attention: what '{last}' can read directly from every word")
}

pub fn words_read(n: usize, of: usize) -> String {
    format!("words read: {n} of {of}")
}

pub fn conventions_differ(max_diff: f32) -> String {
    format!("Largest difference between the two conventions: {max_diff:.1e}.")
}

pub fn model_idle(model: &str) -> String {
    format!("{model} will load when needed.")
}

pub fn model_loading_label(model: &str) -> String {
    format!("Loading {model}")
}

pub fn model_loading(model: &str, stage: &str, loaded: u64, total: u64) -> String {
    format!("{model} — {stage}: {:.1} / {:.1} MB", loaded as f64 / 1e6, total as f64 / 1e6)
}

pub fn model_ready(model: &str, bytes: u64, from_cache: bool, load_ms: f64) -> String {
    let from = if from_cache { "from the browser cache" } else { "downloaded" };
    format!("{model} ready: {:.1} MB {from} in {:.1} s", bytes as f64 / 1e6, load_ms / 1000.0)
}

pub fn last_forward(ms: f64) -> String {
    format!(" · last forward pass {ms:.0} ms")
}

pub fn model_failed(model: &str, why: &str) -> String {
    format!("{model} could not be loaded: {why}")
}

/// Which query heads share the K and V that `head` reads.
pub fn grouped_query(group: usize, head: usize) -> String {
    let first = head / group * group;
    format!(
        "Grouped-query attention: {group} query heads share each key/value head, so heads {first}–{} read the same K and V.",
        first + group - 1
    )
}

pub fn rank_entry(layer: usize, head: usize, weight: f32) -> String {
    format!("layer {layer} head {head}: {weight:.2}")
}

pub fn guess_lead(token: &str) -> String {
    format!("After {token:?} the model expects ")
}

pub fn guess_tail(prob: f32, actual: &str) -> String {
    format!(" ({:.0}%); the text has {actual}.", prob * 100.0)
}

// The head-roles map.
pub const ROLES_TITLE: &str = "Head roles: what each head does";
pub const ROLES_OPEN: &str = "Head roles: colour every head by what it does";
pub const ROLES_PRESET: &str = "Every SmolLM2 head by its role: find the induction heads";
pub const ROLES_CLOSE: &str = "close";
pub const ROLES_PICK: &str = "Score to colour by";
pub const ROLES_WAIT: &str = "The scores arrive with the next forward pass.";
pub const ROLE_NOT_FOR_ENCODERS: &str =
    "Induction is a decoder's behaviour (copying what followed an earlier occurrence); this model is an encoder.";
pub const HEAD_COLUMN: &str = "head";

pub fn induction_failed(why: &str) -> String {
    format!("The induction scores could not be computed ({why}); the other scores are below.")
}
pub const ENCODER_BOTH_WAYS: &str =
    "This encoder was trained to look both ways; causal mode masks its scores to show the difference.";

pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::PreviousToken => "previous token",
        Role::FirstToken => "first token (sink)",
        Role::SelfScore => "self",
        Role::Entropy => "entropy (bits)",
        Role::Distance => "mean distance",
        Role::DuplicateToken => "duplicate token",
        Role::Induction => "induction",
    }
}

/// One line per score: what it measures, as computed.
pub fn role_definition(r: Role) -> &'static str {
    match r {
        Role::PreviousToken => {
            "Previous token: the mean over tokens (from the second) of the weight on the token just before."
        }
        Role::FirstToken => {
            "First token: the mean weight on the first token ([CLS], or the sink a causal model parks attention on)."
        }
        Role::SelfScore => "Self: the mean weight a token puts on itself.",
        Role::Entropy => "Entropy: the mean spread of a row in bits (0 = one token gets everything; log2 n = uniform).",
        Role::Distance => "Mean distance: how many tokens away a head looks, weighted by attention.",
        Role::DuplicateToken => {
            "Duplicate token: for tokens seen before in the sentence, the mean weight on their earlier copies (blank \
             where nothing repeats)."
        }
        Role::Induction => {
            "Induction: on 25 random tokens repeated twice, the mean weight from the second copy on the token that \
             followed the same token in the first copy (TransformerLens' score)."
        }
    }
}

pub fn head_name(layer: usize, head: usize) -> String {
    format!("layer {layer} head {head}")
}

/// A score to two decimals, or a dash where there is none.
pub fn score(s: f32) -> String {
    if s.is_finite() {
        format!("{s:.2}")
    } else {
        "–".to_string()
    }
}

pub fn role_cell(layer: usize, head: usize, s: f32) -> String {
    format!("layer {layer} head {head}: {}", score(s))
}

// The controls.
pub const BOOK_EXAMPLE: &str = "Book example";
pub const SEED: &str = "seed";
pub const D_IN: &str = "d_in";
pub const D_OUT: &str = "d_out";
pub const HEADS: &str = "heads";
pub const DROPOUT: &str = "dropout p";
pub const MASKING: &str = "masking";
pub const MASK_RENORMALIZE: &str = "zero after softmax, renormalise";
pub const CAUSAL_HEADS: &str = "causal heads";
pub const SCALE: &str = "scale by √d_k";
pub const NORMALISATION: &str = "normalisation";
pub const NORM_SOFTMAX: &str = "softmax";
pub const NORM_SUM: &str = "divide by sum";
pub const NORM_NAIVE: &str = "naive softmax";

// The steps panel and the arc view's announcements.
pub fn context_of(token: &str) -> String {
    format!("context vector of “{token}”: z = Σ a·v")
}

/// Before a head's part of what a screen reader announces for the focused token.
pub fn announce_head(h: usize) -> String {
    format!("head {h}: ")
}

pub fn open_head(layer: usize, head: usize) -> String {
    format!("open layer {layer} head {head}")
}

// The lesson's answers.
pub const WEIGHT_OPTIONS: [&str; 3] = ["0.00", "about 0.17 (a sixth)", "the largest of its row"];
pub const REOPEN_STEP: &str = "Open the step's sentence again (the step link) to check the answer against the widget.";

/// "journey gives 0.24 of its attention to starts." (`quoted`: the words in quotes, for other languages).
pub fn gives_attention(from: &str, weight: f32, to: &str, quoted: bool) -> String {
    if quoted {
        format!("'{from}' gives {weight:.2} of its attention to '{to}'.")
    } else {
        format!("{from} gives {weight:.2} of its attention to {to}.")
    }
}

pub fn weight_is(w: f32, key: &str, query: &str) -> String {
    format!("The weight is {w:.2}: '{key}' comes after '{query}'.")
}

pub fn keeps_share(word: &str, share: f32) -> String {
    format!("'{word}' keeps {:.3} % of the final state.", share * 100.0)
}

// ---- The share link's notices (url.rs) ----

pub const LINK_NO_LESSON: &str = "the app without the lesson";
// Opening the user's own model.
pub const OPEN_MODEL: &str = "Open a model…";
pub const OPEN_MODEL_TITLE: &str =
    "A .gguf file (llama, mistral, qwen2, qwen3), or a Hugging Face BERT folder's config.json, model.safetensors \
     and tokenizer.json or vocab.txt picked together. Or drop them anywhere on the page. Nothing is uploaded.";
pub const OPEN_ANOTHER: &str = "Open another file…";
pub const YOUR_MODEL: &str = "your model";
pub const READING_YOUR_MODEL: &str = "Reading your model";
pub const NOTHING_UPLOADED: &str = "Read in this browser; nothing is uploaded.";
pub const CONTINUE_WITH_TOY: &str = "Continue with the toy model";
pub const MODEL_CARD_LABEL: &str = "Opened model";
pub const CARD_ARCH: &str = "architecture";
pub const CARD_PARAMS: &str = "parameters";
pub const CARD_TYPES: &str = "tensor types";
pub const CARD_SHAPE: &str = "layers × heads";
pub const CARD_VOCAB: &str = "vocabulary";
pub const CARD_CONTEXT: &str = "context";
pub const CARD_FILE: &str = "file";
pub const DROP_HERE: &str = "Drop a .gguf file or a Hugging Face folder's files to open the model";

pub fn open_failed(why: &str) -> String {
    format!("Your model could not be opened: {why}")
}

/// What a link made with an opened model needs.
pub fn link_needs_file(name: &str, bytes: u64, arch: &str) -> String {
    format!(
        "This view was made with a model opened from a file: {name} ({:.1} MB, {arch}). Open that file to see it; \
         it is read here and never uploaded.",
        bytes as f64 / 1e6
    )
}

pub fn sha256_line(sha: &str) -> String {
    format!("SHA-256 {sha}")
}

pub fn open_named(name: &str) -> String {
    format!("Open {name}…")
}

pub fn heads_with_kv(heads: usize, kv: usize) -> String {
    format!("{heads} (K/V heads {kv})")
}

pub fn layers_by_heads(layers: usize, heads: &str, head_dim: usize) -> String {
    format!("{layers} × {heads}, head width {head_dim}")
}

pub fn parameters(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

pub fn file_line(name: &str, bytes: u64) -> String {
    format!("{name}, {:.1} MB", bytes as f64 / 1e6)
}

pub fn opened_in(ms: f64) -> String {
    format!("Opened in {:.1} s", ms / 1000.0)
}

// Research views: what a real model's arcs show.
pub const WEIGHTING_LABEL: &str = "What the arcs show";
pub const ROLLOUT_CHIP: &str = "rollout";

pub fn weighting_label(w: crate::state::Weighting) -> &'static str {
    match w {
        crate::state::Weighting::Attention => "attention weights",
        crate::state::Weighting::ValueNorm => "weighted by value norm",
        crate::state::Weighting::Rollout => "rolled out to this layer",
    }
}

/// One sentence on what a weighting is (none for the plain weights).
pub fn weighting_note(w: crate::state::Weighting) -> Option<&'static str> {
    match w {
        crate::state::Weighting::Attention => None,
        crate::state::Weighting::ValueNorm => Some(
            "Each weight times the size of what that token's value adds to the layer's output (Kobayashi et al. \
             2020), each row rescaled to sum to 1: how much a token moves the output, not only how much it is \
             looked at.",
        ),
        crate::state::Weighting::Rollout => Some(
            "Attention rollout (Abnar & Zuidema 2020), an approximation: every layer up to this one, heads \
             averaged and the residual added, multiplied through; one matrix for the whole layer.",
        ),
    }
}

pub const OPEN_CANCELLED: &str = "Reading the file was cancelled.";
pub const CANCEL: &str = "Cancel";
pub const OPEN_A_FILE_FIRST: &str = "Open a model file first (\"Open a model…\" or drop it on the page).";

/// A file too large for the page's memory, refused before reading it.
pub fn model_too_large(bytes: u64, needed: u64, available: u64) -> String {
    format!(
        "This model's files are {:.2} GB; opening it needs about {:.2} GB of the page's memory (the weights \
         once, every layer's attention for 256 tokens, the work in between) and {:.2} GB are available \
         (WebAssembly gives a page 4 GB). Try a smaller quantisation of it (Q4_K_M, Q4_0).",
        bytes as f64 / 1e9,
        needed as f64 / 1e9,
        available as f64 / 1e9
    )
}

pub fn file_unreadable(name: &str, why: &str) -> String {
    format!("Could not read {name} ({why}). Open it again.")
}

/// A share link's model file and the one opened differ.
pub fn file_hash_differs(got_name: &str, want_name: &str, got: &str, want: &str) -> String {
    format!(
        "{got_name} is not the file this link was made with ({want_name}): its SHA-256 is {got}, the link's is {want}."
    )
}

pub const LINK_FILE_MISSING: &str =
    "The link names a model opened from a file but not which file; showing the toy model instead.";

pub fn link_part_not_encoded(key: &str) -> String {
    format!("The link's “{key}” part is not properly encoded; it was ignored.")
}

/// `value` is cut to 40 characters: a pasted megabyte stays out of the notice.
pub fn link_value_invalid(what: &str, value: &str, default: &str) -> String {
    let shown: String = value.chars().take(40).collect();
    format!("The link's {what} “{shown}” is not valid; using {default}.")
}

pub fn link_sentence_cut(max_chars: usize) -> String {
    format!("The link's sentence was longer than {max_chars} characters and was cut.")
}

pub fn link_part_unknown(key: &str) -> String {
    format!("The link has an unknown part “{key}”; it was ignored.")
}

// Research views: the logit lens.
pub const LENS_OPEN: &str = "Logit lens: what the model would say after each layer";
pub const LENS_TITLE: &str = "Logit lens";
pub const LENS_DEFINITION: &str =
    "Each row takes the residual stream after one layer straight to the final norm and the \
    unembedding: the token the model would predict next if it stopped there. The last row is the model's own \
    output, the next-word guesses.";
/// The note on a pass longer than `models::MAX_ALL_LAYERS_TOKENS` (`n` tokens, `max` the limit).
pub fn layer_only_note(n: usize, max: usize) -> String {
    format!(
        "{n} tokens: past {max}, every layer's attention at once would not fit in memory, so the worker \
        sends the layer you look at (recomputed exactly from its queries and keys) and small pooled pictures of \
        the others. \"Which head links these words?\" and the compare view rank this layer's heads; rollout \
        and the logit lens work up to {max} tokens."
    )
}

/// The line that stands for the weighted sum's smaller terms.
pub fn more_terms(count: usize, weight: f32) -> String {
    format!("+ {count} smaller terms (weights adding up to {weight:.3})")
}

/// Why a long sentence has no logit lens.
pub fn lens_too_long(n: usize, max: usize) -> String {
    format!(
        "The logit lens runs up to {max} tokens: this sentence has {n}, and every layer's every position \
        through the unembedding would take as long as thirty passes. Shorten the sentence to see it."
    )
}

pub const LENS_WAIT: &str =
    "The logit lens arrives with the next forward pass (one unembedding per layer: a few seconds).";
pub const LENS_FOR_DECODERS: &str =
    "The logit lens reads next-token guesses, so it is for causal LLMs; this model is an encoder.";
pub const LENS_GRID_LABEL: &str = "Logit lens: layers down, positions across; arrow keys move, Enter pins";
pub const LENS_HINT: &str = "Hover or move to a cell to see its five likeliest tokens; click or Enter pins it.";
pub const LENS_OUTPUT_ROW: &str = "output";

pub fn lens_cell(layer: usize, last: bool, token: &str, top: &str, prob: f32) -> String {
    let row = if last { format!("layer {layer} (the output)") } else { format!("layer {layer}") };
    format!("{row}, after “{token}”: {top:?} {:.1}%", prob * 100.0)
}

pub fn lens_top5_title(layer: usize, token: &str, pinned: bool) -> String {
    let pin = if pinned { " (pinned)" } else { "" };
    format!("Layer {layer}, after “{token}”{pin}")
}

// Research views: the neuron view.
pub const NEURON_OPEN: &str = "Neuron view: one query · key, number by number";
pub const NEURON_TITLE: &str = "Neuron view";
pub const NEURON_CLOSE: &str = "close";
pub const NEURON_KEY: &str = "key token";
pub const NEURON_NEEDS_QUERY: &str = "Hover, tab to or pin a query token: the view follows it.";
pub const NEURON_QUERY_ROW: &str = "q (query)";
pub const NEURON_KEY_ROW: &str = "k (key)";
pub const NEURON_PRODUCT_ROW: &str = "q × k";
pub const NEURON_ROPE: &str =
    "Queries and keys as the head uses them: after the rotary position embedding (RoPE), where the model has one.";
pub const NEURON_SIMPLIFIED: &str =
    "Simplified attention has no projections: q and k are the token embeddings themselves.";

pub fn neuron_heading(query: &str, key: &str, head: &str) -> String {
    format!("“{query}” → “{key}”, {head}")
}

pub fn neuron_score(score: f32) -> String {
    format!("score = Σ q × k = {score:.4}")
}

pub fn neuron_scaled(scale: f32, scaled: f32) -> String {
    format!("scaled: × {scale:.4} = {scaled:.4}")
}

pub fn neuron_masked(masked: bool) -> &'static str {
    if masked {
        "masked: the key comes after the query, so its score becomes −∞"
    } else {
        "mask: the key is visible to the query"
    }
}

pub fn neuron_weight(weight: f32) -> String {
    format!("softmax over the query's row: weight = {weight:.4}")
}

pub fn neuron_model_weight(weight: f32) -> String {
    format!("the model's own weight: {weight:.4}")
}

pub fn neuron_dims(shown: usize, all: usize) -> String {
    if shown < all {
        format!("the first {shown} of {all} dimensions; the score sums all {all}")
    } else {
        format!("{all} dimensions")
    }
}

// Research views: comparing two sentences.
pub const COMPARE_OPEN: &str = "Compare with…";
pub const COMPARE_LABEL: &str = "Sentence to compare with";
pub const COMPARE_PLACEHOLDER: &str = "The same sentence with one word changed";
pub const COMPARE_CLOSE: &str = "Stop comparing";
pub const COMPARE_TITLE: &str = "Compare two sentences";
pub const COMPARE_FOR_MODELS: &str = "Comparing two sentences needs a real model: pick MiniLM, SmolLM2 or your own.";
pub const COMPARE_WAIT: &str = "The second sentence's pass arrives with the next answer.";
pub const COMPARE_EMPTY: &str = "Type a second sentence, e.g. the same one with one word changed.";
pub const COMPARE_DIFF_NOTE: &str =
    "B − A on the tokens both sentences share (aligned from the start and from the end): \
    red where B attends more, blue where it attends less.";
pub const COMPARE_NO_SHARED: &str =
    "The two sentences share no tokens at their start or end, so there is nothing to subtract.";
pub const COMPARE_RANK_HINT: &str =
    "Hover or pin a token both sentences share to rank the heads by how much its attention moves.";
pub const COMPARE_CAUSAL_SAME: &str = "In a causal model a token before the first changed word sees exactly the same \
    tokens in A and B, so its attention does not move at all; pick a token after the change.";
pub const COMPARE_DIFF_LONG: &str =
    "Too many shared tokens to draw every cell: the difference is shown for the focused token's row.";

pub fn compare_side(side: &str, text: &str) -> String {
    format!("{side}: {text}")
}

pub fn compare_head(layer: usize, head: usize) -> String {
    format!("layer {layer}, head {head}")
}

pub fn compare_rank_title(token: &str) -> String {
    format!("Heads where “{token}” moves most between A and B")
}

pub fn compare_rank_entry(layer: usize, head: usize, moved: f32) -> String {
    format!("L{layer} H{head}: {moved:.3} moved")
}

pub fn compare_cell(query: &str, key: &str, a: f32, b: f32) -> String {
    format!("{query} → {key}: B − A = {:+.4} (A {a:.4}, B {b:.4})", b - a)
}

pub fn compare_failed(why: &str) -> String {
    format!("The second sentence could not be run: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attends_sentence_orders_by_weight() {
        let toks: Vec<String> = ["Your", "journey", "starts"].iter().map(|s| s.to_string()).collect();
        let s = attends_sentence(&toks, 1, &[(0, 0.2), (1, 0.5), (2, 0.3)], 2);
        assert_eq!(s, "journey attends to journey 0.50, starts 0.30, and 1 more");
    }
}

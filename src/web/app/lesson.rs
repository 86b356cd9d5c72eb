//! The lesson panel: the step's text and formula, its widget, a question the widget's numbers answer,
//! and links to every step. Views of the app itself are the regular stage under the panel.

use super::Shared;
use crate::layout::drawn_weights;
use crate::layout::{heat_colour, layout_tokens};
use crate::lesson::{argmax, cross_alignment, Question, Widget, CAT, EN, FR, HARRY, STEPS};
use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::attention::{rnn_final_state_share, simplified, Attention, HeadOptions, Normalization};
use arcs_core::tokenize::tokenize;
use arcs_core::weights::seeded_embeddings;
use yew::prelude::*;

/// Recurrence of the illustrative RNN: each step keeps 70 % of the old state.
const RNN_DECAY: f32 = 0.7;
/// Embedding size and seed of the illustrative widgets.
const D: usize = 8;
const SEED: u64 = 2024;

fn words(s: &str) -> Vec<String> {
    tokenize(s).into_iter().map(|t| t.text).collect()
}

#[derive(Properties, PartialEq)]
pub struct LessonProps {
    pub step: usize,
    pub view: ViewState,
    /// The page's theme: the widgets' colours follow it.
    pub dark: bool,
    pub attention: Option<Shared<Attention>>,
    pub ondispatch: Callback<Action>,
}

/// Answer options for a question, and the index of the right one, from the numbers on screen.
fn options(
    q: Question,
    view: &ViewState,
    attention: Option<&Attention>,
    rnn_sentence: &str,
    rnn_length: usize,
) -> Option<(Vec<String>, usize, String)> {
    match q {
        Question::MostAttended { query } => {
            let a = attention?;
            let weights = drawn_weights(a, view.display.head_view, |h| view.head_visible(h));
            let m = if weights.len() == 1 { weights[0].1.as_ref().clone() } else { a.mean_weights() };
            if query >= a.num_tokens() {
                return None;
            }
            let row: Vec<f32> = m.row(query).iter().copied().collect();
            let best = argmax(&row)?;
            Some((a.tokens.clone(), best, text::gives_attention(&a.tokens[query], row[best], &a.tokens[best], false)))
        }
        Question::WeightOf { query, key } => {
            let a = attention?;
            let w = *a.heads.first()?.attn_weights.get((query, key))?;
            let opts = text::WEIGHT_OPTIONS.iter().map(|s| s.to_string()).collect();
            let right = if w == 0.0 {
                0
            } else if (w - 1.0 / 6.0).abs() < 0.03 {
                1
            } else {
                2
            };
            Some((opts, right, text::weight_is(w, a.tokens.get(key)?, a.tokens.get(query)?)))
        }
        Question::RnnFaintest => {
            let toks: Vec<String> = words(rnn_sentence).into_iter().take(rnn_length.max(1)).collect();
            let share = rnn_final_state_share(toks.len(), RNN_DECAY);
            let (low, _) = share.iter().enumerate().min_by(|x, y| x.1.total_cmp(y.1))?;
            let why = text::keeps_share(&toks[low], share[low]);
            Some((toks, low, why))
        }
        Question::CrossMost { query } => {
            let (en, fr, m) = cross_example();
            let row: Vec<f32> = m.row(query).iter().copied().collect();
            let best = argmax(&row)?;
            Some((en.clone(), best, text::gives_attention(&fr[query], row[best], &en[best], true)))
        }
    }
}

/// The translation example: French queries over English keys and values, weights set by hand as a
/// trained translator's (see `lesson::CROSS_ALIGNMENT`).
fn cross_example() -> (Vec<String>, Vec<String>, arcs_core::tensor::Mat) {
    let (en, fr) = (words(EN), words(FR));
    let m = cross_alignment(fr.len(), en.len()).unwrap_or_else(|| arcs_core::tensor::Mat::zeros(fr.len(), en.len()));
    (en, fr, m)
}

#[derive(Properties, PartialEq)]
struct RnnProps {
    sentence: AttrValue,
    onsentence: Callback<AttrValue>,
    /// How many of the sentence's words are read (the slider lengthens the sentence word by word).
    length: usize,
    onlength: Callback<usize>,
    dark: bool,
}

/// The RNN's final state versus attention: how much of each word reaches the end.
#[component]
fn RnnWidget(props: &RnnProps) -> Html {
    let all = words(&props.sentence);
    let toks: Vec<String> = all.iter().take(props.length.clamp(1, all.len().max(1))).cloned().collect();
    let n = toks.len();
    let share = rnn_final_state_share(n, RNN_DECAY);
    let onlength = props.onlength.clone();
    let slider = html! {
        <label class="field">
            <span>{ text::words_read(n, all.len()) }</span>
            <input type="range" min="1" max={all.len().to_string()} value={n.to_string()} data-testid="rnn-length"
                   oninput={move |e: InputEvent| if let Some(v) = e.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok()).and_then(|i| i.value().parse().ok()) { onlength.emit(v) }} />
        </label>
    };
    // Attention from the last word to every word (simplified self-attention on seeded embeddings).
    let x = seeded_embeddings(&toks, SEED, D);
    let att = simplified(&x, Normalization::Softmax).attn_weights;
    let bars = |values: &[f32], label: &str, testid: &str| {
        let max = values.iter().copied().fold(f32::MIN, f32::max).max(1e-6);
        html! {
            <figure class="bars" data-testid={testid.to_string()}>
                <figcaption>{ label.to_string() }</figcaption>
                <div class="bar-row">
                    { for toks.iter().zip(values).map(|(t, &v)| html! {
                        <div class="bar-cell" title={format!("{t}: {v:.4}")}>
                            <div class="bar" style={format!("height:{:.1}px;background:{}", 4.0 + 90.0 * v / max, heat_colour(v / max, props.dark))}></div>
                            <span>{ t.clone() }</span>
                        </div>
                    }) }
                </div>
            </figure>
        }
    };
    let pick = |s: &'static str, label: &str| {
        let on = props.sentence.as_str() == s;
        let cb = props.onsentence.clone();
        html! { <button class="chip" aria-pressed={on.to_string()} onclick={move |_: MouseEvent| cb.emit(AttrValue::from(s))}>{ label.to_string() }</button> }
    };
    let last: Vec<f32> = if n > 0 { att.row(n - 1).iter().copied().collect() } else { Vec::new() };
    html! {
        <div class="widget rnn">
            <div class="heads">{ pick(HARRY, "Harry Potter …") }{ pick(CAT, "The cat that was sitting …") }{ slider }</div>
            { bars(&share, &text::rnn_share(n), "rnn-share") }
            { bars(&last, &text::attention_share(toks.last().map_or("", String::as_str)), "attention-share") }
            <p class="note">{ text::RNN_NOTE }</p>
        </div>
    }
}

/// French words (queries, top) attending to English words (keys and values, bottom).
#[component]
fn CrossWidget() -> Html {
    let (en, fr, m) = cross_example();
    let hover = use_state(|| None::<usize>);
    let (le, lf) = (layout_tokens(&en, 700.0), layout_tokens(&fr, 700.0));
    let width = le.width.max(lf.width);
    let (top, bottom) = (40.0f32, 190.0f32);
    let lines: Html = (0..fr.len())
        .flat_map(|i| (0..en.len()).map(move |j| (i, j)))
        .map(|(i, j)| {
            let w = m[(i, j)];
            let on = hover.is_none_or(|h| h == i);
            let d = format!(
                "M{:.1} {:.1}C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
                lf.x[i],
                top + 14.0,
                lf.x[i],
                (top + bottom) / 2.0,
                le.x[j],
                (top + bottom) / 2.0,
                le.x[j],
                bottom - 16.0
            );
            html! { <path d={d} fill="none" stroke="#0072B2" stroke-width={format!("{:.2}", 0.5 + 7.0 * w)}
            stroke-opacity={format!("{:.3}", if on { 0.15 + 0.85 * w } else { 0.03 })}
            data-from={i.to_string()} data-to={j.to_string()} data-weight={w.to_string()} data-cross="true" /> }
        })
        .collect();
    let row = |toks: &[String], l: &crate::layout::TokenLayout, y: f32, hoverable: bool| -> Html {
        toks.iter()
            .enumerate()
            .map(|(i, t)| {
                let hover = hover.clone();
                let enter = move |_: MouseEvent| {
                    if hoverable {
                        hover.set(Some(i))
                    }
                };
                html! { <text x={format!("{:.1}", l.x[i])} y={format!("{y:.1}")} text-anchor="middle" font-size="14" font-family="system-ui, sans-serif"
                              fill="currentColor" data-cross-token={i.to_string()} onmouseenter={enter}>{ t.clone() }</text> }
            })
            .collect()
    };
    html! {
        <div class="widget cross" data-testid="cross-widget">
            <svg xmlns="http://www.w3.org/2000/svg" width={format!("{width:.0}")} height="210" viewBox={format!("0 0 {width:.0} 210")} class="arcs fit"
                 onmouseleave={{ let hover = hover.clone(); move |_: MouseEvent| hover.set(None) }}>
                <g pointer-events="none">{ lines }</g>
                { row(&fr, &lf, top, true) }
                { row(&en, &le, bottom, false) }
            </svg>
            <p class="note" data-testid="cross-note">{ text::CROSS_NOTE }</p>
        </div>
    }
}

/// The book's causal example three ways: −∞ before the softmax, zero-and-renormalise after it (the same
/// numbers), and with dropout p = 0.5 (kept weights doubled).
#[component]
fn CausalSideBySide() -> Html {
    use arcs_core::attention::{head_attention, Dropout, MaskStyle};
    use arcs_core::tensor::max_abs_diff;
    let x = arcs_core::book::inputs();
    let w = arcs_core::book::causal_attention();
    let base = HeadOptions { causal: true, ..HeadOptions::default() };
    let neg = head_attention(&x, &w, &HeadOptions { mask_style: MaskStyle::NegInf, ..base.clone() }, 0);
    let renorm = head_attention(&x, &w, &HeadOptions { mask_style: MaskStyle::Renormalize, ..base.clone() }, 0);
    let drop = head_attention(&x, &w, &HeadOptions { dropout: Some(Dropout::Seeded { p: 0.5, seed: 123 }), ..base }, 0);
    let dropped = drop.attn_weights_dropout.clone().unwrap_or_else(|| drop.attn_weights.clone());
    let tokens = arcs_core::book::tokens();
    let table = |title: &str, m: &arcs_core::tensor::Mat, testid: &str| {
        html! {
            <figure class="matrix" data-testid={testid.to_string()}>
                <figcaption>{ title.to_string() }</figcaption>
                <table><tbody>
                    { for (0..m.nrows()).map(|i| html! { <tr><th>{ tokens[i].clone() }</th>
                        { for (0..m.ncols()).map(|j| html! { <td class={classes!((j > i).then_some("masked"))}>{ format!("{:.2}", m[(i, j)]) }</td> }) }
                    </tr> }) }
                </tbody></table>
            </figure>
        }
    };
    html! {
        <div class="widget side-by-side">
            <div class="matrices">
                { table(text::MASK_NEG_INF, &neg.attn_weights, "causal-neg-inf") }
                { table(text::MASK_RENORMALIZE_SHORT, &renorm.attn_weights, "causal-renormalize") }
                { table(text::WITH_DROPOUT_HALF, &dropped, "causal-dropout") }
            </div>
            <p class="note" data-testid="conventions-agree">{ text::conventions_differ(max_abs_diff(&neg.attn_weights, &renorm.attn_weights)) }</p>
        </div>
    }
}

#[component]
pub fn LessonPanel(props: &LessonProps) -> Html {
    let n = props.step.min(STEPS.len() - 1);
    let step = &STEPS[n];
    let d = props.ondispatch.clone();
    let rnn_sentence = use_state(|| AttrValue::from(HARRY));
    let rnn_length = use_state(|| usize::MAX);
    let answer = use_state(|| None::<usize>);
    {
        let answer = answer.clone();
        use_effect_with(n, move |_| answer.set(None));
    }
    let widget = match step.widget {
        Widget::Rnn => {
            let (s, len) = (rnn_sentence.clone(), rnn_length.clone());
            let (a1, a2) = (answer.clone(), answer.clone());
            let len2 = rnn_length.clone();
            html! { <RnnWidget sentence={(*rnn_sentence).clone()} length={*rnn_length} dark={props.dark}
            onsentence={Callback::from(move |v| { s.set(v); len.set(usize::MAX); a1.set(None); })}
            onlength={Callback::from(move |k| { len2.set(k); a2.set(None); })} /> }
        }
        Widget::Cross => html! { <CrossWidget /> },
        Widget::View(_) if step.slug == "causal" => html! { <CausalSideBySide /> },
        Widget::View(_) if step.slug == "real-heads" => html! { <>
            <p>{ text::ALSO }<a data-testid="smollm2-preset" href={format!("#model=smollm2&m=self&l=13&hd=8&f=16&pin=1&s={}", crate::url::encode_component(CAT))}>
                { text::SMOLLM2_PRESET }</a></p>
            <p><a data-testid="roles-preset" href={format!("#model=smollm2&m=multi-head&roles=induction&s={}", crate::url::encode_component(CAT))}>
                { text::ROLES_PRESET }</a></p>
        </> },
        Widget::View(_) => {
            html! { <p class="hint">{ text::LESSON_VIEW_HINT }</p> }
        }
    };
    let question = match options(step.check, &props.view, props.attention.as_deref(), &rnn_sentence, *rnn_length) {
        Some((opts, right, why)) => {
            let verdict = answer.map(|k| {
                if k == right {
                    html! { <p class="verdict right" data-testid="verdict" data-correct="true">{ text::verdict(true, &why) }</p> }
                } else {
                    html! { <p class="verdict wrong" data-testid="verdict" data-correct="false">{ text::verdict(false, &why) }</p> }
                }
            });
            html! {
                <div class="question" role="group" aria-label={text::CHECK_YOURSELF}>
                    <p><b>{ text::CHECK_YOURSELF_LEAD }</b>{ step.question }</p>
                    <div class="options">
                        { for opts.iter().enumerate().map(|(k, o)| {
                            let answer = answer.clone();
                            html! { <button class="chip" data-testid="answer" data-answer={k.to_string()} data-right={(k == right).then_some("true")}
                                            aria-pressed={(*answer == Some(k)).to_string()} onclick={move |_: MouseEvent| answer.set(Some(k))}>{ o.clone() }</button> }
                        }) }
                    </div>
                    { verdict.unwrap_or_default() }
                </div>
            }
        }
        None => {
            html! { <p class="hint">{ text::REOPEN_STEP }</p> }
        }
    };
    let nav_button = |target: Option<usize>, label: &str, testid: &str| {
        let d = d.clone();
        html! { <button data-testid={testid.to_string()} disabled={target.is_none()}
        onclick={move |_: MouseEvent| if let Some(t) = target { d.emit(Action::OpenLesson(t)) }}>{ label.to_string() }</button> }
    };
    let close = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::CloseLesson)
    };
    html! {
        <section class="lesson" aria-label={text::OPEN_LESSON} data-testid="lesson" data-step={n.to_string()}>
            <nav class="lesson-steps" aria-label={text::LESSON_STEPS}>
                <ol>
                    { for STEPS.iter().enumerate().map(|(k, s)| html! {
                        <li><a href={format!("#lesson={k}")} aria-current={(k == n).then_some("step")} data-testid="step-link">{ format!("{}. {}", k + 1, s.title) }</a></li>
                    }) }
                </ol>
            </nav>
            <article>
                <h2>{ text::lesson_step_title(n, STEPS.len(), step.title) }</h2>
                { for step.paragraphs.iter().map(|p| html! { <p>{ *p }</p> }) }
                // Constant MathML from lesson.rs (never user text): the browser renders it natively.
                <div class="lesson-formula">{ Html::from_html_unchecked(AttrValue::from(step.formula)) }</div>
                { widget }
                { question }
                <div class="lesson-nav">
                    { nav_button(n.checked_sub(1), text::PREVIOUS, "lesson-prev") }
                    { nav_button((n + 1 < STEPS.len()).then_some(n + 1), text::NEXT, "lesson-next") }
                    <button onclick={close} data-testid="lesson-close">{ text::LEAVE_LESSON }</button>
                </div>
            </article>
        </section>
    }
}

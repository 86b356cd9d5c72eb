//! Every core: helper workers that each compute a range of a pass's tokens while the model worker
//! computes the first range, for encoders (MiniLM) and decoders (SmolLM2) alike.
//!
//! A token's row of the network needs nothing from the other tokens except, in attention, their keys
//! and values: every token's in an encoder, those of the tokens up to it in a decoder (see
//! `arcs_models::arch::bert::RowPass` and `arcs_models::arch::llama::DecoderPass`). So each worker
//! takes a range of tokens and, once per layer, sends the model worker its keys and values and gets
//! back those its range needs. No shared memory (that would need cross-origin isolation). The result
//! is the same to the last bit as one worker's.
//!
//! An encoder's rows all cost the same, so its ranges are even; a decoder's later rows attend to more
//! keys, so its ranges are cut to equal work (`balanced_cuts`): the later ones are shorter.
//!
//! The helpers are the model worker's own script started again under the name [`HELPER_NAME`] (the
//! entry point in `bin/worker.rs` checks it). The model worker starts them after its model has loaded,
//! hands each a copy of the model's bytes once it says it listens, and uses those that are ready from
//! the next pass on. Nothing depends on them: until they are ready, if one fails, answers late or with
//! something that does not fit, the model worker does the pass itself (and drops the helpers). Whether a
//! pass is split at all is [`SplitPolicy`]'s call, from what the worker measured both ways.

use crate::split_policy::SplitPolicy;
use arcs_models::arch::bert::{Bert, BertOutput, LayerOutput, RowPass};
use arcs_models::arch::llama::{balanced_cuts, DecoderPass, Llama, LlamaOutput, TokenProb};
use arcs_models::open::{ModelFile, OpenedModel};
use arcs_models::Matrix;
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use js_sys::{Array, Float32Array, Object, Reflect, Uint32Array, Uint8Array};
use std::cell::RefCell;
use std::ops::Range;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, MessageEvent, Url, Worker, WorkerOptions};

/// The name the helpers run under (`self.name` in the worker).
pub const HELPER_NAME: &str = "arcs-minilm-helper";

/// How long the model worker waits for a helper's next message before doing the pass itself and
/// giving up on the helpers: far beyond a layer's time, so only a stuck or dead helper hits it.
const TIMEOUT_MS: u32 = 15_000;

/// The model a pass runs on.
#[derive(Clone, Copy)]
pub enum Net<'a> {
    Bert(&'a Bert),
    Llama(&'a Llama),
}

/// What the bytes handed to the helpers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// MiniLM's browser bundle.
    Bundle,
    /// A decoder's GGUF file.
    Gguf,
    /// A decoder opened from several files (a Hugging Face folder, a split GGUF), packed into one by
    /// [`pack_files`].
    Files,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Bundle => "bundle",
            Format::Gguf => "gguf",
            Format::Files => "files",
        }
    }
}

/// What a pass, or a part of one, computed.
pub enum PassOut {
    Encoder(BertOutput),
    Decoder(LlamaOutput),
}

/// One worker's part of a pass.
enum Part {
    Encoder(RowPass),
    Decoder(DecoderPass),
}

const WRONG_MODEL: &str = "a part of a pass of another model";

impl Part {
    /// `keep`: keep every layer's attention (a decoder may do without, see [`keeps_attention`]).
    fn new(net: Net, ids: &[u32], rows: Range<usize>, keep: bool) -> Result<Part, String> {
        match net {
            Net::Bert(m) => m.row_pass(ids, rows, false).map(Part::Encoder),
            Net::Llama(m) => m.row_pass(ids, rows).map(|mut p| {
                p.keep_attention(keep);
                Part::Decoder(p)
            }),
        }
        .map_err(|e| e.to_string())
    }

    fn layer(&self) -> Option<usize> {
        match self {
            Part::Encoder(p) => p.layer(),
            Part::Decoder(p) => p.layer(),
        }
    }

    fn keys_values(&mut self, net: Net) -> Result<(Matrix, Matrix), String> {
        match (self, net) {
            (Part::Encoder(p), Net::Bert(m)) => p.keys_values(m),
            (Part::Decoder(p), Net::Llama(m)) => p.keys_values(m),
            _ => return Err(WRONG_MODEL.into()),
        }
        .map_err(|e| e.to_string())
    }

    fn finish_layer(&mut self, net: Net, keys: &Matrix, values: &Matrix) -> Result<(), String> {
        match (self, net) {
            (Part::Encoder(p), Net::Bert(m)) => p.finish_layer(m, keys, values),
            (Part::Decoder(p), Net::Llama(m)) => p.finish_layer(m, keys, values),
            _ => return Err(WRONG_MODEL.into()),
        }
        .map_err(|e| e.to_string())
    }

    fn finish(self, net: Net) -> Result<PassOut, String> {
        match (self, net) {
            (Part::Encoder(p), Net::Bert(_)) => Ok(PassOut::Encoder(p.finish())),
            (Part::Decoder(p), Net::Llama(m)) => p.finish(m).map(PassOut::Decoder).map_err(|e| e.to_string()),
            _ => Err(WRONG_MODEL.into()),
        }
    }
}

/// Whether a pass over `n` tokens keeps every layer's attention: always for an encoder, up to
/// `MAX_ALL_LAYERS_TOKENS` for a decoder (a longer pass keeps each layer's queries and keys, from which
/// the shown layer's weights are recomputed).
fn keeps_attention(net: Net, n: usize) -> bool {
    matches!(net, Net::Bert(_)) || n <= crate::models::MAX_ALL_LAYERS_TOKENS
}

/// Called after each layer of a pass with (layers done, layers); true when it queued a message to the
/// page, which goes out once the pass lets the worker's other tasks run.
pub type Beat<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// Layers in a pass of `net`.
fn layer_count(net: Net) -> usize {
    match net {
        Net::Bert(m) => m.config().num_layers,
        Net::Llama(m) => m.config().num_layers,
    }
}

/// Lets the worker's other tasks run: the one that posts queued messages to the page among them.
async fn yield_now() {
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL)).await;
}

/// The pass alone, in this worker. A decoder's goes a layer at a time, telling `beat` after each (an
/// encoder's is over within a second or so at its 512 positions).
async fn alone(net: Net<'_>, ids: &[u32], beat: Beat<'_>) -> Result<PassOut, String> {
    match net {
        Net::Bert(m) => m.forward_attention(ids).map(PassOut::Encoder).map_err(|e| e.to_string()),
        Net::Llama(_) => {
            let mut part = Part::new(net, ids, 0..ids.len(), keeps_attention(net, ids.len()))?;
            while let Some(layer) = part.layer() {
                let (keys, values) = part.keys_values(net)?;
                part.finish_layer(net, &keys, &values)?;
                if beat(layer + 1, layer_count(net)) {
                    yield_now().await;
                }
            }
            part.finish(net)
        }
    }
}

/// Where the `parts` ranges of `n` tokens start (after the first): even for an encoder, equal work for
/// a decoder. Callers keep `parts <= n`.
fn cuts(net: Net, n: usize, parts: usize) -> Vec<usize> {
    match net {
        Net::Bert(_) => (1..parts).map(|p| n * p / parts).collect(),
        Net::Llama(m) => balanced_cuts(m.config(), n, parts),
    }
}

/// The keys and values of how many tokens the part ending at `end` needs: all `n` in an encoder, those
/// up to its last in a decoder.
fn keys_needed(net: Net, n: usize, end: usize) -> usize {
    match net {
        Net::Bert(_) => n,
        Net::Llama(_) => end,
    }
}

/// Width of a row of keys (and of values).
fn kv_width(net: Net) -> usize {
    match net {
        Net::Bert(m) => m.config().hidden_size,
        Net::Llama(m) => m.config().kv_dim(),
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn message(kind: &str, id: u32) -> Object {
    let msg = Object::new();
    set(&msg, "kind", &kind.into());
    set(&msg, "id", &id.into());
    msg
}

/// A matrix of rows `width` wide from a message field, or `None` if it is missing or not whole rows.
fn matrix(obj: &JsValue, key: &str, width: usize) -> Option<Matrix> {
    let a: Float32Array = get(obj, key).dyn_into().ok()?;
    let len = a.length() as usize;
    if width == 0 || len == 0 || !len.is_multiple_of(width) {
        return None;
    }
    Matrix::from_vec(len / width, width, a.to_vec())
}

/// A non-negative integer field.
fn index(obj: &JsValue, key: &str) -> Option<usize> {
    get(obj, key).as_f64().filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e9).map(|v| v as usize)
}

/// Keys and values of `layer` (row-major, whole rows), with their buffers handed over (not copied again).
fn kv_message(id: u32, layer: usize, keys: &[f32], values: &[f32]) -> (Object, Array) {
    let msg = message("kv", id);
    let (k, v) = (Float32Array::from(keys), Float32Array::from(values));
    set(&msg, "layer", &(layer as u32).into());
    set(&msg, "keys", &k);
    set(&msg, "values", &v);
    (msg, Array::of2(&k.buffer(), &v.buffer()))
}

/// A part's record, flattened: per layer its input, queries, keys and values, then each head's
/// attention rows; a decoder's then adds its final hidden state and, per row, the likeliest next token
/// (id, probability) and the log of the softmax denominator, then the log-probabilities of the tokens
/// that came next and the five likeliest after its last token (each led by its count). Token ids
/// travel as f32, exact below 2^24.
fn flatten(out: &PassOut) -> Vec<f32> {
    let mut data = Vec::new();
    let mut layer = |blocks: [&Matrix; 4], heads: &[Matrix]| {
        for m in blocks.into_iter().chain(heads) {
            data.extend_from_slice(m.data());
        }
    };
    match out {
        PassOut::Encoder(o) => {
            for l in &o.layers {
                layer([&l.layer_input, &l.queries, &l.keys, &l.values], &l.attn_weights);
            }
        }
        PassOut::Decoder(o) => {
            for l in &o.layers {
                layer([&l.layer_input, &l.queries, &l.keys, &l.values], &l.attn_weights);
            }
            data.extend_from_slice(o.final_hidden.data());
            for (t, &lse) in o.argmax_next_per_position.iter().zip(&o.logsumexp_per_position) {
                data.extend_from_slice(&[t.id as f32, t.prob, lse]);
            }
            data.push(o.logprob_of_actual_next_token.len() as f32);
            data.extend_from_slice(&o.logprob_of_actual_next_token);
            data.push(o.top5_next.len() as f32);
            for t in &o.top5_next {
                data.extend_from_slice(&[t.id as f32, t.prob]);
            }
        }
    }
    data
}

/// Reads `len` floats off the front of `data`.
fn take<'a>(data: &mut &'a [f32], len: usize) -> Option<&'a [f32]> {
    if data.len() < len {
        return None;
    }
    let (head, rest) = data.split_at(len);
    *data = rest;
    Some(head)
}

/// A token id sent as f32.
fn token_id(v: f32) -> Option<u32> {
    (v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0).then_some(v as u32)
}

/// The inverse of [`flatten`] for a part of `rows` of `n` tokens (with each layer's attention if
/// `keep`); `None` if anything does not fit.
fn unflatten(net: Net, mut data: &[f32], rows: usize, n: usize, keep: bool) -> Option<PassOut> {
    // (layers, heads, widths of input, queries, keys, values)
    let (layers, heads, widths) = match net {
        Net::Bert(m) => {
            let c = m.config();
            (c.num_layers, c.num_heads, [c.hidden_size; 4])
        }
        Net::Llama(m) => {
            let c = m.config();
            (c.num_layers, c.num_heads, [c.hidden, c.q_dim(), c.kv_dim(), c.kv_dim()])
        }
    };
    let heads = if keep { heads } else { 0 };
    let data = &mut data;
    let mut blocks = Vec::with_capacity(layers);
    for _ in 0..layers {
        let mut four = Vec::with_capacity(4);
        for w in widths {
            four.push(Matrix::from_vec(rows, w, take(data, rows * w)?.to_vec())?);
        }
        let attn_weights: Option<Vec<Matrix>> =
            (0..heads).map(|_| Matrix::from_vec(rows, n, take(data, rows * n)?.to_vec())).collect();
        let mut four = four.into_iter();
        let (layer_input, queries, keys, values) = (four.next()?, four.next()?, four.next()?, four.next()?);
        blocks.push((layer_input, queries, keys, values, attn_weights?));
    }
    // Encoders and decoders record the same per layer.
    let layers: Vec<LayerOutput> = blocks
        .into_iter()
        .map(|(layer_input, queries, keys, values, attn_weights)| LayerOutput {
            layer_input,
            queries,
            keys,
            values,
            attn_weights,
        })
        .collect();
    match net {
        Net::Bert(_) => data.is_empty().then_some(PassOut::Encoder(BertOutput { layers, last_hidden_state: None })),
        Net::Llama(m) => {
            let token = |id: u32, prob: f32| TokenProb { id, token: m.token_text(id), prob };
            let final_hidden =
                Matrix::from_vec(rows, m.config().hidden, take(data, rows * m.config().hidden)?.to_vec())?;
            let (mut argmax, mut lse) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
            for row in take(data, rows * 3)?.chunks_exact(3) {
                argmax.push(token(token_id(row[0])?, row[1]));
                lse.push(row[2]);
            }
            let count = token_id(*take(data, 1)?.first()?)? as usize;
            let logprobs = take(data, count)?.to_vec();
            let count = token_id(*take(data, 1)?.first()?)? as usize;
            let top5: Option<Vec<TokenProb>> =
                take(data, count * 2)?.chunks_exact(2).map(|t| Some(token(token_id(t[0])?, t[1]))).collect();
            data.is_empty().then_some(PassOut::Decoder(LlamaOutput {
                layers,
                final_hidden,
                top5_next: top5?,
                argmax_next_per_position: argmax,
                logprob_of_actual_next_token: logprobs,
                logsumexp_per_position: lse,
            }))
        }
    }
}

/// Parts computed by several workers, in token order, as one pass.
fn stack(outs: Vec<PassOut>) -> Option<PassOut> {
    let mut encoders = Vec::new();
    let mut decoders = Vec::new();
    for o in outs {
        match o {
            PassOut::Encoder(e) => encoders.push(e),
            PassOut::Decoder(d) => decoders.push(d),
        }
    }
    match (encoders.is_empty(), decoders.is_empty()) {
        (false, true) => BertOutput::stack(encoders).ok().map(PassOut::Encoder),
        (true, false) => LlamaOutput::stack(decoders).ok().map(PassOut::Decoder),
        _ => None,
    }
}

/// Milliseconds since the worker started.
fn now() -> f64 {
    js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .ok()
        .and_then(|s| s.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// The model worker's handle on one helper.
struct Helper {
    worker: Worker,
    inbox: mpsc::UnboundedReceiver<JsValue>,
    ready: bool,
    failed: bool,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(JsValue)>,
}

impl Helper {
    /// Starts a helper from the worker script at `script_url` (absolute; its wasm is next to it, named
    /// as the build names it) and, once it listens, hands it `bytes` (moved, not copied).
    fn spawn(script_url: &str, format: Format, bytes: Uint8Array) -> Option<Helper> {
        let wasm_url = script_url.strip_suffix(".js").map(|s| format!("{s}_bg.wasm"))?;
        // A worker started from a blob, as gloo-worker starts the model worker itself: the script
        // and its wasm are loaded by absolute URL.
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let loader = format!("importScripts({});wasm_bindgen({});", quote(script_url), quote(&wasm_url));
        let options = BlobPropertyBag::new();
        options.set_type("application/javascript");
        let blob = Blob::new_with_str_sequence_and_options(&Array::of1(&loader.into()), &options).ok()?;
        let url = Url::create_object_url_with_blob(&blob).ok()?;
        let worker_options = WorkerOptions::new();
        worker_options.set_name(HELPER_NAME);
        let worker = Worker::new_with_options(&url, &worker_options).ok()?;
        let _ = Url::revoke_object_url(&url);
        let (tx, inbox) = mpsc::unbounded();
        let to_inbox = tx.clone();
        // Messages posted before the helper's wasm has set its handler would be lost: it says
        // "hello" once it listens, and only then gets the model.
        let mut bytes = Some(bytes);
        let to_helper = worker.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            if get(&data, "kind").as_string().as_deref() != Some("hello") {
                let _ = to_inbox.unbounded_send(data);
                return;
            }
            if let Some(bytes) = bytes.take() {
                let msg = message("load", 0);
                set(&msg, "format", &format.name().into());
                set(&msg, "bytes", &bytes);
                if to_helper.post_message_with_transfer(&msg, &Array::of1(&bytes.buffer())).is_err() {
                    let _ = to_inbox.unbounded_send(message("failed", 0).into());
                }
            }
        });
        // A crash in the helper (or a script that would not load) arrives as an error event.
        let onerror = Closure::<dyn FnMut(JsValue)>::new(move |_e: JsValue| {
            let _ = tx.unbounded_send(message("failed", 0).into());
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Some(Helper { worker, inbox, ready: false, failed: false, _onmessage: onmessage, _onerror: onerror })
    }

    /// Reads what the helper said so far, without waiting: whether it has its model yet, or failed.
    fn check(&mut self) {
        while let Some(Some(msg)) = self.inbox.next().now_or_never() {
            match get(&msg, "kind").as_string().as_deref() {
                Some("ready") => self.ready = true,
                Some("failed") => self.failed = true,
                _ => {} // something of an abandoned pass
            }
        }
    }

    fn post(&self, msg: &Object, transfer: &Array) -> Option<()> {
        self.worker.post_message_with_transfer(msg, transfer).ok()
    }

    /// The next message of pass `id` (older passes' are skipped); `None` on failure or timeout.
    async fn receive(&mut self, id: u32) -> Option<JsValue> {
        loop {
            let timeout = gloo_timers::future::TimeoutFuture::new(TIMEOUT_MS).fuse();
            let next = self.inbox.next().fuse();
            futures::pin_mut!(timeout, next);
            let msg = futures::select! {
                m = next => m?,
                _ = timeout => return None,
            };
            match get(&msg, "kind").as_string().as_deref() {
                Some("failed") => return None,
                _ if get(&msg, "id").as_f64() == Some(f64::from(id)) => {
                    return (get(&msg, "kind").as_string().as_deref() != Some("error")).then_some(msg);
                }
                _ => {}
            }
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The model worker's helpers for one model, and what it measured with and without them.
pub struct Helpers {
    list: Vec<Helper>,
    policy: SplitPolicy,
    next_id: u32,
}

impl Helpers {
    /// Starts `count` helpers from `script_url`, each with its own copy of the model's `bytes`. `None`
    /// when none could be started; the model worker then works alone.
    pub fn spawn(script_url: &str, count: usize, format: Format, bytes: &Uint8Array) -> Option<Helpers> {
        let list: Vec<Helper> = (0..count)
            .filter_map(|i| {
                // The last one takes the bytes themselves, the others copies (each is moved to its helper).
                let own = if i + 1 == count { bytes.clone() } else { bytes.slice(0, bytes.length()) };
                Helper::spawn(script_url, format, own)
            })
            .collect();
        (!list.is_empty()).then_some(Helpers { list, policy: SplitPolicy::default(), next_id: 0 })
    }

    /// How many helpers have their model; a helper that failed is dropped.
    fn ready(&mut self) -> usize {
        self.list.iter_mut().for_each(Helper::check);
        self.list.retain(|h| !h.failed);
        self.list.iter().filter(|h| h.ready).count()
    }

    /// The pass over `ids` split between this worker and the ready helpers; `None` if a helper failed
    /// along the way (the caller then does the pass alone).
    async fn run(&mut self, net: Net<'_>, ids: &[u32], beat: Beat<'_>) -> Option<Result<PassOut, String>> {
        let n = ids.len();
        let ready: Vec<usize> = (0..self.list.len()).filter(|&i| self.list[i].ready).collect();
        let parts = (ready.len() + 1).min(n);
        let mut bounds = vec![0];
        bounds.extend(cuts(net, n, parts));
        bounds.push(n);
        let used = &ready[..bounds.len() - 2];
        let keep = keeps_attention(net, n);
        let mut own = match Part::new(net, ids, 0..bounds[1], keep) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        for (p, &h) in used.iter().enumerate() {
            let start = message("start", id);
            set(&start, "ids", &Uint32Array::from(ids));
            set(&start, "from", &(bounds[p + 1] as u32).into());
            set(&start, "to", &(bounds[p + 2] as u32).into());
            set(&start, "keep", &keep.into());
            self.list[h].post(&start, &Array::new())?;
        }
        let width = kv_width(net);
        while let Some(layer) = own.layer() {
            let (mut keys, mut values) = match own.keys_values(net) {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            // Every part's keys and values of this layer, in token order.
            for (p, &h) in used.iter().enumerate() {
                let reply = self.list[h].receive(id).await?;
                let rows = bounds[p + 2] - bounds[p + 1];
                if index(&reply, "layer") != Some(layer) {
                    return None;
                }
                let (k, v) = (matrix(&reply, "keys", width)?, matrix(&reply, "values", width)?);
                if k.rows() != rows || v.rows() != rows {
                    return None;
                }
                keys.append_rows(k)?;
                values.append_rows(v)?;
            }
            for (p, &h) in used.iter().enumerate() {
                let need = keys_needed(net, n, bounds[p + 2]) * width;
                let (msg, transfer) = kv_message(id, layer, &keys.data()[..need], &values.data()[..need]);
                self.list[h].post(&msg, &transfer)?;
            }
            let need = keys_needed(net, n, bounds[1]);
            let result = if need == n {
                own.finish_layer(net, &keys, &values)
            } else {
                let prefix = |m: &Matrix| Matrix::from_vec(need, width, m.data()[..need * width].to_vec());
                match (prefix(&keys), prefix(&values)) {
                    (Some(k), Some(v)) => own.finish_layer(net, &k, &v),
                    _ => return None,
                }
            };
            if let Err(e) = result {
                return Some(Err(e));
            }
            // The next layer's messages from the helpers are awaited: whatever `beat` queued goes out.
            beat(layer + 1, layer_count(net));
        }
        let mut outs = vec![match own.finish(net) {
            Ok(o) => o,
            Err(e) => return Some(Err(e)),
        }];
        for (p, &h) in used.iter().enumerate() {
            let reply = self.list[h].receive(id).await?;
            let data: Float32Array = get(&reply, "rows").dyn_into().ok()?;
            outs.push(unflatten(net, &data.to_vec(), bounds[p + 2] - bounds[p + 1], n, keep)?);
        }
        stack(outs).map(Ok)
    }
}

/// The pass over `ids`, split over the ready helpers when [`SplitPolicy`] says it is faster. Helpers
/// that fail or send something unusable are dropped (`helpers` becomes `None`) and the pass is done
/// here. Also says whether helpers took part.
pub async fn forward(
    net: Net<'_>,
    ids: &[u32],
    helpers: &mut Option<Helpers>,
    beat: Beat<'_>,
) -> Result<(PassOut, bool), String> {
    let n = ids.len();
    // Helpers all ready: this pass's time counts for the policy (while they load their copies of the
    // model they compete for the cores, and a pass alone would look slower than it is).
    let mut all_ready = false;
    if let Some(h) = helpers.as_mut() {
        let ready = h.ready();
        if h.list.is_empty() {
            *helpers = None;
        } else if ready > 0 && h.policy.split(n) {
            let t0 = now();
            match h.run(net, ids, &mut *beat).await {
                Some(Ok(out)) => {
                    h.policy.record(n, true, now() - t0);
                    return Ok((out, true));
                }
                Some(Err(e)) => return Err(e),
                None => *helpers = None, // late, failed or garbled: work alone from here on
            }
        } else {
            all_ready = ready == h.list.len();
        }
    }
    let t0 = now();
    let out = alone(net, ids, beat).await?;
    if let Some(h) = helpers.as_mut().filter(|_| all_ready) {
        h.policy.record(n, false, now() - t0);
    }
    Ok((out, false))
}

/// A helper's model.
enum Owned {
    Bert(Box<Bert>),
    Llama(Box<Llama>),
}

impl Owned {
    fn net(&self) -> Net<'_> {
        match self {
            Owned::Bert(m) => Net::Bert(m),
            Owned::Llama(m) => Net::Llama(m),
        }
    }
}

thread_local! {
    static HELPER_MODEL: RefCell<Option<Owned>> = const { RefCell::new(None) };
    static HELPER_PASS: RefCell<Option<(u32, Part)>> = const { RefCell::new(None) };
}

/// The helper's part's keys and values of its current layer, as a message.
fn own_kv(id: u32, part: &mut Part, net: Net) -> Result<(Object, Array), String> {
    let layer = part.layer().ok_or("the pass is done")?;
    let (keys, values) = part.keys_values(net)?;
    Ok(kv_message(id, layer, keys.data(), values.data()))
}

/// One message to a helper: what to post back, if anything.
fn helper_step(msg: &JsValue, net: Net) -> Result<Option<(Object, Array)>, String> {
    let id = get(msg, "id").as_f64().unwrap_or(0.0) as u32;
    match get(msg, "kind").as_string().as_deref() {
        Some("start") => {
            let ids: Uint32Array = get(msg, "ids").dyn_into().map_err(|_| "a pass without its tokens")?;
            let ids = ids.to_vec();
            let from = index(msg, "from").ok_or("a pass without its first row")?;
            let to = index(msg, "to").ok_or("a pass without its last row")?;
            let keep = get(msg, "keep").as_bool().unwrap_or(true);
            let mut part = Part::new(net, &ids, from..to, keep)?;
            let reply = own_kv(id, &mut part, net)?;
            HELPER_PASS.with(|p| *p.borrow_mut() = Some((id, part)));
            Ok(Some(reply))
        }
        Some("kv") => {
            let Some((_, mut part)) = HELPER_PASS.with(|p| p.borrow_mut().take()).filter(|(pass, _)| *pass == id)
            else {
                return Ok(None); // an abandoned pass
            };
            if index(msg, "layer") != part.layer() {
                return Err("keys and values of another layer".into());
            }
            let width = kv_width(net);
            let keys = matrix(msg, "keys", width).ok_or("keys of the wrong shape")?;
            let values = matrix(msg, "values", width).ok_or("values of the wrong shape")?;
            part.finish_layer(net, &keys, &values)?;
            if part.layer().is_some() {
                let reply = own_kv(id, &mut part, net)?;
                HELPER_PASS.with(|p| *p.borrow_mut() = Some((id, part)));
                return Ok(Some(reply));
            }
            let out = part.finish(net)?;
            let data = Float32Array::from(&flatten(&out)[..]);
            let reply = message("rows", id);
            set(&reply, "rows", &data);
            Ok(Some((reply, Array::of1(&data.buffer()))))
        }
        _ => Err("an unknown message".into()),
    }
}

/// `files` in one buffer outside this worker's memory (see `file_pack`), for helpers: the head, then
/// every file's bytes copied straight in (packing inside wasm memory would grow it by the model's size
/// for good).
pub fn pack_files(files: &[ModelFile]) -> Uint8Array {
    let heads: Vec<(&str, usize)> = files.iter().map(|f| (f.name.as_str(), f.bytes.len())).collect();
    let head = crate::file_pack::header(&heads);
    let total = head.len() + files.iter().map(|f| f.bytes.len()).sum::<usize>();
    let out = Uint8Array::new_with_length(total as u32);
    let mut at = 0;
    for piece in std::iter::once(&head[..]).chain(files.iter().map(|f| &f.bytes[..])) {
        out.subarray(at as u32, (at + piece.len()) as u32).copy_from(piece);
        at += piece.len();
    }
    out
}

/// The files [`pack_files`] put in `bytes`, each copied into this worker's memory once.
fn unpack_files(bytes: &Uint8Array) -> Result<Vec<ModelFile>, String> {
    let total = bytes.length() as usize;
    let window = |at: usize, end: usize| bytes.subarray(at.min(total) as u32, end.min(total) as u32).to_vec();
    let found = crate::file_pack::contents(total, |at, len| window(at, at.saturating_add(len)))?;
    Ok(found.into_iter().map(|(name, r)| ModelFile { name, bytes: window(r.start, r.end) }).collect())
}

/// The model a "load" message carries.
fn load_model(msg: &JsValue) -> Result<Owned, String> {
    let bytes = get(msg, "bytes").dyn_into::<Uint8Array>().map_err(|_| "no model bytes".to_string())?;
    match get(msg, "format").as_string().as_deref() {
        Some("bundle") => Bert::from_bundle(&bytes.to_vec()).map(|m| Owned::Bert(Box::new(m))),
        Some("gguf") => Llama::from_gguf(bytes.to_vec()).map(|m| Owned::Llama(Box::new(m))),
        Some("files") => match arcs_models::open::open(unpack_files(&bytes)?) {
            Ok(OpenedModel::Llama(m)) => Ok(Owned::Llama(m)),
            Ok(OpenedModel::Bert(_)) => return Err("helpers take decoders opened from files, not encoders".into()),
            Err(e) => Err(e),
        },
        _ => return Err("a model in an unknown format".into()),
    }
    .map_err(|e| e.to_string())
}

/// A helper's side: says hello once it listens, loads the model it is sent, then answers each message
/// of a pass.
pub fn run_helper() {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else { return };
    let reply_to = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let msg = e.data();
        let id = get(&msg, "id").as_f64().unwrap_or(0.0) as u32;
        let fail = |kind: &str, text: String| {
            let m = message(kind, id);
            set(&m, "message", &text.into());
            let _ = reply_to.post_message(&m);
        };
        if get(&msg, "kind").as_string().as_deref() == Some("load") {
            match load_model(&msg) {
                Ok(model) => {
                    HELPER_MODEL.with(|m| *m.borrow_mut() = Some(model));
                    let _ = reply_to.post_message(&message("ready", 0));
                }
                Err(text) => fail("failed", text),
            }
            return;
        }
        let result = HELPER_MODEL.with(|m| match m.borrow().as_ref() {
            Some(model) => helper_step(&msg, model.net()),
            None => Err("the helper has no model".into()),
        });
        match result {
            Ok(Some((reply, transfer))) => {
                let _ = reply_to.post_message_with_transfer(&reply, &transfer);
            }
            Ok(None) => {}
            Err(text) => {
                HELPER_PASS.with(|p| *p.borrow_mut() = None);
                fail("error", text);
            }
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    onmessage.forget();
    let _ = scope.post_message(&message("hello", 0));
}

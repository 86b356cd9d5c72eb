//! The second core: a helper worker that runs MiniLM on the second half of the tokens while the
//! model worker runs the first half.
//!
//! Each token's row of the network needs nothing from the other tokens except, in attention, every
//! token's keys and values (see `arcs_models::minilm::RowPass`). So the two workers each take half of the
//! tokens and exchange keys and values once per layer: six exchanges of a few tens of kilobytes per
//! pass, no shared memory (that would need cross-origin isolation). The result is the same to the
//! last bit as one worker's.
//!
//! The helper is the model worker's own script started once more, under the name [`HELPER_NAME`]
//! (the entry point in `bin/worker.rs` checks it). The model worker starts it after MiniLM has
//! loaded, hands it the bundle's bytes once it says it listens, and uses it from the next pass on.
//! Nothing depends on it: until it is ready, if it fails, answers late or with something that does
//! not fit, the model worker does the whole pass itself.

use arcs_models::minilm::{Matrix, MiniLm, MiniLmOutput, RowPass};
use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use js_sys::{Array, Float32Array, Object, Reflect, Uint32Array, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, MessageEvent, Url, Worker, WorkerOptions};

/// The name the helper runs under (`self.name` in the worker).
pub const HELPER_NAME: &str = "arcs-minilm-helper";

/// Below this many tokens a pass takes a few milliseconds and the exchanges would cost more than
/// they save.
const MIN_TOKENS: usize = 8;

/// How long the model worker waits for the helper before doing the pass itself and giving up on
/// it: far beyond a layer's time (milliseconds), so only a stuck or dead helper hits it.
const TIMEOUT_MS: u32 = 5_000;

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

/// A `rows x cols` matrix from a message field, or `None` if it is missing or the wrong length.
fn matrix(obj: &JsValue, key: &str, rows: usize, cols: usize) -> Option<Matrix> {
    let a: Float32Array = get(obj, key).dyn_into().ok()?;
    if a.length() as usize != rows * cols {
        return None;
    }
    Matrix::from_vec(rows, cols, a.to_vec())
}

/// A non-negative integer field.
fn index(obj: &JsValue, key: &str) -> Option<usize> {
    get(obj, key).as_f64().filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e9).map(|v| v as usize)
}

/// This part's keys and values of `layer`, with their buffers handed over (not copied).
fn kv_message(id: u32, layer: usize, keys: &Matrix, values: &Matrix) -> (Object, Array) {
    let msg = message("kv", id);
    let (k, v) = (Float32Array::from(keys.data()), Float32Array::from(values.data()));
    set(&msg, "layer", &(layer as u32).into());
    set(&msg, "keys", &k);
    set(&msg, "values", &v);
    (msg, Array::of2(&k.buffer(), &v.buffer()))
}

/// Every layer's record of a part, flattened: per layer the input, queries, keys and values
/// (`rows x d` each), then each head's attention weights (`rows x n`).
fn flatten(out: &MiniLmOutput) -> Vec<f32> {
    let mut data = Vec::new();
    for l in &out.layers {
        for m in [&l.layer_input, &l.queries, &l.keys, &l.values].into_iter().chain(&l.attn_weights) {
            data.extend_from_slice(m.data());
        }
    }
    data
}

/// The inverse of [`flatten`] for a part of `rows` of `n` tokens; `None` if the length is wrong.
fn unflatten(data: &[f32], model: &MiniLm, rows: usize, n: usize) -> Option<MiniLmOutput> {
    let c = model.config();
    let per_layer = 4 * rows * c.hidden_size + c.num_heads * rows * n;
    if data.len() != c.num_layers * per_layer {
        return None;
    }
    let mut layers = Vec::with_capacity(c.num_layers);
    for chunk in data.chunks_exact(per_layer) {
        let (blocks, heads) = chunk.split_at(4 * rows * c.hidden_size);
        let mut m =
            blocks.chunks_exact(rows * c.hidden_size).filter_map(|b| Matrix::from_vec(rows, c.hidden_size, b.to_vec()));
        let (layer_input, queries, keys, values) = (m.next()?, m.next()?, m.next()?, m.next()?);
        let attn_weights = heads.chunks_exact(rows * n).filter_map(|h| Matrix::from_vec(rows, n, h.to_vec())).collect();
        layers.push(arcs_models::minilm::LayerOutput { layer_input, queries, keys, values, attn_weights });
    }
    Some(MiniLmOutput { layers, last_hidden_state: None })
}

/// The model worker's handle on its helper.
pub struct Helper {
    worker: Worker,
    inbox: mpsc::UnboundedReceiver<JsValue>,
    ready: bool,
    failed: bool,
    next_id: u32,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(JsValue)>,
}

impl Helper {
    /// Starts the helper from the worker script at `script_url` (absolute; its wasm is next to it,
    /// named as trunk names it) and, once it listens, sends it the MiniLM bundle. `None` where a
    /// second worker cannot help (one core) or cannot be started; the model worker then works alone.
    pub fn spawn(script_url: &str, bundle: &[u8]) -> Option<Helper> {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().dyn_into().ok()?;
        if scope.navigator().hardware_concurrency() < 2.0 {
            return None;
        }
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
        let mut bundle = Some(Uint8Array::from(bundle));
        let to_helper = worker.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            if get(&data, "kind").as_string().as_deref() != Some("hello") {
                let _ = to_inbox.unbounded_send(data);
                return;
            }
            if let Some(bytes) = bundle.take() {
                let msg = message("load", 0);
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
        Some(Helper {
            worker,
            inbox,
            ready: false,
            failed: false,
            next_id: 0,
            _onmessage: onmessage,
            _onerror: onerror,
        })
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

    /// The pass over `ids` with the helper taking the tokens from `from` on; `None` if the helper
    /// failed along the way (the caller then does the pass alone).
    async fn run(&mut self, model: &MiniLm, ids: &[u32], from: usize) -> Option<Result<MiniLmOutput, String>> {
        let n = ids.len();
        let mut pass = match model.row_pass(ids, 0..from, false) {
            Ok(p) => p,
            Err(e) => return Some(Err(e.to_string())),
        };
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let start = message("start", id);
        set(&start, "ids", &Uint32Array::from(ids));
        set(&start, "from", &(from as u32).into());
        self.post(&start, &Array::new())?;
        while let Some(layer) = pass.layer() {
            let (mut keys, mut values) = match pass.keys_values(model) {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.to_string())),
            };
            let (msg, transfer) = kv_message(id, layer, &keys, &values);
            self.post(&msg, &transfer)?;
            let reply = self.receive(id).await?;
            if index(&reply, "layer") != Some(layer) {
                return None;
            }
            let d = model.config().hidden_size;
            keys.append_rows(matrix(&reply, "keys", n - from, d)?)?;
            values.append_rows(matrix(&reply, "values", n - from, d)?)?;
            if let Err(e) = pass.finish_layer(model, &keys, &values) {
                return Some(Err(e.to_string()));
            }
        }
        let reply = self.receive(id).await?;
        let data: Float32Array = get(&reply, "rows").dyn_into().ok()?;
        let theirs = unflatten(&data.to_vec(), model, n - from, n)?;
        MiniLmOutput::stack(vec![pass.finish(), theirs]).ok().map(Ok)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// MiniLM's attention pass over `ids` (as `MiniLm::forward_attention`), with the helper taking half
/// of the tokens when it is ready. A helper that fails or sends something unusable is dropped
/// (`helper` becomes `None`) and the pass is done here. Also says whether the helper took part.
pub async fn forward_attention(
    model: &MiniLm,
    ids: &[u32],
    helper: &mut Option<Helper>,
) -> Result<(MiniLmOutput, bool), String> {
    if let Some(h) = helper.as_mut() {
        h.check();
        if h.failed {
            *helper = None;
        }
    }
    if let Some(h) = helper.as_mut().filter(|h| h.ready && ids.len() >= MIN_TOKENS) {
        match h.run(model, ids, ids.len() / 2).await {
            Some(result) => return result.map(|out| (out, true)),
            None => *helper = None, // late, failed or garbled: work alone from here on
        }
    }
    model.forward_attention(ids).map(|out| (out, false)).map_err(|e| e.to_string())
}

/// The helper's side of a pass: its rows, and its keys and values of the current layer.
struct HelperPass {
    id: u32,
    pass: RowPass,
    own: (Matrix, Matrix),
}

thread_local! {
    static HELPER_MODEL: RefCell<Option<MiniLm>> = const { RefCell::new(None) };
    static HELPER_PASS: RefCell<Option<HelperPass>> = const { RefCell::new(None) };
}

/// One message to the helper: what to post back, if anything.
fn helper_step(msg: &JsValue, model: &MiniLm) -> Result<Option<(Object, Array)>, String> {
    let id = get(msg, "id").as_f64().unwrap_or(0.0) as u32;
    match get(msg, "kind").as_string().as_deref() {
        Some("start") => {
            let ids: Uint32Array = get(msg, "ids").dyn_into().map_err(|_| "a pass without its tokens")?;
            let ids = ids.to_vec();
            let from = index(msg, "from").ok_or("a pass without its first row")?;
            let mut pass = model.row_pass(&ids, from..ids.len(), false).map_err(|e| e.to_string())?;
            let (keys, values) = pass.keys_values(model).map_err(|e| e.to_string())?;
            let reply = kv_message(id, 0, &keys, &values);
            HELPER_PASS.with(|p| *p.borrow_mut() = Some(HelperPass { id, pass, own: (keys, values) }));
            Ok(Some(reply))
        }
        Some("kv") => {
            let Some(mut state) = HELPER_PASS.with(|p| p.borrow_mut().take()).filter(|s| s.id == id) else {
                return Ok(None); // an abandoned pass
            };
            let rows = state.pass.rows();
            let d = model.config().hidden_size;
            let layer = state.pass.layer();
            if index(msg, "layer") != layer {
                return Err("keys and values of another layer".into());
            }
            let mut keys = matrix(msg, "keys", rows.start, d).ok_or("keys of the wrong shape")?;
            let mut values = matrix(msg, "values", rows.start, d).ok_or("values of the wrong shape")?;
            let (own_keys, own_values) = state.own;
            keys.append_rows(own_keys).ok_or("keys of the wrong width")?;
            values.append_rows(own_values).ok_or("values of the wrong width")?;
            state.pass.finish_layer(model, &keys, &values).map_err(|e| e.to_string())?;
            match state.pass.layer() {
                Some(next) => {
                    let (keys, values) = state.pass.keys_values(model).map_err(|e| e.to_string())?;
                    let reply = kv_message(id, next, &keys, &values);
                    HELPER_PASS
                        .with(|p| *p.borrow_mut() = Some(HelperPass { id, pass: state.pass, own: (keys, values) }));
                    Ok(Some(reply))
                }
                None => {
                    let data = Float32Array::from(&flatten(&state.pass.finish())[..]);
                    let reply = message("rows", id);
                    set(&reply, "rows", &data);
                    Ok(Some((reply, Array::of1(&data.buffer()))))
                }
            }
        }
        _ => Err("an unknown message".into()),
    }
}

/// The helper's side: says hello once it listens, loads the model it is sent, then answers each
/// message of a pass.
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
            let loaded = get(&msg, "bytes").dyn_into::<Uint8Array>().map_err(|_| "no model bytes".to_string());
            match loaded.and_then(|bytes| MiniLm::from_bundle(&bytes.to_vec()).map_err(|e| e.to_string())) {
                Ok(model) => {
                    HELPER_MODEL.with(|m| *m.borrow_mut() = Some(model));
                    let _ = reply_to.post_message(&message("ready", 0));
                }
                Err(text) => fail("failed", text),
            }
            return;
        }
        let result = HELPER_MODEL.with(|m| match m.borrow().as_ref() {
            Some(model) => helper_step(&msg, model),
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

//! The model worker: downloads, verifies, caches and runs the real models off the page's thread, so
//! hovering never waits for a forward pass.
//!
//! Files come from the manifest next to the app (`models/manifest.json`), are checked against its length
//! and sha256, kept in the browser's Cache Storage (so a reload does not download them again) and
//! joined when a model is split into pieces. The last forward pass is kept: asking for another layer of
//! the same sentence computes nothing again. While a forward pass runs, newer requests queue up; only
//! the newest is then answered, so 1 000 fast edits cost one extra pass, not 1 000.

use crate::models::{
    bert_forward_from, bert_tokens, induction_scores, induction_tokens, llama_forward_from, llama_tokens, FileIdentity,
    Forward, ModelKind, OpenedInfo,
};
use crate::protocol::{Manifest, ManifestFile, OpenFile, WorkerIn, WorkerOut};
use crate::web::helper_worker::{Beat, Format, Helpers, Net, PassOut};
use arcs_models::open::{ModelFile, OpenedModel};
use futures::{FutureExt, SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, ReadableStreamDefaultReader, Response, WorkerGlobalScope};
use yew_agent::prelude::*;

/// Cache Storage bucket for model files; file names carry content hashes, so one bucket serves every
/// release and stale files are deleted when the manifest no longer lists them.
const CACHE_NAME: &str = "attention-arcs-models";

enum Loaded {
    MiniLm(Box<arcs_models::minilm::MiniLm>),
    SmolLm2(Box<arcs_models::smollm2::SmolLm2>),
}

fn scope() -> Result<WorkerGlobalScope, String> {
    js_sys::global().dyn_into::<WorkerGlobalScope>().map_err(|_| "not running in a worker".to_string())
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &JsValue::from_str("message")).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "the browser refused".to_string())
}

fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length() as u64)
}

/// Milliseconds, sub-millisecond where the browser allows (Date.now() only counts whole ones).
fn now() -> f64 {
    scope().ok().and_then(|s| s.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

async fn fetch(url: &str) -> Result<Response, String> {
    let resp: Response = JsFuture::from(scope()?.fetch_with_str(url))
        .await
        .map_err(|e| format!("could not reach {url} ({})", js_err(e)))?
        .dyn_into()
        .map_err(|_| "fetch returned no response".to_string())?;
    if !resp.ok() {
        return Err(format!("{url} answered HTTP {}", resp.status()));
    }
    Ok(resp)
}

async fn open_cache() -> Option<Cache> {
    // Cache Storage exists only in secure contexts (https, localhost); elsewhere we simply re-download.
    let caches = scope().ok()?.caches().ok()?;
    JsFuture::from(caches.open(CACHE_NAME)).await.ok()?.dyn_into().ok()
}

/// Sends loading progress to the page as the download goes.
struct Progress<'a> {
    scope: &'a mut ReactorScope<WorkerIn, WorkerOut>,
    model: ModelKind,
    total: u64,
    /// Messages that arrived while reading the user's files (kept for the main loop), and whether one
    /// of them asked to stop.
    pending: Option<&'a mut VecDeque<WorkerIn>>,
    cancelled: bool,
}

impl Progress<'_> {
    async fn report(&mut self, loaded: u64, stage: &str) {
        let msg = WorkerOut::Progress { model: self.model, stage: stage.to_string(), loaded, total: self.total };
        let _ = self.scope.send(msg).await;
        // While the user's files are read, look at what came in: "cancel" (or another file) stops the read.
        if let Some(pending) = self.pending.as_deref_mut() {
            while let Some(Some(msg)) = self.scope.next().now_or_never() {
                match msg {
                    WorkerIn::CancelOpen => self.cancelled = true,
                    open @ WorkerIn::Open { .. } => {
                        self.cancelled = true;
                        pending.push_back(open);
                    }
                    other => pending.push_back(other),
                }
            }
        }
    }
}

/// Reads a response body, reporting progress every ~1 MB (offset by `before`, the bytes of earlier
/// pieces) when a reporter is given.
async fn read_body(
    resp: &Response,
    expected: u64,
    before: u64,
    mut progress: Option<&mut Progress<'_>>,
) -> Result<Vec<u8>, String> {
    let body = resp.body().ok_or("the download has no body")?;
    let reader: ReadableStreamDefaultReader =
        body.get_reader().dyn_into().map_err(|_| "cannot read the download".to_string())?;
    let mut out: Vec<u8> = Vec::with_capacity(expected.min(crate::protocol::MAX_MODEL_BYTES) as usize);
    let mut last = 0u64;
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("the download was cut ({})", js_err(e)))?;
        let done =
            js_sys::Reflect::get(&chunk, &JsValue::from_str("done")).ok().and_then(|d| d.as_bool()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).map_err(js_err)?;
        let bytes: js_sys::Uint8Array = value.dyn_into().map_err(|_| "unexpected download chunk".to_string())?;
        let start = out.len();
        out.resize(start + bytes.length() as usize, 0);
        bytes.copy_to(&mut out[start..]);
        if out.len() as u64 > expected {
            return Err(format!("the download is larger than the {expected} bytes the manifest promised"));
        }
        if out.len() as u64 - last > 1 << 20 {
            last = out.len() as u64;
            if let Some(p) = progress.as_deref_mut() {
                p.report(before + last, "reading").await;
                if p.cancelled {
                    return Err(crate::text::OPEN_CANCELLED.to_string());
                }
            }
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One model file: from the cache if it is there, else downloaded, verified and cached.
async fn get_file(
    base: &str,
    f: &ManifestFile,
    cache: Option<&Cache>,
    done_before: u64,
    progress: &mut Progress<'_>,
) -> Result<(Vec<u8>, bool), String> {
    let url = format!("{base}{}", f.name);
    if let Some(c) = cache {
        if let Ok(hit) = JsFuture::from(c.match_with_str(&url)).await {
            if let Ok(resp) = hit.dyn_into::<Response>() {
                progress.report(done_before, "reading from the browser cache").await;
                if let Ok(bytes) = read_body(&resp, f.bytes, done_before, None).await {
                    if bytes.len() as u64 == f.bytes {
                        return Ok((bytes, true));
                    }
                }
                let _ = JsFuture::from(c.delete_with_str(&url)).await;
            }
        }
    }
    let resp = fetch(&url).await?;
    let bytes = read_body(&resp, f.bytes, done_before, Some(progress)).await?;
    if bytes.len() as u64 != f.bytes {
        return Err(format!(
            "{} arrived with {} of {} bytes: the download was cut; retry",
            f.name,
            bytes.len(),
            f.bytes
        ));
    }
    progress.report(done_before + f.bytes, "checking").await;
    let got = hex(&Sha256::digest(&bytes));
    if !got.eq_ignore_ascii_case(&f.sha256) {
        return Err(format!("{} is corrupt (sha256 {got}, expected {}); retry", f.name, f.sha256));
    }
    if let Some(c) = cache {
        let copy = js_sys::Uint8Array::from(bytes.as_slice());
        if let Ok(r) = Response::new_with_opt_buffer_source(Some(&copy)) {
            let _ = JsFuture::from(c.put_with_str(&url, &r)).await;
        }
    }
    Ok((bytes, false))
}

/// Drops cached files the manifest no longer lists (a new release replaces its models cleanly).
async fn prune_cache(cache: &Cache, base: &str, manifest: &Manifest) {
    let keep: Vec<String> = [&manifest.minilm, &manifest.smollm2]
        .into_iter()
        .flatten()
        .flat_map(|m| m.files.iter())
        .map(|f| format!("{base}{}", f.name))
        .collect();
    let Ok(keys) = JsFuture::from(cache.keys()).await else { return };
    let keys: js_sys::Array = keys.unchecked_into();
    for k in keys.iter() {
        if let Ok(req) = k.dyn_into::<web_sys::Request>() {
            let url = req.url();
            if !keep.contains(&url) {
                let _ = JsFuture::from(cache.delete_with_str(&url)).await;
            }
        }
    }
}

/// A loaded model, its size as published, whether it all came from the cache, and a copy of its
/// bytes outside this worker's memory, for the helper workers.
type LoadResult = (Loaded, u64, bool, (Format, js_sys::Uint8Array));

async fn load(
    kind: ModelKind,
    base: &str,
    scope: &mut ReactorScope<WorkerIn, WorkerOut>,
) -> Result<LoadResult, String> {
    let manifest_resp = fetch(&format!("{base}manifest.json"))
        .await
        .map_err(|e| format!("the model files are not published next to the app: {e}"))?;
    let text =
        JsFuture::from(manifest_resp.text().map_err(js_err)?).await.map_err(js_err)?.as_string().unwrap_or_default();
    let manifest = Manifest::parse(&text)?;
    let Some(entry) = manifest.model(kind) else {
        return Err(format!("{} is not published with this copy of the app", kind.label()));
    };
    let cache = open_cache().await;
    if let Some(c) = &cache {
        prune_cache(c, base, &manifest).await;
    }
    let total: u64 = entry.files.iter().map(|f| f.bytes).sum();
    let mut progress = Progress { scope, model: kind, total, pending: None, cancelled: false };
    let mut bytes: Vec<u8> = Vec::with_capacity(total as usize);
    let mut all_cached = true;
    for f in &entry.files {
        let before = bytes.len() as u64;
        let (part, cached) = get_file(base, f, cache.as_ref(), before, &mut progress).await?;
        all_cached &= cached;
        bytes.extend_from_slice(&part);
    }
    progress.report(total, "preparing the weights").await;
    Ok(match kind {
        ModelKind::MiniLm => {
            let model = arcs_models::minilm::MiniLm::from_bundle(&bytes).map_err(|e| e.to_string())?;
            let copy = js_sys::Uint8Array::from(&bytes[..]);
            (Loaded::MiniLm(Box::new(model)), total, all_cached, (Format::Bundle, copy))
        }
        ModelKind::SmolLm2 => {
            // Copied out before the model takes the bytes (it keeps them: its matrices point into them).
            let copy = js_sys::Uint8Array::from(&bytes[..]);
            let model = arcs_models::smollm2::SmolLm2::from_gguf(bytes).map_err(|e| e.to_string())?;
            (Loaded::SmolLm2(Box::new(model)), total, all_cached, (Format::Gguf, copy))
        }
        ModelKind::File => return Err("an opened model is not downloaded".into()),
    })
}

/// A pass of `net` on `text`, split over the helper workers when they make it faster.
async fn forward_split(
    net: Net<'_>,
    model: ModelKind,
    text: &str,
    helpers: &mut Option<Helpers>,
    beat: Beat<'_>,
) -> Result<(Forward, bool), String> {
    let wrong = || "the pass came back from another kind of model".to_string();
    match net {
        Net::Bert(m) => {
            let enc = bert_tokens(m, model, text)?;
            match crate::web::helper_worker::forward(net, &enc.ids, helpers, beat).await? {
                (PassOut::Encoder(out), helped) => Ok((bert_forward_from(m, model, text, enc, out), helped)),
                _ => Err(wrong()),
            }
        }
        Net::Llama(m) => {
            let enc = llama_tokens(m, model, text)?;
            match crate::web::helper_worker::forward(net, &enc.ids, helpers, beat).await? {
                (PassOut::Decoder(out), helped) => Ok((llama_forward_from(m, model, text, enc, out), helped)),
                _ => Err(wrong()),
            }
        }
    }
}

/// Reads the user's files (this page's `blob:` URLs of their File objects), checks a link's expected
/// hash, and opens the model. A decoder small enough also comes with a copy of its files outside this
/// worker's memory, for helper workers.
async fn open_files(
    files: Vec<OpenFile>,
    expect: Option<FileIdentity>,
    scope: &mut ReactorScope<WorkerIn, WorkerOut>,
    pending: &mut VecDeque<WorkerIn>,
) -> Result<(OpenedModel, OpenedInfo, Option<(Format, js_sys::Uint8Array)>), String> {
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    crate::models::check_open_size(total, wasm_memory_bytes())?;
    // The identity is the weights file's: the one GGUF, or a folder's largest file.
    let main = files.iter().enumerate().max_by_key(|(_, f)| f.bytes).map_or(0, |(i, _)| i);
    let mut progress = Progress { scope, model: ModelKind::File, total, pending: Some(pending), cancelled: false };
    let mut read = Vec::with_capacity(files.len());
    let mut before = 0;
    for f in &files {
        let resp = fetch(&f.url).await.map_err(|e| crate::text::file_unreadable(&f.name, &e))?;
        let bytes = read_body(&resp, f.bytes, before, Some(&mut progress)).await?;
        before += bytes.len() as u64;
        read.push(ModelFile { name: f.name.clone(), bytes });
    }
    progress.report(total, "checking").await;
    let sha256 = read.get(main).map(|f| hex(&Sha256::digest(&f.bytes))).unwrap_or_default();
    let main_name = files.get(main).map(|f| f.name.clone()).unwrap_or_default();
    if let Some(want) = &expect {
        if want.sha256 != sha256 {
            return Err(crate::text::file_hash_differs(&main_name, &want.name, &sha256, &want.sha256));
        }
    }
    progress.report(total, "preparing the weights").await;
    // Helpers get a copy, made before the model takes the bytes (a decoder keeps them: its matrices
    // point into them): one GGUF file as it is, several files (a folder, a split GGUF) packed in one.
    let copy = match &read[..] {
        _ if total > crate::split_policy::MAX_HELPER_MODEL_BYTES => None,
        [f] if f.name.to_ascii_lowercase().ends_with(".gguf") => {
            Some((Format::Gguf, js_sys::Uint8Array::from(&f.bytes[..])))
        }
        [_, _, ..] => Some((Format::Files, crate::web::helper_worker::pack_files(&read))),
        _ => None,
    };
    let model = arcs_models::open::open(read).map_err(|e| e.to_string())?;
    let copy = copy.filter(|_| matches!(model, OpenedModel::Llama(_)));
    let info = model.info(main_name.trim_end_matches(".gguf"));
    let shape = crate::models::Shape {
        layers: info.layers,
        heads: info.heads,
        kv_heads: info.kv_heads,
        head_dim: info.head_dim,
        causal: info.causal,
    };
    let identity = FileIdentity {
        name: main_name,
        bytes: files.get(main).map_or(0, |f| f.bytes),
        sha256,
        arch: info.architecture.clone(),
    };
    let opened = OpenedInfo {
        name: info.name,
        architecture: info.architecture,
        parameters: info.parameters,
        tensor_types: info.tensor_types,
        shape,
        vocab_size: info.vocab_size,
        max_positions: info.max_positions,
        identity,
    };
    Ok((model, opened, copy))
}

/// The newest of each kind of request that queued up: a file to open (always honoured) and a pass
/// (only the newest matters).
fn newest(msg: WorkerIn, open: &mut Option<(Vec<OpenFile>, Option<FileIdentity>)>, run: &mut Option<WorkerIn>) {
    match msg {
        WorkerIn::Open { files, expect } => *open = Some((files, expect)),
        r @ WorkerIn::Run { .. } => *run = Some(r),
        // Nothing is being read between messages.
        WorkerIn::CancelOpen => {}
    }
}

#[reactor]
pub async fn ModelWorker(mut scope: ReactorScope<WorkerIn, WorkerOut>) {
    let mut minilm: Option<Loaded> = None;
    let mut smollm2: Option<Loaded> = None;
    // Each built-in model's helper workers, started once it has loaded (if the page asked for them).
    let mut helpers: HashMap<ModelKind, Helpers> = HashMap::new();
    // The last forward passes: another layer of the same sentence is sliced from them, not recomputed.
    let mut kept: Vec<Forward> = Vec::new();
    // SmolLM2's induction scores: the same seeded tokens every time, so one extra pass per worker (or
    // the reason it failed, shown instead).
    let mut induction: HashMap<ModelKind, Result<Vec<f32>, String>> = HashMap::new();
    // The model opened from the user's files.
    let mut opened: Option<OpenedModel> = None;
    // Copies of the models' bytes for helpers not started yet (outside this worker's memory).
    let mut copies: HashMap<ModelKind, (Format, js_sys::Uint8Array)> = HashMap::new();
    // Messages that arrived while the user's files were read.
    let mut pending: VecDeque<WorkerIn> = VecDeque::new();
    loop {
        let first = match pending.pop_front() {
            Some(m) => m,
            None => match scope.next().await {
                Some(m) => m,
                None => break,
            },
        };
        // Requests that queued up during the last pass: a file to open, then only the newest pass.
        let (mut open, mut run) = (None, None);
        newest(first, &mut open, &mut run);
        while let Some(newer) = pending.pop_front() {
            newest(newer, &mut open, &mut run);
        }
        while let Some(Some(newer)) = scope.next().now_or_never() {
            newest(newer, &mut open, &mut run);
        }
        if let Some((files, expect)) = open {
            let t0 = now();
            let out = match open_files(files, expect, &mut scope, &mut pending).await {
                Ok((model, info, copy)) => {
                    opened = Some(model);
                    // The last model's helpers go with it; the new one's start with its first pass.
                    helpers.remove(&ModelKind::File);
                    copies.remove(&ModelKind::File);
                    if let Some(copy) = copy {
                        copies.insert(ModelKind::File, copy);
                    }
                    induction.remove(&ModelKind::File);
                    kept.retain(|f| f.model != ModelKind::File);
                    Some(WorkerOut::Opened { info: Box::new(info), load_ms: now() - t0 })
                }
                // Stopped for a newer file, which is opened next: its progress follows, and a
                // "cancelled" error would only flash in between.
                Err(_) if pending.iter().any(|m| matches!(m, WorkerIn::Open { .. })) => None,
                Err(message) => Some(WorkerOut::LoadFailed { model: ModelKind::File, message }),
            };
            if let Some(out) = out {
                let _ = scope.send(out).await;
            }
        }
        let Some(WorkerIn::Run {
            id,
            model,
            base,
            text,
            layer,
            helper: helper_script,
            helpers: helper_count,
            roles,
            value_norms,
            lens,
            compare,
        }) = run
        else {
            continue;
        };
        let slot = match model {
            ModelKind::MiniLm => &mut minilm,
            _ => &mut smollm2,
        };
        if model != ModelKind::File && slot.is_none() {
            let t0 = now();
            match load(model, &base, &mut scope).await {
                Ok((loaded, bytes, from_cache, copy)) => {
                    *slot = Some(loaded);
                    copies.insert(model, copy);
                    let _ = scope.send(WorkerOut::Ready { model, load_ms: now() - t0, bytes, from_cache }).await;
                }
                Err(message) => {
                    let _ = scope.send(WorkerOut::LoadFailed { model, message }).await;
                    continue;
                }
            }
        }
        let net = match (model, &*slot, &opened) {
            (ModelKind::File, _, Some(OpenedModel::Bert(b))) => Net::Bert(b),
            (ModelKind::File, _, Some(OpenedModel::Llama(l))) => Net::Llama(l),
            (ModelKind::File, _, None) => {
                let message = crate::text::OPEN_A_FILE_FIRST.to_string();
                let _ = scope.send(WorkerOut::LoadFailed { model, message }).await;
                continue;
            }
            (_, Some(Loaded::MiniLm(m)), _) => Net::Bert(m),
            (_, Some(Loaded::SmolLm2(m)), _) => Net::Llama(m),
            (_, None, _) => continue,
        };
        let count = (helper_count as usize).min(crate::split_policy::MAX_HELPERS);
        if let (Some(script), true) = (&helper_script, count > 0) {
            if let Some((format, copy)) = copies.remove(&model) {
                // They parse their own copies while this worker answers the next requests alone.
                if let Some(h) = Helpers::spawn(script, count, format, &copy) {
                    helpers.insert(model, h);
                }
            }
        }
        let t0 = now();
        // A request that does without the helpers leaves them untouched; helpers that failed are not
        // put back.
        let mut h = if helper_script.is_some() { helpers.remove(&model) } else { None };
        // Two passes are kept only while two sentences are compared; otherwise the newest alone (so
        // going back to an earlier sentence is a fresh pass, as it always was).
        let keep = if compare.is_some() { KEPT_PASSES } else { 1 };
        // A pass longer than a second tells the page how far it is, at most once a second: a
        // progress line for the user, and word that the worker lives for the page's watchdog.
        let mut last_word = t0;
        let mut beat = |layers_done: usize, layers: usize| -> bool {
            if now() - last_word < BEAT_MS {
                return false;
            }
            last_word = now();
            scope.send(WorkerOut::Working { id, layers_done, layers }).now_or_never().is_some()
        };
        let helped = ensure_pass(&mut kept, keep, model, net, &text, &mut h, &mut beat).await;
        // The compared sentence's own trouble (too long, ...) is said in the compare view; the main
        // view stays.
        let compare_error = match (&compare, &helped) {
            (Some(t), Ok(_)) => ensure_pass(&mut kept, KEPT_PASSES, model, net, t, &mut h, &mut beat).await.err(),
            _ => None,
        };
        if let Some(h) = h {
            helpers.insert(model, h);
        }
        let helped = match helped {
            Ok(helped) => helped,
            Err(message) => {
                let _ = scope.send(WorkerOut::Failed { id, message }).await;
                continue;
            }
        };
        if let Net::Llama(l) = net {
            if roles && !induction.contains_key(&model) {
                induction.insert(model, induction_of(l));
            }
            if lens {
                add_lens(kept_pass(&mut kept, model, &text), l);
            }
        }
        let asked = Asked { layer, roles, lens };
        let mut out =
            finished(kept_pass(&mut kept, model, &text), net, id, asked, induction.get(&model), now() - t0, helped);
        if let (WorkerOut::Done { compare: slot, compare_error: e, .. }, Some(t)) = (&mut out, &compare) {
            let llama = match net {
                Net::Llama(l) => Some(l),
                Net::Bert(_) => None,
            };
            let other = kept_pass(&mut kept, model, t).filter(|_| compare_error.is_none());
            let other = other.map(|f| crate::models::run_of(f, layer, llama)).transpose();
            *e = compare_error.or(other.as_ref().err().cloned());
            *slot = other.ok().flatten().map(Box::new);
        }
        if value_norms {
            add_value_norms(&mut out, |l| match net {
                Net::Bert(b) => b.out_proj(l),
                Net::Llama(d) => d.out_proj(l),
            });
        }
        if scope.send(out).await.is_err() {
            break;
        }
    }
}

/// A pass says how far it is after this long (ms), and then at most this often: well inside the page's
/// `STALL_MS`, and rare enough that a short pass never shows a progress line.
const BEAT_MS: f64 = 1_000.0;

/// Passes kept while comparing: the sentence and the one it is compared with, so another layer or
/// another view of the same two sentences computes nothing again.
const KEPT_PASSES: usize = 2;

/// The kept pass of `model` on `text`, if there is one.
fn kept_pass<'a>(kept: &'a mut [Forward], model: ModelKind, text: &str) -> Option<&'a mut Forward> {
    kept.iter_mut().find(|f| f.model == model && f.text == text)
}

/// Makes sure a pass of `model` on `text` is kept first (computing it if not), keeping at most `keep`;
/// true when helper workers computed part of it.
async fn ensure_pass(
    kept: &mut Vec<Forward>,
    keep: usize,
    model: ModelKind,
    net: Net<'_>,
    text: &str,
    helpers: &mut Option<Helpers>,
    beat: Beat<'_>,
) -> Result<bool, String> {
    if let Some(i) = kept.iter().position(|f| f.model == model && f.text == text) {
        let f = kept.remove(i);
        kept.insert(0, f);
        kept.truncate(keep);
        return Ok(false);
    }
    // The pass that will not be kept goes before the new one is computed, not after: a wasm heap never
    // shrinks, and holding both at once (hundreds of MB at 1 000 tokens) made the worker's memory
    // creep up pass after pass.
    kept.truncate(keep.saturating_sub(1));
    let (f, helped) = forward_split(net, model, text, helpers, beat).await?;
    kept.insert(0, f);
    kept.truncate(keep);
    Ok(helped)
}

/// Puts the value norms of the answer's layer into it and into its compared pass (`out_proj`: the
/// model's output projection of a layer).
fn add_value_norms(out: &mut WorkerOut, out_proj: impl Fn(usize) -> Option<(usize, usize, Vec<f32>)>) {
    if let WorkerOut::Done { run, compare, .. } = out {
        let w = out_proj(run.layer);
        run.value_norms = crate::models::value_norms_of(run, w.clone());
        if let Some(c) = compare {
            c.value_norms = crate::models::value_norms_of(c, w);
        }
    }
}

/// Computes a kept pass's logit lens once (a failure leaves it out: the page says it is missing). Not
/// for a pass longer than `MAX_ALL_LAYERS_TOKENS`: every layer's every position through the unembedding
/// would take 30 passes' worth of logits.
fn add_lens(pass: Option<&mut Forward>, model: &arcs_models::arch::llama::Llama) {
    if let Some(f) = pass.filter(|f| f.logit_lens.is_none() && f.all_layers) {
        f.logit_lens = crate::models::logit_lens_of(model, f).ok();
    }
}

/// A decoder's induction scores on the app's seeded tokens, flattened `[layer * heads + head]`.
fn induction_of(model: &arcs_models::arch::llama::Llama) -> Result<Vec<f32>, String> {
    let ids = induction_tokens(model.config().vocab_size);
    induction_scores(model, &ids).map(|s| s.into_iter().flatten().collect())
}

/// What a run request asked for besides the attention: a layer's details, the head roles, the logit lens.
struct Asked {
    layer: usize,
    roles: bool,
    lens: bool,
}

/// The answer to a run request from the kept pass: `layer`'s details, and the head roles if asked.
fn finished(
    last: Option<&mut Forward>,
    net: Net<'_>,
    id: u64,
    Asked { layer, roles, lens }: Asked,
    induction: Option<&Result<Vec<f32>, String>>,
    forward_ms: f64,
    helped: bool,
) -> WorkerOut {
    let Some(f) = last else {
        return WorkerOut::Failed { id, message: "no forward pass".into() };
    };
    let llama = match net {
        Net::Llama(l) => Some(l),
        Net::Bert(_) => None,
    };
    let mut run = match crate::models::run_of(f, layer, llama) {
        Ok(run) => run,
        Err(message) => return WorkerOut::Failed { id, message },
    };
    if lens {
        run.logit_lens = f.logit_lens.clone();
    }
    if roles {
        let (scores, error) = match (induction, f.shape.causal) {
            (Some(Ok(s)), true) => (s.clone(), None),
            (Some(Err(e)), true) => (Vec::new(), Some(e.clone())),
            _ => (Vec::new(), None),
        };
        if let Ok(mut r) = f.roles_kept(scores, llama) {
            r.induction_error = error;
            run.roles = Some(r);
        }
    }
    WorkerOut::Done {
        id,
        run: Box::new(run),
        forward_ms,
        wasm_memory_bytes: wasm_memory_bytes(),
        helped,
        compare: None,
        compare_error: None,
    }
}

//! The real models' side of the page as a pure reducer: each model's load status, the newest forward
//! pass, and the watchdog that notices a silent worker.
//!
//! The page reads the clock and puts the time into every message, and publishes telemetry from an
//! effect that watches [`ModelState::passes`] and the statuses, so [`ModelState::reduce`] is a plain
//! function of its inputs and tested natively like `ViewState::apply`.

use crate::models::{FileIdentity, ModelKind, ModelRun, OpenedInfo};
use crate::protocol::WorkerOut;
use std::collections::HashMap;
use std::rc::Rc;

/// Where a model is in its life in this tab.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Idle,
    Loading { stage: String, loaded: u64, total: u64 },
    Ready { load_ms: f64, bytes: u64, from_cache: bool },
    Failed(String),
}

/// Silence from the worker, while it owes an answer, after which the page offers to restart it.
/// Progress arrives at least every megabyte while loading and, during a long pass, after every layer
/// past the first second (`WorkerOut::Working`), so only a stuck or crashed worker stays silent this
/// long (or a single layer slower than this: a layer of SmolLM2 at 1 024 tokens takes about half a
/// second on one core of this project's machine).
pub const STALL_MS: f64 = 20_000.0;

/// The figures of the newest finished forward pass, for the page's telemetry.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PassFigures {
    pub forward_ms: f64,
    /// Request to result in the page: the worker's pass plus handing the result over.
    pub roundtrip_ms: f64,
    pub tokens: usize,
    /// The helper worker computed half of the tokens.
    pub helped: bool,
    /// The worker's WebAssembly memory after the pass (it only grows, so this is its peak).
    pub wasm_memory_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ModelState {
    pub status: HashMap<ModelKind, Status>,
    pub run: Option<Rc<ModelRun>>,
    pub run_error: Option<String>,
    /// The compared sentence's pass of the newest answer, or why it has none.
    pub compare: Option<Rc<ModelRun>>,
    pub compare_error: Option<String>,
    /// The id of the newest request; answers to older ones are dropped (no stale result is drawn).
    pub latest: u64,
    /// A request is waiting for the worker, which was last heard from at `last_heard` (ms).
    pub pending: bool,
    pub last_heard: f64,
    /// When the newest request was sent (ms).
    pub sent_at: f64,
    /// The worker has said nothing for [`STALL_MS`] while a request waits: it may have crashed.
    pub stalled: bool,
    /// How many forward passes were drawn, and the newest one's figures.
    pub passes: u32,
    pub last_pass: Option<PassFigures>,
    /// The model opened from the user's files, once the worker has it.
    pub opened: Option<Rc<OpenedInfo>>,
    /// How far the newest request's pass is, if the worker said (layers done, layers): long passes only.
    pub working: Option<(usize, usize)>,
    /// The last model opened from the user's files in this tab (reading another does not forget it).
    pub last_opened: Option<FileIdentity>,
}

/// What happens to the models' side; `now` is the page's clock in ms.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelMsg {
    Sent {
        id: u64,
        model: ModelKind,
        now: f64,
    },
    Out {
        out: WorkerOut,
        now: f64,
    },
    /// The page handed the worker the user's files (`total` bytes) to open.
    Opening {
        total: u64,
        now: f64,
    },
    /// The user turned away from a file that failed to open ("continue with the toy model").
    FileDismissed,
    /// The watchdog's clock.
    Tick {
        now: f64,
    },
}

impl ModelState {
    /// The file a share link asks for (`link_file`), which the next opened file must match, unless it
    /// is the file last opened in this tab: then the link only records the user's own choice, and
    /// picking another file (even while one is being read) opens it.
    pub fn link_wants<'a>(&self, link_file: Option<&'a FileIdentity>) -> Option<&'a FileIdentity> {
        link_file.filter(|w| Some(*w) != self.last_opened.as_ref())
    }

    /// The newest pass's result time in ms, if a pass has been drawn.
    pub fn forward_ms(&self) -> Option<f64> {
        self.last_pass.map(|p| p.forward_ms)
    }

    /// The next state, or `None` when the message changes nothing (so the page does not re-render).
    pub fn reduce(&self, msg: ModelMsg) -> Option<ModelState> {
        let now = match msg {
            ModelMsg::FileDismissed => {
                let failed = matches!(self.status.get(&ModelKind::File), Some(Status::Failed(_)));
                return failed.then(|| {
                    let mut s = self.clone();
                    s.status.remove(&ModelKind::File);
                    s
                });
            }
            ModelMsg::Tick { now } => {
                let silent = self.pending && !self.stalled && now - self.last_heard > STALL_MS;
                return silent.then(|| ModelState { stalled: true, ..self.clone() });
            }
            ModelMsg::Sent { now, .. } | ModelMsg::Out { now, .. } | ModelMsg::Opening { now, .. } => now,
        };
        let mut s = self.clone();
        s.last_heard = now;
        s.stalled = false;
        match msg {
            ModelMsg::Tick { .. } | ModelMsg::FileDismissed => {}
            ModelMsg::Opening { total, .. } => {
                s.pending = true;
                s.opened = None;
                s.status.insert(ModelKind::File, Status::Loading { stage: "reading".into(), loaded: 0, total });
            }
            ModelMsg::Sent { id, model, .. } => {
                s.pending = true;
                s.latest = id;
                s.working = None;
                s.sent_at = now;
                if matches!(s.status.get(&model), None | Some(Status::Idle) | Some(Status::Failed(_))) {
                    s.status.insert(model, Status::Loading { stage: "starting".into(), loaded: 0, total: 0 });
                }
            }
            ModelMsg::Out { out, .. } => match out {
                WorkerOut::Progress { model, stage, loaded, total } => {
                    s.status.insert(model, Status::Loading { stage, loaded, total });
                }
                WorkerOut::Ready { model, load_ms, bytes, from_cache } => {
                    s.status.insert(model, Status::Ready { load_ms, bytes, from_cache });
                }
                WorkerOut::Opened { info, load_ms } => {
                    s.pending = false;
                    let bytes = info.identity.bytes;
                    s.status.insert(ModelKind::File, Status::Ready { load_ms, bytes, from_cache: false });
                    s.last_opened = Some(info.identity.clone());
                    s.opened = Some(Rc::new(*info));
                }
                WorkerOut::LoadFailed { model, message } => {
                    s.pending = false;
                    s.status.insert(model, Status::Failed(message));
                }
                WorkerOut::Done { id, run, forward_ms, wasm_memory_bytes, helped, compare, compare_error } => {
                    if id == s.latest {
                        s.pending = false;
                        s.working = None;
                        s.passes += 1;
                        s.last_pass = Some(PassFigures {
                            forward_ms,
                            roundtrip_ms: now - s.sent_at,
                            tokens: run.num_tokens(),
                            helped,
                            wasm_memory_bytes,
                        });
                        s.run = Some(Rc::new(*run));
                        s.run_error = None;
                        s.compare = compare.map(|c| Rc::new(*c));
                        s.compare_error = compare_error;
                    }
                }
                WorkerOut::Failed { id, message } => {
                    if id == s.latest {
                        s.pending = false;
                        s.working = None;
                        s.run_error = Some(message);
                    }
                }
                WorkerOut::Working { id, layers_done, layers } => {
                    if id == s.latest {
                        s.working = Some((layers_done, layers));
                    }
                }
            },
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(model: ModelKind, tokens: usize) -> Box<ModelRun> {
        let shape = model.shape().expect("a built-in model");
        Box::new(ModelRun::bare(model, shape, (0..tokens).map(|i| format!("t{i}")).collect(), Vec::new()))
    }

    fn done(id: u64, tokens: usize) -> WorkerOut {
        WorkerOut::Done {
            id,
            run: run(ModelKind::MiniLm, tokens),
            forward_ms: 12.5,
            wasm_memory_bytes: 1 << 20,
            helped: false,
            compare: None,
            compare_error: None,
        }
    }

    #[test]
    fn a_request_loads_then_draws_its_pass() {
        let m = ModelKind::MiniLm;
        let s = ModelState::default().reduce(ModelMsg::Sent { id: 1, model: m, now: 100.0 }).expect("changes");
        assert!(s.pending && matches!(s.status[&m], Status::Loading { .. }));
        let out = WorkerOut::Ready { model: m, load_ms: 900.0, bytes: 10, from_cache: true };
        let s = s.reduce(ModelMsg::Out { out, now: 1000.0 }).expect("changes");
        assert_eq!(s.status[&m], Status::Ready { load_ms: 900.0, bytes: 10, from_cache: true });
        let s = s.reduce(ModelMsg::Out { out: done(1, 7), now: 1040.0 }).expect("changes");
        assert!(!s.pending && s.run.is_some());
        let pass = s.last_pass.expect("figures");
        assert_eq!((pass.forward_ms, pass.roundtrip_ms, pass.tokens, s.passes), (12.5, 940.0, 7, 1));
        assert_eq!(s.forward_ms(), Some(12.5));
    }

    #[test]
    fn answers_to_older_requests_are_dropped() {
        let m = ModelKind::SmolLm2;
        let s = ModelState::default()
            .reduce(ModelMsg::Sent { id: 1, model: m, now: 0.0 })
            .and_then(|s| s.reduce(ModelMsg::Sent { id: 2, model: m, now: 5.0 }))
            .expect("changes");
        let s = s.reduce(ModelMsg::Out { out: done(1, 3), now: 10.0 }).expect("heard from");
        assert!(s.run.is_none() && s.pending && s.passes == 0, "the stale pass is not drawn");
        let failed = WorkerOut::Failed { id: 1, message: "old".into() };
        let s = s.reduce(ModelMsg::Out { out: failed, now: 11.0 }).expect("heard from");
        assert!(s.run_error.is_none() && s.pending);
        let failed = WorkerOut::Failed { id: 2, message: "too many tokens".into() };
        let s = s.reduce(ModelMsg::Out { out: failed, now: 12.0 }).expect("changes");
        assert_eq!((s.run_error.as_deref(), s.pending), (Some("too many tokens"), false));
    }

    #[test]
    fn the_watchdog_flags_a_silent_worker_once() {
        let m = ModelKind::MiniLm;
        let s = ModelState::default().reduce(ModelMsg::Sent { id: 1, model: m, now: 1000.0 }).expect("changes");
        assert!(s.reduce(ModelMsg::Tick { now: 1000.0 + STALL_MS }).is_none(), "not yet silent long enough");
        let stalled = s.reduce(ModelMsg::Tick { now: 1001.0 + STALL_MS }).expect("stalls");
        assert!(stalled.stalled);
        assert!(stalled.reduce(ModelMsg::Tick { now: 1e9 }).is_none(), "stalled once, no re-render per tick");
        let progress = WorkerOut::Progress { model: m, stage: "downloading".into(), loaded: 1, total: 2 };
        let back = stalled.reduce(ModelMsg::Out { out: progress, now: 1e9 }).expect("changes");
        assert!(!back.stalled, "any word from the worker clears it");
        assert!(ModelState::default().reduce(ModelMsg::Tick { now: 1e9 }).is_none(), "nothing pending: no stall");
    }

    #[test]
    fn a_long_pass_says_how_far_it_is_and_keeps_the_watchdog_quiet() {
        let m = ModelKind::SmolLm2;
        let s = ModelState::default().reduce(ModelMsg::Sent { id: 4, model: m, now: 0.0 }).expect("changes");
        let beat = |id, done| WorkerOut::Working { id, layers_done: done, layers: 30 };
        let s = s.reduce(ModelMsg::Out { out: beat(4, 12), now: STALL_MS - 1.0 }).expect("changes");
        assert_eq!(s.working, Some((12, 30)));
        assert!(s.reduce(ModelMsg::Tick { now: 2.0 * STALL_MS - 2.0 }).is_none(), "heard from a moment ago");
        let s = s.reduce(ModelMsg::Out { out: beat(3, 20), now: STALL_MS }).expect("heard from");
        assert_eq!(s.working, Some((12, 30)), "an older request's pass says nothing about this one's");
        let next = s.reduce(ModelMsg::Sent { id: 5, model: m, now: STALL_MS + 1.0 }).expect("changes");
        assert_eq!(next.working, None, "a new request starts from nothing");
        let s = s.reduce(ModelMsg::Out { out: done(4, 1000), now: STALL_MS + 2.0 }).expect("changes");
        assert_eq!((s.working, s.pending), (None, false), "done: no progress left to show");
    }

    #[test]
    fn a_failed_load_can_be_retried() {
        let m = ModelKind::MiniLm;
        let failed = WorkerOut::LoadFailed { model: m, message: "sha256 mismatch".into() };
        let s = ModelState::default().reduce(ModelMsg::Out { out: failed, now: 0.0 }).expect("changes");
        assert_eq!(s.status[&m], Status::Failed("sha256 mismatch".into()));
        let s = s.reduce(ModelMsg::Sent { id: 3, model: m, now: 1.0 }).expect("changes");
        assert!(matches!(s.status[&m], Status::Loading { .. }), "a new request starts loading again");
    }

    #[test]
    fn opening_a_file_reads_then_is_ready_with_its_card() {
        use crate::models::{FileIdentity, OpenedInfo, Shape};
        let s = ModelState::default().reduce(ModelMsg::Opening { total: 500, now: 10.0 }).expect("changes");
        assert!(s.pending && matches!(s.status[&ModelKind::File], Status::Loading { total: 500, .. }));
        let progress = WorkerOut::Progress { model: ModelKind::File, stage: "reading".into(), loaded: 250, total: 500 };
        let s = s.reduce(ModelMsg::Out { out: progress, now: 20.0 }).expect("changes");
        assert!(matches!(s.status[&ModelKind::File], Status::Loading { loaded: 250, .. }));
        let identity =
            FileIdentity { name: "m.gguf".into(), bytes: 500, sha256: "ab".repeat(32), arch: "llama".into() };
        let info = OpenedInfo {
            name: "m".into(),
            architecture: "llama".into(),
            parameters: 1000,
            tensor_types: vec!["Q8_0".into()],
            shape: Shape { layers: 2, heads: 6, kv_heads: 3, head_dim: 16, causal: true },
            vocab_size: 320,
            max_positions: 64,
            identity,
        };
        let out = WorkerOut::Opened { info: Box::new(info.clone()), load_ms: 30.0 };
        let s = s.reduce(ModelMsg::Out { out, now: 40.0 }).expect("changes");
        assert!(!s.pending);
        assert_eq!(s.status[&ModelKind::File], Status::Ready { load_ms: 30.0, bytes: 500, from_cache: false });
        assert_eq!(s.opened.as_deref(), Some(&info));
        let failed = WorkerOut::LoadFailed { model: ModelKind::File, message: "not a GGUF file".into() };
        let other = FileIdentity { name: "n.gguf".into(), ..info.identity.clone() };
        assert_eq!(ModelState::default().link_wants(Some(&other)), Some(&other), "a link's file, none opened yet");
        assert_eq!(s.link_wants(Some(&info.identity)), None, "the link records the file opened here");
        assert_eq!(s.link_wants(Some(&other)), Some(&other), "a link to another file still asks for it");
        let again = s.reduce(ModelMsg::Opening { total: 9, now: 50.0 }).expect("changes");
        assert!(again.opened.is_none(), "a new file replaces the card");
        assert_eq!(again.link_wants(Some(&info.identity)), None, "still, while the next file is read");
        let f = again.reduce(ModelMsg::Out { out: failed, now: 60.0 }).expect("changes");
        assert_eq!(f.status[&ModelKind::File], Status::Failed("not a GGUF file".into()));
        assert!(!f.pending);
        let dismissed = f.reduce(ModelMsg::FileDismissed).expect("changes");
        assert!(!dismissed.status.contains_key(&ModelKind::File));
        assert!(dismissed.reduce(ModelMsg::FileDismissed).is_none(), "nothing failed: nothing to dismiss");
    }
}

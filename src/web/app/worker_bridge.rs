//! The page's side of the model worker: asks it for a forward pass whenever the model, the settled
//! sentence or the layer changes, feeds its answers and a watchdog clock into the pure
//! [`ModelState`] reducer, and says where the worker may start a helper.

use super::perf;
use crate::model_state::{ModelMsg, ModelState};
use crate::models::{FileIdentity, ModelKind};
use crate::protocol::{OpenFile, WorkerIn};
use crate::split_policy::helpers_for;
use crate::web::dom;
use crate::web::model_worker::ModelWorker;
use std::rc::Rc;
use yew::prelude::*;
use yew_agent::reactor::{use_reactor_bridge, ReactorEvent};

/// Yew's side of the pure reducer: the page's re-render follows only real changes.
pub struct Models(pub ModelState);

impl Reducible for Models {
    type Action = ModelMsg;
    fn reduce(self: Rc<Self>, msg: ModelMsg) -> Rc<Self> {
        match self.0.reduce(msg) {
            Some(next) => Rc::new(Models(next)),
            None => self,
        }
    }
}

/// How often the watchdog looks at the worker's silence.
const WATCHDOG_MS: u32 = 2_000;

/// The worker script the model worker may start helper workers from (the build the page chose), as an
/// absolute URL, and how many it may start for `model` (`split_policy::helpers_for` this machine's
/// logical cores); `None` where none would help, or if the page was told to do without
/// (`window.__arcsNoHelper`, for measuring one worker alone).
fn helper_script_url(model: ModelKind) -> (Option<String>, u32) {
    let Ok(window) = dom::window() else { return (None, 0) };
    let off = js_sys::Reflect::get(&window, &"__arcsNoHelper".into()).is_ok_and(|v| v.is_truthy());
    let cores = window.navigator().hardware_concurrency().max(0.0) as usize;
    // An opened model counts as a decoder here: the worker starts helpers only for a decoder from one
    // GGUF file (`split_policy::MAX_HELPER_MODEL_BYTES` at most).
    let count = helpers_for(cores, model != ModelKind::MiniLm);
    if off || count == 0 {
        return (None, 0);
    }
    let script = if perf::worker_build_is_plain() { "worker.js" } else { "worker-simd.js" };
    let url = web_sys::Url::new_with_base(script, &dom::href()).ok().map(|u| u.href());
    (url, count as u32)
}

fn models_base_url() -> String {
    let href = dom::href();
    web_sys::Url::new_with_base("models/", &href).map(|u| u.href()).unwrap_or_else(|_| "models/".to_string())
}

/// What the open views need from each pass besides the attention.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Wants {
    /// The head-roles map is open.
    pub roles: bool,
    /// Value-weighted arcs.
    pub value_norms: bool,
    /// The logit lens is open.
    pub lens: bool,
    /// The sentence to compare with (its pass comes with the main one).
    pub compare: Option<String>,
}

/// Files to open, and the identity a share link expects of them.
pub type OpenRequest = (Vec<web_sys::File>, Option<FileIdentity>);

/// The models' state, a callback that asks again (after a failed load), and one that opens the user's
/// files in the worker (as `blob:` URLs of this page: the bytes never leave the machine).
#[hook]
pub fn use_model_worker(
    model: Option<ModelKind>,
    text: String,
    layer: usize,
    wants: Wants,
) -> (UseReducerHandle<Models>, Callback<()>, Callback<OpenRequest>, Callback<()>) {
    let models = use_reducer(|| Models(ModelState::default()));
    let bridge = {
        let models = models.clone();
        use_reactor_bridge::<ModelWorker, _>(move |ev| {
            if let ReactorEvent::Output(out) = ev {
                models.dispatch(ModelMsg::Out { out, now: dom::now_ms() });
            }
        })
    };
    {
        let models = models.clone();
        use_effect_with((), move |_| {
            let watchdog = gloo_timers::callback::Interval::new(WATCHDOG_MS, move || {
                models.dispatch(ModelMsg::Tick { now: dom::now_ms() })
            });
            move || drop(watchdog)
        });
    }
    let next_id = use_mut_ref(|| 0u64);
    let retry_tick = use_state(|| 0u32);
    // An opened model's passes wait for its file, and start again when another file is opened.
    let opened = models.0.opened.as_ref().map(|o| o.identity.sha256.clone());
    let blob_urls = use_mut_ref(Vec::<String>::new);
    let on_cancel = {
        let bridge = bridge.clone();
        Callback::from(move |_| bridge.send(WorkerIn::CancelOpen))
    };
    let on_open = {
        let (models, bridge) = (models.clone(), bridge.clone());
        Callback::from(move |(files, expect): OpenRequest| {
            for url in blob_urls.borrow_mut().drain(..) {
                let _ = web_sys::Url::revoke_object_url(&url);
            }
            let mut open = Vec::with_capacity(files.len());
            for f in &files {
                let Ok(url) = web_sys::Url::create_object_url_with_blob(f) else { continue };
                blob_urls.borrow_mut().push(url.clone());
                open.push(OpenFile { name: f.name(), bytes: f.size() as u64, url });
            }
            let total = open.iter().map(|f| f.bytes).sum();
            models.dispatch(ModelMsg::Opening { total, now: dom::now_ms() });
            bridge.send(WorkerIn::Open { files: open, expect });
        })
    };
    {
        let models = models.clone();
        use_effect_with(
            (model, text, layer, wants, *retry_tick, opened),
            move |(model, text, layer, wants, _, opened)| {
                if model.is_some_and(|m| m == ModelKind::File) && opened.is_none() {
                    return;
                }
                if let Some(model) = *model {
                    let id = {
                        let mut n = next_id.borrow_mut();
                        *n += 1;
                        *n
                    };
                    models.dispatch(ModelMsg::Sent { id, model, now: dom::now_ms() });
                    let (base, (helper, helpers)) = (models_base_url(), helper_script_url(model));
                    let Wants { roles, value_norms, lens, compare } = wants.clone();
                    let (layer, text) = (*layer, text.clone());
                    bridge.send(WorkerIn::Run {
                        id,
                        model,
                        base,
                        text,
                        layer,
                        helper,
                        helpers,
                        roles,
                        value_norms,
                        lens,
                        compare,
                    });
                }
            },
        );
    }
    let on_retry = Callback::from(move |_| retry_tick.set(*retry_tick + 1));
    (models, on_retry, on_open, on_cancel)
}

//! The page's side of the model worker: asks it for a forward pass whenever the model, the settled
//! sentence or the layer changes, feeds its answers and a watchdog clock into the pure
//! [`ModelState`] reducer, and says where the worker may start a helper.

use super::perf;
use crate::model_state::{ModelMsg, ModelState};
use crate::models::ModelKind;
use crate::protocol::WorkerIn;
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

/// Logical cores below which the model worker does not start a helper: with two, the page's own
/// rendering competes with the two workers for the cores, and a pass measured slower with the
/// helper than without (README, "Measured").
const HELPER_MIN_CORES: f64 = 4.0;

/// The worker script the model worker may start a helper from (the build the page chose), as an
/// absolute URL; `None` on machines with few cores, or if the page was told to do without
/// (`window.__arcsNoHelper`, for measuring one worker alone).
fn helper_script_url() -> Option<String> {
    let window = dom::window().ok()?;
    let off = js_sys::Reflect::get(&window, &"__arcsNoHelper".into()).is_ok_and(|v| v.is_truthy());
    if off || window.navigator().hardware_concurrency() < HELPER_MIN_CORES {
        return None;
    }
    let script = if perf::worker_build_is_plain() { "worker.js" } else { "worker-simd.js" };
    web_sys::Url::new_with_base(script, &dom::href()).ok().map(|u| u.href())
}

fn models_base_url() -> String {
    let href = dom::href();
    web_sys::Url::new_with_base("models/", &href).map(|u| u.href()).unwrap_or_else(|_| "models/".to_string())
}

/// The models' state, and a callback that asks again (after a failed load).
#[hook]
pub fn use_model_worker(
    model: Option<ModelKind>,
    text: String,
    layer: usize,
    roles: bool,
) -> (UseReducerHandle<Models>, Callback<()>) {
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
    {
        let models = models.clone();
        use_effect_with((model, text, layer, roles, *retry_tick), move |(model, text, layer, roles, _)| {
            if let Some(model) = *model {
                let id = {
                    let mut n = next_id.borrow_mut();
                    *n += 1;
                    *n
                };
                models.dispatch(ModelMsg::Sent { id, model, now: dom::now_ms() });
                let (base, helper) = (models_base_url(), helper_script_url());
                let (layer, roles) = (*layer, *roles);
                bridge.send(WorkerIn::Run { id, model, base, text: text.clone(), layer, helper, roles });
            }
        });
    }
    let on_retry = Callback::from(move |_| retry_tick.set(*retry_tick + 1));
    (models, on_retry)
}

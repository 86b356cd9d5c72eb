//! Whether the model worker splits its next pass over its helper workers or works alone, from what it
//! measured: the split must never make the app slower than one worker.
//!
//! How much a split gains depends on the pass's size (small passes are dominated by preparing the
//! weights, which every worker does for itself, and by the exchanges) and on what else the machine
//! runs (the page's own rendering competes for the cores). So the worker times its passes both ways,
//! per size class (powers of two of the token count), and takes the faster; the slower way is tried
//! again now and then, so a machine that got busier or quieter is noticed.

use std::collections::BTreeMap;

/// Below this many tokens a pass takes a few milliseconds and the exchanges would cost more than
/// they save: always alone.
pub const MIN_TOKENS: usize = 8;

/// Passes of one size class after which the slower way is measured once more.
pub const RETRY_EVERY: u32 = 12;

/// Most helper workers the model worker starts: each holds its own copy of the model, and the
/// exchanges grow with their number.
pub const MAX_HELPERS: usize = 3;

/// Largest model file the model worker hands to helpers: each holds its own copy (and a larger model's
/// passes leave little memory to spare).
pub const MAX_HELPER_MODEL_BYTES: u64 = 512_000_000;

/// Logical cores an encoder's helpers need: its passes take milliseconds, and on two cores the page's
/// own rendering competes with two workers; a pass was measured slower with a helper than without
/// (README, "Measured").
pub const ENCODER_MIN_CORES: usize = 4;

/// How many helpers the page asks for on a machine with `cores` logical cores: one per core beyond the
/// model worker's, at most [`MAX_HELPERS`]. A decoder's passes take long enough (tenths of a second
/// and up) for the page to stay idle while they run, so they use a second core from two on.
pub fn helpers_for(cores: usize, decoder: bool) -> usize {
    let min_cores = if decoder { 2 } else { ENCODER_MIN_CORES };
    if cores < min_cores {
        return 0;
    }
    (cores - 1).min(MAX_HELPERS)
}

/// Weight of a new measurement in the running mean (the machine's load changes; old passes fade).
const NEW_WEIGHT: f64 = 0.5;

/// Milliseconds per token of one size class, each way.
#[derive(Clone, Debug, Default, PartialEq)]
struct Rates {
    alone: Option<f64>,
    split: Option<f64>,
    /// Passes since the slower way was last measured.
    since_retry: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SplitPolicy {
    classes: BTreeMap<u32, Rates>,
}

/// The size class of `n` tokens: passes within a factor of two are compared with each other.
fn class(n: usize) -> u32 {
    usize::BITS - n.max(1).leading_zeros()
}

impl SplitPolicy {
    /// Whether a pass of `n` tokens should be split (given helpers ready to take part).
    pub fn split(&self, n: usize) -> bool {
        if n < MIN_TOKENS {
            return false;
        }
        let Some(r) = self.classes.get(&class(n)) else {
            // Nothing measured at this size: alone first, then split, then the faster.
            return false;
        };
        match (r.alone, r.split) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(alone), Some(split)) => {
                let faster_split = split <= alone;
                if r.since_retry >= RETRY_EVERY {
                    !faster_split
                } else {
                    faster_split
                }
            }
        }
    }

    /// Records a pass of `n` tokens that took `ms`, split or alone.
    pub fn record(&mut self, n: usize, split: bool, ms: f64) {
        if n < MIN_TOKENS || !ms.is_finite() || ms < 0.0 {
            return;
        }
        let per_token = ms / n as f64;
        let r = self.classes.entry(class(n)).or_default();
        let was_retry = r.since_retry >= RETRY_EVERY;
        let slot = if split { &mut r.split } else { &mut r.alone };
        *slot = Some(slot.map_or(per_token, |old| old + NEW_WEIGHT * (per_token - old)));
        r.since_retry = if was_retry { 0 } else { r.since_retry + 1 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_follow_the_cores() {
        assert_eq!(helpers_for(1, true), 0);
        assert_eq!(helpers_for(2, true), 1);
        assert_eq!(helpers_for(2, false), 0, "an encoder needs cores for the page too");
        assert_eq!(helpers_for(4, false), 3);
        assert_eq!(helpers_for(64, true), MAX_HELPERS);
    }

    #[test]
    fn small_passes_always_run_alone() {
        let mut p = SplitPolicy::default();
        for _ in 0..3 {
            p.record(4, false, 100.0);
            p.record(4, true, 1.0);
        }
        assert!(!p.split(MIN_TOKENS - 1));
    }

    #[test]
    fn measures_alone_then_split_then_keeps_the_faster() {
        let mut p = SplitPolicy::default();
        assert!(!p.split(40), "nothing measured: alone first");
        p.record(40, false, 400.0);
        assert!(p.split(40), "alone measured: try the split");
        p.record(40, true, 250.0);
        assert!(p.split(40), "the split was faster");
        // Another size class knows nothing yet.
        assert!(!p.split(200));
        // A split that turned slower (the machine got busy) is dropped.
        p.record(40, true, 800.0);
        p.record(40, true, 800.0);
        assert!(!p.split(40), "the split is now slower than alone");
    }

    #[test]
    fn the_slower_way_is_tried_again_now_and_then() {
        let mut p = SplitPolicy::default();
        p.record(64, false, 100.0);
        p.record(64, true, 300.0);
        let mut tries = 0;
        for _ in 0..3 * RETRY_EVERY {
            let split = p.split(64);
            tries += u32::from(split);
            // Every pass measures what it did: alone stays fast, the split stays slow.
            p.record(64, split, if split { 300.0 } else { 100.0 });
        }
        assert!((2..=4).contains(&tries), "the split was retried {tries} times in {} passes", 3 * RETRY_EVERY);
    }

    #[test]
    fn nonsense_timings_are_ignored() {
        let mut p = SplitPolicy::default();
        p.record(40, false, f64::NAN);
        p.record(40, false, -1.0);
        assert_eq!(p, SplitPolicy::default());
    }
}

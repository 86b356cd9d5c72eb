//! The forward pass driven step by step, as the app drives it with a helper worker: the same
//! numbers as `forward`, and steps that do not fit the model are errors, not panics.

mod common;

use arcs_minilm::{Half, Job, MiniLm, ModelError};

fn bundle_model() -> MiniLm {
    MiniLm::from_bundle(common::bundle_bytes()).expect("bundle loads")
}

#[test]
fn steps_give_the_forward_pass_bit_for_bit() {
    if !common::model_present("steps_give_the_forward_pass_bit_for_bit") {
        return;
    }
    let model = bundle_model();
    let ids = model.tokenizer().encode("The animal didn't cross the street because it was too tired.").ids;
    for last_output in [false, true] {
        let want = if last_output { model.forward(&ids) } else { model.forward_attention(&ids) }.expect("forward");
        let mut steps = model.start(&ids, last_output).expect("start");
        let mut jobs = 0;
        while let Some(job) = steps.job() {
            // The second half first and from a copy of the job, as a helper worker would see it.
            let remote = job.clone();
            let second = model.run_half(&remote, 1).expect("half 1");
            let first = model.run_half(job, 0).expect("half 0");
            steps.complete(&model, [first, second]).expect("complete");
            jobs += 1;
        }
        // 6 layers x (attention + feed-forward), less the last feed-forward block unless asked for.
        assert_eq!(jobs, if last_output { 12 } else { 11 });
        assert_eq!(steps.finish(), want);
    }
}

#[test]
fn steps_that_do_not_fit_are_errors() {
    if !common::model_present("steps_that_do_not_fit_are_errors") {
        return;
    }
    let model = bundle_model();
    let ids = model.tokenizer().encode("a short one").ids;
    let mut steps = model.start(&ids, false).expect("start");
    let job = steps.job().expect("a first step").clone();
    let Job::Attention { input, .. } = &job else { panic!("the pass starts with attention") };
    let bad_step = |r: Result<Half, ModelError>| matches!(r, Err(ModelError::BadStep(_)));
    assert!(bad_step(model.run_half(&job, 2)));
    assert!(bad_step(model.run_half(&Job::Attention { layer: 6, input: input.clone() }, 0)));
    let narrow = arcs_minilm::Matrix::zeros(input.rows(), 7);
    assert!(bad_step(model.run_half(&Job::FeedForward { layer: 0, input: narrow }, 0)));
    // Halves of the wrong kind, or from a different sentence, are refused and the step stays.
    let ffn = model.run_half(&Job::FeedForward { layer: 0, input: input.clone() }, 0).expect("ffn half");
    let other = model.start(&model.tokenizer().encode("a different, longer sentence here").ids, false).expect("start");
    let other_half = model.run_half(other.job().expect("step"), 1).expect("half");
    let first = model.run_half(&job, 0).expect("half 0");
    assert!(steps.complete(&model, [first.clone(), ffn]).is_err());
    assert!(steps.complete(&model, [first.clone(), other_half]).is_err());
    assert_eq!(steps.job(), Some(&job), "a refused step stays");
    let second = model.run_half(&job, 1).expect("half 1");
    steps.complete(&model, [first, second]).expect("the right halves complete the step");
    assert!(matches!(steps.job(), Some(Job::FeedForward { layer: 0, .. })));
}

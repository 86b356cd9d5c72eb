//! The forward pass split by tokens, as the app splits it between its model worker and a helper
//! worker: the same numbers to the last bit as one pass, and parts that do not fit are errors.

#[path = "common_minilm/mod.rs"]
mod common;

use arcs_models::minilm::{Matrix, MiniLm, MiniLmOutput, ModelError, RowPass};

fn bundle_model() -> MiniLm {
    MiniLm::from_bundle(common::bundle_bytes()).expect("bundle loads")
}

/// Runs the parts in lock-step, exchanging keys and values once per layer as the workers do.
fn run_parts(model: &MiniLm, ids: &[u32], cuts: &[usize], last_output: bool) -> MiniLmOutput {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(ids.len());
    let mut parts: Vec<RowPass> =
        bounds.windows(2).map(|w| model.row_pass(ids, w[0]..w[1], last_output).expect("part")).collect();
    while parts[0].layer().is_some() {
        let kv: Vec<(Matrix, Matrix)> = parts.iter_mut().map(|p| p.keys_values(model).expect("kv")).collect();
        let (mut keys, mut values) = kv[0].clone();
        for (k, v) in &kv[1..] {
            keys.append_rows(k.clone()).expect("same width");
            values.append_rows(v.clone()).expect("same width");
        }
        for p in &mut parts {
            p.finish_layer(model, &keys, &values).expect("finish");
        }
    }
    assert!(parts.iter().all(|p| p.layer().is_none()));
    MiniLmOutput::stack(parts.into_iter().map(RowPass::finish).collect()).expect("stack")
}

#[test]
fn any_split_by_tokens_gives_the_same_bits() {
    if !common::model_present("any_split_by_tokens_gives_the_same_bits") {
        return;
    }
    let model = bundle_model();
    let ids = model.tokenizer().encode("The animal didn't cross the street because it was too tired.").ids;
    let n = ids.len();
    for last_output in [false, true] {
        let whole = if last_output { model.forward(&ids) } else { model.forward_attention(&ids) }.expect("forward");
        assert_eq!(whole.last_hidden_state.is_some(), last_output);
        for cuts in [vec![n / 2], vec![1], vec![n - 1], vec![3, 7, 8]] {
            assert_eq!(run_parts(&model, &ids, &cuts, last_output), whole, "cuts {cuts:?}");
        }
    }
}

#[test]
fn parts_that_do_not_fit_are_errors() {
    if !common::model_present("parts_that_do_not_fit_are_errors") {
        return;
    }
    let model = bundle_model();
    let ids = model.tokenizer().encode("a short one").ids;
    let n = ids.len();
    let bad = |r: Result<RowPass, ModelError>| matches!(r, Err(ModelError::BadPart(_)));
    assert!(bad(model.row_pass(&ids, 0..0, false)));
    assert!(bad(model.row_pass(&ids, 1..n + 1, false)));
    assert!(matches!(model.row_pass(&[], 0..0, false), Err(ModelError::EmptyInput)));
    let mut part = model.row_pass(&ids, 0..2, false).expect("part");
    let mut other = model.row_pass(&ids, 2..n, false).expect("part");
    // finish_layer before keys_values, and keys of the wrong shape, are refused.
    let full = Matrix::zeros(n, 384);
    assert!(matches!(part.finish_layer(&model, &full, &full), Err(ModelError::BadPart(_))));
    let (k0, v0) = part.keys_values(&model).expect("kv");
    let (k1, v1) = other.keys_values(&model).expect("kv");
    assert!(matches!(part.finish_layer(&model, &k0, &v0), Err(ModelError::BadPart(_))));
    let (mut keys, mut values) = (k0, v0);
    keys.append_rows(k1).expect("width");
    values.append_rows(v1).expect("width");
    part.finish_layer(&model, &keys, &values).expect("the right keys finish the layer");
    assert_eq!(part.layer(), Some(1));
    // Parts of different depths do not stack.
    let shallow = model.row_pass(&ids, 2..n, false).expect("part").finish();
    assert!(matches!(MiniLmOutput::stack(vec![part.finish(), shallow]), Err(ModelError::BadPart(_))));
    assert!(matches!(MiniLmOutput::stack(vec![]), Err(ModelError::BadPart(_))));
}

//! The trained models in `models/`: the compiled circuit (bit-sliced plaintext
//! evaluation), the reference interpreter and the numpy fixed-point simulation
//! (`test_fixed_predictions.npy`) agree on every test sample. For the projected and
//! pruned models (`*_pp`) the raw test inputs are projected as the client does
//! (`Network::prepare_input`), so the projection is checked against numpy too.

use garnet_compiler::inputs::{parse_npy, quantize_input};
use garnet_compiler::ir::Network;
use garnet_compiler::weights::load_safetensors;
use garnet_compiler::{
    Sources, circuit_inputs, compile, count, decode_outputs, frontend_file, reference, render,
};
use std::path::PathBuf;

fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
}

fn load(name: &str) -> Network {
    let path = model_dir(name).join(format!("{name}.gnet"));
    let mut s = Sources::new();
    frontend_file(&path, &mut s).unwrap_or_else(|d| panic!("{}", render(&d, &s)))
}

fn read(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(model_dir(name).join(file)).expect("model file")
}

/// Runs all test samples of model `name` through the circuit and the reference;
/// returns the circuit's labels.
fn check_model(name: &str, expect_samples: usize) -> Vec<i64> {
    let net = load(name);
    let w =
        load_safetensors(&net, &read(name, &format!("{name}.safetensors"))).expect("weights bind");
    assert_eq!(w.saturated_total(), 0, "no weight saturates");
    let xs = parse_npy(&read(name, "test_inputs.npy")).expect("inputs");
    let expected: Vec<i64> = parse_npy(&read(name, "test_fixed_predictions.npy"))
        .expect("predictions")
        .iter()
        .map(|v| *v as i64)
        .collect();
    assert_eq!(expected.len(), expect_samples);
    let input = net.given_input(0);
    let circuit_input = &net.tensors[net.inputs[0].tensor];
    let per = input.len();
    assert_eq!(xs.len(), per * expected.len());
    let circuit = compile(&net, None).expect("compiles");
    let (counts, _) = count(&net, None).expect("counts");
    let built = garnet_circuits::stats::Stats::of(&circuit);
    assert_eq!(
        (counts.and, counts.xor, counts.not),
        (built.and_gates, built.xor_gates, built.not_gates),
        "counter vs compiled circuit"
    );
    let mut samples = Vec::new();
    let mut reference_labels = Vec::new();
    for chunk in xs.chunks(per) {
        let q = quantize_input(chunk, input).expect("quantizes");
        assert_eq!(q.saturated, 0);
        let values = net.prepare_input(0, q.values).expect("projects");
        let out = reference::evaluate(
            &net,
            &w,
            &[(circuit_input.name.clone(), values.clone())].into(),
        )
        .expect("reference runs");
        reference_labels.push(out["label"][0]);
        samples.push(circuit_inputs(&net, &circuit, Some(&w), &[values]).expect("input bits"));
    }
    let outs = circuit.eval_many(&samples).expect("evaluates");
    let circuit_labels: Vec<i64> = outs
        .iter()
        .map(|o| decode_outputs(&net, o).expect("decodes")["label"][0])
        .collect();
    assert_eq!(reference_labels, expected, "{name}: reference vs numpy");
    assert_eq!(circuit_labels, expected, "{name}: circuit vs numpy");
    circuit_labels
}

fn labels(name: &str) -> Vec<i64> {
    parse_npy(&read(name, "test_labels.npy"))
        .expect("labels")
        .iter()
        .map(|v| *v as i64)
        .collect()
}

fn accuracy(pred: &[i64], labels: &[i64]) -> f64 {
    pred.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / labels.len() as f64
}

#[test]
fn digits_pp_all_test_samples() {
    check_model("digits_pp", 360);
}

#[test]
fn breast_cancer_pp_all_test_samples() {
    check_model("breast_cancer_pp", 143);
}

#[test]
fn digits_pp_meets_the_deepsecure_target() {
    // Issue 12: projection and pruning give at least 5× fewer AND gates on digits
    // with at most 1.5 points of accuracy lost (the circuits' own predictions).
    let before = count(&load("digits"), None).expect("counts").0.and;
    let after = count(&load("digits_pp"), None).expect("counts").0.and;
    assert!(after * 5 <= before, "{before} -> {after} AND");
    let y = labels("digits");
    assert_eq!(y, labels("digits_pp"));
    let (a, b) = (
        accuracy(&check_model("digits", 360), &y),
        accuracy(&check_model("digits_pp", 360), &y),
    );
    assert!(a - b <= 0.015, "accuracy {a} -> {b}");
}

#[test]
fn digits_all_test_samples() {
    check_model("digits", 360);
}

#[test]
fn breast_cancer_all_test_samples() {
    check_model("breast_cancer", 143);
}

#[test]
fn digits_binarized_all_test_samples() {
    check_model("digits_binarized", 360);
}

#[test]
fn digits_gate_count_target() {
    // The target for 64→16→10 + argmax in fixed(16, 8), private weights:
    // at most 650,000 AND (Garble lang: 2,203,878).
    let net = load("digits");
    let c = compile(&net, None).expect("compiles");
    assert!(c.and_count() <= 650_000, "{} AND", c.and_count());
    let (counts, sections) = count(&net, None).expect("counts");
    assert!(counts.and <= 650_000);
    let names: Vec<&str> = sections.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["x", "fc1", "h", "fc2", "label"]);
    // the circuit's sections are the layers too
    let cs: Vec<&str> = c.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(cs, names);
}

//! Every bundled test input of every trained model through a real two-party session:
//! the secure prediction must equal the reference interpreter's, and the fixed-point
//! accuracy must stay within 1.5 points of the float model's (both in the model's
//! metrics.json and README).

use garnet_circuits::{Circuit, Party};
use garnet_compiler::inputs::quantize_input;
use garnet_compiler::ir::Network;
use garnet_compiler::weights::{Weights, load_safetensors};
use garnet_compiler::{Sources, circuit_inputs, decode_outputs, frontend_file, reference, render};
use garnet_runtime::garble::Scheme;
use garnet_runtime::session::run_in_memory_with;
use std::path::PathBuf;

struct Model {
    net: Network,
    weights: Weights,
    circuit: Circuit,
    inputs: Vec<Vec<i64>>,
    labels: Vec<i64>,
    float_accuracy: f64,
}

fn load(name: &str) -> Model {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    let mut sources = Sources::new();
    let net = frontend_file(&dir.join(format!("{name}.gnet")), &mut sources)
        .unwrap_or_else(|d| panic!("{name}.gnet: {}", render(&d, &sources)));
    let bytes = std::fs::read(dir.join(format!("{name}.safetensors"))).unwrap();
    let weights = load_safetensors(&net, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let circuit = garnet_compiler::compile(&net, Some(&weights)).unwrap();
    let read_json = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap()
    };
    let test = read_json("test.json");
    // A projected model (`*_pp`) takes the raw input, projected as the client does.
    let tensor = net.given_input(0).clone();
    let inputs = test["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let floats: Vec<f64> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            net.prepare_input(0, quantize_input(&floats, &tensor).unwrap().values)
                .unwrap()
        })
        .collect();
    let labels = test["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_i64().unwrap())
        .collect();
    let float_accuracy = read_json("metrics.json")["float_accuracy"]
        .as_f64()
        .unwrap();
    Model {
        net,
        weights,
        circuit,
        inputs,
        labels,
        float_accuracy,
    }
}

/// Splits the circuit's input bits by owner; the other party's entries stay empty.
fn split(circuit: &Circuit, all: Vec<Vec<bool>>) -> (Vec<Vec<bool>>, Vec<Vec<bool>>) {
    let mut garbler = Vec::new();
    let mut evaluator = Vec::new();
    for (spec, bits) in circuit.inputs.iter().zip(all) {
        let (mine, other) = match spec.owner {
            Party::Garbler => (&mut garbler, &mut evaluator),
            Party::Evaluator => (&mut evaluator, &mut garbler),
        };
        mine.push(bits);
        other.push(Vec::new());
    }
    (garbler, evaluator)
}

fn check_model(name: &str, scheme: Scheme) {
    let m = load(name);
    let output = &m.net.outputs[0].name;
    let mut correct = 0;
    for (i, (input, label)) in m.inputs.iter().zip(&m.labels).enumerate() {
        let all = circuit_inputs(
            &m.net,
            &m.circuit,
            Some(&m.weights),
            std::slice::from_ref(input),
        )
        .unwrap();
        let (g, e) = split(&m.circuit, all);
        let (garbler, evaluator) = run_in_memory_with(&m.circuit, &g, &e, scheme)
            .unwrap_or_else(|err| panic!("{name} #{i}: {err}"));
        if scheme == Scheme::ThreeHalves {
            // The per-phase report's table bytes per AND, on a real compiled network.
            for r in [&garbler.report, &evaluator.report] {
                let b = r.table_bytes_per_and().expect("the network has AND gates");
                assert!(b <= 24.7, "{name} #{i}: {b} bytes of tables per AND");
            }
        }
        let bits: Vec<Vec<bool>> = evaluator
            .outputs
            .into_iter()
            .map(|o| o.expect("the client learns the model's output"))
            .collect();
        let secure = decode_outputs(&m.net, &bits).unwrap()[output].clone();
        let values = reference::run(&m.net, &m.weights, std::slice::from_ref(input)).unwrap();
        let plain = reference::outputs(&m.net, &values)[output].clone();
        assert_eq!(secure, plain, "{name} test input {i}: secure vs reference");
        correct += (secure[0] == *label) as usize;
    }
    let fixed_accuracy = correct as f64 / m.labels.len() as f64;
    assert!(
        (fixed_accuracy - m.float_accuracy).abs() <= 0.015,
        "{name}: fixed-point accuracy {fixed_accuracy:.4} vs float {:.4}",
        m.float_accuracy
    );
    eprintln!(
        "{name} ({scheme}): {} inputs, secure = reference on all, fixed {:.2}% vs float {:.2}%",
        m.labels.len(),
        100.0 * fixed_accuracy,
        100.0 * m.float_accuracy
    );
}

#[test]
fn digits_two_party_matches_reference_on_every_test_input() {
    check_model("digits", Scheme::HalfGates);
}

#[test]
fn breast_cancer_two_party_matches_reference_on_every_test_input() {
    check_model("breast_cancer", Scheme::HalfGates);
}

#[test]
fn projected_pruned_digits_two_party_matches_reference_on_every_test_input() {
    check_model("digits_pp", Scheme::HalfGates);
    check_model("digits_pp", Scheme::ThreeHalves);
}

#[test]
fn projected_pruned_breast_cancer_two_party_matches_reference_on_every_test_input() {
    check_model("breast_cancer_pp", Scheme::HalfGates);
    check_model("breast_cancer_pp", Scheme::ThreeHalves);
}

#[test]
fn binarized_digits_two_party_matches_reference_on_every_test_input() {
    check_model("digits_binarized", Scheme::HalfGates);
}

#[test]
fn digits_three_halves_matches_reference_on_every_test_input() {
    check_model("digits", Scheme::ThreeHalves);
}

#[test]
fn breast_cancer_three_halves_matches_reference_on_every_test_input() {
    check_model("breast_cancer", Scheme::ThreeHalves);
}

#[test]
fn binarized_digits_three_halves_matches_reference_on_every_test_input() {
    check_model("digits_binarized", Scheme::ThreeHalves);
}

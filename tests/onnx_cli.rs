//! `garnet import` then `garnet eval` (the compiled circuit), run as a user would, on
//! the ONNX fixtures of `tools/make_onnx_fixtures.py`, against onnxruntime's outputs.

use garnet_compiler::inputs::parse_npy;
use std::path::PathBuf;
use std::process::{Command, Output};

fn garnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garnet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the garnet binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("garnet-onnx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}

fn npy(path: &str) -> Vec<f64> {
    parse_npy(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap())
        .unwrap()
}

/// `garnet eval --json` over every sample: one JSON object per line.
fn eval(net: &str, weights: &str, input: &str, data: &str) -> Vec<serde_json::Value> {
    let o = garnet(&[
        "eval",
        net,
        "--weights",
        weights,
        "-i",
        &format!("{input}={data}"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["outputs"].clone())
        .collect()
}

#[test]
fn import_then_eval_the_circuit_matches_onnxruntime() {
    // The conv net: labels, wherever onnxruntime's margin exceeds twice the logit
    // tolerance that onnx/tests/import.rs checks (0.4).
    let (gnet, st) = (scratch("cnn.gnet"), scratch("cnn.safetensors"));
    let o = garnet(&["import", "tests/fixtures/onnx/digits_cnn.onnx", "-o", &gnet]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("outputs: label"), "{}", stderr(&o));
    let labels = eval(&gnet, &st, "image", "models/digits/test_inputs.npy");
    let logits = npy("tests/fixtures/onnx/digits_cnn.logits.npy");
    let ort = npy("tests/fixtures/onnx/digits_cnn.labels.npy");
    assert_eq!(labels.len(), ort.len());
    let mut checked = 0;
    for (j, l) in labels.iter().enumerate() {
        let mut z = logits[j * 10..(j + 1) * 10].to_vec();
        z.sort_by(|a, b| b.partial_cmp(a).unwrap());
        if z[0] - z[1] > 0.8 {
            assert_eq!(l["label"].as_f64().unwrap(), ort[j], "sample {j}");
            checked += 1;
        }
    }
    assert!(checked * 10 >= labels.len() * 8, "{checked}");

    // The digits MLP as a tensor output: the logits within 0.1 on every sample.
    let (gnet, st) = (scratch("mlp.gnet"), scratch("mlp.w"));
    let o = garnet(&[
        "import",
        "tests/fixtures/onnx/digits_mlp.onnx",
        "-o",
        &gnet,
        "--weights",
        &st,
        "--outputs",
        "tensor",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let outs = eval(&gnet, &st, "image", "models/digits/test_inputs.npy");
    let logits = npy("tests/fixtures/onnx/digits_mlp.logits.npy");
    assert_eq!(outs.len() * 10, logits.len());
    for (j, o) in outs.iter().enumerate() {
        let v = o["fc2"]["values"].as_array().expect("fc2 values");
        for (k, x) in v.iter().enumerate() {
            let d = (x.as_f64().unwrap() - logits[j * 10 + k]).abs();
            assert!(d <= 0.1, "sample {j} logit {k}: {d}");
        }
    }
}

#[test]
fn unsupported_node_is_a_clear_error_and_writes_nothing() {
    let gnet = scratch("lstm.gnet");
    let o = garnet(&["import", "tests/fixtures/onnx/lstm.onnx", "-o", &gnet]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("node 1 `/lstm/LSTM` (LSTM): operator LSTM is not supported"),
        "{e}"
    );
    assert!(!std::path::Path::new(&gnet).exists());
    let o = garnet(&[
        "import",
        "tests/fixtures/onnx/digits_mlp.onnx",
        "-o",
        "tests/fixtures/onnx/digits_mlp.onnx",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is the model itself"), "{}", stderr(&o));
    let o = garnet(&[
        "import",
        "tests/fixtures/onnx/digits_mlp.onnx",
        "-o",
        &scratch("x.gnet"),
        "--format",
        "fixed(40, 8)",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("BITS must be in 2..=32"),
        "{}",
        stderr(&o)
    );
}

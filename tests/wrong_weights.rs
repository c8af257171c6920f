//! Broken weight files for the real digits model, through `garnet eval` as a user runs
//! it: each must fail with an error that names the tensor and the problem.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::process::Command;

fn model(file: &str) -> String {
    format!("{}/models/digits/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// The digits tensors as (name, dtype, shape, bytes), to be altered and re-serialized.
fn tensors() -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(model("digits.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn serialize(ts: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = ts
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, &None).unwrap()
}

/// `garnet eval` of the digits model with the weights in `bytes`.
fn eval_weights(name: &str, bytes: &[u8]) -> std::process::Output {
    let path = std::env::temp_dir().join(format!(
        "garnet-wrong-{}-{name}.safetensors",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_garnet"))
        .args([
            "eval",
            &model("digits.gnet"),
            "--weights",
            path.to_str().unwrap(),
        ])
        .args([
            "--input",
            &format!("image={}", model("inputs/sample_0.json")),
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    out
}

/// The error of a run that must fail.
fn eval_with(name: &str, bytes: &[u8]) -> String {
    let out = eval_weights(name, bytes);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{name}: accepted the broken weights");
    assert!(!err.contains("panicked"), "{name}: {err}");
    err
}

fn altered(f: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) -> Vec<u8> {
    let mut ts = tensors();
    f(&mut ts);
    serialize(&ts)
}

fn find<'a>(
    ts: &'a mut [(String, Dtype, Vec<usize>, Vec<u8>)],
    name: &str,
) -> &'a mut (String, Dtype, Vec<usize>, Vec<u8>) {
    ts.iter_mut().find(|t| t.0 == name).unwrap()
}

#[test]
fn the_untouched_file_works() {
    // The original and a re-serialized copy are accepted, so the failures below are
    // the alterations'.
    let original = std::fs::read(model("digits.safetensors")).unwrap();
    for (name, bytes) in [("original", original), ("copy", serialize(&tensors()))] {
        let out = eval_weights(name, &bytes);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn renamed_tensor() {
    let err = eval_with(
        "renamed",
        &altered(|ts| find(ts, "fc1.weight").0 = "fc_1.weight".into()),
    );
    assert!(err.contains("missing `fc1.weight`"), "{err}");
    assert!(err.contains("fc_1.weight"), "{err}");
}

#[test]
fn transposed_shape() {
    let err = eval_with(
        "transposed",
        &altered(|ts| find(ts, "fc1.weight").2 = vec![64, 16]),
    );
    assert!(err.contains("fc1.weight"), "{err}");
    assert!(
        err.contains("[16, 64]") && err.contains("[64, 16]"),
        "{err}"
    );
}

#[test]
fn half_precision_where_f32_is_expected() {
    let err = eval_with(
        "f16",
        &altered(|ts| {
            let t = find(ts, "fc2.weight");
            t.1 = Dtype::F16;
            t.3.truncate(t.3.len() / 2);
        }),
    );
    assert!(err.contains("fc2.weight") && err.contains("F16"), "{err}");
}

#[test]
fn nan_and_infinity() {
    for (label, value) in [
        ("nan", f32::NAN),
        ("inf", f32::INFINITY),
        ("-inf", f32::NEG_INFINITY),
    ] {
        let err = eval_with(
            label,
            &altered(|ts| find(ts, "fc1.bias").3[12..16].copy_from_slice(&value.to_le_bytes())),
        );
        assert!(
            err.contains("fc1.bias") && err.contains("NaN or infinity"),
            "{label}: {err}"
        );
        assert!(err.contains("index 3"), "{label}: {err}");
    }
}

#[test]
fn truncated_file() {
    let bytes = std::fs::read(model("digits.safetensors")).unwrap();
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        let err = eval_with(&format!("cut{cut}"), &bytes[..cut]);
        assert!(
            err.contains("safetensors") || err.contains("weights"),
            "cut at {cut}: {err}"
        );
    }
}

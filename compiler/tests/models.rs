//! The example networks in `models/` pass the front end with the expected shapes.

use garnet_compiler::ir::{Format, Network, Op, OutputOwner, ParamsOwner, Party};
use garnet_compiler::{Sources, frontend_file, render};
use std::path::PathBuf;

fn load(name: &str) -> Network {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
        .join(format!("{name}.gnet"));
    let mut s = Sources::new();
    match frontend_file(&path, &mut s) {
        Ok(n) => n,
        Err(d) => panic!("{}", render(&d, &s)),
    }
}

fn shapes(n: &Network) -> Vec<(String, Vec<usize>)> {
    n.layers
        .iter()
        .map(|l| (l.name.clone(), n.tensors[l.output].shape.clone()))
        .collect()
}

fn params(n: &Network) -> Vec<(String, Vec<usize>)> {
    n.params()
        .map(|p| (p.name.clone(), p.shape.clone()))
        .collect()
}

fn s(v: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    v.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect()
}

#[test]
fn digits() {
    let n = load("digits");
    assert_eq!(n.name, "digits");
    assert_eq!(n.default_format, Format::Fixed { bits: 16, frac: 8 });
    assert_eq!(n.params_owner, ParamsOwner::Party(Party::Server));
    assert_eq!(n.inputs[0].owner, Party::Client);
    assert_eq!(
        shapes(&n),
        s(&[
            ("x", &[64]),
            ("fc1", &[16]),
            ("h", &[16]),
            ("fc2", &[10]),
            ("label", &[1])
        ])
    );
    assert_eq!(
        params(&n),
        s(&[
            ("fc1.weight", &[16, 64]),
            ("fc1.bias", &[16]),
            ("fc2.weight", &[10, 16]),
            ("fc2.bias", &[10])
        ])
    );
    assert_eq!(n.outputs.len(), 1);
    assert_eq!(n.outputs[0].name, "label");
    assert_eq!(n.outputs[0].owner, OutputOwner::Client);
    assert_eq!(
        n.tensors[n.outputs[0].tensor].format,
        Format::Index { bits: 4 }
    );
}

#[test]
fn deepsecure_b1() {
    let n = load("deepsecure_b1");
    assert_eq!(
        shapes(&n),
        s(&[
            ("conv1", &[5, 13, 13]),
            ("a1", &[5, 13, 13]),
            ("x", &[845]),
            ("fc1", &[100]),
            ("a2", &[100]),
            ("fc2", &[10]),
            ("label", &[1])
        ])
    );
    assert_eq!(
        params(&n)[0],
        ("conv1.weight".to_string(), vec![5, 1, 5, 5])
    );
    assert_eq!(params(&n)[2], ("fc1.weight".to_string(), vec![100, 845]));
    assert!(matches!(
        n.layers[0].op,
        Op::Conv2d {
            out: 5,
            kernel: (5, 5),
            stride: 2,
            padding: 1,
            bias: true,
            ..
        }
    ));
}

#[test]
fn secureml() {
    let n = load("secureml");
    let p = params(&n);
    assert_eq!(
        p,
        s(&[
            ("fc1.weight", &[128, 784]),
            ("fc1.bias", &[128]),
            ("fc2.weight", &[128, 128]),
            ("fc2.bias", &[128]),
            ("fc3.weight", &[10, 128]),
            ("fc3.bias", &[10])
        ])
    );
}

#[test]
fn minionn() {
    let n = load("minionn");
    let sh = shapes(&n);
    let get = |name: &str| {
        sh.iter()
            .find(|(n, _)| n == name)
            .map(|x| x.1.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("conv1"), vec![16, 24, 24]);
    assert_eq!(get("p1"), vec![16, 12, 12]);
    assert_eq!(get("conv2"), vec![16, 8, 8]);
    assert_eq!(get("p2"), vec![16, 4, 4]);
    assert_eq!(get("x"), vec![256]);
    assert_eq!(get("fc1"), vec![100]);
    assert_eq!(
        params(&n)[2],
        ("conv2.weight".to_string(), vec![16, 16, 5, 5])
    );
}

#[test]
fn binarized() {
    let n = load("binarized");
    let fmt = |name: &str| n.tensors[n.tensor_by_name(name).expect("tensor")].format;
    assert_eq!(fmt("xb"), Format::Binary);
    assert_eq!(fmt("bn2"), Format::Binary);
    assert_eq!(fmt("fc3"), Format::Fixed { bits: 16, frac: 8 });
    assert!(matches!(
        n.layers[n.layer_by_name("bn1").expect("bn1")].op,
        Op::BatchNorm { into: 1, .. }
    ));
    assert_eq!(
        params(&n),
        s(&[
            ("fc1.weight", &[256, 784]),
            ("bn1.weight", &[256]),
            ("bn1.bias", &[256]),
            ("bn1.running_mean", &[256]),
            ("bn1.running_var", &[256]),
            ("fc2.weight", &[256, 256]),
            ("bn2.weight", &[256]),
            ("bn2.bias", &[256]),
            ("bn2.running_mean", &[256]),
            ("bn2.running_var", &[256]),
            ("fc3.weight", &[10, 256]),
            ("fc3.bias", &[10])
        ])
    );
}

#[test]
fn every_model_folder_passes_the_front_end() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut count = 0;
    for e in std::fs::read_dir(&dir).expect("models dir") {
        let e = e.expect("entry");
        let p = e
            .path()
            .join(format!("{}.gnet", e.file_name().to_string_lossy()));
        if p.exists() {
            let mut s = Sources::new();
            if let Err(d) = frontend_file(&p, &mut s) {
                panic!("{}", render(&d, &s));
            }
            count += 1;
        }
    }
    assert!(count >= 5, "found {count} models");
}

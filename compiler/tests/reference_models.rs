//! Random weights for the example models go through safetensors, binding and
//! the reference interpreter; the digits MLP is checked against an
//! independent integer re-implementation.

use garnet_compiler::ir::{Network, ParamRole};
use garnet_compiler::reference;
use garnet_compiler::weights::{LayerWeights, load_safetensors};
use garnet_compiler::{Sources, frontend_file, render};
use rand::{Rng, SeedableRng, rngs::StdRng};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::path::PathBuf;

fn load(name: &str) -> Network {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(name)
        .join(format!("{name}.gnet"));
    let mut s = Sources::new();
    frontend_file(&path, &mut s).unwrap_or_else(|d| panic!("{}", render(&d, &s)))
}

fn random_weights(net: &Network, rng: &mut StdRng) -> Vec<u8> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = net
        .params()
        .map(|p| {
            let n: usize = p.shape.iter().product();
            let vals: Vec<f32> = (0..n)
                .map(|_| match p.role {
                    ParamRole::BnVar => rng.gen_range(0.5..2.0),
                    ParamRole::BnWeight => rng.gen_range(-2.0..2.0),
                    _ => rng.gen_range(-0.5..0.5),
                })
                .collect();
            (
                p.name.clone(),
                p.shape.clone(),
                vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("view"),
            )
        })
        .collect();
    safetensors::tensor::serialize(views, &None).expect("serialize")
}

fn random_input(net: &Network, rng: &mut StdRng) -> Vec<Vec<i64>> {
    net.inputs
        .iter()
        .map(|i| {
            let t = &net.tensors[i.tensor];
            (0..t.len())
                .map(|_| rng.gen_range(t.format.min_int()..=t.format.max_int()) / 4)
                .collect()
        })
        .collect()
}

#[test]
fn all_models_run_on_random_weights() {
    let mut rng = StdRng::seed_from_u64(5);
    for name in [
        "digits",
        "deepsecure_b1",
        "secureml",
        "minionn",
        "binarized",
    ] {
        let net = load(name);
        let bytes = random_weights(&net, &mut rng);
        let w = load_safetensors(&net, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = random_input(&net, &mut rng);
        let vals = reference::run(&net, &w, &input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = reference::run(&net, &w, &input).expect("runs");
        assert_eq!(vals, again, "{name} is deterministic");
        let out = reference::outputs(&net, &vals);
        let label = out["label"][0];
        assert!((0..10).contains(&label), "{name}: label {label}");
    }
}

#[test]
fn digits_matches_an_independent_implementation() {
    let net = load("digits");
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let w = load_safetensors(&net, &random_weights(&net, &mut rng)).expect("loads");
        let x = random_input(&net, &mut rng);
        let got = reference::outputs(&net, &reference::run(&net, &w, &x).expect("runs"));
        let (
            LayerWeights::Affine {
                weight: w1,
                bias: b1,
            },
            LayerWeights::Affine {
                weight: w2,
                bias: b2,
            },
        ) = (&w.layers["fc1"], &w.layers["fc2"])
        else {
            panic!("affine weights")
        };
        // fixed(16, 8): acc = Σ x·w + b·256, y = clamp(floor(acc / 256))
        let layer = |x: &[i64], w: &[i64], b: &[i64]| -> Vec<i64> {
            b.iter()
                .enumerate()
                .map(|(j, bj)| {
                    let acc: i64 = x
                        .iter()
                        .enumerate()
                        .map(|(i, xi)| xi * w[j * x.len() + i])
                        .sum::<i64>()
                        + bj * 256;
                    acc.div_euclid(256).clamp(-32768, 32767)
                })
                .collect()
        };
        let h: Vec<i64> = layer(&x[0], w1, b1).into_iter().map(|v| v.max(0)).collect();
        let s = layer(&h, w2, b2);
        let best = s
            .iter()
            .enumerate()
            .fold(0, |b, (i, v)| if *v > s[b] { i } else { b });
        assert_eq!(got["label"], vec![best as i64]);
    }
}

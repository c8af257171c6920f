//! DeepSecure's pre-processing: pruned layers (`pruned=true`, public masks) and
//! client-side projections (`project`), both bound from a `public "FILE";`.
//! Differential: on random networks, masks and inputs, the compiled circuit equals
//! the reference interpreter bit for bit (private and public parameters), the
//! counter equals the circuit, a pruned layer equals the unpruned one with zero
//! weights, and a projected network equals the same network computing the
//! projection in the circuit as a public `dense`.

use garnet_compiler::ir::{Format, Network, Op, ParamsOwner};
use garnet_compiler::resolve::MemLoader;
use garnet_compiler::weights::{LayerWeights, Weights};
use garnet_compiler::{Sources, circuit_inputs, compile, count, decode_outputs, reference, render};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use std::path::Path;

/// safetensors bytes of f32 tensors.
fn safetensors_bytes(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.clone(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
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

/// The front end on `src` with `public` as `n.public.safetensors` beside it.
fn frontend(src: &str, public: Option<&[u8]>) -> Result<Network, String> {
    let mut loader = MemLoader::new();
    if let Some(b) = public {
        loader = loader.with_bytes("nets/n.public.safetensors", b.to_vec());
    }
    let mut s = Sources::new();
    garnet_compiler::frontend_with(Path::new("nets/n.gnet"), src, &loader, &mut s)
        .map_err(|d| render(&d, &s))
}

fn value(rng: &mut StdRng, fmt: Format) -> i64 {
    if rng.gen_bool(0.5) {
        let lim = (1i64 << (fmt.frac() + 1)).min(fmt.max_int());
        rng.gen_range(-lim..=lim)
            .clamp(fmt.min_int(), fmt.max_int())
    } else {
        rng.gen_range(fmt.min_int()..=fmt.max_int())
    }
}

/// Random weights for the dense/conv layers, zero where a layer's pattern prunes.
fn random_weights(net: &Network, rng: &mut StdRng) -> Weights {
    let mut w = Weights::default();
    for l in &net.layers {
        if let Op::Dense {
            out, weight_format, ..
        }
        | Op::Conv2d {
            out, weight_format, ..
        } = l.op
        {
            let n: usize = l.params[0].shape.iter().product();
            let weight = (0..n)
                .map(|i| {
                    if l.kept(i) {
                        value(rng, weight_format)
                    } else {
                        0
                    }
                })
                .collect();
            let bias = (0..out).map(|_| value(rng, weight_format)).collect();
            w.layers
                .insert(l.name.clone(), LayerWeights::Affine { weight, bias });
        }
    }
    w
}

fn random_inputs(net: &Network, rng: &mut StdRng) -> Vec<Vec<i64>> {
    (0..net.inputs.len())
        .map(|i| {
            let t = net.given_input(i);
            (0..t.len()).map(|_| value(rng, t.format)).collect()
        })
        .collect()
}

/// Circuit vs reference on `samples` inputs, counter vs circuit; the network's
/// inputs are given raw and prepared (projected) as the client does.
fn check_circuit(
    net: &Network,
    w: &Weights,
    rng: &mut StdRng,
    samples: usize,
) -> Result<(), TestCaseError> {
    let weights = (net.params_owner == ParamsOwner::Public).then_some(w);
    let circuit = compile(net, weights).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (counts, _) = count(net, weights).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let built = garnet_circuits::stats::Stats::of(&circuit);
    prop_assert_eq!(
        (counts.and, counts.xor, counts.not),
        (built.and_gates, built.xor_gates, built.not_gates)
    );
    let mut bits = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..samples {
        let raw = random_inputs(net, rng);
        let inputs: Vec<Vec<i64>> = raw
            .into_iter()
            .enumerate()
            .map(|(i, v)| net.prepare_input(i, v))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let vals =
            reference::run(net, w, &inputs).map_err(|e| TestCaseError::fail(e.to_string()))?;
        expected.push(reference::outputs(net, &vals));
        bits.push(
            circuit_inputs(net, &circuit, Some(w), &inputs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        );
    }
    let got = circuit
        .eval_many(&bits)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (g, e) in got.iter().zip(&expected) {
        let d = decode_outputs(net, g).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&d, e);
    }
    Ok(())
}

/// A random mask of `n` cells keeping each with probability `keep`, as f32 0/1.
fn mask(rng: &mut StdRng, n: usize, keep: f64) -> Vec<f32> {
    (0..n)
        .map(|_| if rng.gen_bool(keep) { 1.0 } else { 0.0 })
        .collect()
}

const MLP: &str = "network n { format q = fixed(BITS, FRAC); input x : q[IN] from client; PARAMS public \"n.public.safetensors\";
    fc1 = dense(x, HID, pruned=true); h = relu(fc1); fc2 = dense(h, OUT, pruned=true);
    output s = fc2 to client; output label = argmax(fc2) to client; }";

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Pruned MLPs: circuit = reference for every owner of the parameters, the
    /// weight inputs hold only the kept weights, and pruning equals zero weights.
    #[test]
    fn pruned_mlp_matches_reference(
        (bits, frac) in prop_oneof![Just((8u32, 4u32)), Just((16, 8)), Just((6, 2))],
        inp in 1usize..12, hid in 1usize..8, out in 1usize..5,
        keep in prop_oneof![Just(0.0), Just(0.2), Just(0.5), Just(1.0)],
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let m1 = mask(&mut rng, hid * inp, keep);
        let m2 = mask(&mut rng, out * hid, keep);
        let public = safetensors_bytes(&[
            ("fc1.mask".into(), vec![hid, inp], m1.clone()),
            ("fc2.mask".into(), vec![out, hid], m2.clone()),
        ]);
        for params in ["params from server;", "params from client;", "params public;"] {
            let src = MLP.replace("BITS", &bits.to_string()).replace("FRAC", &frac.to_string())
                .replace("IN", &inp.to_string()).replace("HID", &hid.to_string())
                .replace("OUT", &out.to_string()).replace("PARAMS", params);
            let net = frontend(&src, Some(&public)).map_err(TestCaseError::fail)?;
            let kept1 = m1.iter().filter(|v| **v != 0.0).count();
            let pattern = net.layers[0].pattern.as_ref().expect("fc1 is pruned");
            prop_assert_eq!(pattern.iter().filter(|k| **k).count(), kept1);
            let w = random_weights(&net, &mut rng);
            check_circuit(&net, &w, &mut rng, 8)?;
            if let ParamsOwner::Party(_) = net.params_owner {
                let c = compile(&net, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let fc1w = c.inputs.iter().find(|i| i.name == "fc1.weight").expect("an input");
                prop_assert_eq!(fc1w.bits as usize, kept1 * bits as usize);
            }
            // The same network unpruned, with the same (zero) weights, computes the same.
            let plain = src.replace(", pruned=true", "").replace(" public \"n.public.safetensors\";", "");
            let unpruned = frontend(&plain, None).map_err(TestCaseError::fail)?;
            let x = random_inputs(&net, &mut rng);
            let a = reference::run(&net, &w, &x).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let b = reference::run(&unpruned, &w, &x).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(reference::outputs(&net, &a), reference::outputs(&unpruned, &b));
            // With private weights every pruned product is saved. (Public zero weights
            // already cost nothing; there the narrower accumulator may shift a gate.)
            if let ParamsOwner::Party(_) = net.params_owner {
                let full = count(&unpruned, None).map_err(|e| TestCaseError::fail(e.to_string()))?.0.and;
                let pruned = count(&net, None).map_err(|e| TestCaseError::fail(e.to_string()))?.0.and;
                prop_assert!(pruned <= full, "pruned {pruned} > unpruned {full}");
            }
        }
    }

    /// Pruned convolutions (with padding and stride) and a pruned dense after them.
    #[test]
    fn pruned_conv_matches_reference(
        c in 1usize..3, hw in 3usize..6, k in 1usize..4, pad in 0usize..2, stride in 1usize..3,
        keep in prop_oneof![Just(0.0), Just(0.3), Just(0.7)],
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let kernel = 2.min(hw);
        let oh = (hw + 2 * pad - kernel) / stride + 1;
        let public = safetensors_bytes(&[
            ("c1.mask".into(), vec![k, c, kernel, kernel], mask(&mut rng, k * c * kernel * kernel, keep)),
            ("fc.mask".into(), vec![3, k * oh * oh], mask(&mut rng, 3 * k * oh * oh, keep)),
        ]);
        for params in ["params from server;", "params public;"] {
            let src = format!("network n {{ format q = fixed(8, 4); input x : q[{c}, {hw}, {hw}] from client; {params}
                public \"n.public.safetensors\";
                c1 = conv2d(x, {k}, kernel={kernel}, stride={stride}, padding={pad}, pruned=true);
                a = relu(c1); f = flatten(a); fc = dense(f, 3, pruned=true); output fc; }}");
            let net = frontend(&src, Some(&public)).map_err(TestCaseError::fail)?;
            let w = random_weights(&net, &mut rng);
            check_circuit(&net, &w, &mut rng, 8)?;
        }
    }

    /// A projected input: the client's plaintext projection then the circuit equals
    /// the same network with the projection as a public dense layer in the circuit.
    #[test]
    fn projection_matches_dense_in_circuit(
        raw in 1usize..16, k in 1usize..6, hid in 1usize..5, seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let matrix: Vec<f32> = (0..k * raw).map(|_| rng.gen_range(-1.5f32..1.5)).collect();
        let public = safetensors_bytes(&[("p.weight".into(), vec![k, raw], matrix.clone())]);
        let src = format!("network n {{ format q = fixed(12, 6); input x : q[{raw}] from client; params from server;
            public \"n.public.safetensors\";
            p = project(x, {k}); fc1 = dense(p, {hid}); h = relu(fc1); fc2 = dense(h, 2); output fc2; }}");
        let net = frontend(&src, Some(&public)).map_err(TestCaseError::fail)?;
        prop_assert_eq!(net.tensors[net.inputs[0].tensor].name.as_str(), "p");
        prop_assert_eq!(net.given_input(0).name.as_str(), "x");
        let w = random_weights(&net, &mut rng);
        check_circuit(&net, &w, &mut rng, 8)?;
        // In-circuit version: `p` a dense without bias whose weights are the matrix.
        let inline = format!("network n {{ format q = fixed(12, 6); input x : q[{raw}] from client; params public;
            p = dense(x, {k}, bias=false); fc1 = dense(p, {hid}); h = relu(fc1); fc2 = dense(h, 2); output fc2; }}");
        let net2 = frontend(&inline, None).map_err(TestCaseError::fail)?;
        let mut w2 = w.clone();
        w2.layers.insert("p".into(), LayerWeights::Affine {
            weight: net.projections[0].weight.to_vec(),
            bias: vec![0; k],
        });
        let circuit2 = compile(&net2, Some(&w2)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let circuit = compile(&net, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for _ in 0..8 {
            let x = random_inputs(&net, &mut rng);
            let p = net.prepare_input(0, x[0].clone()).expect("projects");
            let a = circuit.eval(&circuit_inputs(&net, &circuit, Some(&w), &[p]).map_err(|e| TestCaseError::fail(e.to_string()))?)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let b = circuit2.eval(&circuit_inputs(&net2, &circuit2, Some(&w2), &x).map_err(|e| TestCaseError::fail(e.to_string()))?)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decode_outputs(&net, &a).expect("decodes"), decode_outputs(&net2, &b).expect("decodes"));
        }
    }
}

/// An output that reads nothing through a fully pruned layer is its bias, and inputs
/// no kept weight reads cost no gates.
#[test]
fn unread_inputs_and_fully_pruned_neurons_cost_nothing() {
    // fc1 keeps only input 0 for neuron 0; neuron 1 is fully pruned; fc2 reads only neuron 0.
    let public = safetensors_bytes(&[
        (
            "fc1.mask".into(),
            vec![2, 4],
            vec![1., 0., 0., 0., 0., 0., 0., 0.],
        ),
        ("fc2.mask".into(), vec![1, 2], vec![1., 0.]),
    ]);
    let src = "network n { format q = fixed(8, 4); input x : q[4] from client; params from server;
        public \"n.public.safetensors\"; fc1 = dense(x, 2, pruned=true); h = relu(fc1);
        fc2 = dense(h, 1, pruned=true); output fc2; }";
    let net = frontend(src, Some(&public)).expect("compiles");
    let one = "network n { format q = fixed(8, 4); input x : q[1] from client; params from server;
        fc1 = dense(x, 1); h = relu(fc1); fc2 = dense(h, 1); output fc2; }";
    let small = frontend(one, None).expect("compiles");
    let (a, _) = count(&net, None).expect("counts");
    let (b, _) = count(&small, None).expect("counts");
    assert_eq!(
        a.and, b.and,
        "the pruned 4→2→1 network costs what a 1→1→1 one does"
    );
}

#[test]
fn public_file_errors_are_clear() {
    let src = "network n { format q = fixed(8, 4); input x : q[4] from client; params from server;
        PUBLIC fc1 = dense(x, 2, pruned=true); output fc1; }";
    let no_file = frontend(&src.replace("PUBLIC", ""), None).unwrap_err();
    assert!(
        no_file.contains("`fc1` needs the pruning mask `fc1.mask` [2, 4]"),
        "{no_file}"
    );
    assert!(no_file.contains("no `public \"FILE\";`"), "{no_file}");
    let with = src.replace("PUBLIC", "public \"n.public.safetensors\";");
    let missing = frontend(&with, None).unwrap_err();
    assert!(
        missing.contains("cannot read public file `n.public.safetensors`"),
        "{missing}"
    );
    let wrong = safetensors_bytes(&[("fc1.mask".into(), vec![4, 2], vec![1.0; 8])]);
    let e = frontend(&with, Some(&wrong)).unwrap_err();
    assert!(
        e.contains("public `fc1.mask` has shape [4, 2], `fc1` needs [2, 4]"),
        "{e}"
    );
    let extra = safetensors_bytes(&[
        ("fc1.mask".into(), vec![2, 4], vec![1.0; 8]),
        ("other".into(), vec![1], vec![1.0]),
    ]);
    let e = frontend(&with, Some(&extra)).unwrap_err();
    assert!(
        e.contains("public file has tensor `other` that no layer uses"),
        "{e}"
    );
    let e = frontend(&with, Some(b"garbage")).unwrap_err();
    assert!(e.contains("public file is not safetensors"), "{e}");
    // project needs a client input used nowhere else
    let p = "network n { format q = fixed(8, 4); input x : q[4] from server; params from server;
        public \"n.public.safetensors\"; p = project(x, 2); output p; }";
    let proj = safetensors_bytes(&[("p.weight".into(), vec![2, 4], vec![0.5; 8])]);
    let e = frontend(p, Some(&proj)).unwrap_err();
    assert!(e.contains("`project` needs a client input"), "{e}");
    // a raw input of the wrong length or range is an error, not a panic
    let p1 = p.replace("from server", "from client");
    let net = frontend(&p1, Some(&proj)).expect("compiles");
    let e = net.prepare_input(0, vec![0; 3]).unwrap_err().to_string();
    assert!(e.contains("input `x`: needs 4 values, got 3"), "{e}");
    let e = net
        .prepare_input(0, vec![0, 0, 0, 1000])
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside fixed(8, 4)"), "{e}");
    assert_eq!(
        net.prepare_input(0, vec![16, 16, 16, 16]).unwrap(),
        vec![32, 32]
    );
    let p2 = p
        .replace("from server", "from client")
        .replace("output p;", "output p; output x;");
    let e = frontend(&p2, Some(&proj)).unwrap_err();
    assert!(
        e.contains("`x` is projected by the client and cannot be used elsewhere"),
        "{e}"
    );
    // weights that are nonzero where the mask prunes are refused
    let ok = safetensors_bytes(&[(
        "fc1.mask".into(),
        vec![2, 4],
        vec![1., 0., 1., 1., 1., 1., 1., 1.],
    )]);
    let net = frontend(&with, Some(&ok)).expect("compiles");
    let weights = safetensors_bytes(&[
        ("fc1.weight".into(), vec![2, 4], vec![0.5; 8]),
        ("fc1.bias".into(), vec![2], vec![0.0; 2]),
    ]);
    let e = garnet_compiler::weights::load_safetensors(&net, &weights)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`fc1.weight` element 1 is 0.5 but the public mask prunes it"),
        "{e}"
    );
}

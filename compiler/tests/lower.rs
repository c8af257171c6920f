//! Differential tests of the lowering: for every layer type and a few whole
//! networks, with random weights and inputs, the plaintext evaluation of the
//! compiled circuit agrees bit for bit with the reference interpreter, with
//! private parameters (circuit inputs) and with public ones (constants), and so
//! does a two-party garbled-circuit run on the first sample. The gate counter gives
//! the compiled circuit's AND count.

use garnet_circuits::Party;
use garnet_compiler::ir::{Format, Network, Op, ParamsOwner};
use garnet_compiler::weights::{LayerWeights, Weights};
use garnet_compiler::{circuit_inputs, compile, compile_str, count, decode_outputs, reference};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A random integer of `fmt`: half the time small (around ±2 in real terms),
/// otherwise anywhere in the range, so both ordinary values and saturation occur.
fn value(rng: &mut StdRng, fmt: Format) -> i64 {
    match fmt {
        Format::Fixed { frac, .. } => {
            if rng.gen_bool(0.5) {
                let lim = (1i64 << (frac + 1)).min(fmt.max_int());
                rng.gen_range(-lim..=lim)
                    .clamp(fmt.min_int(), fmt.max_int())
            } else {
                rng.gen_range(fmt.min_int()..=fmt.max_int())
            }
        }
        Format::Binary => rng.gen_range(0..=1),
        Format::Index { bits } => rng.gen_range(0..(1i64 << bits)),
    }
}

/// Random bound weights for every parameterized layer of `net`.
fn random_weights(net: &Network, rng: &mut StdRng) -> Weights {
    let mut w = Weights::default();
    for (li, l) in net.layers.iter().enumerate() {
        let x = &net.tensors[l.inputs[0]];
        let out_fmt = net.tensors[l.output].format;
        let lw = match l.op {
            Op::Dense {
                out, weight_format, ..
            }
            | Op::Conv2d {
                out, weight_format, ..
            } => {
                let n: usize = l.params[0].shape.iter().product();
                let bias_used = matches!(
                    l.op,
                    Op::Dense { bias: true, .. } | Op::Conv2d { bias: true, .. }
                ) || garnet_compiler::lower::params::has_batchnorm(net, li);
                LayerWeights::Affine {
                    weight: (0..n).map(|_| value(rng, weight_format)).collect(),
                    bias: (0..out)
                        .map(|_| {
                            if bias_used {
                                value(rng, weight_format)
                            } else {
                                0
                            }
                        })
                        .collect(),
                }
            }
            Op::BDense {
                out, scores, bias, ..
            }
            | Op::BConv2d {
                out, scores, bias, ..
            } => {
                let fan_in = garnet_compiler::lower::params::fan_in(net, li);
                let weight = (0..out * fan_in).map(|_| rng.gen_bool(0.5)).collect();
                let bn = garnet_compiler::lower::params::has_batchnorm(net, li);
                if scores {
                    LayerWeights::BinaryScores {
                        weight,
                        bias: (0..out)
                            .map(|_| if bias { value(rng, out_fmt) } else { 0 })
                            .collect(),
                    }
                } else {
                    LayerWeights::Threshold {
                        weight,
                        threshold: (0..out)
                            .map(|_| {
                                if bias || bn {
                                    rng.gen_range(0..=fan_in as i64 + 1)
                                } else {
                                    fan_in.div_ceil(2) as i64
                                }
                            })
                            .collect(),
                    }
                }
            }
            _ => continue,
        };
        let _ = x;
        w.layers.insert(l.name.clone(), lw);
    }
    w
}

/// Compiles `src` (whose `params` line is replaced by each owner in turn),
/// evaluates the circuit on `samples` random inputs and compares every output
/// with the reference interpreter; checks the counter against the circuit.
fn check(src: &str, seed: u64, samples: usize) -> Result<(), TestCaseError> {
    let mut rng = StdRng::seed_from_u64(seed);
    for params in [
        "params from server;",
        "params from client;",
        "params public;",
    ] {
        let text = src.replace("PARAMS", params);
        let net = compile_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let w = random_weights(&net, &mut rng);
        let weights = (net.params_owner == ParamsOwner::Public).then_some(&w);
        let circuit = compile(&net, weights).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (counts, sections) =
            count(&net, weights).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // The live counter gives the optimized circuit's counts exactly, per layer,
        // with the gates dead-gate removal drops (a low bit a requantization drops, a
        // neuron a public threshold makes constant, a layer output read in part).
        let built = garnet_circuits::stats::Stats::of(&circuit);
        prop_assert_eq!(
            (counts.and, counts.xor, counts.not),
            (built.and_gates, built.xor_gates, built.not_gates),
            "counter vs circuit, {}",
            text
        );
        for (s, b) in sections.iter().zip(&built.sections) {
            prop_assert_eq!(&s.0, &b.name);
            prop_assert_eq!(
                (s.1.and, s.1.xor, s.1.not),
                (b.and_gates, b.xor_gates, b.not_gates),
                "layer {}, {}",
                s.0,
                text
            );
        }
        prop_assert_eq!(sections.len(), net.layers.len());
        // parameter inputs belong to the parameters' owner
        for spec in &circuit.inputs[net.inputs.len()..] {
            let owner = match net.params_owner {
                ParamsOwner::Party(garnet_compiler::ir::Party::Client) => Party::Evaluator,
                _ => Party::Garbler,
            };
            prop_assert_eq!(spec.owner, owner);
        }
        let mut all_inputs = Vec::new();
        let mut expected = Vec::new();
        for _ in 0..samples {
            let inputs: Vec<Vec<i64>> = net
                .inputs
                .iter()
                .map(|i| {
                    let t = &net.tensors[i.tensor];
                    (0..t.len()).map(|_| value(&mut rng, t.format)).collect()
                })
                .collect();
            let vals = reference::run(&net, &w, &inputs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            expected.push(reference::outputs(&net, &vals));
            all_inputs.push(
                circuit_inputs(&net, &circuit, Some(&w), &inputs)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?,
            );
        }
        // The first sample also runs between the two parties: each gives only its
        // own inputs, and every output is learned by its recipient.
        if let Some(first) = all_inputs.first() {
            let mine = |p: Party| -> Vec<Vec<bool>> {
                circuit
                    .inputs
                    .iter()
                    .zip(first)
                    .map(|(s, v)| if s.owner == p { v.clone() } else { Vec::new() })
                    .collect()
            };
            let (g, e) = garnet_runtime::session::run_in_memory(
                &circuit,
                &mine(Party::Garbler),
                &mine(Party::Evaluator),
            )
            .map_err(|e| TestCaseError::fail(format!("two-party run: {e}")))?;
            let learned: Vec<Vec<bool>> = circuit
                .outputs
                .iter()
                .zip(g.outputs.iter().zip(&e.outputs))
                .map(|(spec, (go, eo))| {
                    let by = match spec.recipient {
                        garnet_circuits::Recipient::Garbler => go,
                        _ => eo,
                    };
                    by.clone().unwrap_or_default()
                })
                .collect();
            let decoded =
                decode_outputs(&net, &learned).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&decoded, &expected[0], "two-party run, {}", text);
        }
        let got = circuit
            .eval_many(&all_inputs)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (g, e) in got.iter().zip(&expected) {
            let decoded =
                decode_outputs(&net, g).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&decoded, e, "{}", text);
        }
    }
    Ok(())
}

fn fixed() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        Just((8, 4)),
        Just((16, 8)),
        Just((6, 2)),
        Just((12, 0)),
        Just((10, 9))
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn dense((b, f) in fixed(), n in 1usize..10, m in 1usize..5, bias in any::<bool>(), relu in any::<bool>(), seed in any::<u64>()) {
        let act = if relu { "r = relu(d); output r; output d2 = argmax(r);" } else { "output d;" };
        let src = format!("network t {{ format q = fixed({b}, {f}); PARAMS input x : [{n}] from client;
            d = dense(x, {m}, bias={bias}); {act} }}");
        check(&src, seed, 20)?;
    }

    #[test]
    fn dense_with_other_output_format(n in 1usize..8, m in 1usize..4, seed in any::<u64>()) {
        // weights and output in fixed(8, 3), input in fixed(12, 6): mixed widths, no Karatsuba
        let src = format!("network t {{ format q = fixed(12, 6); format p = fixed(8, 3); PARAMS input x : [{n}] from server;
            d : p = dense(x, {m}); r = relu(d); output r to both; }}");
        check(&src, seed, 20)?;
    }

    #[test]
    fn conv2d((b, f) in fixed(), c in 1usize..3, h in 2usize..6, w in 2usize..6, k in 1usize..4, s in 1usize..3, p in 0usize..2, o in 1usize..3, relu in any::<bool>(), seed in any::<u64>()) {
        prop_assume!(k <= h + 2 * p && k <= w + 2 * p);
        let act = if relu { "r = relu(cv); output r;" } else { "output cv;" };
        let src = format!("network t {{ format q = fixed({b}, {f}); PARAMS input x : [{c}, {h}, {w}] from client;
            cv = conv2d(x, {o}, kernel={k}, stride={s}, padding={p}); {act} }}");
        check(&src, seed, 10)?;
    }

    #[test]
    fn pools((b, f) in fixed(), c in 1usize..3, h in 2usize..7, w in 2usize..7, kexp in 0u32..2, s in 1usize..3, seed in any::<u64>()) {
        let k = 1usize << kexp;
        prop_assume!(k <= h && k <= w);
        let src = format!("network t {{ format q = fixed({b}, {f}); input x : [{c}, {h}, {w}] from client;
            m = maxpool(x, {k}, stride={s}); a = avgpool(x, {k}, stride={s}); u = sumpool(x, {k}, stride={s});
            sg = sign(x); bm = maxpool(sg, {k}, stride={s});
            output m; output a; output u; output bm; }}");
        check(&src.replace("PARAMS", ""), seed, 30)?;
    }

    #[test]
    fn activations((b, f) in fixed(), n in 1usize..6, segs in 1usize..12, seed in any::<u64>()) {
        let src = format!("network t {{ format q = fixed({b}, {f}); input x : [{n}] from client; input y : [{n}] from server;
            r = relu(x); s = sigmoid(x, segments={segs}); th = tanh(y, segments={segs}); a = add(x, y); sg = sign(y);
            output r; output s; output th; output a; output sg; }}");
        check(&src, seed, 64)?;
    }

    #[test]
    fn requantize((b, f) in fixed(), (b2, f2) in fixed(), n in 1usize..6, seed in any::<u64>()) {
        let src = format!("network t {{ format q = fixed({b}, {f}); format p = fixed({b2}, {f2}); input x : [{n}] from client;
            r = requantize(x, p); output r; output a = argmax(x); }}");
        check(&src, seed, 64)?;
    }

    #[test]
    fn layers_read_in_part(n in 2usize..7, m in 1usize..4, (b2, f2) in fixed(), seed in any::<u64>()) {
        // a requantization drops low bits, sign reads one bit, a 1×1 conv with stride 2
        // skips inputs: the gates only those bits needed are dead in the circuit
        let src = format!("network t {{ format q = fixed(12, 6); format p = fixed({b2}, {f2}); PARAMS input x : q[1, {n}, {n}] from client;
            d = conv2d(x, {m}, kernel=1); r = requantize(d, p); s = sign(d); e = conv2d(d, 1, kernel=1, stride=2);
            mp = maxpool(d, 2); ap = avgpool(d, 2);
            output r; output s; output e; output mp; output ap; }}");
        check(&src, seed, 20)?;
    }

    #[test]
    fn binarized(n in 1usize..12, m in 1usize..5, bias in any::<bool>(), seed in any::<u64>()) {
        let src = format!("network t {{ format q = fixed(12, 4); format bin = binary; PARAMS input x : q[{n}] from client;
            s = sign(x); h = bdense(s, {m}, bias={bias}); sc = bdense(h, 3, scores=true, bias={bias});
            output h; output sc; output l = argmax(sc); }}");
        check(&src, seed, 20)?;
    }

    #[test]
    fn binarized_conv(c in 1usize..3, h in 2usize..5, k in 1usize..4, p in 0usize..2, s in 1usize..3, seed in any::<u64>()) {
        prop_assume!(k <= h + 2 * p);
        let src = format!("network t {{ format q = fixed(8, 2); format bin = binary; PARAMS input x : bin[{c}, {h}, {h}] from client;
            b1 = bconv2d(x, 2, kernel={k}, stride={s}, padding={p}); b2 = bconv2d(b1, 2, kernel=1, scores=true);
            output b1; output b2; }}");
        check(&src, seed, 20)?;
    }
}

#[test]
fn whole_networks() {
    let nets = [
        // digits-like MLP
        "network d { format q = fixed(16, 8); PARAMS input image : q[1, 4, 4] from client;
         x = flatten(image); fc1 = dense(x, 6); h = relu(fc1); fc2 = dense(h, 4);
         output label = argmax(fc2) to client; output fc2 to both; }",
        // tiny CNN with pooling
        "network c { format q = fixed(10, 4); PARAMS input image : q[1, 6, 6] from client;
         c1 = conv2d(image, 2, kernel=3, padding=1); a1 = relu(c1); p1 = maxpool(a1, 2);
         c2 = conv2d(p1, 2, kernel=2); a2 = relu(c2); ap = avgpool(a2, 2); f = flatten(ap); rs = reshape(f, [1, 2, 1]);
         g = flatten(rs); fc = dense(g, 3);
         output label = argmax(fc); }",
        // residual add, sumpool, batch norm folded, requantize
        "network r { format q = fixed(12, 5); format p = fixed(8, 3); PARAMS input x : q[2, 4, 4] from server;
         c = conv2d(x, 2, kernel=3, padding=1, bias=false); bn = batchnorm(c); s = add(x, bn); t = tanh(s, segments=5);
         u = sumpool(t, 2); rq = requantize(u, p); f = flatten(rq); sg = sigmoid(f); output sg to both; }",
        // binarized MLP with batch norm
        "network b { format q = fixed(16, 8); PARAMS input image : q[12] from client;
         xb = sign(image); fc1 = bdense(xb, 8, bias=false); bn1 = batchnorm(fc1); fc2 = bdense(bn1, 3, scores=true);
         output label = argmax(fc2); }",
        // a relu used twice is not fused; an unused layer is not lowered
        "network u { format q = fixed(8, 3); PARAMS input x : q[5] from client;
         d = dense(x, 3); r = relu(d); e = dense(r, 2); dead = dense(x, 4); output r; output e; output d; }",
    ];
    for (i, src) in nets.iter().enumerate() {
        check(src, i as u64, 64).unwrap_or_else(|e| panic!("network {i}: {e}"));
    }
}

#[test]
fn same_source_same_bytes() {
    let src =
        "network d { format q = fixed(16, 8); params from server; input image : q[8] from client;
         fc1 = dense(image, 4); h = relu(fc1); fc2 = dense(h, 3); output label = argmax(fc2); }";
    let a = compile(&compile_str(src).expect("ok"), None).expect("compiles");
    let b = compile(&compile_str(src).expect("ok"), None).expect("compiles");
    let (ba, bb) = (
        garnet_circuits::format::gcirc::to_bytes(&a),
        garnet_circuits::format::gcirc::to_bytes(&b),
    );
    assert_eq!(ba, bb);
}

#[test]
fn public_params_need_weights_and_bad_weights_are_errors() {
    let net = compile_str(
        "network d { format q = fixed(8, 4); params public; input x : q[3] from client; d = dense(x, 2); output d; }",
    )
    .expect("ok");
    let e = compile(&net, None).unwrap_err().to_string();
    assert!(
        e.contains("params public") && e.contains("--weights"),
        "{e}"
    );
    let mut w = Weights::default();
    w.layers.insert(
        "d".into(),
        LayerWeights::Affine {
            weight: vec![1; 5],
            bias: vec![0; 2],
        },
    );
    let e = compile(&net, Some(&w)).unwrap_err().to_string();
    assert!(e.contains("layer `d`"), "{e}");
    // wrong input sizes and out-of-range values are errors, not panics
    let private = compile_str(
        "network d { format q = fixed(8, 4); params from server; input x : q[3] from client; d = dense(x, 2); output d; }",
    )
    .expect("ok");
    let c = compile(&private, None).expect("compiles");
    let good = Weights {
        layers: [(
            "d".to_string(),
            LayerWeights::Affine {
                weight: vec![1; 6],
                bias: vec![0; 2],
            },
        )]
        .into(),
        ..Weights::default()
    };
    assert!(circuit_inputs(&private, &c, Some(&good), &[vec![1, 2]]).is_err());
    assert!(circuit_inputs(&private, &c, Some(&good), &[vec![1, 2, 300]]).is_err());
    assert!(circuit_inputs(&private, &c, None, &[vec![1, 2, 3]]).is_err());
    assert!(circuit_inputs(&private, &c, Some(&Weights::default()), &[vec![1, 2, 3]]).is_err());
    assert!(circuit_inputs(&private, &c, Some(&good), &[vec![1, 2, 3]]).is_ok());
    // a circuit of another network is refused
    assert!(circuit_inputs(&net, &c, Some(&good), &[vec![1, 2, 3]]).is_err());
    assert!(decode_outputs(&private, &[vec![true; 3]]).is_err());
    assert!(decode_outputs(&private, &[]).is_err());
}

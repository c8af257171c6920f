//! ONNX import against onnxruntime: the fixtures of `tools/make_onnx_fixtures.py`
//! (committed with onnxruntime's float outputs on every test sample, so no Python
//! here), imported and run by the plaintext fixed-point interpreter on every test
//! sample of the bundled data sets.

use garnet_compiler::inputs::{InputKind, load_samples, parse_npy};
use garnet_compiler::ir::Format;
use garnet_onnx::{ImportError, Imported, Options, OutputKind, import};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/onnx").join(name)).unwrap()
}

fn npy(name: &str) -> Vec<f64> {
    parse_npy(&fixture(name)).unwrap()
}

fn opts(output: OutputKind) -> Options {
    Options {
        output,
        ..Options::default()
    }
}

/// Every test sample of `dataset` through the imported network: its single output,
/// decoded to reals (a label output as its class index).
fn run_all(m: &Imported, dataset: &str) -> Vec<Vec<f64>> {
    let net = &m.network;
    let input = &net.tensors[net.inputs[0].tensor];
    let bytes = std::fs::read(root().join("models").join(dataset).join("test_inputs.npy")).unwrap();
    let samples = load_samples(&bytes, InputKind::Npy, input).unwrap();
    let out = &net.outputs[0];
    samples
        .iter()
        .map(|s| {
            let vals =
                garnet_compiler::reference::run(net, &m.weights, std::slice::from_ref(&s.values))
                    .unwrap();
            let raw = &vals[out.tensor];
            match net.tensors[out.tensor].format {
                Format::Fixed { frac, .. } => raw
                    .iter()
                    .map(|v| *v as f64 / (1u64 << frac) as f64)
                    .collect(),
                _ => raw.iter().map(|v| *v as f64).collect(),
            }
        })
        .collect()
}

/// A bound on |fixed − float| for every element of every tensor of one sample, from
/// the fixed-point values themselves: inputs are rounded (2^-(f+1)); a dense/conv
/// output errs by Σ (|w_q| + δ)·e_x + δ·|x_q| over its inputs, plus δ for the bias
/// and 2^-f for the floor shift, with δ = 2^-(f+1) the rounding of the (batch-norm
/// folded) weights; relu, max-pool, reshape keep the error, avg-pool averages it and
/// floors, add sums. Asserts that nothing saturated (the bound would not hold).
fn error_bound(m: &Imported, input: &[i64]) -> (Vec<Vec<i64>>, Vec<Vec<f64>>) {
    use garnet_compiler::ir::Op;
    use garnet_compiler::reference::Window;
    use garnet_compiler::weights::LayerWeights;
    let net = &m.network;
    let vals = garnet_compiler::reference::run(net, &m.weights, &[input.to_vec()]).unwrap();
    let mut e: Vec<Vec<f64>> = vec![Vec::new(); net.tensors.len()];
    let frac = |t: usize| match net.tensors[t].format {
        Format::Fixed { frac, .. } => frac,
        f => panic!("format {f}"),
    };
    let first = net.inputs[0].tensor;
    e[first] = vec![0.5 / (1u64 << frac(first)) as f64; vals[first].len()];
    for l in &net.layers {
        let (x, o) = (l.inputs[0], l.output);
        let t = &net.tensors[o];
        if let Format::Fixed { .. } = t.format {
            let (lo, hi) = (t.format.min_int(), t.format.max_int());
            assert!(
                vals[o].iter().all(|v| *v > lo && *v < hi),
                "layer {} saturated",
                l.name
            );
        }
        let scale = 1.0 / (1u64 << frac(x)) as f64;
        let delta = scale / 2.0;
        let xs = &net.tensors[x].shape;
        let win = |k: (usize, usize), stride: usize, padding: usize| Window {
            input: (xs[0], xs[1], xs[2]),
            kernel: k,
            stride,
            padding,
        };
        let affine = || match &m.weights.layers[&l.name] {
            LayerWeights::Affine { weight, .. } => weight.clone(),
            _ => panic!("{}", l.name),
        };
        let term = |w: i64, i: usize| {
            (w.abs() as f64 * scale + delta) * e[x][i] + delta * vals[x][i].abs() as f64 * scale
        };
        e[o] = match &l.op {
            Op::Dense { out, .. } => {
                let w = affine();
                let n = vals[x].len();
                (0..*out)
                    .map(|j| (0..n).map(|i| term(w[j * n + i], i)).sum::<f64>() + delta + scale)
                    .collect()
            }
            Op::Conv2d {
                out,
                kernel,
                stride,
                padding,
                ..
            } => {
                let w = affine();
                let wn = win(*kernel, *stride, *padding);
                let (oh, ow) = wn.out_hw();
                let mut r = Vec::new();
                for co in 0..*out {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut s = delta + scale;
                            for c in 0..xs[0] {
                                for ki in 0..kernel.0 {
                                    for kj in 0..kernel.1 {
                                        if let Some(i) = wn.at(c, oy, ox, ki, kj) {
                                            s += term(
                                                w[((co * xs[0] + c) * kernel.0 + ki) * kernel.1
                                                    + kj],
                                                i,
                                            );
                                        }
                                    }
                                }
                            }
                            r.push(s);
                        }
                    }
                }
                r
            }
            Op::MaxPool { kernel, stride } | Op::AvgPool { kernel, stride } => {
                let wn = win((*kernel, *kernel), *stride, 0);
                let (oh, ow) = wn.out_hw();
                let avg = matches!(l.op, Op::AvgPool { .. });
                let mut r = Vec::new();
                for c in 0..xs[0] {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let cell =
                                (0..*kernel).flat_map(|ki| (0..*kernel).map(move |kj| (ki, kj)));
                            let es: Vec<f64> = cell
                                .filter_map(|(ki, kj)| wn.at(c, oy, ox, ki, kj))
                                .map(|i| e[x][i])
                                .collect();
                            r.push(if avg {
                                es.iter().sum::<f64>() / es.len() as f64 + scale
                            } else {
                                es.iter().cloned().fold(0.0, f64::max)
                            });
                        }
                    }
                }
                r
            }
            Op::Relu | Op::Flatten | Op::Reshape | Op::BatchNorm { .. } => e[x].clone(),
            Op::Add => e[x]
                .iter()
                .zip(&e[l.inputs[1]])
                .map(|(a, b)| a + b)
                .collect(),
            op => panic!("no error bound for {op:?}"),
        };
    }
    (vals, e)
}

/// Checks the fixed-point logits against onnxruntime's on every test sample: within
/// the sample's [`error_bound`] (plus 1e-4 for float32 rounding in onnxruntime), and
/// within `tol` (the measured error, with room; far below the bound, so a wrong
/// weight layout fails here); and the label wherever onnxruntime's top-two margin
/// exceeds twice the bound (there the fixed-point error cannot swap them). Without
/// `rigorous` (deep nets, where the worst-case bound grows far past the real error)
/// the logits are checked against `tol` only and the labels where the margin exceeds
/// 2·tol. Returns the largest logit error and the largest bound.
fn classifier(
    name: &str,
    dataset: &str,
    tol: f64,
    rigorous: bool,
    format: (u32, u32),
) -> (f64, f64) {
    let bytes = fixture(&format!("{name}.onnx"));
    let (bits, frac) = format;
    let logits_net = import(
        &bytes,
        &Options {
            bits,
            frac,
            ..opts(OutputKind::Tensor)
        },
    )
    .unwrap();
    let label_net = import(
        &bytes,
        &Options {
            bits,
            frac,
            ..opts(OutputKind::Auto)
        },
    )
    .unwrap();
    assert!(
        label_net.gnet.contains("output label = argmax("),
        "{}",
        label_net.gnet
    );
    let ort = npy(&format!("{name}.logits.npy"));
    let ort_labels = npy(&format!("{name}.labels.npy"));
    let net = &logits_net.network;
    let input = &net.tensors[net.inputs[0].tensor];
    let bytes = std::fs::read(root().join("models").join(dataset).join("test_inputs.npy")).unwrap();
    let samples = load_samples(&bytes, InputKind::Npy, input).unwrap();
    let labels = run_all(&label_net, dataset);
    let out = net.outputs[0].tensor;
    let Format::Fixed { frac, .. } = net.tensors[out].format else {
        panic!()
    };
    let classes = net.tensors[out].len();
    assert_eq!(ort.len(), samples.len() * classes, "{name}: sample count");
    let (mut worst, mut worst_bound, mut checked) = (0.0f64, 0.0f64, 0);
    for (j, s) in samples.iter().enumerate() {
        let (vals, e) = error_bound(&logits_net, &s.values);
        let o = &ort[j * classes..(j + 1) * classes];
        for k in 0..classes {
            let fixed = vals[out][k] as f64 / (1u64 << frac) as f64;
            let err = (fixed - o[k]).abs();
            if rigorous {
                assert!(
                    err <= e[out][k] + 1e-4,
                    "{name} sample {j} logit {k}: error {err} > bound {}",
                    e[out][k]
                );
            }
            worst = worst.max(err);
            worst_bound = worst_bound.max(e[out][k]);
        }
        let bound = if rigorous {
            e[out].iter().cloned().fold(0.0, f64::max)
        } else {
            tol
        };
        let mut sorted = o.to_vec();
        sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
        if sorted[0] - sorted[1] > 2.0 * bound {
            assert_eq!(labels[j][0], ort_labels[j], "{name} sample {j}: label");
            checked += 1;
        }
    }
    println!(
        "{name} fixed({bits}, {frac}): max |logit error| {worst:.5} (tolerance {tol}, largest bound {worst_bound:.4}), labels checked on {checked} of {} samples",
        samples.len()
    );
    assert!(worst <= tol, "{name}: logit error {worst} > {tol}");
    assert!(
        checked * 10 >= samples.len() * 8,
        "{name}: only {checked} clear margins"
    );
    (worst, worst_bound)
}

#[test]
fn digits_mlp_gemm_softmax_matches_onnxruntime() {
    classifier("digits_mlp", "digits", 0.1, true, (16, 8));
}

#[test]
fn breast_mlp_matmul_add_argmax_matches_onnxruntime() {
    classifier("breast_mlp", "breast_cancer", 0.1, true, (16, 8));
}

/// The same weights through the shape arithmetic of `x.view(x.size(0), -1)`, a
/// transposed weight and LogSoftmax: the same network as digits_mlp.
#[test]
fn digits_view_shape_ops_transpose_logsoftmax_matches_onnxruntime() {
    classifier("digits_view", "digits", 0.1, true, (16, 8));
    let view = import(&fixture("digits_view.onnx"), &Options::default()).unwrap();
    let mlp = import(&fixture("digits_mlp.onnx"), &Options::default()).unwrap();
    assert_eq!(
        view.tensors.keys().collect::<Vec<_>>(),
        mlp.tensors.keys().collect::<Vec<_>>()
    );
    for (k, t) in &mlp.tensors {
        assert_eq!(view.tensors[k].data, t.data, "{k}");
    }
    assert!(view.gnet.contains("input_1 : q[1, 8, 8]"), "{}", view.gnet);
}

#[test]
fn digits_cnn_conv_bn_pools_residual_matches_onnxruntime() {
    classifier("digits_cnn", "digits", 0.4, false, (16, 8));
}

/// With 8 more fraction bits every error shrinks about 256-fold, as rounding errors
/// do; a semantic difference (a wrong epsilon, layout or stride) would not shrink.
#[test]
fn errors_shrink_with_more_fraction_bits() {
    for (name, dataset) in [
        ("digits_mlp", "digits"),
        ("breast_mlp", "breast_cancer"),
        ("digits_cnn", "digits"),
    ] {
        classifier(name, dataset, 0.002, true, (32, 16));
    }
}

/// Sigmoid and tanh are the DSL's piecewise-linear approximations: with 64 segments
/// their chord error is under 0.002 (h²/8·max|f''|: 0.0008 for sigmoid, 0.0015 for
/// tanh); with the fixed-point error of two layers before them (slope ≤ 1) the
/// outputs stay within 0.05.
#[test]
fn sigmoid_tanh_tensor_output_matches_onnxruntime() {
    let m = import(
        &fixture("breast_act.onnx"),
        &Options {
            segments: 64,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        m.gnet.contains("sigmoid(") && m.gnet.contains("tanh("),
        "{}",
        m.gnet
    );
    assert!(!m.gnet.contains("argmax"), "{}", m.gnet);
    let ort = npy("breast_act.logits.npy");
    let fixed = run_all(&m, "breast_cancer");
    assert_eq!(ort.len(), fixed.len() * 4);
    let worst = fixed
        .iter()
        .flatten()
        .zip(&ort)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("breast_act: max |error| {worst:.5}");
    assert!(worst <= 0.05, "{worst}");
    // The default 8 segments are coarser, and the difference shows.
    let coarse = run_all(
        &import(&fixture("breast_act.onnx"), &Options::default()).unwrap(),
        "breast_cancer",
    );
    assert_ne!(coarse, fixed);
}

#[test]
fn weights_keep_state_dict_names_and_layouts() {
    let m = import(&fixture("breast_mlp.onnx"), &Options::default()).unwrap();
    // MatMul weights ("onnx::MatMul_20", [in, out]) become fc1.weight [out, in], named
    // after the bias that the following Add folds in.
    let w = &m.tensors["fc1.weight"];
    assert_eq!(w.shape, vec![16, 30]);
    assert_eq!(m.tensors["fc1.bias"].shape, vec![16]);
    let st = garnet_compiler::weights::read_safetensors(&m.safetensors().unwrap())
        .unwrap()
        .0;
    let original =
        std::fs::read(root().join("models/breast_cancer/breast_cancer.safetensors")).unwrap();
    let original = garnet_compiler::weights::read_safetensors(&original)
        .unwrap()
        .0;
    assert_eq!(
        st.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>()
    );
    for (k, t) in &original {
        assert_eq!(st[k].shape, t.shape, "{k}");
        assert_eq!(st[k].data, t.data, "{k}");
    }
    let cnn = import(&fixture("digits_cnn.onnx"), &Options::default()).unwrap();
    assert_eq!(cnn.tensors["conv1.weight"].shape, vec![4, 1, 3, 3]);
    assert_eq!(cnn.tensors["res_conv.weight"].shape, vec![4, 4, 3, 3]);
    assert!(cnn.gnet.contains("bn1 = batchnorm(conv1);"), "{}", cnn.gnet);
    assert!(cnn.gnet.contains("stride=2, padding=1"), "{}", cnn.gnet);
    assert!(cnn.gnet.contains("params from server;"), "{}", cnn.gnet);
    assert!(cnn.gnet.contains("from client;"), "{}", cnn.gnet);
}

#[test]
fn options_reach_the_network() {
    let m = import(
        &fixture("digits_mlp.onnx"),
        &Options {
            name: "mine".into(),
            bits: 12,
            frac: 6,
            input_from: "server".into(),
            params: "public".into(),
            output_to: "both".into(),
            ..Options::default()
        },
    )
    .unwrap();
    for s in [
        "network mine {",
        "fixed(12, 6)",
        "from server;",
        "params public;",
        "to both;",
    ] {
        assert!(m.gnet.contains(s), "{s} in {}", m.gnet);
    }
    assert_eq!(
        garnet_onnx::parse_format(" fixed( 16 ,8)").unwrap(),
        (16, 8)
    );
    for bad in ["fixed(40, 8)", "fixed(8, 8)", "float", "fixed(16)"] {
        assert!(garnet_onnx::parse_format(bad).is_err(), "{bad}");
    }
    let e = import(
        &fixture("digits_mlp.onnx"),
        &Options {
            params: "nobody".into(),
            ..Options::default()
        },
    );
    assert!(e.unwrap_err().to_string().contains("params owner `nobody`"));
}

fn node_error(name: &str) -> String {
    match import(&fixture(name), &Options::default()) {
        Err(e @ ImportError::Node { .. }) => e.to_string(),
        other => panic!("{name}: expected a node error, got {other:?}"),
    }
}

#[test]
fn unsupported_nodes_are_named_with_operator_and_position() {
    let e = node_error("lstm.onnx");
    assert!(
        e.starts_with("node 1 `/lstm/LSTM` (LSTM): operator LSTM is not supported"),
        "{e}"
    );
    let e = node_error("conv_dilated.onnx");
    assert!(
        e.starts_with("node 1 `/conv1/Conv` (Conv): attribute dilations = [2, 2] is not supported"),
        "{e}"
    );
    let e = node_error("conv_group.onnx");
    assert!(
        e.starts_with("node 1 `/conv1/Conv` (Conv): attribute group = 2 is not supported"),
        "{e}"
    );
}

/// Every prefix and many single-byte corruptions of a fixture: an error or a model,
/// never a panic.
#[test]
fn corrupt_files_are_errors_not_panics() {
    let good = fixture("digits_cnn.onnx");
    assert!(matches!(
        import(b"not an onnx file", &Options::default()),
        Err(ImportError::Parse(_))
    ));
    for n in 0..good.len() {
        let _ = import(&good[..n], &Options::default());
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut b = good.clone();
        let i = (state as usize) % b.len();
        b[i] ^= 1 << ((state >> 32) % 8);
        let _ = import(&b, &Options::default());
    }
}

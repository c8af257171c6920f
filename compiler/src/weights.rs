//! Binding weights: reads a `.safetensors` file, matches its tensors to the
//! parameters the layer IR expects (PyTorch `state_dict` names and shapes),
//! folds batch norms into the preceding layer and quantizes.
//!
//! Quantization: `round(v · 2^f)` to nearest, ties away from zero, saturated
//! to the layer's weight format; saturations are counted. Binary layers keep
//! the sign of each weight (`w >= 0` → +1) and turn bias and batch norm into
//! per-output popcount thresholds (see [`LayerWeights::Threshold`]).

use crate::ir::{Format, Network, Op};
use std::collections::BTreeMap;
use std::fmt;

/// The bound, quantized parameters of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerWeights {
    /// dense/conv2d: weights (`[out, in]` or `[out, in_ch, kh, kw]`, row-major)
    /// and bias (`[out]`, zero if the layer has none) as integers of the
    /// layer's weight format, batch norm already folded in.
    Affine {
        /// Weights.
        weight: Vec<i64>,
        /// Bias.
        bias: Vec<i64>,
    },
    /// bdense/bconv2d with bit outputs: weight bits (true = +1) and
    /// thresholds: `y_j = [popcount(xnor(x, w_j)) >= threshold_j]`, with
    /// 0 <= threshold_j <= n + 1 (n = fan-in).
    Threshold {
        /// Weight bits.
        weight: Vec<bool>,
        /// Thresholds.
        threshold: Vec<i64>,
    },
    /// bdense/bconv2d with scores: weight bits and the bias in the output format:
    /// `y_j = sat(((2·pop_j − n) << f) + bias_j)`.
    BinaryScores {
        /// Weight bits.
        weight: Vec<bool>,
        /// Bias.
        bias: Vec<i64>,
    },
}

/// All bound parameters of a network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Weights {
    /// Per layer name (dense, conv2d, bdense, bconv2d).
    pub layers: BTreeMap<String, LayerWeights>,
    /// Values that saturated during quantization, per tensor (only nonzero counts).
    pub saturated: BTreeMap<String, usize>,
}

impl Weights {
    /// Total number of saturated values.
    pub fn saturated_total(&self) -> usize {
        self.saturated.values().sum()
    }
}

/// A float tensor from a weights file.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

/// One mismatch between the weights file and the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// An expected tensor is absent.
    Missing {
        /// Name.
        name: String,
        /// Expected shape.
        expected: Vec<usize>,
    },
    /// A tensor the network does not use.
    Extra {
        /// Name.
        name: String,
        /// Its shape.
        found: Vec<usize>,
    },
    /// Shape differs.
    WrongShape {
        /// Name.
        name: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Found shape.
        found: Vec<usize>,
    },
    /// Unsupported element type.
    BadDtype {
        /// Name.
        name: String,
        /// The dtype.
        dtype: String,
    },
    /// NaN or infinity.
    NonFinite {
        /// Name.
        name: String,
        /// First bad index.
        index: usize,
    },
    /// Batch-norm statistics that give a non-finite scale (e.g. negative variance).
    BadBatchNorm {
        /// Batch-norm layer.
        name: String,
        /// Channel.
        channel: usize,
    },
    /// A nonzero weight where the layer's public pruning mask says zero.
    Pruned {
        /// Weight tensor.
        name: String,
        /// First such element.
        index: usize,
        /// Its value.
        value: f64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { name, expected } => {
                write!(f, "missing `{name}` (expected shape {expected:?})")
            }
            Problem::Extra { name, found } => write!(
                f,
                "unexpected `{name}` (shape {found:?}): the network has no such parameter"
            ),
            Problem::WrongShape {
                name,
                expected,
                found,
            } => {
                write!(f, "`{name}` has shape {found:?}, expected {expected:?}")
            }
            Problem::BadDtype { name, dtype } => {
                write!(
                    f,
                    "`{name}` has element type {dtype}; only F32 and F64 are supported"
                )
            }
            Problem::NonFinite { name, index } => {
                write!(f, "`{name}` contains NaN or infinity (at index {index})")
            }
            Problem::Pruned { name, index, value } => write!(
                f,
                "`{name}` element {index} is {value} but the public mask prunes it (pruned weights must be 0)"
            ),
            Problem::BadBatchNorm { name, channel } => {
                write!(
                    f,
                    "batch norm `{name}` channel {channel} has a non-finite scale (negative running_var?)"
                )
            }
        }
    }
}

/// Errors of weight loading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// The file is not valid safetensors.
    #[error("cannot read the weights file: {0}")]
    Format(String),
    /// Tensors do not match the network.
    #[error("weights do not match network `{network}`:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Mismatch {
        /// Network name.
        network: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

/// Reads the tensors of a safetensors file as f64 (F32 and F64 only).
pub fn read_safetensors(
    bytes: &[u8],
) -> Result<(BTreeMap<String, FloatTensor>, Vec<Problem>), WeightsError> {
    use safetensors::{Dtype, SafeTensors};
    let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let data: Vec<f64> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            other => {
                if !name.ends_with(".num_batches_tracked") {
                    problems.push(Problem::BadDtype {
                        name: name.clone(),
                        dtype: format!("{other:?}"),
                    });
                }
                out.insert(
                    name,
                    FloatTensor {
                        shape,
                        data: Vec::new(),
                    },
                );
                continue;
            }
        };
        out.insert(name, FloatTensor { shape, data });
    }
    Ok((out, problems))
}

/// Loads and binds a safetensors file to `net`.
pub fn load_safetensors(net: &Network, bytes: &[u8]) -> Result<Weights, WeightsError> {
    let (mut tensors, problems) = read_safetensors(bytes)?;
    thresholds_as_bias(net, &mut tensors);
    bind_with(net, &tensors, problems)
}

/// XONN-style exports give a binary layer `N` with bit outputs a threshold
/// `N.threshold` T (`[out]`, output 1 ⇔ Σ w·x ≥ T) instead of a bias; it binds as
/// the bias −T (output 1 ⇔ Σ w·x + bias ≥ 0). Only when `N.bias` is absent.
pub fn thresholds_as_bias(net: &Network, tensors: &mut BTreeMap<String, FloatTensor>) {
    for l in &net.layers {
        let bit_output = matches!(
            l.op,
            Op::BDense {
                bias: true,
                scores: false,
                ..
            } | Op::BConv2d {
                bias: true,
                scores: false,
                ..
            }
        );
        let bias = format!("{}.bias", l.name);
        let threshold = format!("{}.threshold", l.name);
        if bit_output
            && !tensors.contains_key(&bias)
            && let Some(mut t) = tensors.remove(&threshold)
        {
            t.data.iter_mut().for_each(|v| *v = -*v);
            tensors.insert(bias, t);
        }
    }
}

/// Binds float tensors (by `state_dict` name) to `net`: checks names, shapes
/// and values, folds batch norms and quantizes.
pub fn bind(
    net: &Network,
    tensors: &BTreeMap<String, FloatTensor>,
) -> Result<Weights, WeightsError> {
    bind_with(net, tensors, Vec::new())
}

/// Quantizes one value: round to nearest (ties away from zero), saturate.
/// Returns the value and whether it saturated.
pub fn quantize(v: f64, fmt: Format) -> (i64, bool) {
    let r = (v * (1u64 << fmt.frac()) as f64).round();
    let (lo, hi) = (fmt.min_int(), fmt.max_int());
    if r < lo as f64 {
        (lo, true)
    } else if r > hi as f64 {
        (hi, true)
    } else {
        (r as i64, false)
    }
}

fn bind_with(
    net: &Network,
    tensors: &BTreeMap<String, FloatTensor>,
    mut problems: Vec<Problem>,
) -> Result<Weights, WeightsError> {
    let bad_dtype: Vec<String> = problems
        .iter()
        .filter_map(|p| {
            if let Problem::BadDtype { name, .. } = p {
                Some(name.clone())
            } else {
                None
            }
        })
        .collect();
    // Names and shapes.
    let mut expected: BTreeMap<&str, &[usize]> = BTreeMap::new();
    for p in net.params() {
        expected.insert(&p.name, &p.shape);
        match tensors.get(&p.name) {
            None => problems.push(Problem::Missing {
                name: p.name.clone(),
                expected: p.shape.clone(),
            }),
            Some(t) if t.shape != p.shape => problems.push(Problem::WrongShape {
                name: p.name.clone(),
                expected: p.shape.clone(),
                found: t.shape.clone(),
            }),
            Some(t) if !bad_dtype.contains(&p.name) => {
                if let Some(index) = t.data.iter().position(|v| !v.is_finite()) {
                    problems.push(Problem::NonFinite {
                        name: p.name.clone(),
                        index,
                    });
                }
            }
            Some(_) => {}
        }
    }
    for l in &net.layers {
        let name = format!("{}.weight", l.name);
        if let (Some(_), Some(t)) = (&l.pattern, tensors.get(&name))
            && let Some(index) = (0..t.data.len()).find(|&i| !l.kept(i) && t.data[i] != 0.0)
        {
            problems.push(Problem::Pruned {
                name,
                index,
                value: t.data[index],
            });
        }
    }
    let bn_names: Vec<String> = net
        .layers
        .iter()
        .filter(|l| matches!(l.op, Op::BatchNorm { .. }))
        .map(|l| format!("{}.num_batches_tracked", l.name))
        .collect();
    for (name, t) in tensors {
        if !expected.contains_key(name.as_str()) && !bn_names.contains(name) {
            problems.push(Problem::Extra {
                name: name.clone(),
                found: t.shape.clone(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch {
            network: net.name.clone(),
            problems,
        });
    }
    let get =
        |name: String| -> &[f64] { tensors.get(&name).map(|t| t.data.as_slice()).unwrap_or(&[]) };
    let mut w = Weights::default();
    for (li, l) in net.layers.iter().enumerate() {
        // Batch norm folded into this layer: per-channel scale s and shift t,
        // y' = s·y + t.
        let bn = net
            .layers
            .iter()
            .find(|b| matches!(b.op, Op::BatchNorm { into, .. } if into == li));
        let out_ch = match l.op {
            Op::Dense { out, .. }
            | Op::Conv2d { out, .. }
            | Op::BDense { out, .. }
            | Op::BConv2d { out, .. } => out,
            _ => continue,
        };
        let mut scale = vec![1.0f64; out_ch];
        let mut shift = vec![0.0f64; out_ch];
        if let Some(bn) = bn {
            let eps = if let Op::BatchNorm { eps, .. } = bn.op {
                eps
            } else {
                1e-5
            };
            let (g, b, m, v) = (
                get(format!("{}.weight", bn.name)),
                get(format!("{}.bias", bn.name)),
                get(format!("{}.running_mean", bn.name)),
                get(format!("{}.running_var", bn.name)),
            );
            for c in 0..out_ch {
                let s = g[c] / (v[c] + eps).sqrt();
                if !s.is_finite() {
                    problems.push(Problem::BadBatchNorm {
                        name: bn.name.clone(),
                        channel: c,
                    });
                }
                scale[c] = s;
                shift[c] = b[c] - m[c] * s;
            }
        }
        let weight = get(format!("{}.weight", l.name));
        let has_bias = matches!(
            l.op,
            Op::Dense { bias: true, .. }
                | Op::Conv2d { bias: true, .. }
                | Op::BDense { bias: true, .. }
                | Op::BConv2d { bias: true, .. }
        );
        let zeros = vec![0.0; out_ch];
        let bias: &[f64] = if has_bias {
            get(format!("{}.bias", l.name))
        } else {
            &zeros
        };
        let fan_in = weight.len() / out_ch.max(1);
        let out_fmt = net.tensors[l.output].format;
        let mut sat = 0usize;
        let lw = match l.op {
            Op::Dense {
                weight_format: f, ..
            }
            | Op::Conv2d {
                weight_format: f, ..
            } => {
                let mut qw = Vec::with_capacity(weight.len());
                for (i, x) in weight.iter().enumerate() {
                    let (q, s) = quantize(x * scale[i / fan_in.max(1)], f);
                    sat += usize::from(s);
                    qw.push(q);
                }
                let qb = (0..out_ch)
                    .map(|c| {
                        let (q, s) = quantize(bias[c] * scale[c] + shift[c], f);
                        sat += usize::from(s);
                        q
                    })
                    .collect();
                LayerWeights::Affine {
                    weight: qw,
                    bias: qb,
                }
            }
            Op::BDense { scores, .. } | Op::BConv2d { scores, .. } => {
                let mut bits: Vec<bool> = weight.iter().map(|x| *x >= 0.0).collect();
                if scores {
                    let qb = bias
                        .iter()
                        .map(|b| {
                            let (q, s) = quantize(*b, out_fmt);
                            sat += usize::from(s);
                            q
                        })
                        .collect();
                    LayerWeights::BinaryScores {
                        weight: bits,
                        bias: qb,
                    }
                } else {
                    let n = fan_in as f64;
                    let mut threshold = Vec::with_capacity(out_ch);
                    for c in 0..out_ch {
                        // Pre-activation a = 2·pop − n + bias; after batch norm
                        // s·a + t. Output +1 iff that is >= 0.
                        let (s, t) = (scale[c], shift[c]);
                        let th = if s > 0.0 {
                            // a >= −t/s  ⇔  pop >= (n − bias − t/s) / 2
                            ((n - bias[c] - t / s) / 2.0).ceil()
                        } else if s < 0.0 {
                            // a <= −t/s: flip the row (negates a): −a >= t/s
                            for b in &mut bits[c * fan_in..(c + 1) * fan_in] {
                                *b = !*b;
                            }
                            // −a = 2·pop' − n − bias  ⇒  pop' >= (n + bias + t/s) / 2
                            ((n + bias[c] + t / s) / 2.0).ceil()
                        } else if t >= 0.0 {
                            0.0
                        } else {
                            n + 1.0
                        };
                        threshold.push(if th.is_nan() {
                            0
                        } else {
                            th.clamp(0.0, n + 1.0) as i64
                        });
                    }
                    LayerWeights::Threshold {
                        weight: bits,
                        threshold,
                    }
                }
            }
            _ => continue,
        };
        if sat > 0 {
            w.saturated.insert(l.name.clone(), sat);
        }
        w.layers.insert(l.name.clone(), lw);
    }
    if !problems.is_empty() {
        return Err(WeightsError::Mismatch {
            network: net.name.clone(),
            problems,
        });
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_str;
    use safetensors::Dtype;
    use safetensors::tensor::TensorView;

    enum Data {
        F32(Vec<f32>),
        F64(Vec<f64>),
        Raw(Dtype, Vec<u8>),
    }

    fn file(tensors: Vec<(&str, Vec<usize>, Data)>) -> Vec<u8> {
        let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = tensors
            .into_iter()
            .map(|(n, s, d)| match d {
                Data::F32(v) => (
                    n.to_string(),
                    s,
                    Dtype::F32,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                Data::F64(v) => (
                    n.to_string(),
                    s,
                    Dtype::F64,
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ),
                Data::Raw(t, b) => (n.to_string(), s, t, b),
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = bytes
            .iter()
            .map(|(n, s, t, b)| (n.clone(), TensorView::new(*t, s.clone(), b).expect("view")))
            .collect();
        safetensors::tensor::serialize(views, &None).expect("serialize")
    }

    fn mlp() -> Network {
        compile_str(
            "network m { format q = fixed(16, 8); params from server; input x : [2] from client;
             fc1 = dense(x, 2); output y = fc1; }",
        )
        .expect("compiles")
    }

    #[test]
    fn quantization_rounds_ties_away_and_saturates() {
        let q = Format::Fixed { bits: 16, frac: 8 };
        assert_eq!(quantize(0.5, q), (128, false));
        assert_eq!(quantize(0.5 / 256.0, q), (1, false));
        assert_eq!(quantize(-0.5 / 256.0, q), (-1, false));
        assert_eq!(quantize(0.4 / 256.0, q), (0, false));
        assert_eq!(quantize(200.0, q), (32767, true));
        assert_eq!(quantize(-200.0, q), (-32768, true));
        assert_eq!(quantize(-128.0, q), (-32768, false));
    }

    #[test]
    fn loads_f32_and_f64_and_counts_saturations() {
        let net = mlp();
        let bytes = file(vec![
            (
                "fc1.weight",
                vec![2, 2],
                Data::F32(vec![1.0, -0.5, 300.0, 0.25]),
            ),
            ("fc1.bias", vec![2], Data::F64(vec![0.125, -1.0])),
        ]);
        let w = load_safetensors(&net, &bytes).expect("loads");
        assert_eq!(
            w.layers["fc1"],
            LayerWeights::Affine {
                weight: vec![256, -128, 32767, 64],
                bias: vec![32, -256]
            }
        );
        assert_eq!(w.saturated_total(), 1);
        assert_eq!(w.saturated["fc1"], 1);
    }

    #[test]
    fn every_mismatch_is_listed() {
        let net = compile_str(
            "network m { format q = fixed(16, 8); params from server; input x : [2] from client;
             a = dense(x, 2); b = dense(a, 2); c = dense(b, 2); d = dense(c, 1); output y = d; }",
        )
        .expect("compiles");
        let bytes = file(vec![
            (
                "a.weight",
                vec![2, 2],
                Data::F32(vec![0.0, f32::NAN, 0.0, 0.0]),
            ),
            ("a.bias", vec![2], Data::F32(vec![0.0, 0.0])),
            ("b.weight", vec![2, 3], Data::F32(vec![0.0; 6])),
            ("b.bias", vec![2], Data::F32(vec![0.0; 2])),
            ("c.weight", vec![2, 2], Data::Raw(Dtype::F16, vec![0; 8])),
            ("c.bias", vec![2], Data::F32(vec![0.0; 2])),
            ("d.bias", vec![1], Data::F32(vec![0.0])),
            ("z.weight", vec![1], Data::F32(vec![0.0])),
        ]);
        let e = load_safetensors(&net, &bytes).unwrap_err();
        let WeightsError::Mismatch { problems, .. } = &e else {
            panic!("{e}")
        };
        assert!(
            problems.contains(&Problem::NonFinite {
                name: "a.weight".into(),
                index: 1
            }),
            "{e}"
        );
        assert!(problems.contains(&Problem::WrongShape {
            name: "b.weight".into(),
            expected: vec![2, 2],
            found: vec![2, 3]
        }));
        assert!(problems.contains(&Problem::BadDtype {
            name: "c.weight".into(),
            dtype: "F16".into()
        }));
        assert!(problems.contains(&Problem::Missing {
            name: "d.weight".into(),
            expected: vec![1, 2]
        }));
        assert!(problems.contains(&Problem::Extra {
            name: "z.weight".into(),
            found: vec![1]
        }));
        assert_eq!(problems.len(), 5);
        let text = e.to_string();
        assert!(text.contains("`c.weight` has element type F16"), "{text}");
        assert!(
            text.contains("missing `d.weight` (expected shape [1, 2])"),
            "{text}"
        );
        assert!(matches!(
            load_safetensors(&net, b"garbage"),
            Err(WeightsError::Format(_))
        ));
    }

    #[test]
    fn batchnorm_is_folded_into_dense() {
        let net = compile_str(
            "network m { format q = fixed(16, 8); params from server; input x : [2] from client;
             fc = dense(x, 2); bn = batchnorm(fc); output y = bn; }",
        )
        .expect("compiles");
        let bytes = file(vec![
            (
                "fc.weight",
                vec![2, 2],
                Data::F32(vec![1.0, 2.0, 0.5, -1.0]),
            ),
            ("fc.bias", vec![2], Data::F32(vec![0.5, 0.0])),
            ("bn.weight", vec![2], Data::F32(vec![2.0, 1.0])),
            ("bn.bias", vec![2], Data::F32(vec![1.0, -0.25])),
            ("bn.running_mean", vec![2], Data::F32(vec![0.5, 1.0])),
            (
                "bn.running_var",
                vec![2],
                Data::F32(vec![4.0 - 1e-5, 1.0 - 1e-5]),
            ),
            (
                "bn.num_batches_tracked",
                vec![],
                Data::Raw(Dtype::I64, 7i64.to_le_bytes().to_vec()),
            ),
        ]);
        let w = load_safetensors(&net, &bytes).expect("loads");
        // channel 0: s = 2/2 = 1, w = [1, 2], b = (0.5 − 0.5)·1 + 1 = 1
        // channel 1: s = 1/1 = 1, w = [0.5, −1], b = (0 − 1)·1 − 0.25 = −1.25
        assert_eq!(
            w.layers["fc"],
            LayerWeights::Affine {
                weight: vec![256, 512, 128, -256],
                bias: vec![256, -320]
            }
        );
    }

    #[test]
    fn binary_layers_get_thresholds() {
        let net = compile_str(
            "network m { format q = fixed(16, 8); params from server; input x : [4] from client;
             s = sign(x); b1 = bdense(s, 2); b2 = bdense(b1, 2, bias=false); bn = batchnorm(b2);
             o = bdense(bn, 2, scores=true); output y = o; }",
        )
        .expect("compiles");
        let bytes = file(vec![
            (
                "b1.weight",
                vec![2, 4],
                Data::F32(vec![0.3, -0.1, 0.0, 2.0, -1.0, -1.0, -1.0, -1.0]),
            ),
            ("b1.bias", vec![2], Data::F32(vec![1.0, -2.5])),
            (
                "b2.weight",
                vec![2, 2],
                Data::F32(vec![1.0, 1.0, 1.0, -1.0]),
            ),
            ("bn.weight", vec![2], Data::F32(vec![1.0, -1.0])),
            ("bn.bias", vec![2], Data::F32(vec![0.0, 0.5])),
            ("bn.running_mean", vec![2], Data::F32(vec![1.0, 0.0])),
            (
                "bn.running_var",
                vec![2],
                Data::F32(vec![1.0 - 1e-5, 1.0 - 1e-5]),
            ),
            (
                "o.weight",
                vec![2, 2],
                Data::F32(vec![1.0, -1.0, -1.0, 1.0]),
            ),
            ("o.bias", vec![2], Data::F32(vec![0.5, 300.0])),
        ]);
        let w = load_safetensors(&net, &bytes).expect("loads");
        // b1: n = 4; θ = ceil((4 − b)/2): b = 1 → 2, b = −2.5 → ceil(3.25) = 4
        assert_eq!(
            w.layers["b1"],
            LayerWeights::Threshold {
                weight: vec![true, false, true, true, false, false, false, false],
                threshold: vec![2, 4]
            }
        );
        // b2 with bn: ch0 γ=1, σ=1: s = 1, t = −1 → a >= 1 → pop >= (2 + 1)/2 → 2
        // ch1 γ=−1: s = −1, t = 0.5 → flip row; pop' >= (2 + 0 + (0.5/−1))/2 = 0.75 → 1
        assert_eq!(
            w.layers["b2"],
            LayerWeights::Threshold {
                weight: vec![true, true, false, true],
                threshold: vec![2, 1]
            }
        );
        assert_eq!(
            w.layers["o"],
            LayerWeights::BinaryScores {
                weight: vec![true, false, false, true],
                bias: vec![128, 32767]
            }
        );
        assert_eq!(w.saturated["o"], 1);
        // the thresholds reproduce sign(bn(2·pop − n + bias)) on every input
        let vals = |x: &[i64]| {
            crate::reference::run(&net, &w, &[x.to_vec()]).expect("runs")
                [net.tensor_by_name("b2").expect("b2")]
            .clone()
        };
        for bits in 0..16i64 {
            let x: Vec<i64> = (0..4)
                .map(|i| if bits >> i & 1 == 1 { 100 } else { -100 })
                .collect();
            let xb: Vec<f64> = x.iter().map(|v| if *v >= 0 { 1.0 } else { -1.0 }).collect();
            let w1 = [[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]];
            let b1 = [1.0, -2.5];
            let h: Vec<f64> = (0..2)
                .map(|j| {
                    let a: f64 = (0..4).map(|i| w1[j][i] * xb[i]).sum::<f64>() + b1[j];
                    if a >= 0.0 { 1.0 } else { -1.0 }
                })
                .collect();
            let w2 = [[1.0, 1.0], [1.0, -1.0]];
            let (g, beta, mu) = ([1.0, -1.0], [0.0, 0.5], [1.0, 0.0]);
            let expect: Vec<i64> = (0..2)
                .map(|j| {
                    let a: f64 = (0..2).map(|i| w2[j][i] * h[i]).sum();
                    i64::from(g[j] * (a - mu[j]) + beta[j] >= 0.0)
                })
                .collect();
            assert_eq!(vals(&x), expect, "input bits {bits:04b}");
        }
    }
}

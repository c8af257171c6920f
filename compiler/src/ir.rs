//! Layer IR: a typed, shape-annotated list of layers in topological order.
//!
//! Every value is a [`Tensor`] (inputs and layer outputs) with a shape
//! (row-major, channels first for images, no batch dimension) and a
//! [`Format`]. Layers name their parameters as PyTorch's `state_dict` does:
//! `NAME.weight`, `NAME.bias` (dense `[out, in]`, conv `[out_ch, in_ch, kh, kw]`),
//! and for batch norm `NAME.weight`, `NAME.bias`, `NAME.running_mean`,
//! `NAME.running_var` (`[channels]` each).

use crate::check::Typed;
use std::fmt;
use std::sync::Arc;

/// Index of a tensor in [`Network::tensors`].
pub type TensorId = usize;
/// Index of a layer in [`Network::layers`].
pub type LayerId = usize;

/// A number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `fixed(bits, frac)`: a real v is the `bits`-bit two's-complement
    /// integer round(v · 2^frac). 2 ≤ bits ≤ 32, frac < bits.
    Fixed {
        /// Total bits, sign included.
        bits: u32,
        /// Fraction bits.
        frac: u32,
    },
    /// `binary`: one bit; 1 stands for +1 and 0 for −1 (as in XONN).
    Binary,
    /// An unsigned class index (the output of `argmax`), `bits` wide.
    Index {
        /// Width in bits.
        bits: u32,
    },
}

impl Format {
    /// Width in bits of one element.
    pub fn bits(&self) -> u32 {
        match *self {
            Format::Fixed { bits, .. } => bits,
            Format::Binary => 1,
            Format::Index { bits } => bits,
        }
    }
    /// Fraction bits (0 for binary and index).
    pub fn frac(&self) -> u32 {
        match *self {
            Format::Fixed { frac, .. } => frac,
            _ => 0,
        }
    }
    /// Smallest representable integer.
    pub fn min_int(&self) -> i64 {
        match *self {
            Format::Fixed { bits, .. } => -(1i64 << (bits - 1)),
            _ => 0,
        }
    }
    /// Largest representable integer.
    pub fn max_int(&self) -> i64 {
        match *self {
            Format::Fixed { bits, .. } => (1i64 << (bits - 1)) - 1,
            Format::Binary => 1,
            Format::Index { bits } => (1i64 << bits) - 1,
        }
    }
    /// Clamps `v` into the representable range.
    pub fn saturate(&self, v: i128) -> i64 {
        v.clamp(self.min_int() as i128, self.max_int() as i128) as i64
    }
    /// True for `fixed(..)`.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Format::Fixed { .. })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Fixed { bits, frac } => write!(f, "fixed({bits}, {frac})"),
            Format::Binary => write!(f, "binary"),
            Format::Index { bits } => write!(f, "index({bits})"),
        }
    }
}

/// Who provides an input or the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The evaluator.
    Client,
    /// The garbler.
    Server,
}

/// Who provides the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamsOwner {
    /// A party's private input.
    Party(Party),
    /// Known to both: weights become circuit constants.
    Public,
}

/// Who learns an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputOwner {
    /// Only the client (the default).
    Client,
    /// Only the server.
    Server,
    /// Both parties.
    Both,
}

/// A value of the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// Its name (block instances prefix their names with `INSTANCE.`).
    pub name: String,
    /// Dimensions (no batch dimension).
    pub shape: Vec<usize>,
    /// Number format of each element.
    pub format: Format,
}

impl Tensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True if it has no elements (never for checked networks).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A network input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The tensor.
    pub tensor: TensorId,
    /// Who provides it.
    pub owner: Party,
}

/// A network output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Output name.
    pub name: String,
    /// The tensor.
    pub tensor: TensorId,
    /// Who learns it.
    pub owner: OutputOwner,
}

/// Sigmoid or tanh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// 1 / (1 + e^−x)
    Sigmoid,
    /// tanh x
    Tanh,
}

/// A layer operation. Shapes: `x` is the (first) input tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `x: [in]` → `[out]`; `y = sat(((W·x) + (b << f_x)) >> f_x)` (see `reference`).
    Dense {
        /// Output features.
        out: usize,
        /// Whether `NAME.bias` exists (after batch-norm folding there is always a bias).
        bias: bool,
        /// Format of the quantized weights and bias (= the output format).
        weight_format: Format,
    },
    /// `x: [c, h, w]` → `[out, h', w']`, zero padding.
    Conv2d {
        /// Output channels.
        out: usize,
        /// Kernel height and width.
        kernel: (usize, usize),
        /// Stride (both directions).
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
        /// Whether `NAME.bias` exists.
        bias: bool,
        /// Format of the quantized weights and bias (= the output format).
        weight_format: Format,
    },
    /// Window maximum, `[c, h, w]` → `[c, h', w']`.
    MaxPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// Window sum then arithmetic shift right by log2(kernel²); kernel is a power of two.
    AvgPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// Window sum, saturated; kernel is a power of two.
    SumPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// max(x, 0).
    Relu,
    /// Piecewise-linear sigmoid or tanh (table: `reference::pwl_table`).
    PiecewiseLinear {
        /// Which function.
        function: Activation,
        /// Number of linear segments.
        segments: usize,
    },
    /// Batch norm folded into layer `into` (a dense/conv/bdense/bconv2d): the
    /// identity on values, no gates. Its parameters are consumed by the folding.
    BatchNorm {
        /// The layer it is folded into.
        into: LayerId,
        /// ε of the variance.
        eps: f64,
    },
    /// Reshape to 1-D.
    Flatten,
    /// Reshape to the output tensor's shape.
    Reshape,
    /// Element-wise saturating sum of two tensors of the same shape and format.
    Add,
    /// `x ≥ 0` → 1 (+1), else 0 (−1): fixed → binary.
    Sign,
    /// XNOR-popcount dense layer on a binary `[in]` → `[out]`.
    BDense {
        /// Output features.
        out: usize,
        /// Whether `NAME.bias` exists.
        bias: bool,
        /// Emit fixed-point scores (2·popcount − n)·2^f + b instead of bits.
        scores: bool,
    },
    /// XNOR-popcount convolution on a binary `[c, h, w]`; padding cells are 0 (−1).
    BConv2d {
        /// Output channels.
        out: usize,
        /// Kernel height and width.
        kernel: (usize, usize),
        /// Stride.
        stride: usize,
        /// Padding on each side (padding bits are 0, i.e. −1).
        padding: usize,
        /// Whether `NAME.bias` exists.
        bias: bool,
        /// Emit fixed-point scores instead of bits.
        scores: bool,
    },
    /// Change of fixed-point format: shift by the difference of fraction bits (floor), saturate.
    Requantize,
    /// Index of the first maximum over all elements.
    Argmax,
    /// The client's plaintext projection of a raw input (see [`Projection`]); only in
    /// the checked network: [`build`] turns it into a [`Projection`].
    Project {
        /// Output features.
        out: usize,
    },
}

impl Op {
    /// The DSL name of the operation.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Dense { .. } => "dense",
            Op::Conv2d { .. } => "conv2d",
            Op::MaxPool { .. } => "maxpool",
            Op::AvgPool { .. } => "avgpool",
            Op::SumPool { .. } => "sumpool",
            Op::Relu => "relu",
            Op::PiecewiseLinear {
                function: Activation::Sigmoid,
                ..
            } => "sigmoid",
            Op::PiecewiseLinear {
                function: Activation::Tanh,
                ..
            } => "tanh",
            Op::BatchNorm { .. } => "batchnorm",
            Op::Flatten => "flatten",
            Op::Reshape => "reshape",
            Op::Add => "add",
            Op::Sign => "sign",
            Op::BDense { .. } => "bdense",
            Op::BConv2d { .. } => "bconv2d",
            Op::Requantize => "requantize",
            Op::Argmax => "argmax",
            Op::Project { .. } => "project",
        }
    }
}

/// What a parameter tensor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamRole {
    /// Dense/conv weight.
    Weight,
    /// Dense/conv bias.
    Bias,
    /// Batch-norm γ (`NAME.weight`).
    BnWeight,
    /// Batch-norm β (`NAME.bias`).
    BnBias,
    /// Batch-norm running mean.
    BnMean,
    /// Batch-norm running variance.
    BnVar,
}

/// A parameter tensor a layer expects in the weights file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// `state_dict` name, e.g. `fc1.weight`.
    pub name: String,
    /// Expected shape.
    pub shape: Vec<usize>,
    /// Role.
    pub role: ParamRole,
}

/// One layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Layer name (= its output tensor's name; `NAME` in `NAME.weight`).
    pub name: String,
    /// Operation.
    pub op: Op,
    /// Input tensors (two for `add`, one otherwise).
    pub inputs: Vec<TensorId>,
    /// Output tensor.
    pub output: TensorId,
    /// Parameters expected in the weights file.
    pub params: Vec<ParamSpec>,
    /// For `pruned=true` dense/conv layers, the public pattern: per weight element
    /// (row-major, as `N.weight`), true if it is kept. Pruned weights are zero, the
    /// circuit has no product for them, and the private `N.weight` input holds only
    /// the kept elements.
    pub pattern: Option<Arc<[bool]>>,
}

impl Layer {
    /// Whether weight element `i` is kept (always, without a pattern).
    pub fn kept(&self, i: usize) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| p.get(i).copied().unwrap_or(false))
    }
}

/// A `p = project(x, K);` layer: the client computes `p` from its raw input `x` in
/// plaintext, with the public matrix `p.weight` `[K, len(x)]`, before the circuit,
/// whose client input is `p`. Fixed point, exactly as `dense` without a bias:
/// `p_k = sat((Σ_j W_kj · x_j) >> f_x)`, x quantized in its input format and W in
/// `p`'s format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Layer name (its matrix is `NAME.weight` in the public file).
    pub name: String,
    /// The raw input the client gives.
    pub raw: TensorId,
    /// The projected tensor: the circuit's input.
    pub output: TensorId,
    /// The quantized matrix, row-major `[K, len(x)]`.
    pub weight: Arc<[i64]>,
    /// Matrix values that saturated when quantized.
    pub saturated: usize,
}

impl Projection {
    /// The projection of the raw input values `x` (quantized in the raw format); an
    /// error if `x` has the wrong length or a value outside the raw format.
    pub fn apply(&self, net: &Network, x: &[i64]) -> Result<Vec<i64>, crate::CompileError> {
        let xt = &net.tensors[self.raw];
        let ot = &net.tensors[self.output];
        // Checks length and range as for any input.
        crate::tensor_bits(&xt.name, x, xt.len(), xt.format)?;
        if self.weight.len() != ot.len() * xt.len() {
            return Err(crate::CompileError::BadInput {
                name: xt.name.clone(),
                problem: format!(
                    "the projection `{}` has a matrix of the wrong size",
                    self.name
                ),
            });
        }
        let zeros = vec![0; ot.len()];
        Ok(crate::reference::dense(
            x,
            &self.weight,
            &zeros,
            xt.format.frac(),
            ot.format,
        ))
    }
}

/// A checked network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Network name.
    pub name: String,
    /// The network's default format.
    pub default_format: Format,
    /// Who provides the parameters.
    pub params_owner: ParamsOwner,
    /// All tensors.
    pub tensors: Vec<Tensor>,
    /// Inputs, in declaration order.
    pub inputs: Vec<Input>,
    /// Layers in topological (definition) order.
    pub layers: Vec<Layer>,
    /// Outputs, in declaration order.
    pub outputs: Vec<Output>,
    /// Client-side projections of raw inputs (their outputs are in `inputs`).
    pub projections: Vec<Projection>,
    /// The `public "FILE";` file (path as resolved, bytes), if any.
    pub public: Option<(String, Arc<[u8]>)>,
}

impl Network {
    /// The projection whose output is network input `i`, if it is projected.
    pub fn projection_of(&self, i: usize) -> Option<&Projection> {
        let t = self.inputs.get(i)?.tensor;
        self.projections.iter().find(|p| p.output == t)
    }
    /// The tensor the party gives for network input `i`: the raw tensor of a
    /// projected input, else the input itself.
    pub fn given_input(&self, i: usize) -> &Tensor {
        match self.projection_of(i) {
            Some(p) => &self.tensors[p.raw],
            None => &self.tensors[self.inputs[i].tensor],
        }
    }
    /// Network input `i`'s values from what the party gives (projected if needed).
    pub fn prepare_input(
        &self,
        i: usize,
        given: Vec<i64>,
    ) -> Result<Vec<i64>, crate::CompileError> {
        match self.projection_of(i) {
            Some(p) => p.apply(self, &given),
            None => Ok(given),
        }
    }
    /// The tensor with this name.
    pub fn tensor_by_name(&self, name: &str) -> Option<TensorId> {
        self.tensors.iter().position(|t| t.name == name)
    }
    /// The layer with this name.
    pub fn layer_by_name(&self, name: &str) -> Option<LayerId> {
        self.layers.iter().position(|l| l.name == name)
    }
    /// All expected parameter tensors, in layer order.
    pub fn params(&self) -> impl Iterator<Item = &ParamSpec> {
        self.layers.iter().flat_map(|l| l.params.iter())
    }
}

/// Signed width (in bits) of an accumulator that holds any
/// `Σ_{i<fan_in} x_i·w_i + (bias << x.frac())` exactly, with x in `x`, w and
/// bias in `w` (the dense/conv contract), so the sum never overflows.
pub fn accumulator_bits(x: Format, w: Format, fan_in: usize) -> u32 {
    let xm = 1u128 << (x.bits() - 1); // |min| of x
    let wm = 1u128 << (w.bits() - 1);
    let bound = (fan_in as u128)
        .saturating_mul(xm * wm)
        .saturating_add(wm << x.frac());
    // Every sum lies in [−bound, bound − 1] (a positive bias is < wm·2^f), and
    // bits = ceil(log2(bound)) + 1 gives the range [−2^(bits−1), 2^(bits−1) − 1]
    // with 2^(bits−1) >= bound.
    (u128::BITS - (bound.max(1) - 1).leading_zeros()) + 1
}

impl Network {
    /// Width of the exact accumulator of a dense or conv layer (None for other
    /// layers); for a pruned layer, of the row with the most kept weights.
    pub fn accumulator_bits(&self, layer: LayerId) -> Option<u32> {
        let l = self.layers.get(layer)?;
        let x = &self.tensors[*l.inputs.first()?];
        let (wf, full, out) = match &l.op {
            Op::Dense {
                weight_format, out, ..
            } => (*weight_format, x.shape[0], *out),
            Op::Conv2d {
                kernel,
                weight_format,
                out,
                ..
            } => (*weight_format, x.shape[0] * kernel.0 * kernel.1, *out),
            _ => return None,
        };
        let fan_in = match &l.pattern {
            Some(p) if full > 0 => (0..out)
                .map(|o| p[o * full..(o + 1) * full].iter().filter(|k| **k).count())
                .max()
                .unwrap_or(0),
            _ => full,
        };
        Some(accumulator_bits(x.format, wf, fan_in))
    }
}

/// Builds the layer IR from a checked network: drops spans and lists each
/// layer's parameter tensors with their `state_dict` names and shapes.
pub fn build(t: &Typed, public: &crate::public::Public) -> Network {
    let tensors: Vec<Tensor> = t.tensors.iter().map(|x| x.tensor.clone()).collect();
    // Projections leave the layer list: renumber the layers after them.
    let mut new_index = Vec::with_capacity(t.layers.len());
    let mut next = 0;
    for l in &t.layers {
        new_index.push(next);
        if !matches!(l.op, Op::Project { .. }) {
            next += 1;
        }
    }
    let mut inputs = t.inputs.clone();
    let mut projections = Vec::new();
    for (li, l) in t.layers.iter().enumerate() {
        if matches!(l.op, Op::Project { .. }) {
            let (weight, saturated) = public.projections.get(&li).cloned().unwrap_or_default();
            for i in inputs.iter_mut().filter(|i| i.tensor == l.inputs[0]) {
                i.tensor = l.output;
            }
            projections.push(Projection {
                name: l.name.clone(),
                raw: l.inputs[0],
                output: l.output,
                weight,
                saturated,
            });
        }
    }
    let layers = t
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| !matches!(l.op, Op::Project { .. }))
        .map(|(li, l)| {
            let in_shape = &tensors[l.inputs[0]].shape;
            let p = |suffix: &str, shape: Vec<usize>, role| ParamSpec {
                name: format!("{}.{suffix}", l.name),
                shape,
                role,
            };
            let mut params = Vec::new();
            match &l.op {
                Op::Dense { out, bias, .. } | Op::BDense { out, bias, .. } => {
                    params.push(p("weight", vec![*out, in_shape[0]], ParamRole::Weight));
                    if *bias {
                        params.push(p("bias", vec![*out], ParamRole::Bias));
                    }
                }
                Op::Conv2d {
                    out, kernel, bias, ..
                }
                | Op::BConv2d {
                    out, kernel, bias, ..
                } => {
                    params.push(p(
                        "weight",
                        vec![*out, in_shape[0], kernel.0, kernel.1],
                        ParamRole::Weight,
                    ));
                    if *bias {
                        params.push(p("bias", vec![*out], ParamRole::Bias));
                    }
                }
                Op::BatchNorm { .. } => {
                    let c = in_shape[0];
                    params.push(p("weight", vec![c], ParamRole::BnWeight));
                    params.push(p("bias", vec![c], ParamRole::BnBias));
                    params.push(p("running_mean", vec![c], ParamRole::BnMean));
                    params.push(p("running_var", vec![c], ParamRole::BnVar));
                }
                _ => {}
            }
            let op = match l.op {
                Op::BatchNorm { into, eps } => Op::BatchNorm {
                    into: new_index[into],
                    eps,
                },
                ref op => op.clone(),
            };
            Layer {
                name: l.name.clone(),
                op,
                inputs: l.inputs.clone(),
                output: l.output,
                params,
                pattern: public.patterns.get(&li).cloned(),
            }
        })
        .collect();
    Network {
        name: t.name.clone(),
        default_format: t.default_format,
        params_owner: t.params_owner,
        tensors,
        inputs,
        layers,
        outputs: t.outputs.clone(),
        projections,
        public: public.file.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_str;

    #[test]
    fn formats() {
        let q = Format::Fixed { bits: 8, frac: 4 };
        assert_eq!(
            (q.min_int(), q.max_int(), q.bits(), q.frac()),
            (-128, 127, 8, 4)
        );
        assert_eq!(q.saturate(1000), 127);
        assert_eq!(q.saturate(-1000), -128);
        assert_eq!(Format::Binary.max_int(), 1);
        assert_eq!(Format::Index { bits: 4 }.max_int(), 15);
        assert_eq!(q.to_string(), "fixed(8, 4)");
        assert_eq!(
            Format::Fixed { bits: 32, frac: 0 }.min_int(),
            i32::MIN as i64
        );
    }

    #[test]
    fn parameter_specs_follow_state_dict() {
        let n = compile_str(
            "network n { format q = fixed(16, 8); params public; input x : [3, 8, 8] from client;
             c = conv2d(x, 4, kernel=[3, 2], bias=false); bn = batchnorm(c); s = sign(bn);
             bc = bconv2d(s, 2, kernel=3, scores=true); f = flatten(bc); d = dense(f, 5); b = sign(d); bd = bdense(b, 3, bias=false);
             output bd; }",
        )
        .expect("compiles");
        let p: Vec<(&str, Vec<usize>, ParamRole)> = n
            .params()
            .map(|p| (p.name.as_str(), p.shape.clone(), p.role))
            .collect();
        assert_eq!(
            p,
            vec![
                ("c.weight", vec![4, 3, 3, 2], ParamRole::Weight),
                ("bn.weight", vec![4], ParamRole::BnWeight),
                ("bn.bias", vec![4], ParamRole::BnBias),
                ("bn.running_mean", vec![4], ParamRole::BnMean),
                ("bn.running_var", vec![4], ParamRole::BnVar),
                ("bc.weight", vec![2, 4, 3, 3], ParamRole::Weight),
                ("bc.bias", vec![2], ParamRole::Bias),
                ("d.weight", vec![5, 2 * 4 * 5], ParamRole::Weight),
                ("d.bias", vec![5], ParamRole::Bias),
                ("bd.weight", vec![3, 5], ParamRole::Weight),
            ]
        );
        assert_eq!(n.params_owner, ParamsOwner::Public);
        // layers are in topological order and every input is defined before use
        for (i, l) in n.layers.iter().enumerate() {
            for t in &l.inputs {
                let defined_by_input = n.inputs.iter().any(|x| x.tensor == *t);
                let defined_before = n.layers[..i].iter().any(|p| p.output == *t);
                assert!(defined_by_input || defined_before, "{}", l.name);
            }
            assert_eq!(n.tensors[l.output].name, l.name);
        }
        assert_eq!(n.layers[0].op.kind_name(), "conv2d");
    }

    #[test]
    fn accumulators_never_overflow() {
        for (bx, fx, bw, n) in [
            (16u32, 8u32, 16u32, 64usize),
            (8, 4, 8, 1),
            (16, 8, 16, 845),
            (2, 1, 2, 3),
            (32, 31, 32, 1 << 20),
        ] {
            let x = Format::Fixed { bits: bx, frac: fx };
            let w = Format::Fixed { bits: bw, frac: 0 };
            let bits = accumulator_bits(x, w, n);
            let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            let n = n as i128;
            let (xmin, xmax, wmin, wmax) = (
                x.min_int() as i128,
                x.max_int() as i128,
                w.min_int() as i128,
                w.max_int() as i128,
            );
            let most = n * (xmin * wmin) + (wmax << fx);
            let least = n * (xmin * wmax).min(xmax * wmin) + (wmin << fx);
            assert!(most <= hi && least >= lo, "{bx} {bw} {n}: {bits} bits");
            // and it is not wasteful: one bit less would overflow for some sum
            let (lo1, hi1) = (-(1i128 << (bits - 2)), (1i128 << (bits - 2)) - 1);
            assert!(
                most > hi1 || least < lo1,
                "{bx} {bw} {n}: {bits} bits is more than needed"
            );
        }
        let net = compile_str("network n { format q = fixed(16, 8); params public; input x : [64] from client; d = dense(x, 2); output d; }")
            .expect("ok");
        assert_eq!(net.accumulator_bits(0), Some(16 + 16 - 1 + 7));
    }

    #[test]
    fn same_source_same_ir() {
        let src = "network n { format q = fixed(16, 8); params public; input x : [4] from client; d = dense(x, 2); output d; }";
        assert_eq!(compile_str(src).expect("a"), compile_str(src).expect("b"));
    }
}

//! Lowering: the layer IR onto stdlib gadgets, through any [`Sink`] (a circuit
//! [`Builder`] or a gate [`Counter`]), one named section per layer.
//!
//! Circuit interface, in declaration order:
//! 1. every network input, named as the tensor, owned by its party (client →
//!    evaluator, server → garbler), elements row-major, element 0 in the lowest
//!    bits, each `format.bits()` wide (two's complement for fixed point);
//! 2. when the parameters are private, one input per parameter tensor (see
//!    [`params::param_inputs`]), in layer order, owned by the parameters' party.
//!
//! Public parameters become constants (the weights are then required).
//! Dense and conv layers accumulate exactly (the IR's `accumulator_bits`, bias
//! aligned to the products' fraction bits) and requantize once; a ReLU that is the
//! only consumer of a dense/conv output is fused into that requantization.
//! Layers whose outputs reach no network output are not lowered. Gates that no
//! output needs can still arise (a low bit a requantization drops, a neuron a
//! public threshold makes constant); [`count_live`] counts without them, through
//! checkpoints after each neuron and layer, so it gives the optimized circuit's
//! counts exactly.

mod activation;
mod affine;
mod binary;
pub mod params;
mod plan;
mod pool;

use crate::ir::{Format, Network, Op, OutputOwner, ParamsOwner, Party as NetParty};
use crate::weights::Weights;
use garnet_circuits::{
    Builder, Counter, FixedFormat, Gates, LiveCounter, LiveCounts, Party, Recipient, UnusedRoots,
    ValueType, Wire,
};
use garnet_stdlib::{argmax, requantize, zero_extend};
pub(crate) use plan::OutputUse;
use plan::Plan;

pub use params::{ParamInput, ParamKind, param_inputs, threshold_bits};

/// A tensor's value while lowering: one bit vector per element (LSB first).
pub type Value<B> = Vec<Vec<B>>;

/// Where lowered gates go: a [`Gates`] implementation that can also declare
/// typed inputs and outputs.
pub trait Sink: Gates {
    /// Declares an input of `bits` wires.
    fn declare_input(
        &mut self,
        name: &str,
        owner: Party,
        bits: u32,
        ty: ValueType,
    ) -> Vec<Self::Bit>;
    /// Declares an output.
    fn declare_output(&mut self, name: &str, to: Recipient, bits: &[Self::Bit], ty: ValueType);
}

impl Sink for Builder {
    fn declare_input(&mut self, name: &str, owner: Party, bits: u32, ty: ValueType) -> Vec<Wire> {
        self.typed_input(name, owner, bits, ty)
    }
    fn declare_output(&mut self, name: &str, to: Recipient, bits: &[Wire], ty: ValueType) {
        self.typed_output(name, to, bits, ty)
    }
}

impl Sink for Counter {
    fn declare_input(&mut self, name: &str, owner: Party, bits: u32, ty: ValueType) -> Vec<Wire> {
        self.typed_input(name, owner, bits, ty)
    }
    fn declare_output(&mut self, name: &str, to: Recipient, bits: &[Wire], ty: ValueType) {
        self.typed_output(name, to, bits, ty)
    }
}

impl Sink for LiveCounter {
    fn declare_input(&mut self, name: &str, owner: Party, bits: u32, ty: ValueType) -> Vec<Wire> {
        self.typed_input(name, owner, bits, ty)
    }
    fn declare_output(&mut self, name: &str, to: Recipient, bits: &[Wire], ty: ValueType) {
        self.typed_output(name, to, bits, ty)
    }
}

/// Why a network cannot be lowered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// `params public` needs the weights at compile time.
    #[error(
        "network `{0}` has `params public`: its weights become circuit constants, so pass them (--weights W.safetensors)"
    )]
    MissingWeights(String),
    /// A `project` layer left in the layer list (the client computes it; see `ir::build`).
    #[error("layer `{0}`: a projection is computed by the client, not in the circuit")]
    Projection(String),
    /// A layer's bound weights have the wrong kind or size.
    #[error("layer `{0}`: the bound weights do not fit the layer (wrong kind or size)")]
    BadWeights(String),
}

/// The circuit party of a network party.
pub fn party(p: NetParty) -> Party {
    match p {
        NetParty::Client => Party::Evaluator,
        NetParty::Server => Party::Garbler,
    }
}

/// The circuit recipient of a network output.
pub fn recipient(o: OutputOwner) -> Recipient {
    match o {
        OutputOwner::Client => Recipient::Evaluator,
        OutputOwner::Server => Recipient::Garbler,
        OutputOwner::Both => Recipient::Both,
    }
}

/// The circuit value type of a tensor.
pub fn value_type(shape: &[usize], format: Format) -> ValueType {
    ValueType {
        shape: Some(shape.iter().map(|d| *d as u32).collect()),
        format: match format {
            Format::Fixed { bits, frac } => Some(FixedFormat { bits, frac }),
            Format::Binary | Format::Index { .. } => None,
        },
    }
}

/// A layer's private parameters: weights, and the bias or thresholds if inputs.
pub(crate) type LayerParams<B> = (Vec<Vec<B>>, Option<Vec<Vec<B>>>);

/// Where each layer's parameters come from.
pub(crate) enum Params<'a, B> {
    /// Circuit inputs, per layer index.
    Private(Vec<Option<LayerParams<B>>>),
    /// Constants.
    Public(&'a Weights),
}

/// Lowers `net` onto `g`: declares inputs and outputs and makes the gates.
pub fn lower<G: Sink>(
    g: &mut G,
    net: &Network,
    weights: Option<&Weights>,
) -> Result<(), LowerError> {
    // Weights are needed only if some layer has parameters: a network without a
    // `params` line (public by default) and without weighted layers needs none.
    let has_params = net.params().next().is_some();
    if net.params_owner == ParamsOwner::Public && weights.is_none() && has_params {
        return Err(LowerError::MissingWeights(net.name.clone()));
    }
    let no_weights = Weights::default();
    let mut vals: Vec<Option<Value<G::Bit>>> = vec![None; net.tensors.len()];
    for inp in &net.inputs {
        let t = &net.tensors[inp.tensor];
        let eb = t.format.bits() as usize;
        let bits = g.declare_input(
            &t.name,
            party(inp.owner),
            (t.len() * eb) as u32,
            value_type(&t.shape, t.format),
        );
        vals[inp.tensor] = Some(bits.chunks(eb).map(<[_]>::to_vec).collect());
    }
    let params = match (net.params_owner, weights) {
        (ParamsOwner::Party(p), _) => {
            let mut per_layer: Vec<Option<LayerParams<G::Bit>>> = vec![None; net.layers.len()];
            for pi in param_inputs(net) {
                let bits = g.declare_input(
                    &pi.name,
                    party(p),
                    (pi.count * pi.elem_bits) as u32,
                    ValueType {
                        shape: Some(pi.shape.iter().map(|d| *d as u32).collect()),
                        format: pi.format.map(|(bits, frac)| FixedFormat { bits, frac }),
                    },
                );
                let mut v: Vec<Vec<G::Bit>> =
                    bits.chunks(pi.elem_bits).map(<[_]>::to_vec).collect();
                // Pruned weights: back to full positions (pruned ones empty, never read).
                if let (ParamKind::Weight, Some(pat)) = (pi.kind, &net.layers[pi.layer].pattern) {
                    let mut kept = v.into_iter();
                    v = pat
                        .iter()
                        .map(|k| {
                            if *k {
                                kept.next().unwrap_or_default()
                            } else {
                                Vec::new()
                            }
                        })
                        .collect();
                }
                let entry = per_layer[pi.layer].get_or_insert_with(|| (Vec::new(), None));
                match pi.kind {
                    ParamKind::Weight | ParamKind::BinaryWeight => entry.0 = v,
                    ParamKind::Bias | ParamKind::Threshold | ParamKind::ScoresBias => {
                        entry.1 = Some(v)
                    }
                }
            }
            Params::Private(per_layer)
        }
        (ParamsOwner::Public, Some(w)) => Params::Public(w),
        (ParamsOwner::Public, None) => Params::Public(&no_weights),
    };

    let plan = Plan::new(net);
    for (li, l) in net.layers.iter().enumerate() {
        g.section(&l.name);
        if !plan.live[l.output] {
            continue;
        }
        let x = vals[l.inputs[0]]
            .clone()
            .expect("inputs are lowered before use");
        let xt = &net.tensors[l.inputs[0]];
        let ot = &net.tensors[l.output];
        let read = &plan.read[l.output];
        let (zero, ob) = (g.zero(), ot.format.bits() as usize);
        let y: Value<G::Bit> = match &l.op {
            Op::Dense { .. } | Op::Conv2d { .. } => {
                let fuse = plan.fuse_relu[li];
                affine::lower(g, net, li, &x, &params, fuse, plan.output_use(l.output))?
            }
            Op::BDense { .. } | Op::BConv2d { .. } => {
                binary::lower(g, net, li, &x, &params, plan.output_use(l.output))?
            }
            Op::MaxPool { .. } | Op::AvgPool { .. } | Op::SumPool { .. } => {
                pool::lower(g, net, li, &x, read)
            }
            Op::Relu if plan.fused_relu[li] => x,
            Op::Relu => on_read(read, zero, ob, |e| garnet_stdlib::relu(g, &x[e])),
            Op::PiecewiseLinear { function, segments } => {
                activation::piecewise(g, &x, read, *function, *segments, ot.format)
            }
            Op::BatchNorm { .. } | Op::Flatten | Op::Reshape => x,
            Op::Add => {
                let b = vals[l.inputs[1]].clone().expect("lowered before use");
                on_read(read, zero, ob, |e| {
                    activation::add_saturating(g, &x[e], &b[e], ot.format)
                })
            }
            Op::Sign => on_read(read, zero, 1, |e| {
                let s = *x[e].last().expect("nonempty element");
                vec![g.not(s)]
            }),
            Op::Requantize => {
                let (f1, f2) = (xt.format.frac() as usize, ot.format.frac() as usize);
                on_read(read, zero, ob, |e| {
                    if f1 >= f2 {
                        requantize(g, &x[e], f1 - f2, ob)
                    } else {
                        let s = garnet_stdlib::shl(g, &x[e], f2 - f1);
                        requantize(g, &s, 0, ob)
                    }
                })
            }
            Op::Argmax => {
                let idx = argmax(g, &x);
                vec![zero_extend(g, &idx, ob)]
            }
            Op::Project { .. } => return Err(LowerError::Projection(l.name.clone())),
        };
        // The layer's output is what later layers read: gates not leading to it are
        // dead (for a LiveCounter; affine and binary layers checkpoint per output).
        let from = plan.read_from[l.output];
        let out_bits: Vec<G::Bit> = y
            .iter()
            .flat_map(|v| v.iter().skip(from))
            .copied()
            .collect();
        g.checkpoint(&out_bits);
        vals[l.output] = Some(y);
        for t in &l.inputs {
            if plan.last_use[*t] == Some(li) {
                vals[*t] = None;
            }
        }
    }
    for o in &net.outputs {
        let t = &net.tensors[o.tensor];
        let v = vals[o.tensor].as_ref().expect("outputs are lowered");
        let bits: Vec<G::Bit> = v.iter().flatten().copied().collect();
        g.declare_output(
            &o.name,
            recipient(o.owner),
            &bits,
            value_type(&t.shape, t.format),
        );
    }
    Ok(())
}

/// `f` on every element that is read; the others are `bits` zeros (no gates).
fn on_read<B: Copy>(
    read: &[bool],
    zero: B,
    bits: usize,
    mut f: impl FnMut(usize) -> Vec<B>,
) -> Value<B> {
    read.iter()
        .enumerate()
        .map(|(e, &r)| if r { f(e) } else { vec![zero; bits] })
        .collect()
}

/// Geometry of a window operation on a `[c, h, w]` tensor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Geometry {
    /// The window geometry of a `[c, h, w]` input.
    pub fn new(shape: &[usize], kernel: (usize, usize), stride: usize, pad: usize) -> Geometry {
        Geometry {
            c: shape[0],
            h: shape[1],
            w: shape[2],
            kh: kernel.0,
            kw: kernel.1,
            stride,
            pad,
        }
    }
    /// The output positions (oy, ox), row by row.
    pub fn outputs(&self) -> impl Iterator<Item = (usize, usize)> + use<> {
        let (oh, ow) = self.out_hw();
        (0..oh).flat_map(move |oy| (0..ow).map(move |ox| (oy, ox)))
    }
    /// Every kernel cell of the window at (oy, ox) over all channels, in weight
    /// order (ci, ky, kx): its index within the kernel and the input element under it
    /// (None in the padding).
    pub fn window(
        &self,
        oy: usize,
        ox: usize,
    ) -> impl Iterator<Item = (usize, Option<usize>)> + '_ {
        (0..self.c)
            .flat_map(move |ci| {
                (0..self.kh).flat_map(move |ky| (0..self.kw).map(move |kx| (ci, ky, kx)))
            })
            .map(move |(ci, ky, kx)| {
                (
                    (ci * self.kh + ky) * self.kw + kx,
                    self.input_at(ci, oy, ox, ky, kx),
                )
            })
    }
    pub fn out_hw(&self) -> (usize, usize) {
        (
            (self.h + 2 * self.pad - self.kh) / self.stride + 1,
            (self.w + 2 * self.pad - self.kw) / self.stride + 1,
        )
    }
    /// Input element under kernel cell (ky, kx) of output (oy, ox), channel ci;
    /// None in the padding.
    pub fn input_at(&self, ci: usize, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
        let y = (oy * self.stride + ky).checked_sub(self.pad)?;
        let x = (ox * self.stride + kx).checked_sub(self.pad)?;
        (y < self.h && x < self.w).then(|| (ci * self.h + y) * self.w + x)
    }
}

/// The gates of the optimized circuit, total and per layer, without building it:
/// lowers onto a [`LiveCounter`], again without the checkpoint bits a run found
/// unused (a layer output that a later layer reads only in part) until none is.
/// Usually one run; memory holds one neuron's gates, the layer outputs not read yet
/// and the dead gates, not the circuit.
pub fn count_live(net: &Network, weights: Option<&Weights>) -> Result<LiveCounts, LowerError> {
    let mut unused = UnusedRoots::default();
    loop {
        let mut c = LiveCounter::with_unused_roots(unused.clone());
        lower(&mut c, net, weights)?;
        let counts = c.finish();
        if counts.unused_roots.is_empty() {
            return Ok(counts);
        }
        // Each run names new unused bits, so this ends.
        unused = unused.union(counts.unused_roots.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_str;

    #[test]
    fn relu_fuses_only_into_a_sole_consumer_and_dead_layers_are_skipped() {
        let net = compile_str(
            "network n { format q = fixed(8, 4); params from server; input x : [4] from client;
             a = dense(x, 3); ra = relu(a); b = dense(x, 3); rb = relu(b); c = dense(x, 2); rc = relu(c);
             dead = dense(x, 5); output ra; output rb; output b; output rc; output c2 = argmax(c); }",
        )
        .expect("compiles");
        let plan = Plan::new(&net);
        let id = |n: &str| net.layer_by_name(n).expect("layer");
        assert!(plan.fuse_relu[id("a")] && plan.fused_relu[id("ra")]);
        // b is an output itself, c has two consumers: no fusion
        assert!(!plan.fuse_relu[id("b")] && !plan.fused_relu[id("rb")]);
        assert!(!plan.fuse_relu[id("c")] && !plan.fused_relu[id("rc")]);
        assert!(!plan.live[net.layers[id("dead")].output]);
        // the dead layer makes no gates but keeps its (empty) section
        let (total, sections) = crate::count(&net, None).expect("counts");
        let dead = sections.iter().find(|s| s.0 == "dead").expect("section");
        assert_eq!(dead.1.and, 0);
        assert!(total.and > 0);
    }

    #[test]
    fn checkpoints_name_only_the_bits_later_layers_read() {
        // sign reads the top bit, requantize skips the dropped fraction bits, through
        // a relu and a flatten: one counting run, no bit reported unused
        let net = compile_str(
            "network n { format q = fixed(12, 6); format p = fixed(8, 2); params from server;
             input x : q[1, 4, 4] from client;
             c = conv2d(x, 2, kernel=3); r = relu(c); f = flatten(r); rq = requantize(f, p);
             fx = flatten(x); d = dense(fx, 3); s = sign(d); b = bdense(s, 2, scores=true); t = requantize(b, p);
             output rq; output t; }",
        )
        .expect("compiles");
        let plan = Plan::new(&net);
        let tensor = |n: &str| net.layers[net.layer_by_name(n).expect("layer")].output;
        assert_eq!(plan.read_from[tensor("c")], 4);
        assert_eq!(plan.read_from[tensor("d")], 11);
        assert_eq!(plan.read_from[tensor("b")], 4);
        let mut c = LiveCounter::new();
        lower(&mut c, &net, None).expect("lowers");
        let once = c.finish();
        assert!(once.unused_roots.is_empty());
        assert!(once.total.and < once.made.and, "some gates are dead");
        let again = count_live(&net, None).expect("counts");
        assert_eq!(
            (again.total, again.sections.clone()),
            (once.total, once.sections.clone())
        );
    }

    #[test]
    fn windows_no_output_uses_are_not_computed() {
        // 5×5 conv outputs, 2×2 pooling: the last row and column are never read; a
        // 1×1 stride-2 conv reads every other input
        let net = compile_str(
            "network n { format q = fixed(8, 4); params from server; input x : q[1, 7, 7] from client;
             c = conv2d(x, 2, kernel=3); r = relu(c); p = maxpool(r, 2);
             s = conv2d(x, 1, kernel=1, stride=2); output p; output s; }",
        )
        .expect("compiles");
        let plan = Plan::new(&net);
        let tensor = |n: &str| net.layers[net.layer_by_name(n).expect("layer")].output;
        let c = &plan.read[tensor("c")];
        assert_eq!(c.len(), 2 * 25);
        for (e, r) in c.iter().enumerate() {
            let (y, x) = (e % 25 / 5, e % 5);
            assert_eq!(*r, y < 4 && x < 4, "element {e}");
        }
        // the read 3×3 windows cover rows and columns 0..6; the strided conv adds the
        // even cells of row and column 6
        let x = &plan.read[net.inputs[0].tensor];
        for (e, r) in x.iter().enumerate() {
            let (y, x) = (e / 7, e % 7);
            assert_eq!(
                *r,
                (y < 6 && x < 6) || (y % 2 == 0 && x % 2 == 0),
                "input {e}"
            );
        }
        // the conv layer makes no gate for the unread windows: its ANDs are those of
        // 2·16 outputs, and the count needs one run
        let mut c = LiveCounter::new();
        lower(&mut c, &net, None).expect("lowers");
        let once = c.finish();
        assert!(once.unused_roots.is_empty());
        let conv = once.sections.iter().find(|s| s.0 == "c").expect("c").1;
        let full = compile_str(
            "network n { format q = fixed(8, 4); params from server; input x : q[1, 7, 7] from client;
             c = conv2d(x, 2, kernel=3); r = relu(c); output r; }",
        )
        .expect("compiles");
        let (_, all) = crate::count(&full, None).expect("counts");
        let all_conv = all.iter().find(|s| s.0 == "c").expect("c").1;
        assert!(
            conv.and * 25 < all_conv.and * 17,
            "{} of {} ANDs",
            conv.and,
            all_conv.and
        );
        assert_eq!(once.made.and, once.total.and, "no AND made in vain");
    }

    #[test]
    fn parameter_inputs_follow_the_state_dict() {
        let net = compile_str(
            "network n { format q = fixed(16, 8); format p = fixed(8, 4); params from client;
             input x : q[2, 4, 4] from server;
             c = conv2d(x, 3, kernel=3, bias=false); bn = batchnorm(c); f = flatten(bn); d : p = dense(f, 2, bias=false);
             s = sign(d); b1 = bdense(s, 4, bias=false); b2 = bdense(b1, 3); b3 = bdense(b2, 2, scores=true);
             output b3; }",
        )
        .expect("compiles");
        let got: Vec<(String, ParamKind, usize, usize)> = param_inputs(&net)
            .into_iter()
            .map(|p| (p.name, p.kind, p.count, p.elem_bits))
            .collect();
        let want = [
            ("c.weight", ParamKind::Weight, 3 * 2 * 9, 16),
            ("c.bias", ParamKind::Bias, 3, 16), // the folded batch norm's shift
            ("d.weight", ParamKind::Weight, 2 * 12, 8),
            ("b1.weight", ParamKind::BinaryWeight, 8, 1),
            ("b2.weight", ParamKind::BinaryWeight, 12, 1),
            ("b2.threshold", ParamKind::Threshold, 3, 3), // 0..=5
            ("b3.weight", ParamKind::BinaryWeight, 6, 1),
            ("b3.bias", ParamKind::ScoresBias, 2, 16),
        ];
        let want: Vec<(String, ParamKind, usize, usize)> = want
            .iter()
            .map(|(n, k, c, b)| (n.to_string(), *k, *c, *b))
            .collect();
        assert_eq!(got, want);
        // the compiled circuit declares exactly these inputs, owned by the client,
        // after the network input (owned by the server)
        let c = crate::compile(&net, None).expect("compiles");
        assert_eq!(c.inputs[0].name, "x");
        assert_eq!(c.inputs[0].owner, Party::Garbler);
        assert_eq!(
            c.inputs[0].ty.format,
            Some(FixedFormat { bits: 16, frac: 8 })
        );
        assert_eq!(c.inputs[0].ty.shape, Some(vec![2, 4, 4]));
        let names: Vec<&str> = c.inputs[1..].iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, want.iter().map(|w| w.0.as_str()).collect::<Vec<_>>());
        assert!(c.inputs[1..].iter().all(|i| i.owner == Party::Evaluator));
        assert_eq!(crate::interface(&net).inputs, c.inputs);
        assert_eq!(c.outputs[0].recipient, Recipient::Evaluator);
        assert_eq!(threshold_bits(4), 3);
    }
}

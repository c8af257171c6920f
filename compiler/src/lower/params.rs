//! Private parameters as circuit inputs: which inputs, and their bits from bound
//! [`Weights`].
//!
//! Per dense/conv layer `N`: `N.weight` (`[out, in]` or `[out, in_ch, kh, kw]`,
//! row-major, each element the weight format's width) and `N.bias` (`[out]`) when
//! the layer has a bias or a batch norm is folded into it. Per bdense/bconv2d:
//! `N.weight` (one bit per weight, 1 = +1; rows already flipped by the batch-norm
//! folding when its scale is negative), then for bit outputs `N.threshold`
//! (`[out]`, unsigned, wide enough for `0..=fan_in + 1`) when the layer has a bias
//! or a folded batch norm, for scores `N.bias` (`[out]`, output format) when it
//! has a bias. Without them the threshold or bias is a constant. A pruned layer's
//! `N.weight` holds only the weights its public pattern keeps (`[kept]`, in
//! row-major order of the full tensor).

use crate::ir::{LayerId, Network, Op};
use crate::weights::{LayerWeights, Weights};
use garnet_circuits::bits::from_i128;

/// What a parameter input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Dense/conv weights (signed, the weight format).
    Weight,
    /// Dense/conv bias (signed, the weight format).
    Bias,
    /// Binary weights, one bit each.
    BinaryWeight,
    /// Popcount thresholds of a binary layer with bit outputs (unsigned).
    Threshold,
    /// Bias of a binary layer with scores (signed, the output format).
    ScoresBias,
}

/// One parameter input of the circuit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInput {
    /// Input name, `state_dict` style (`fc1.weight`).
    pub name: String,
    /// The layer it belongs to.
    pub layer: LayerId,
    /// What it holds.
    pub kind: ParamKind,
    /// Tensor shape.
    pub shape: Vec<usize>,
    /// Number of elements.
    pub count: usize,
    /// Bits per element.
    pub elem_bits: usize,
    /// Fixed-point format (bits, frac) of the elements, if any.
    pub format: Option<(u32, u32)>,
}

/// Whether a batch norm is folded into layer `li`.
pub fn has_batchnorm(net: &Network, li: LayerId) -> bool {
    net.layers
        .iter()
        .any(|b| matches!(b.op, Op::BatchNorm { into, .. } if into == li))
}

/// Fan-in of a binary or affine layer.
pub fn fan_in(net: &Network, li: LayerId) -> usize {
    let l = &net.layers[li];
    let x = &net.tensors[l.inputs[0]];
    match l.op {
        Op::Conv2d { kernel, .. } | Op::BConv2d { kernel, .. } => x.shape[0] * kernel.0 * kernel.1,
        _ => x.len(),
    }
}

/// Width of an unsigned threshold in `0..=fan_in + 1`.
pub fn threshold_bits(fan_in: usize) -> usize {
    (usize::BITS - (fan_in + 1).leading_zeros()) as usize
}

/// The parameter inputs of `net` (when its parameters are private), in layer order.
pub fn param_inputs(net: &Network) -> Vec<ParamInput> {
    let mut out = Vec::new();
    for (li, l) in net.layers.iter().enumerate() {
        let bn = has_batchnorm(net, li);
        let n = fan_in(net, li);
        let mut push = |suffix: &str, kind, shape: Vec<usize>, elem_bits, format| {
            out.push(ParamInput {
                name: format!("{}.{suffix}", l.name),
                layer: li,
                kind,
                count: shape.iter().product(),
                shape,
                elem_bits,
                format,
            })
        };
        let wshape = l
            .params
            .first()
            .map(|p| p.shape.clone())
            .unwrap_or_default();
        match l.op {
            Op::Dense {
                out,
                bias,
                weight_format,
                ..
            }
            | Op::Conv2d {
                out,
                bias,
                weight_format,
                ..
            } => {
                let f = Some((weight_format.bits(), weight_format.frac()));
                let b = weight_format.bits() as usize;
                // A pruned layer's input holds only the kept weights, in order.
                let wshape = match &l.pattern {
                    Some(p) => vec![p.iter().filter(|k| **k).count()],
                    None => wshape,
                };
                push("weight", ParamKind::Weight, wshape, b, f);
                if bias || bn {
                    push("bias", ParamKind::Bias, vec![out], b, f);
                }
            }
            Op::BDense {
                out, bias, scores, ..
            }
            | Op::BConv2d {
                out, bias, scores, ..
            } => {
                push("weight", ParamKind::BinaryWeight, wshape, 1, None);
                if scores && bias {
                    let of = net.tensors[l.output].format;
                    let f = Some((of.bits(), of.frac()));
                    push(
                        "bias",
                        ParamKind::ScoresBias,
                        vec![out],
                        of.bits() as usize,
                        f,
                    );
                } else if !scores && (bias || bn) {
                    push(
                        "threshold",
                        ParamKind::Threshold,
                        vec![out],
                        threshold_bits(n),
                        None,
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The integer elements of a parameter input, from bound weights; None when the
/// weights do not fit (missing layer, wrong kind or size).
pub fn param_values(p: &ParamInput, w: &Weights, net: &Network) -> Option<Vec<i64>> {
    let l = &net.layers[p.layer];
    let lw = w.layers.get(&l.name)?;
    let v: Vec<i64> = match (p.kind, lw) {
        (ParamKind::Weight, LayerWeights::Affine { weight, .. }) => weight
            .iter()
            .enumerate()
            .filter(|(i, _)| l.kept(*i))
            .map(|(_, v)| *v)
            .collect(),
        (ParamKind::Bias, LayerWeights::Affine { bias, .. }) => bias.clone(),
        (
            ParamKind::BinaryWeight,
            LayerWeights::Threshold { weight, .. } | LayerWeights::BinaryScores { weight, .. },
        ) => weight.iter().map(|b| i64::from(*b)).collect(),
        (ParamKind::Threshold, LayerWeights::Threshold { threshold, .. }) => threshold.clone(),
        (ParamKind::ScoresBias, LayerWeights::BinaryScores { bias, .. }) => bias.clone(),
        _ => return None,
    };
    (v.len() == p.count).then_some(v)
}

/// The bits of a parameter input (elements LSB first, concatenated).
pub fn param_bits(p: &ParamInput, w: &Weights, net: &Network) -> Option<Vec<bool>> {
    let v = param_values(p, w, net)?;
    Some(
        v.iter()
            .flat_map(|x| from_i128(*x as i128, p.elem_bits))
            .collect(),
    )
}

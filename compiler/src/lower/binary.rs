//! bdense and bconv2d (XONN): free XNORs, a popcount tree, then a threshold
//! comparison (bit outputs) or a fixed-point score `sat(((2·pop − n) << f) + bias)`.

use super::params::{fan_in, threshold_bits};
use super::{Geometry, LowerError, OutputUse, Params, Sink, Value};
use crate::ir::{Network, Op};
use crate::weights::LayerWeights;
use garnet_stdlib::dot::signed_width;
use garnet_stdlib::{ColumnSum, binarized_neuron, requantize};

/// Per output: the input element under each weight cell (None = padding, a 0 bit).
fn cells(net: &Network, li: usize) -> (Vec<Vec<Option<usize>>>, usize) {
    let l = &net.layers[li];
    let xt = &net.tensors[l.inputs[0]];
    match l.op {
        Op::BDense { out, .. } => {
            let n = xt.len();
            ((0..out).map(|_| (0..n).map(Some).collect()).collect(), 1)
        }
        Op::BConv2d {
            out,
            kernel,
            stride,
            padding,
            ..
        } => {
            let geo = Geometry::new(&xt.shape, kernel, stride, padding);
            let (oh, ow) = geo.out_hw();
            let mut all = Vec::new();
            for _ in 0..out {
                for (oy, ox) in geo.outputs() {
                    all.push(geo.window(oy, ox).map(|(_, i)| i).collect());
                }
            }
            (all, oh * ow)
        }
        _ => (Vec::new(), 1),
    }
}

/// Lowers binary layer `li` on input bits `x`; later layers read the outputs that
/// are `read` (the others are zeros, no gates), their bits from `read_from` up
/// (checkpointed per output).
pub(crate) fn lower<G: Sink>(
    g: &mut G,
    net: &Network,
    li: usize,
    x: &Value<G::Bit>,
    params: &Params<'_, G::Bit>,
    out: OutputUse<'_>,
) -> Result<Value<G::Bit>, LowerError> {
    let (read, read_from) = (out.read, out.from_bit);
    let l = &net.layers[li];
    let ot = &net.tensors[l.output];
    let (out, scores) = match l.op {
        Op::BDense { out, scores, .. } | Op::BConv2d { out, scores, .. } => (out, scores),
        _ => unreachable!("binary::lower on a non-binary layer"),
    };
    let n = fan_in(net, li);
    let tb = threshold_bits(n);
    let bad = || LowerError::BadWeights(l.name.clone());
    let (all, per) = cells(net, li);
    // Weight bits and the per-output threshold or bias, as bits.
    let (wbits, extra): (Vec<G::Bit>, Vec<Vec<G::Bit>>) = match params {
        Params::Public(w) => {
            let (weight, ints, width) = match w.layers.get(&l.name) {
                Some(LayerWeights::Threshold { weight, threshold }) if !scores => {
                    (weight, threshold, tb)
                }
                Some(LayerWeights::BinaryScores { weight, bias }) if scores => {
                    (weight, bias, ot.format.bits() as usize)
                }
                _ => return Err(bad()),
            };
            if weight.len() != out * n || ints.len() != out {
                return Err(bad());
            }
            let wb = weight.iter().map(|b| g.constant(*b)).collect();
            let ex = ints.iter().map(|v| constant_bits(g, *v, width)).collect();
            (wb, ex)
        }
        Params::Private(per_layer) => {
            let Some((weights, extra)) = &per_layer[li] else {
                return Err(bad());
            };
            let wb = weights.iter().map(|v| v[0]).collect();
            let ex = match extra {
                Some(e) => e.clone(),
                // No bias and no batch norm: what the weights loader binds.
                None if scores => (0..out).map(|_| constant_bits(g, 0, 1)).collect(),
                None => (0..out)
                    .map(|_| constant_bits(g, n.div_ceil(2) as i64, tb))
                    .collect(),
            };
            (wb, ex)
        }
    };
    let zero = g.zero();
    let mut result = Vec::with_capacity(all.len());
    for (k, cells) in all.iter().enumerate() {
        if !read[k] {
            let bits = if scores { ot.format.bits() as usize } else { 1 };
            result.push(vec![zero; bits]);
            continue;
        }
        let o = k / per;
        let xs: Vec<G::Bit> = cells.iter().map(|c| c.map_or(zero, |i| x[i][0])).collect();
        let ws = &wbits[o * n..(o + 1) * n];
        if scores {
            let f = ot.format.frac() as usize;
            let bias = &extra[o];
            let span = (n as i128) << f;
            let bmax = 1i128 << (bias.len() - 1);
            let width = signed_width(-span - bmax, span + bmax);
            let mut cs = ColumnSum::new(width);
            for (&a, &w) in xs.iter().zip(ws) {
                let agree = g.xnor(a, w);
                cs.add_bit(g, f + 1, agree, false, 0);
            }
            cs.add_constant(-span);
            cs.add_value(g, bias, true, 0, false, 0);
            let acc = cs.finish(g);
            result.push(requantize(g, &acc, 0, ot.format.bits() as usize));
        } else {
            result.push(vec![binarized_neuron(g, &xs, ws, &extra[o])]);
        }
        g.checkpoint(result[k].get(read_from..).unwrap_or_default());
    }
    Ok(result)
}

/// `v` as `width` constant bits (two's complement).
fn constant_bits<G: Sink>(g: &mut G, v: i64, width: usize) -> Vec<G::Bit> {
    (0..width)
        .map(|i| g.constant((v >> i.min(63)) & 1 == 1))
        .collect()
}

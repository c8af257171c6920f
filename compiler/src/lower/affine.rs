//! Dense and conv2d: exact dot products plus the aligned bias in one carry-save
//! tree (Karatsuba-split operands where that pays; otherwise, where other outputs
//! share one side, with that side's sum computed once), then one requantization,
//! with the following ReLU fused in when the plan says so.

use super::{Geometry, LowerError, OutputUse, Params, Sink, Value};
use crate::ir::{Network, Op};
use crate::weights::LayerWeights;
use garnet_stdlib::dot::SplitVector;
use garnet_stdlib::dot::karatsuba_pays;
use garnet_stdlib::{
    ColumnSum, Split, dot_signed, dot_signed_shared, dot_signed_split, requantize, requantize_relu,
    shared_sum,
};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// One output's terms: (input element, weight element) index pairs.
type Terms = Vec<(usize, usize)>;

/// The terms of every output of a dense or conv layer, in output order.
fn terms(net: &Network, li: usize) -> Vec<Terms> {
    let l = &net.layers[li];
    let xt = &net.tensors[l.inputs[0]];
    match l.op {
        Op::Dense { out, .. } => {
            let n = xt.len();
            (0..out)
                .map(|o| {
                    (0..n)
                        .map(|i| (i, o * n + i))
                        .filter(|&(_, wi)| l.kept(wi))
                        .collect()
                })
                .collect()
        }
        Op::Conv2d {
            out,
            kernel,
            stride,
            padding,
            ..
        } => {
            let geo = Geometry::new(&xt.shape, kernel, stride, padding);
            let per_kernel = geo.c * geo.kh * geo.kw;
            let mut all = Vec::new();
            for o in 0..out {
                for (oy, ox) in geo.outputs() {
                    all.push(
                        geo.window(oy, ox)
                            .filter_map(|(k, i)| Some((i?, o * per_kernel + k)))
                            .filter(|&(_, wi)| l.kept(wi))
                            .collect(),
                    );
                }
            }
            all
        }
        _ => Vec::new(),
    }
}

/// Number of output channels and output elements per channel.
fn per_channel(net: &Network, li: usize) -> usize {
    let l = &net.layers[li];
    let ot = &net.tensors[l.output];
    match l.op {
        Op::Conv2d { .. } => ot.shape[1] * ot.shape[2],
        _ => 1,
    }
}

/// Lowers dense/conv layer `li` on input `x`; later layers read the outputs that are
/// `read` (the others are zeros, no gates), their bits from `read_from` up
/// (checkpointed per output).
pub(crate) fn lower<G: Sink>(
    g: &mut G,
    net: &Network,
    li: usize,
    x: &Value<G::Bit>,
    params: &Params<'_, G::Bit>,
    fuse_relu: bool,
    out: OutputUse<'_>,
) -> Result<Value<G::Bit>, LowerError> {
    let (read, read_from) = (out.read, out.from_bit);
    let l = &net.layers[li];
    let xt = &net.tensors[l.inputs[0]];
    let ot = &net.tensors[l.output];
    let (wf, out) = match l.op {
        Op::Dense {
            weight_format, out, ..
        }
        | Op::Conv2d {
            weight_format, out, ..
        } => (weight_format, out),
        _ => unreachable!("affine::lower on a non-affine layer"),
    };
    let width = net
        .accumulator_bits(li)
        .expect("dense and conv have accumulators") as usize;
    let fx = xt.format.frac() as usize;
    let b = ot.format.bits() as usize;
    let all_terms = terms(net, li);
    let per = per_channel(net, li);
    let bad = || LowerError::BadWeights(l.name.clone());
    let finish = |g: &mut G, acc: Vec<G::Bit>| {
        if fuse_relu {
            requantize_relu(g, &acc, fx, b)
        } else {
            requantize(g, &acc, fx, b)
        }
    };
    let mut result = Vec::with_capacity(all_terms.len());
    match params {
        Params::Public(w) => {
            let Some(LayerWeights::Affine { weight, bias }) = w.layers.get(&l.name) else {
                return Err(bad());
            };
            let nw = all_terms.len() / per * fan_in_of(net, li);
            if weight.len() != nw || bias.len() != out {
                return Err(bad());
            }
            for (k, t) in all_terms.iter().enumerate() {
                if !read[k] {
                    result.push(vec![g.zero(); b]);
                    continue;
                }
                let mut cs = ColumnSum::new(width);
                for &(i, wi) in t {
                    garnet_stdlib::mul::add_const_product(g, &mut cs, &x[i], weight[wi] as i128, 0);
                }
                cs.add_constant((bias[k / per] as i128) << fx);
                let acc = cs.finish(g);
                result.push(finish(g, acc));
                g.checkpoint(result[k].get(read_from..).unwrap_or_default());
            }
        }
        Params::Private(per_layer) => {
            let Some((weights, bias)) = &per_layer[li] else {
                return Err(bad());
            };
            let xb = xt.format.bits() as usize;
            let wb = wf.bits() as usize;
            let max_terms = all_terms.iter().map(Vec::len).max().unwrap_or(0);
            let split = xb == wb && max_terms > 0 && karatsuba_pays(xb, max_terms);
            let mut xs: Vec<Option<Split<G::Bit>>> = vec![None; x.len()];
            let mut ws: Vec<Option<Split<G::Bit>>> = vec![None; weights.len()];
            // Split vectors of whole inputs (dense) and of weight subsets, built once.
            let mut x_vec: Option<SplitVector<G::Bit>> = None;
            let mut w_vecs: BTreeMap<Vec<usize>, SplitVector<G::Bit>> = BTreeMap::new();
            let dense = matches!(l.op, Op::Dense { .. });
            // Unpruned dense rows read every input: one split vector of x serves all.
            let whole_x = dense && l.pattern.is_none();
            // How many outputs share each term set, and the sums computed so far.
            let mut uses: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
            for (t, _) in all_terms.iter().zip(read).filter(|(_, r)| **r) {
                let key = if dense {
                    t.iter().map(|&(i, _)| i).collect()
                } else {
                    t.iter().map(|&(_, wi)| wi).collect()
                };
                *uses.entry(key).or_default() += 1;
            }
            let mut sums: BTreeMap<Vec<usize>, Vec<G::Bit>> = BTreeMap::new();
            for (k, t) in all_terms.iter().enumerate() {
                if !read[k] {
                    result.push(vec![g.zero(); b]);
                    continue;
                }
                let addend = bias.as_ref().map(|bv| (bv[k / per].as_slice(), fx));
                let acc = if split && !t.is_empty() {
                    let a = if whole_x {
                        x_vec
                            .get_or_insert_with(|| SplitVector::new(g, x, true))
                            .clone()
                    } else {
                        let splits = t
                            .iter()
                            .map(|&(i, _)| {
                                xs[i].get_or_insert_with(|| Split::new(g, &x[i])).clone()
                            })
                            .collect();
                        SplitVector::from_splits(g, splits)
                    };
                    let key: Vec<usize> = t.iter().map(|&(_, wi)| wi).collect();
                    let wv = match w_vecs.entry(key) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => {
                            let splits = t
                                .iter()
                                .map(|&(_, wi)| {
                                    ws[wi]
                                        .get_or_insert_with(|| Split::new(g, &weights[wi]))
                                        .clone()
                                })
                                .collect();
                            e.insert(SplitVector::from_splits(g, splits))
                        }
                    };
                    dot_signed_split(g, &a, wv, addend, width)
                } else if t.is_empty() {
                    let mut cs = ColumnSum::new(width);
                    if let Some((bits, shift)) = addend {
                        cs.add_value(g, bits, true, shift, false, 0);
                    }
                    cs.finish(g)
                } else {
                    let xs: Vec<Vec<G::Bit>> = t.iter().map(|&(i, _)| x[i].clone()).collect();
                    let ws: Vec<Vec<G::Bit>> =
                        t.iter().map(|&(_, wi)| weights[wi].clone()).collect();
                    // The side other outputs share (a dense layer's inputs, a conv
                    // kernel's cells): its sum, once per term set, spares every
                    // product its `a ∧ ¬b₀` row (see `dot_signed_shared`).
                    let (key, a, b) = if dense {
                        (t.iter().map(|&(i, _)| i).collect::<Vec<_>>(), xs, ws)
                    } else {
                        (t.iter().map(|&(_, wi)| wi).collect(), ws, xs)
                    };
                    if uses.get(&key).is_some_and(|&n| n > 1) {
                        let a_sum = sums.entry(key).or_insert_with(|| shared_sum(g, &a)).clone();
                        dot_signed_shared(g, &a, &a_sum, &b, addend, width)
                    } else {
                        dot_signed(g, &a, &b, addend, width)
                    }
                };
                result.push(finish(g, acc));
                g.checkpoint(result[k].get(read_from..).unwrap_or_default());
            }
        }
    }
    Ok(result)
}

fn fan_in_of(net: &Network, li: usize) -> usize {
    super::params::fan_in(net, li)
}

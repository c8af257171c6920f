//! maxpool (binary: OR), avgpool and sumpool over `[c, h, w]` windows, no padding.

use super::{Geometry, Sink, Value};
use crate::ir::{Format, Network, Op};
use garnet_stdlib::compare::or_all;
use garnet_stdlib::{max_pool, requantize, sum_pool};

/// Lowers pooling layer `li` on `x`: the outputs that are `read` (zeros elsewhere).
pub(crate) fn lower<G: Sink>(
    g: &mut G,
    net: &Network,
    li: usize,
    x: &Value<G::Bit>,
    read: &[bool],
) -> Value<G::Bit> {
    let l = &net.layers[li];
    let xt = &net.tensors[l.inputs[0]];
    let fmt = net.tensors[l.output].format;
    let (kernel, stride) = match l.op {
        Op::MaxPool { kernel, stride }
        | Op::AvgPool { kernel, stride }
        | Op::SumPool { kernel, stride } => (kernel, stride),
        _ => unreachable!("pool::lower on a non-pool layer"),
    };
    let geo = Geometry::new(&xt.shape, (kernel, kernel), stride, 0);
    let (oh, ow) = geo.out_hw();
    let b = fmt.bits() as usize;
    let mut out = Vec::with_capacity(geo.c * oh * ow);
    for ci in 0..geo.c {
        for oy in 0..oh {
            for ox in 0..ow {
                if !read[out.len()] {
                    let z = g.zero();
                    out.push(vec![z; b]);
                    continue;
                }
                let win: Vec<Vec<G::Bit>> = (0..kernel)
                    .flat_map(|ky| (0..kernel).map(move |kx| (ky, kx)))
                    .filter_map(|(ky, kx)| geo.input_at(ci, oy, ox, ky, kx))
                    .map(|i| x[i].clone())
                    .collect();
                out.push(match l.op {
                    Op::MaxPool { .. } if fmt == Format::Binary => {
                        let bits: Vec<G::Bit> = win.iter().map(|v| v[0]).collect();
                        vec![or_all(g, &bits)]
                    }
                    Op::MaxPool { .. } => max_pool(g, &win),
                    Op::AvgPool { .. } => {
                        let s = sum_pool(g, &win);
                        requantize(g, &s, win.len().trailing_zeros() as usize, b)
                    }
                    _ => {
                        let s = sum_pool(g, &win);
                        requantize(g, &s, 0, b)
                    }
                });
            }
        }
    }
    out
}

//! The lowering plan: which tensors and layers are needed, what each layer's output
//! readers take from it (elements, lowest bit), and which ReLUs fuse into the
//! preceding requantization.

use super::Geometry;
use crate::ir::{Network, Op, TensorId};

/// What to lower and how: live tensors, last uses, fused ReLUs.
pub(crate) struct Plan {
    pub(crate) live: Vec<bool>,
    /// The last layer reading each tensor (None for network outputs: kept to the end).
    pub(crate) last_use: Vec<Option<usize>>,
    /// Dense/conv layers that apply the following ReLU themselves.
    pub(crate) fuse_relu: Vec<bool>,
    /// ReLU layers whose input already has the ReLU applied.
    pub(crate) fused_relu: Vec<bool>,
    /// The lowest bit of each element that a later layer or an output reads
    /// (`sign` reads only the top bit, `requantize` skips dropped fraction bits):
    /// the checkpoint bits for a [`LiveCounter`], which otherwise counts twice.
    pub(crate) read_from: Vec<usize>,
    /// Per tensor, which elements a later layer or an output reads: a window that
    /// no output uses (stride over kernel, a pool's odd last row) is not computed.
    pub(crate) read: Vec<Vec<bool>>,
}

impl Plan {
    pub(crate) fn new(net: &Network) -> Plan {
        let n = net.tensors.len();
        let mut live = vec![false; n];
        let is_output = |t: TensorId| net.outputs.iter().any(|o| o.tensor == t);
        for o in &net.outputs {
            live[o.tensor] = true;
        }
        for l in net.layers.iter().rev() {
            if live[l.output] {
                for t in &l.inputs {
                    live[*t] = true;
                }
            }
        }
        let mut last_use = vec![None; n];
        let mut uses = vec![0usize; n];
        for (li, l) in net.layers.iter().enumerate() {
            if !live[l.output] {
                continue;
            }
            for t in &l.inputs {
                last_use[*t] = Some(li);
                uses[*t] += 1;
            }
        }
        for o in &net.outputs {
            last_use[o.tensor] = None;
        }
        let mut fuse_relu = vec![false; net.layers.len()];
        let mut fused_relu = vec![false; net.layers.len()];
        for (li, l) in net.layers.iter().enumerate() {
            if l.op != Op::Relu || !live[l.output] {
                continue;
            }
            let t = l.inputs[0];
            let producer = net.layers.iter().position(|p| p.output == t);
            if let Some(pi) = producer {
                let affine = matches!(net.layers[pi].op, Op::Dense { .. } | Op::Conv2d { .. });
                if affine && uses[t] == 1 && !is_output(t) {
                    fuse_relu[pi] = true;
                    fused_relu[li] = true;
                }
            }
        }
        // Lowest bit read, newest layer first, so a tensor's readers come before it.
        let mut read_from = vec![usize::MAX; n];
        for o in &net.outputs {
            read_from[o.tensor] = 0;
        }
        for l in net.layers.iter().rev() {
            if !live[l.output] {
                continue;
            }
            for &t in &l.inputs {
                let top = net.tensors[t].format.bits() as usize - 1;
                let from = match l.op {
                    Op::Sign => top,
                    Op::Requantize => {
                        let f1 = net.tensors[t].format.frac() as usize;
                        let f2 = net.tensors[l.output].format.frac() as usize;
                        f1.saturating_sub(f2).min(top)
                    }
                    Op::Relu | Op::Flatten | Op::Reshape | Op::BatchNorm { .. } => {
                        read_from[l.output].min(top)
                    }
                    _ => 0,
                };
                read_from[t] = read_from[t].min(from);
            }
        }
        let read = read_elements(net, &live);
        Plan {
            live,
            last_use,
            fuse_relu,
            fused_relu,
            read_from,
            read,
        }
    }
}

/// What later layers read of a layer's output: which elements, and from which bit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputUse<'a> {
    pub read: &'a [bool],
    pub from_bit: usize,
}

impl Plan {
    pub(crate) fn output_use(&self, t: TensorId) -> OutputUse<'_> {
        OutputUse {
            read: &self.read[t],
            from_bit: self.read_from[t],
        }
    }
}

/// Which elements of each tensor a later layer or an output reads, newest layer
/// first so a tensor's readers are known before its producer.
fn read_elements(net: &Network, live: &[bool]) -> Vec<Vec<bool>> {
    let mut read: Vec<Vec<bool>> = net.tensors.iter().map(|t| vec![false; t.len()]).collect();
    for o in &net.outputs {
        read[o.tensor].iter_mut().for_each(|r| *r = true);
    }
    for l in net.layers.iter().rev() {
        if !live[l.output] {
            continue;
        }
        let out = read[l.output].clone();
        for &t in &l.inputs {
            let shape = &net.tensors[t].shape;
            let mark = &mut read[t];
            match l.op {
                Op::Conv2d {
                    kernel,
                    stride,
                    padding,
                    ..
                }
                | Op::BConv2d {
                    kernel,
                    stride,
                    padding,
                    ..
                } => {
                    let geo = Geometry::new(shape, kernel, stride, padding);
                    let (oh, ow) = geo.out_hw();
                    let per_kernel = geo.c * geo.kh * geo.kw;
                    for (e, _) in out.iter().enumerate().filter(|(_, r)| **r) {
                        let (o, oy, ox) = (e / (oh * ow), e / ow % oh, e % ow);
                        for (k, i) in geo.window(oy, ox) {
                            // A pruned cell's input is not read by this output.
                            if let Some(i) = i
                                && l.kept(o * per_kernel + k)
                            {
                                mark[i] = true;
                            }
                        }
                    }
                }
                Op::MaxPool { kernel, stride }
                | Op::AvgPool { kernel, stride }
                | Op::SumPool { kernel, stride } => {
                    let geo = Geometry::new(shape, (kernel, kernel), stride, 0);
                    let (oh, ow) = geo.out_hw();
                    for (e, _) in out.iter().enumerate().filter(|(_, r)| **r) {
                        let (ci, oy, ox) = (e / (oh * ow), e / ow % oh, e % ow);
                        for ky in 0..kernel {
                            for kx in 0..kernel {
                                if let Some(i) = geo.input_at(ci, oy, ox, ky, kx) {
                                    mark[i] = true;
                                }
                            }
                        }
                    }
                }
                Op::Relu
                | Op::Sign
                | Op::Requantize
                | Op::PiecewiseLinear { .. }
                | Op::BatchNorm { .. }
                | Op::Flatten
                | Op::Reshape
                | Op::Add => {
                    for (m, r) in mark.iter_mut().zip(&out) {
                        *m |= *r;
                    }
                }
                Op::Dense { .. } if l.pattern.is_some() => {
                    // Inputs that no kept weight of a read output multiplies are not read.
                    let n = mark.len();
                    for (o, _) in out.iter().enumerate().filter(|(_, r)| **r) {
                        for (i, m) in mark.iter_mut().enumerate() {
                            *m |= l.kept(o * n + i);
                        }
                    }
                }
                Op::Dense { .. } | Op::BDense { .. } | Op::Argmax | Op::Project { .. } => {
                    if out.iter().any(|r| *r) {
                        mark.iter_mut().for_each(|m| *m = true);
                    }
                }
            }
        }
    }
    read
}

//! Plaintext reference interpreter of the layer IR on fixed-point integers.
//!
//! It is independent of any circuit code and follows the number-format
//! contract of the design notes exactly; the circuit and the runtime must
//! agree with it bit for bit. Values are `i64`s: a `fixed(b, f)` element is the
//! b-bit two's-complement integer (real value · 2^f), a `binary` element is
//! 0 (−1) or 1 (+1), an `index` element is an unsigned class number.
//! Tensors are row-major; images are `[channels, height, width]`.
//!
//! # Layer semantics
//! - **dense / conv2d** (input `fixed(bx, fx)`, weights and bias in the output
//!   format `fixed(b, f)`): `acc = Σ x·w + (bias << fx)` computed exactly (the
//!   products have `fx + f` fraction bits, the bias is aligned to them), then
//!   requantized once: `y = sat_b(acc >> fx)` (arithmetic shift = floor).
//!   Convolutions pad with zeros.
//! - **relu**: `max(x, 0)`. **maxpool**: window maximum (for binary: OR).
//! - **sumpool**: `sat_b(Σ window)`. **avgpool**: `sat_b(Σ window >> log2(k·k))`
//!   (floor); k is a power of two. Pools have no padding.
//! - **sigmoid / tanh**: piecewise linear, see [`pwl_table`] and [`pwl_eval`].
//! - **add**: `sat_b(a + b)` (same format). **sign**: `x >= 0` → 1 else 0.
//! - **requantize** from `fixed(_, f1)` to `fixed(b2, f2)`: `x >> (f1 − f2)`
//!   (floor) or `x << (f2 − f1)`, then `sat_b2`.
//! - **bdense / bconv2d** (XONN): `pop_j = #{i : x_i == w_ji}` (XNOR-popcount
//!   over the fan-in n; bconv2d pads with 0 bits, i.e. −1). Bit output:
//!   `y_j = [pop_j >= θ_j]`. Scores output: `y_j = sat_b(((2·pop_j − n) << f) + B_j)`.
//! - **batchnorm**: the identity (it is folded into the preceding layer's
//!   weights by `weights`). **flatten / reshape**: copy.
//! - **argmax**: the index of the first maximum over all elements.

use crate::ir::{Activation, Format, Network, Op, TensorId};
use crate::weights::{LayerWeights, Weights};
use std::collections::BTreeMap;

/// Errors of the reference interpreter (bad inputs or weights, never bugs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Wrong number of inputs.
    #[error("expected {expected} inputs, got {got}")]
    InputCount {
        /// Network inputs.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// An input has the wrong number of elements.
    #[error("input `{name}` needs {expected} values, got {got}")]
    InputLength {
        /// Input name.
        name: String,
        /// Expected count.
        expected: usize,
        /// Given count.
        got: usize,
    },
    /// An input value outside its format.
    #[error("input `{name}` value {value} at index {index} is outside {format}")]
    InputRange {
        /// Input name.
        name: String,
        /// Element index.
        index: usize,
        /// The value.
        value: i64,
        /// The format.
        format: Format,
    },
    /// A named input is missing.
    #[error("missing input `{0}`")]
    MissingInput(String),
    /// A layer has no or the wrong kind of weights.
    #[error("layer `{0}` has no (or mismatched) weights")]
    Weights(String),
}

/// Requantizes an exact value with `from_frac` fraction bits into `to`:
/// arithmetic shift (floor) or left shift, then saturation.
pub fn rescale(v: i128, from_frac: u32, to: Format) -> i64 {
    let f = to.frac();
    let shifted = if from_frac >= f {
        let s = from_frac - f;
        if s >= 127 {
            if v < 0 { -1 } else { 0 }
        } else {
            v >> s
        }
    } else {
        let s = f - from_frac;
        v.checked_mul(1i128 << s.min(100))
            .unwrap_or(if v < 0 { i128::MIN } else { i128::MAX })
    };
    to.saturate(shifted)
}

/// Dense layer: `w` is `[out, in]` row-major, `b` is `[out]` (in `out`'s
/// format), `x` has `x_frac` fraction bits.
pub fn dense(x: &[i64], w: &[i64], b: &[i64], x_frac: u32, out: Format) -> Vec<i64> {
    let n = x.len();
    b.iter()
        .enumerate()
        .map(|(j, bj)| {
            let row = &w[j * n..(j + 1) * n];
            let acc: i128 = row
                .iter()
                .zip(x)
                .map(|(w, x)| *w as i128 * *x as i128)
                .sum::<i128>()
                + ((*bj as i128) << x_frac);
            rescale(acc, x_frac + out.frac(), out)
        })
        .collect()
}

/// Geometry of a window operation on a `[c, h, w]` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Input channels, height, width.
    pub input: (usize, usize, usize),
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Stride.
    pub stride: usize,
    /// Padding on each side.
    pub padding: usize,
}

impl Window {
    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        let (_, h, w) = self.input;
        let p = 2 * self.padding;
        (
            (h + p - self.kernel.0) / self.stride + 1,
            (w + p - self.kernel.1) / self.stride + 1,
        )
    }
    /// The input index under kernel offset (ki, kj) at output (oy, ox), or
    /// None in the padding, for channel c.
    pub fn at(&self, c: usize, oy: usize, ox: usize, ki: usize, kj: usize) -> Option<usize> {
        let (_, h, w) = self.input;
        let y = (oy * self.stride + ki).checked_sub(self.padding)?;
        let x = (ox * self.stride + kj).checked_sub(self.padding)?;
        (y < h && x < w).then_some((c * h + y) * w + x)
    }
}

/// Convolution: `w` is `[out_ch, in_ch, kh, kw]`, zero padding.
pub fn conv2d(x: &[i64], w: &[i64], b: &[i64], win: Window, x_frac: u32, out: Format) -> Vec<i64> {
    let (c, _, _) = win.input;
    let (kh, kw) = win.kernel;
    let (oh, ow) = win.out_hw();
    let mut res = Vec::with_capacity(b.len() * oh * ow);
    for (o, bo) in b.iter().enumerate() {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc: i128 = (*bo as i128) << x_frac;
                for ci in 0..c {
                    for ki in 0..kh {
                        for kj in 0..kw {
                            if let Some(i) = win.at(ci, oy, ox, ki, kj) {
                                acc += x[i] as i128 * w[((o * c + ci) * kh + ki) * kw + kj] as i128;
                            }
                        }
                    }
                }
                res.push(rescale(acc, x_frac + out.frac(), out));
            }
        }
    }
    res
}

fn pool(x: &[i64], win: Window, f: impl Fn(&mut dyn Iterator<Item = i64>) -> i64) -> Vec<i64> {
    let (c, _, _) = win.input;
    let (oh, ow) = win.out_hw();
    let mut res = Vec::with_capacity(c * oh * ow);
    for ci in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut it = (0..win.kernel.0)
                    .flat_map(|ki| (0..win.kernel.1).map(move |kj| (ki, kj)))
                    .filter_map(|(ki, kj)| win.at(ci, oy, ox, ki, kj))
                    .map(|i| x[i]);
                res.push(f(&mut it));
            }
        }
    }
    res
}

/// Max pooling (no padding).
pub fn maxpool(x: &[i64], win: Window) -> Vec<i64> {
    pool(x, win, |it: &mut dyn Iterator<Item = i64>| {
        it.max().unwrap_or(0)
    })
}

/// Sum pooling, saturated to `fmt`.
pub fn sumpool(x: &[i64], win: Window, fmt: Format) -> Vec<i64> {
    pool(x, win, |it: &mut dyn Iterator<Item = i64>| {
        fmt.saturate(it.map(i128::from).sum())
    })
}

/// Average pooling over a power-of-two window: sum, then arithmetic shift
/// right by log2(kh·kw) (floor), saturated to `fmt`.
pub fn avgpool(x: &[i64], win: Window, fmt: Format) -> Vec<i64> {
    let area = win.kernel.0 * win.kernel.1;
    let shift = area.trailing_zeros();
    pool(x, win, |it: &mut dyn Iterator<Item = i64>| {
        fmt.saturate(it.map(i128::from).sum::<i128>() >> shift)
    })
}

/// `max(x, 0)`.
pub fn relu(x: &[i64]) -> Vec<i64> {
    x.iter().map(|v| (*v).max(0)).collect()
}

/// `x >= 0` → 1, else 0.
pub fn sign(x: &[i64]) -> Vec<i64> {
    x.iter().map(|v| i64::from(*v >= 0)).collect()
}

/// Saturating element-wise sum.
pub fn add(a: &[i64], b: &[i64], fmt: Format) -> Vec<i64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| fmt.saturate(*a as i128 + *b as i128))
        .collect()
}

/// Format change: shift by the fraction-bit difference (floor), saturate.
pub fn requantize(x: &[i64], from: Format, to: Format) -> Vec<i64> {
    x.iter()
        .map(|v| rescale(*v as i128, from.frac(), to))
        .collect()
}

/// Index of the first maximum.
pub fn argmax(x: &[i64]) -> i64 {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best as i64
}

/// Domain half-width L of the piecewise-linear tables: segments cover [−L, L].
pub fn pwl_range(function: Activation) -> i64 {
    match function {
        Activation::Sigmoid => 8,
        Activation::Tanh => 4,
    }
}

/// A piecewise-linear approximation table, in integers of one format.
///
/// For input x (integer of `fixed(b, f)`): if `x < breakpoints[0]` the result
/// is `low`; if `x >= breakpoints[n]` it is `high`; otherwise with `i` the
/// largest index `< n` such that `breakpoints[i] <= x`, the result is
/// `sat_b(((slopes[i] · x) >> f) + intercepts[i])` (floor shift).
/// `low` and `high` are already saturated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwlTable {
    /// `n + 1` increasing (non-strictly) breakpoints T_0..T_n.
    pub breakpoints: Vec<i64>,
    /// Per-segment slope A_i, with f fraction bits.
    pub slopes: Vec<i64>,
    /// Per-segment intercept C_i, with f fraction bits.
    pub intercepts: Vec<i64>,
    /// Value left of the table: sigmoid 0, tanh −1.0 (saturated).
    pub low: i64,
    /// Value right of the table: 1.0 (saturated).
    pub high: i64,
}

/// round(num / den) with ties away from zero (den > 0), in integers.
fn div_round(num: i128, den: i128) -> i128 {
    let q = (num.abs() * 2 + den) / (2 * den);
    if num < 0 { -q } else { q }
}

fn round_sat(v: f64, fmt: Format) -> i64 {
    let r = v.round();
    if r.is_nan() {
        0
    } else {
        fmt.saturate(r.clamp(-1e30, 1e30) as i128)
    }
}

/// The table of `function` with `segments` equal-width segments over [−L, L]
/// (L = [`pwl_range`]) for inputs and outputs in `fmt`.
///
/// Breakpoints: t_i = −L + 2L·i/n (real), T_i = round(t_i·2^f) computed
/// exactly in integers (ties away from zero). Segment i joins the points
/// (t_i, g(t_i)) and (t_{i+1}, g(t_{i+1})) of the exact function g: slope
/// s_i = (g(t_{i+1}) − g(t_i)) / (t_{i+1} − t_i), intercept c_i = g(t_i) − s_i·t_i,
/// A_i = round(s_i·2^f), C_i = round(c_i·2^f) (f64, ties away from zero,
/// saturated to the format). The lowering must call this same function.
pub fn pwl_table(function: Activation, segments: usize, fmt: Format) -> PwlTable {
    let n = segments.max(1);
    let f = fmt.frac();
    let l = pwl_range(function);
    let scale = 1i128 << f;
    let g = |t: f64| match function {
        Activation::Sigmoid => 1.0 / (1.0 + (-t).exp()),
        Activation::Tanh => t.tanh(),
    };
    let breakpoints: Vec<i64> = (0..=n)
        .map(|i| {
            fmt.saturate(div_round(
                l as i128 * scale * (2 * i as i128 - n as i128),
                n as i128,
            ))
        })
        .collect();
    let t = |i: usize| -(l as f64) + 2.0 * l as f64 * i as f64 / n as f64;
    let mut slopes = Vec::with_capacity(n);
    let mut intercepts = Vec::with_capacity(n);
    for i in 0..n {
        let (t0, t1) = (t(i), t(i + 1));
        let s = (g(t1) - g(t0)) / (t1 - t0);
        let c = g(t0) - s * t0;
        slopes.push(round_sat(s * scale as f64, fmt));
        intercepts.push(round_sat(c * scale as f64, fmt));
    }
    let one = fmt.saturate(scale);
    let low = match function {
        Activation::Sigmoid => 0,
        Activation::Tanh => fmt.saturate(-scale),
    };
    PwlTable {
        breakpoints,
        slopes,
        intercepts,
        low,
        high: one,
    }
}

/// Evaluates a [`PwlTable`] on one value of `fmt`.
pub fn pwl_eval(table: &PwlTable, x: i64, fmt: Format) -> i64 {
    let n = table.slopes.len();
    if x < table.breakpoints[0] {
        return table.low;
    }
    if x >= table.breakpoints[n] {
        return table.high;
    }
    let mut i = 0;
    for k in 0..n {
        if table.breakpoints[k] <= x {
            i = k;
        }
    }
    let prod = table.slopes[i] as i128 * x as i128;
    fmt.saturate((prod >> fmt.frac()) + table.intercepts[i] as i128)
}

/// XNOR-popcount of `x` (bits) against `w` (bits).
pub fn xnor_popcount(x: &[i64], w: &[bool]) -> i64 {
    x.iter().zip(w).filter(|(x, w)| (**x != 0) == **w).count() as i64
}

/// The binary layers' output from popcounts: bits or fixed-point scores.
fn binary_out(pop: i64, n: usize, j: usize, lw: &LayerWeights, fmt: Format) -> Option<i64> {
    match lw {
        LayerWeights::Threshold { threshold, .. } => Some(i64::from(pop >= *threshold.get(j)?)),
        LayerWeights::BinaryScores { bias, .. } => {
            let a = (2 * pop as i128 - n as i128) << fmt.frac();
            Some(fmt.saturate(a + *bias.get(j)? as i128))
        }
        LayerWeights::Affine { .. } => None,
    }
}

fn binary_bits(lw: &LayerWeights) -> Option<&[bool]> {
    match lw {
        LayerWeights::Threshold { weight, .. } | LayerWeights::BinaryScores { weight, .. } => {
            Some(weight)
        }
        LayerWeights::Affine { .. } => None,
    }
}

/// Binarized dense layer (XONN): `w` is `[out, in]` bits.
pub fn bdense(x: &[i64], lw: &LayerWeights, out: usize, fmt: Format) -> Option<Vec<i64>> {
    let n = x.len();
    let w = binary_bits(lw)?;
    if w.len() != out * n {
        return None;
    }
    (0..out)
        .map(|j| binary_out(xnor_popcount(x, &w[j * n..(j + 1) * n]), n, j, lw, fmt))
        .collect()
}

/// Binarized convolution (XONN): `w` is `[out, in_ch, kh, kw]` bits; padding
/// cells are 0 bits (−1) and count in the fan-in.
pub fn bconv2d(
    x: &[i64],
    lw: &LayerWeights,
    out: usize,
    win: Window,
    fmt: Format,
) -> Option<Vec<i64>> {
    let (c, _, _) = win.input;
    let (kh, kw) = win.kernel;
    let (oh, ow) = win.out_hw();
    let n = c * kh * kw;
    let w = binary_bits(lw)?;
    if w.len() != out * n {
        return None;
    }
    let mut res = Vec::with_capacity(out * oh * ow);
    for o in 0..out {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut pop = 0;
                for ci in 0..c {
                    for ki in 0..kh {
                        for kj in 0..kw {
                            let bit = win
                                .at(ci, oy, ox, ki, kj)
                                .map(|i| x[i] != 0)
                                .unwrap_or(false);
                            pop += i64::from(bit == w[((o * c + ci) * kh + ki) * kw + kj]);
                        }
                    }
                }
                res.push(binary_out(pop, n, o, lw, fmt)?);
            }
        }
    }
    Some(res)
}

/// Evaluates the network. `inputs` are in the order of `net.inputs`; the
/// result holds the value of every tensor (indexed by `TensorId`).
pub fn run(
    net: &Network,
    weights: &Weights,
    inputs: &[Vec<i64>],
) -> Result<Vec<Vec<i64>>, RefError> {
    if inputs.len() != net.inputs.len() {
        return Err(RefError::InputCount {
            expected: net.inputs.len(),
            got: inputs.len(),
        });
    }
    let mut vals: Vec<Vec<i64>> = vec![Vec::new(); net.tensors.len()];
    for (inp, v) in net.inputs.iter().zip(inputs) {
        let t = &net.tensors[inp.tensor];
        if v.len() != t.len() {
            return Err(RefError::InputLength {
                name: t.name.clone(),
                expected: t.len(),
                got: v.len(),
            });
        }
        if let Some((index, value)) = v
            .iter()
            .enumerate()
            .find(|(_, x)| **x < t.format.min_int() || **x > t.format.max_int())
        {
            return Err(RefError::InputRange {
                name: t.name.clone(),
                index,
                value: *value,
                format: t.format,
            });
        }
        vals[inp.tensor] = v.clone();
    }
    for l in &net.layers {
        let x = &vals[l.inputs[0]];
        let xt = &net.tensors[l.inputs[0]];
        let ot = &net.tensors[l.output];
        let fmt = ot.format;
        let image = |k: (usize, usize), stride: usize, padding: usize| Window {
            input: (xt.shape[0], xt.shape[1], xt.shape[2]),
            kernel: k,
            stride,
            padding,
        };
        let wrong = || RefError::Weights(l.name.clone());
        // A pruned layer multiplies only its kept weights: the others count as 0.
        let affine = || match weights.layers.get(&l.name) {
            Some(LayerWeights::Affine { weight, bias }) => Ok((
                weight
                    .iter()
                    .enumerate()
                    .map(|(i, w)| if l.kept(i) { *w } else { 0 })
                    .collect::<Vec<i64>>(),
                bias,
            )),
            _ => Err(wrong()),
        };
        let y = match &l.op {
            Op::Dense { out, .. } => {
                let (w, b) = affine()?;
                if w.len() != out * x.len() || b.len() != *out {
                    return Err(wrong());
                }
                dense(x, &w, b, xt.format.frac(), fmt)
            }
            Op::Conv2d {
                out,
                kernel,
                stride,
                padding,
                ..
            } => {
                let (w, b) = affine()?;
                if w.len() != out * xt.shape[0] * kernel.0 * kernel.1 || b.len() != *out {
                    return Err(wrong());
                }
                conv2d(
                    x,
                    &w,
                    b,
                    image(*kernel, *stride, *padding),
                    xt.format.frac(),
                    fmt,
                )
            }
            Op::MaxPool { kernel, stride } => maxpool(x, image((*kernel, *kernel), *stride, 0)),
            Op::AvgPool { kernel, stride } => {
                avgpool(x, image((*kernel, *kernel), *stride, 0), fmt)
            }
            Op::SumPool { kernel, stride } => {
                sumpool(x, image((*kernel, *kernel), *stride, 0), fmt)
            }
            Op::Relu => relu(x),
            Op::PiecewiseLinear { function, segments } => {
                let table = pwl_table(*function, *segments, fmt);
                x.iter().map(|v| pwl_eval(&table, *v, fmt)).collect()
            }
            Op::BatchNorm { .. } | Op::Flatten | Op::Reshape => x.clone(),
            Op::Add => add(x, &vals[l.inputs[1]], fmt),
            Op::Sign => sign(x),
            Op::BDense { out, .. } => {
                let lw = weights.layers.get(&l.name).ok_or_else(wrong)?;
                bdense(x, lw, *out, fmt).ok_or_else(wrong)?
            }
            Op::BConv2d {
                out,
                kernel,
                stride,
                padding,
                ..
            } => {
                let lw = weights.layers.get(&l.name).ok_or_else(wrong)?;
                bconv2d(x, lw, *out, image(*kernel, *stride, *padding), fmt).ok_or_else(wrong)?
            }
            Op::Requantize => requantize(x, xt.format, fmt),
            Op::Argmax => vec![argmax(x)],
            Op::Project { .. } => return Err(wrong()),
        };
        vals[l.output] = y;
    }
    Ok(vals)
}

/// Evaluates the network on named inputs and returns its named outputs.
pub fn evaluate(
    net: &Network,
    weights: &Weights,
    inputs: &BTreeMap<String, Vec<i64>>,
) -> Result<BTreeMap<String, Vec<i64>>, RefError> {
    let ordered = net
        .inputs
        .iter()
        .map(|i| {
            let name = &net.tensors[i.tensor].name;
            inputs
                .get(name)
                .cloned()
                .ok_or_else(|| RefError::MissingInput(name.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vals = run(net, weights, &ordered)?;
    Ok(outputs(net, &vals))
}

/// The named outputs from the values of [`run`].
pub fn outputs(net: &Network, vals: &[Vec<i64>]) -> BTreeMap<String, Vec<i64>> {
    net.outputs
        .iter()
        .map(|o| (o.name.clone(), vals[o.tensor as TensorId].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_str;
    use proptest::prelude::*;

    const Q16: Format = Format::Fixed { bits: 16, frac: 8 };
    const Q8: Format = Format::Fixed { bits: 8, frac: 4 };
    const INT16: Format = Format::Fixed { bits: 16, frac: 0 };

    fn win(c: usize, h: usize, w: usize, k: usize, stride: usize, padding: usize) -> Window {
        Window {
            input: (c, h, w),
            kernel: (k, k),
            stride,
            padding,
        }
    }

    // ---- hand-computed cases ----

    #[test]
    fn dense_hand_computed() {
        // 1.5·1.0 + (−2.0)·0.5 + 0.25 = 0.75
        assert_eq!(dense(&[384, -512], &[256, 128], &[64], 8, Q16), vec![192]);
        // floor, not truncation: (1/256)·(−1/256) → −1/256 after the shift
        assert_eq!(dense(&[1], &[-1], &[0], 8, Q16), vec![-1]);
        // saturation to 8 bits: 127·127 >> 4 = 1008 → 127; and the negative side
        assert_eq!(dense(&[127], &[127], &[0], 4, Q8), vec![127]);
        assert_eq!(dense(&[127], &[-128], &[0], 4, Q8), vec![-128]);
        // two outputs, bias aligned: x = 1.0 (Q8 input), w = 0, b = −0.5 → −0.5 in Q16
        assert_eq!(dense(&[16], &[0, 0], &[-128, 0], 4, Q16), vec![-128, 0]);
    }

    #[test]
    fn conv_hand_computed() {
        let x: Vec<i64> = (1..=9).collect();
        assert_eq!(
            conv2d(&x, &[1, 1, 1, 1], &[0], win(1, 3, 3, 2, 1, 0), 0, INT16),
            vec![12, 16, 24, 28]
        );
        assert_eq!(
            conv2d(&x, &[1, 1, 1, 1], &[0], win(1, 3, 3, 2, 2, 1), 0, INT16),
            vec![1, 5, 11, 28]
        );
        // bias and two channels in, two out
        let x2: Vec<i64> = vec![1, 2, 3, 4, 10, 20, 30, 40];
        let w = vec![
            1, 0, 0, 0, 0, 0, 0, 1, /* out 1: */ 0, 0, 0, 0, 1, 1, 1, 1,
        ];
        assert_eq!(
            conv2d(&x2, &w, &[5, -5], win(2, 2, 2, 2, 1, 0), 0, INT16),
            vec![1 + 40 + 5, 100 - 5]
        );
    }

    #[test]
    fn pools_hand_computed() {
        let x: Vec<i64> = vec![
            1, 2, 3, 4, 5, 6, 7, 8, -9, -10, -11, -12, -13, -14, -15, -16,
        ];
        assert_eq!(maxpool(&x, win(1, 4, 4, 2, 2, 0)), vec![6, 8, -9, -11]);
        assert_eq!(
            sumpool(&x, win(1, 4, 4, 2, 2, 0), INT16),
            vec![14, 22, -46, -54]
        );
        assert_eq!(
            avgpool(&x, win(1, 4, 4, 2, 2, 0), INT16),
            vec![3, 5, -12, -14]
        ); // 14/4 = 3.5 → 3; −46/4 = −11.5 → −12
        assert_eq!(
            avgpool(&[-1, 0, 0, 0], win(1, 2, 2, 2, 2, 0), INT16),
            vec![-1]
        );
        assert_eq!(
            sumpool(
                &[100, 100, 100, 100],
                win(1, 2, 2, 2, 2, 0),
                Format::Fixed { bits: 8, frac: 0 }
            ),
            vec![127]
        );
        assert_eq!(
            maxpool(&[1, 2, 3, 4, 5, 6, 7, 8, 9], win(1, 3, 3, 2, 1, 0)),
            vec![5, 6, 8, 9]
        );
    }

    #[test]
    fn elementwise_hand_computed() {
        assert_eq!(relu(&[-3, 0, 4]), vec![0, 0, 4]);
        assert_eq!(sign(&[-1, 0, 1]), vec![0, 1, 1]);
        assert_eq!(
            add(
                &[100, -100, 3],
                &[100, -100, 4],
                Format::Fixed { bits: 8, frac: 0 }
            ),
            vec![127, -128, 7]
        );
        assert_eq!(
            requantize(&[300, -1, 30000, -30000], Q16, Q8),
            vec![18, -1, 127, -128]
        );
        assert_eq!(requantize(&[5, -3], Q8, Q16), vec![80, -48]);
        assert_eq!(argmax(&[3, 5, 5, 1]), 1);
        assert_eq!(argmax(&[-7]), 0);
        assert_eq!(argmax(&[-2, -1, -1]), 1);
    }

    #[test]
    fn binary_hand_computed() {
        let x = [1, 0, 1];
        let w = vec![true, true, true, false, true, false];
        let th = LayerWeights::Threshold {
            weight: w.clone(),
            threshold: vec![2, 1],
        };
        assert_eq!(bdense(&x, &th, 2, Format::Binary), Some(vec![1, 0]));
        let sc = LayerWeights::BinaryScores {
            weight: w,
            bias: vec![0, 256],
        };
        assert_eq!(bdense(&x, &sc, 2, Q16), Some(vec![256, -512]));
        assert_eq!(bdense(&x, &sc, 3, Q16), None); // wrong size: an error, not a panic
        // bconv2d: 1×2×2 input, 1×1×2×2 kernel, padding 1 (pad bits are 0)
        let xb = [1, 1, 1, 1];
        let k = LayerWeights::Threshold {
            weight: vec![false, false, false, true],
            threshold: vec![3],
        };
        // top-left window: pads (0,0,0) vs w (0,0,0) match 3, x[0]=1 vs 1 match → pop 4 ≥ 3
        let out = bconv2d(&xb, &k, 1, win(1, 2, 2, 2, 1, 1), Format::Binary).expect("sizes ok");
        assert_eq!(out.len(), 9);
        assert_eq!(out[0], 1);
        // centre window: all four inputs 1 vs (0,0,0,1): pop 1 < 3
        assert_eq!(out[4], 0);
    }

    #[test]
    fn pwl_tables() {
        let t = pwl_table(Activation::Sigmoid, 8, Q16);
        assert_eq!(
            t.breakpoints,
            vec![-2048, -1536, -1024, -512, 0, 512, 1024, 1536, 2048]
        );
        assert_eq!(t.low, 0);
        assert_eq!(t.high, 256);
        assert_eq!(pwl_eval(&t, 0, Q16), 128);
        assert_eq!(pwl_eval(&t, -30000, Q16), 0);
        assert_eq!(pwl_eval(&t, 2048, Q16), 256);
        let th = pwl_table(Activation::Tanh, 4, Q16);
        assert_eq!(th.breakpoints, vec![-1024, -512, 0, 512, 1024]);
        assert_eq!(pwl_eval(&th, 0, Q16), 0);
        assert_eq!(th.low, -256);
        // odd segment count: breakpoints round half away from zero, exactly
        let t3 = pwl_table(Activation::Tanh, 3, Format::Fixed { bits: 16, frac: 0 });
        assert_eq!(t3.breakpoints, vec![-4, -1, 1, 4]); // ±4/3 → ±1, ±4
        // 1.0 does not fit fixed(8, 7): saturates
        let small = pwl_table(Activation::Sigmoid, 2, Format::Fixed { bits: 8, frac: 7 });
        assert_eq!(small.high, 127);
        // the approximation is close to the function
        let th8 = pwl_table(Activation::Tanh, 8, Q16);
        for x in (-3000i64..3000).step_by(7) {
            let v = x as f64 / 256.0;
            let y = pwl_eval(&t, x, Q16) as f64 / 256.0;
            assert!(
                (y - 1.0 / (1.0 + (-v).exp())).abs() < 0.05,
                "sigmoid({v}) = {y}"
            );
            let y = pwl_eval(&th8, x, Q16) as f64 / 256.0;
            assert!((y - v.tanh()).abs() < 0.1, "tanh({v}) = {y}");
        }
    }

    // ---- independent re-implementations (floor by div_euclid, explicit padding) ----

    fn sat(v: i128, bits: u32) -> i64 {
        let hi = (1i128 << (bits - 1)) - 1;
        v.max(-hi - 1).min(hi) as i64
    }

    fn dense_naive(x: &[i64], w: &[i64], b: &[i64], fx: u32, bits: u32, f: u32) -> Vec<i64> {
        let mut out = Vec::new();
        for (j, bj) in b.iter().enumerate() {
            let mut acc: i128 = 0;
            for (i, xi) in x.iter().enumerate() {
                acc += (*xi as i128) * (w[j * x.len() + i] as i128);
            }
            acc += (*bj as i128) * (1i128 << fx);
            let _ = f;
            out.push(sat(acc.div_euclid(1i128 << fx), bits));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn conv_naive(
        x: &[i64],
        w: &[i64],
        b: &[i64],
        c: usize,
        h: usize,
        wd: usize,
        k: usize,
        s: usize,
        p: usize,
        fx: u32,
        bits: u32,
    ) -> Vec<i64> {
        let (ph, pw) = (h + 2 * p, wd + 2 * p);
        let mut padded = vec![0i64; c * ph * pw];
        for ci in 0..c {
            for y in 0..h {
                for xx in 0..wd {
                    padded[(ci * ph + y + p) * pw + xx + p] = x[(ci * h + y) * wd + xx];
                }
            }
        }
        let (oh, ow) = ((ph - k) / s + 1, (pw - k) / s + 1);
        let mut out = Vec::new();
        for (o, bo) in b.iter().enumerate() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc: i128 = (*bo as i128) * (1i128 << fx);
                    for ci in 0..c {
                        for ki in 0..k {
                            for kj in 0..k {
                                acc += padded[(ci * ph + oy * s + ki) * pw + ox * s + kj] as i128
                                    * w[((o * c + ci) * k + ki) * k + kj] as i128;
                            }
                        }
                    }
                    out.push(sat(acc.div_euclid(1i128 << fx), bits));
                }
            }
        }
        out
    }

    fn pool_naive(x: &[i64], c: usize, h: usize, w: usize, k: usize, s: usize) -> Vec<Vec<i64>> {
        let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
        let mut out = Vec::new();
        for ci in 0..c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut v = Vec::new();
                    for ki in 0..k {
                        for kj in 0..k {
                            v.push(x[(ci * h + oy * s + ki) * w + ox * s + kj]);
                        }
                    }
                    out.push(v);
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn dense_matches_naive(
            n in 1usize..12, m in 1usize..6, fx in 0u32..10, bits in 4u32..20, seed in any::<u64>(),
        ) {
            let f = bits / 2;
            let out = Format::Fixed { bits, frac: f };
            let mut r = seed;
            let mut next = |lim: i64| { r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((r >> 33) as i64).rem_euclid(2 * lim + 1) - lim };
            let x: Vec<i64> = (0..n).map(|_| next(1 << 15)).collect();
            let w: Vec<i64> = (0..n * m).map(|_| next(1 << (bits - 1))).collect();
            let b: Vec<i64> = (0..m).map(|_| next(1 << (bits - 1))).collect();
            prop_assert_eq!(dense(&x, &w, &b, fx, out), dense_naive(&x, &w, &b, fx, bits, f));
        }

        #[test]
        fn conv_matches_naive(
            c in 1usize..3, h in 1usize..7, w in 1usize..7, k in 1usize..4, s in 1usize..3, p in 0usize..2,
            o in 1usize..3, fx in 0u32..6, seed in any::<u64>(),
        ) {
            prop_assume!(k <= h + 2 * p && k <= w + 2 * p);
            let mut r = seed;
            let mut next = |lim: i64| { r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((r >> 33) as i64).rem_euclid(2 * lim + 1) - lim };
            let x: Vec<i64> = (0..c * h * w).map(|_| next(1000)).collect();
            let wt: Vec<i64> = (0..o * c * k * k).map(|_| next(1000)).collect();
            let b: Vec<i64> = (0..o).map(|_| next(1000)).collect();
            let fmt = Format::Fixed { bits: 12, frac: 3 };
            prop_assert_eq!(
                conv2d(&x, &wt, &b, win(c, h, w, k, s, p), fx, fmt),
                conv_naive(&x, &wt, &b, c, h, w, k, s, p, fx, 12)
            );
        }

        #[test]
        fn pools_match_naive(c in 1usize..3, h in 2usize..9, w in 2usize..9, kexp in 0u32..2, s in 1usize..3, seed in any::<u64>()) {
            let k = 1usize << kexp;
            let mut r = seed;
            let mut next = |lim: i64| { r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((r >> 33) as i64).rem_euclid(2 * lim + 1) - lim };
            let x: Vec<i64> = (0..c * h * w).map(|_| next(128)).collect();
            let fmt = Format::Fixed { bits: 8, frac: 2 };
            let wins = pool_naive(&x, c, h, w, k, s);
            let g = win(c, h, w, k, s, 0);
            prop_assert_eq!(maxpool(&x, g), wins.iter().map(|v| *v.iter().max().unwrap_or(&0)).collect::<Vec<_>>());
            prop_assert_eq!(sumpool(&x, g, fmt), wins.iter().map(|v| sat(v.iter().map(|x| *x as i128).sum(), 8)).collect::<Vec<_>>());
            prop_assert_eq!(
                avgpool(&x, g, fmt),
                wins.iter().map(|v| sat(v.iter().map(|x| *x as i128).sum::<i128>().div_euclid((k * k) as i128), 8)).collect::<Vec<_>>()
            );
        }

        #[test]
        fn requantize_matches_naive(v in -(1i64 << 20)..(1i64 << 20), f1 in 0u32..12, b2 in 2u32..24, f2 in 0u32..12) {
            prop_assume!(f2 < b2);
            let from = Format::Fixed { bits: 24, frac: f1 };
            let to = Format::Fixed { bits: b2, frac: f2 };
            let expect = if f1 >= f2 { sat((v as i128).div_euclid(1 << (f1 - f2)), b2) } else { sat(v as i128 * (1 << (f2 - f1)), b2) };
            prop_assert_eq!(requantize(&[v], from, to), vec![expect]);
        }

        #[test]
        fn pwl_matches_naive(x in -40000i64..40000, n in 1usize..20, tanh in any::<bool>()) {
            let function = if tanh { Activation::Tanh } else { Activation::Sigmoid };
            let fmt = Format::Fixed { bits: 17, frac: 8 };
            let t = pwl_table(function, n, fmt);
            // independent: scan segments from the right
            let expect = if x < t.breakpoints[0] {
                t.low
            } else if x >= t.breakpoints[n] {
                t.high
            } else {
                let i = (0..n).rev().find(|i| t.breakpoints[*i] <= x).unwrap_or(0);
                sat((t.slopes[i] as i128 * x as i128).div_euclid(256) + t.intercepts[i] as i128, 17)
            };
            prop_assert_eq!(pwl_eval(&t, x, fmt), expect);
            // breakpoints are ordered and symmetric
            for i in 0..n {
                prop_assert!(t.breakpoints[i] <= t.breakpoints[i + 1]);
                prop_assert_eq!(t.breakpoints[i], -t.breakpoints[n - i]);
            }
        }

        #[test]
        fn argmax_is_first_max(v in proptest::collection::vec(-100i64..100, 1..20)) {
            let a = argmax(&v) as usize;
            let m = *v.iter().max().unwrap_or(&0);
            prop_assert_eq!(v[a], m);
            prop_assert!(v[..a].iter().all(|x| *x < m));
        }
    }

    // ---- whole networks ----

    #[test]
    fn digits_network_end_to_end() {
        let net = compile_str(
            "network d { format q = fixed(16, 8); input image : q[1, 2, 2] from client; params from server;
             x = flatten(image); fc1 = dense(x, 2); h = relu(fc1); fc2 = dense(h, 3);
             output label = argmax(fc2) to client; output scores = fc2 to both; }",
        )
        .expect("compiles");
        let mut w = Weights::default();
        // fc1: h0 = x0 + x1, h1 = −x2 − x3 (then relu), fc2: s = [h0, h1, h0 − h1 + 1.0]
        w.layers.insert(
            "fc1".into(),
            LayerWeights::Affine {
                weight: vec![256, 256, 0, 0, 0, 0, -256, -256],
                bias: vec![0, 0],
            },
        );
        w.layers.insert(
            "fc2".into(),
            LayerWeights::Affine {
                weight: vec![256, 0, 0, 256, 256, -256],
                bias: vec![0, 0, 256],
            },
        );
        let mut inputs = BTreeMap::new();
        inputs.insert("image".to_string(), vec![128, 64, -256, 512]); // 0.5, 0.25, −1, 2
        let out = evaluate(&net, &w, &inputs).expect("runs");
        // h0 = 0.75 (192), h1 = relu(−1) = 0 → scores [192, 0, 192 + 256]
        assert_eq!(out["scores"], vec![192, 0, 448]);
        assert_eq!(out["label"], vec![2]);
        // errors, not panics
        assert!(matches!(
            run(&net, &w, &[]),
            Err(RefError::InputCount { .. })
        ));
        assert!(matches!(
            run(&net, &w, &[vec![0; 3]]),
            Err(RefError::InputLength { .. })
        ));
        assert!(matches!(
            run(&net, &w, &[vec![0, 0, 0, 40000]]),
            Err(RefError::InputRange { .. })
        ));
        assert!(matches!(
            run(&net, &Weights::default(), &[vec![0; 4]]),
            Err(RefError::Weights(_))
        ));
        assert!(matches!(
            evaluate(&net, &w, &BTreeMap::new()),
            Err(RefError::MissingInput(_))
        ));
    }

    #[test]
    fn every_layer_runs_in_a_network() {
        let net = compile_str(
            "network n { format q = fixed(16, 8); format p = fixed(8, 4); params public;
             input x : [1, 4, 4] from client;
             c = conv2d(x, 2, kernel=3, padding=1); bn = batchnorm(c); m = maxpool(bn, 2); a = avgpool(bn, 2);
             s = sumpool(bn, 2); sg = sigmoid(s); t = tanh(a); ad = add(sg, t); f = flatten(ad);
             r = reshape(f, [2, 4]); fl = flatten(r); sn = sign(fl); bd = bdense(sn, 3, bias=false);
             bs = bdense(bd, 2, scores=true); rq = requantize(bs, p); mi = sign(m);
             bc = bconv2d(mi, 1, kernel=2, bias=false); output o = argmax(rq); output bc; }",
        )
        .expect("compiles");
        let mut w = Weights::default();
        w.layers.insert(
            "c".into(),
            LayerWeights::Affine {
                weight: vec![256; 18],
                bias: vec![0, -256],
            },
        );
        w.layers.insert(
            "bd".into(),
            LayerWeights::Threshold {
                weight: vec![true; 24],
                threshold: vec![4, 5, 9],
            },
        );
        w.layers.insert(
            "bs".into(),
            LayerWeights::BinaryScores {
                weight: vec![true, false, true, false, true, false],
                bias: vec![0, 0],
            },
        );
        w.layers.insert(
            "bc".into(),
            LayerWeights::Threshold {
                weight: vec![true; 8],
                threshold: vec![8],
            },
        );
        let vals = run(&net, &w, &[(0..16).map(|i| (i - 8) * 32).collect()]).expect("runs");
        for (i, t) in net.tensors.iter().enumerate() {
            assert_eq!(vals[i].len(), t.len(), "{}", t.name);
            assert!(
                vals[i]
                    .iter()
                    .all(|v| *v >= t.format.min_int() && *v <= t.format.max_int()),
                "{}",
                t.name
            );
        }
        // conv output channel 0 at the centre sums a full 3×3 window
        let c = &vals[net.tensor_by_name("c").expect("c")];
        let x: Vec<i64> = (0..16).map(|i| (i - 8) * 32).collect();
        let centre: i64 = [0, 1, 2, 4, 5, 6, 8, 9, 10].iter().map(|i| x[*i]).sum();
        assert_eq!(c[5], centre.clamp(-32768, 32767));
    }
}

//! Gate counts of every gadget, measured from the code: the README table and the
//! pinned-count tests both come from here.

use garnet_circuits::{Counter, GateCounts, Gates, Party, Wire};

use crate::depth::DepthCounter;
use crate::*;

/// One measured gadget instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub gadget: &'static str,
    pub width: String,
    pub counts: GateCounts,
    pub and_depth: u32,
}

/// The measuring gate implementation: a counter that also tracks AND-depth.
pub(crate) type D = DepthCounter<Counter>;
/// A measured bit: a wire and its AND-depth.
pub(crate) type B = (Wire, u32);

/// Runs `f` on fresh symbolic inputs of the given widths and measures it.
pub fn measure(
    gadget: &'static str,
    width: String,
    inputs: &[usize],
    f: impl FnOnce(&mut D, &[Vec<B>]) -> Vec<B>,
) -> Row {
    let mut c = Counter::new();
    let ins: Vec<Vec<B>> = inputs
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            c.input(&format!("in{i}"), Party::Evaluator, w as u32)
                .into_iter()
                .map(|x| (x, 0))
                .collect()
        })
        .collect();
    let mut g = DepthCounter::new(c);
    let out = f(&mut g, &ins);
    let and_depth = DepthCounter::<Counter>::max_depth(&out);
    let wires: Vec<Wire> = out.iter().map(|b| b.0).collect();
    g.inner
        .output("out", garnet_circuits::Recipient::Evaluator, &wires);
    Row {
        gadget,
        width: width.to_string(),
        counts: g.inner.counts(),
        and_depth,
    }
}

/// A deterministic "typical" n-bit constant: round(0.7071·2^(n−1)), odd-looking bits.
pub fn sample_constant(n: usize) -> i128 {
    ((std::f64::consts::FRAC_1_SQRT_2 * (1u128 << (n - 1)) as f64).round() as i128).max(1)
}

/// Deterministic public weights for constant dot products (a small LCG).
pub fn sample_constants(n: usize, k: usize) -> Vec<i128> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..k)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (s >> 11) as i128 & ((1i128 << n) - 1);
            (v << (128 - n)) >> (128 - n)
        })
        .collect()
}

fn split(ins: &[Vec<B>], k: usize) -> (Vec<Vec<B>>, Vec<Vec<B>>) {
    (ins[..k].to_vec(), ins[k..2 * k].to_vec())
}

/// Measures gadget `name` at width `n` (and `k` terms or window size where used).
/// Panics on an unknown name.
pub fn gadget(name: &'static str, n: usize, k: usize) -> Row {
    let w = n.to_string();
    let wk = format!("{n}, k={k}");
    match name {
        "add" => measure(name, w, &[n, n], |g, x| add(g, &x[0], &x[1])),
        "add_carry" => measure(name, w, &[n, n], |g, x| {
            let (mut s, c) = add_carry(g, &x[0], &x[1]);
            s.push(c);
            s
        }),
        "sub" => measure(name, w, &[n, n], |g, x| sub(g, &x[0], &x[1])),
        "sub_borrow" => measure(name, w, &[n, n], |g, x| {
            let (mut s, c) = sub_borrow(g, &x[0], &x[1]);
            s.push(c);
            s
        }),
        "negate" => measure(name, w, &[n], |g, x| negate(g, &x[0])),
        "lt_unsigned" => measure(name, w, &[n, n], |g, x| vec![lt_unsigned(g, &x[0], &x[1])]),
        "lt_signed" => measure(name, w, &[n, n], |g, x| vec![lt_signed(g, &x[0], &x[1])]),
        "eq" => measure(name, w, &[n, n], |g, x| vec![eq(g, &x[0], &x[1])]),
        "select" => measure(name, w, &[1, n, n], |g, x| select(g, x[0][0], &x[1], &x[2])),
        "relu" => measure(name, w, &[n], |g, x| relu(g, &x[0])),
        "max_signed" => measure(name, w, &[n, n], |g, x| max_signed(g, &x[0], &x[1])),
        "mul_trunc" => measure(name, w, &[n, n], |g, x| mul_trunc(g, &x[0], &x[1])),
        "mul_full_unsigned" => measure(name, w, &[n, n], |g, x| mul_full_unsigned(g, &x[0], &x[1])),
        "mul_full_signed" => measure(name, w, &[n, n], |g, x| mul_full_signed(g, &x[0], &x[1])),
        "mul_const" => {
            let c = sample_constant(n);
            measure(name, format!("{n}, c={c}"), &[n], |g, x| {
                mul_const(g, &x[0], c, 2 * n)
            })
        }
        "dot_signed" => {
            let width = exact_width(n, n, k, None);
            measure(name, wk, &vec![n; 2 * k], |g, x| {
                let (a, b) = split(x, k);
                dot_signed(g, &a, &b, None, width)
            })
        }
        "dot_const" => {
            let width = exact_width(n, n, k, None);
            let c = sample_constants(n, k);
            measure(name, wk, &vec![n; k], |g, x| {
                dot_const(g, x, &c, None, width)
            })
        }
        "requantize" => measure(
            name,
            format!("{}→{n}", 2 * n + 6),
            &[2 * n + 6],
            |g, x| requantize(g, &x[0], n / 2, n),
        ),
        "requantize_relu" => measure(
            name,
            format!("{}→{n}", 2 * n + 6),
            &[2 * n + 6],
            |g, x| requantize_relu(g, &x[0], n / 2, n),
        ),
        "argmax" => measure(name, wk, &vec![n; k], argmax),
        "popcount" => measure(name, w, &[n], |g, x| popcount(g, &x[0])),
        "binarized_neuron" => measure(name, w, &[n, n], |g, x| {
            let t: Vec<B> = (0..8)
                .map(|i| g.constant(((n / 2) >> i) & 1 == 1))
                .collect();
            vec![binarized_neuron(g, &x[0], &x[1], &t)]
        }),
        "sigmoid" => {
            let t = PiecewiseLinear::sigmoid(n as u32 / 2 - 1);
            measure(name, w, &[n], |g, x| piecewise_linear(g, &x[0], &t))
        }
        "tanh" => {
            let t = PiecewiseLinear::tanh(n as u32 / 2 - 1);
            measure(name, w, &[n], |g, x| piecewise_linear(g, &x[0], &t))
        }
        "max_pool" => measure(name, wk, &vec![n; k], max_pool),
        "sum_pool" => measure(name, wk, &vec![n; k], sum_pool),
        "avg_pool" => measure(name, wk, &vec![n; k], avg_pool),
        _ => panic!("unknown gadget `{name}`"),
    }
}

/// Every gadget with the k (terms or window) it is measured at.
pub const GADGETS: &[(&str, &[usize])] = &[
    ("add", &[0]),
    ("add_carry", &[0]),
    ("sub", &[0]),
    ("sub_borrow", &[0]),
    ("negate", &[0]),
    ("lt_unsigned", &[0]),
    ("lt_signed", &[0]),
    ("eq", &[0]),
    ("select", &[0]),
    ("relu", &[0]),
    ("max_signed", &[0]),
    ("mul_trunc", &[0]),
    ("mul_full_unsigned", &[0]),
    ("mul_full_signed", &[0]),
    ("mul_const", &[0]),
    ("dot_signed", &[16, 64]),
    ("dot_const", &[16, 64]),
    ("requantize", &[0]),
    ("requantize_relu", &[0]),
    ("argmax", &[16]),
    ("popcount", &[0]),
    ("binarized_neuron", &[0]),
    ("sigmoid", &[0]),
    ("tanh", &[0]),
    ("max_pool", &[4, 9]),
    ("sum_pool", &[4]),
    ("avg_pool", &[4]),
];

/// All rows at widths 8, 16 and 32.
pub fn all_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for &(name, ks) in GADGETS {
        for &k in ks {
            for n in [8, 16, 32] {
                rows.push(gadget(name, n, k));
            }
        }
    }
    rows
}

/// The README's gate-count table in Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| gadget | width | AND | XOR | NOT | AND-depth |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s += &format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            r.gadget, r.width, r.counts.and, r.counts.xor, r.counts.not, r.and_depth
        );
    }
    s
}

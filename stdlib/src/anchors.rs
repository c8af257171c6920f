//! The anchor functions (measured with Garble lang 0.6), composed from the
//! gadgets, so garnet's AND counts for identical functions come from the code.
//!
//! Network layers use private weights (data and weights are both circuit inputs)
//! and `fixed(16, 8)`: exact dot products, the bias aligned to the products' 16
//! fraction bits, then one requantization (shift right by 8, saturate to 16 bits)
//! fused with the ReLU.

use garnet_circuits::Gates;

use crate::table::{B, D};
use crate::*;

/// Bits and fraction bits of the layers' number format.
pub const BITS: usize = 16;
pub const FRAC: usize = 8;

/// One dense output: `relu(requantize(Σ x_t·w_t + bias·2^FRAC))`, where `x` is
/// the side shared with other outputs and `x_sum = shared_sum(x)`.
pub fn neuron<G: Gates>(
    g: &mut G,
    x: &[Vec<G::Bit>],
    x_sum: &[G::Bit],
    w: &[Vec<G::Bit>],
    bias: &[G::Bit],
) -> Vec<G::Bit> {
    let width = exact_width(BITS, BITS, x.len(), Some((BITS, FRAC)));
    let acc = dot_signed_shared(g, x, x_sum, w, Some((bias, FRAC)), width);
    requantize_relu(g, &acc, FRAC, BITS)
}

/// Fully connected layer with bias and ReLU; `w[o]` holds output o's weights. The
/// inputs are shared by every output, so their sum is computed once.
pub fn dense_relu<G: Gates>(
    g: &mut G,
    x: &[Vec<G::Bit>],
    w: &[Vec<Vec<G::Bit>>],
    b: &[Vec<G::Bit>],
) -> Vec<Vec<G::Bit>> {
    let x_sum = shared_sum(g, x);
    w.iter()
        .zip(b)
        .map(|(wo, bo)| neuron(g, x, &x_sum, wo, bo))
        .collect()
}

/// Valid 3×3 convolution of an `h`×`w` image (row-major) with one kernel and bias,
/// then ReLU: (h−2)×(w−2) outputs. The kernel is the shared side.
pub fn conv3x3_relu<G: Gates>(
    g: &mut G,
    img: &[Vec<G::Bit>],
    h: usize,
    w: usize,
    kernel: &[Vec<G::Bit>],
    bias: &[G::Bit],
) -> Vec<Vec<G::Bit>> {
    let k_sum = shared_sum(g, kernel);
    let mut out = Vec::new();
    for r in 0..h - 2 {
        for c in 0..w - 2 {
            let patch: Vec<Vec<G::Bit>> = (0..9)
                .map(|i| img[(r + i / 3) * w + c + i % 3].clone())
                .collect();
            out.push(neuron(g, kernel, &k_sum, &patch, bias));
        }
    }
    out
}

/// 2×2 max-pool with stride 2 of an `h`×`w` image (row-major).
pub fn maxpool2x2<G: Gates>(
    g: &mut G,
    img: &[Vec<G::Bit>],
    h: usize,
    w: usize,
) -> Vec<Vec<G::Bit>> {
    let mut out = Vec::new();
    for r in (0..h - 1).step_by(2) {
        for c in (0..w - 1).step_by(2) {
            let win = [
                r * w + c,
                r * w + c + 1,
                (r + 1) * w + c,
                (r + 1) * w + c + 1,
            ];
            let vals: Vec<Vec<G::Bit>> = win.iter().map(|&i| img[i].clone()).collect();
            out.push(max_pool(g, &vals));
        }
    }
    out
}

/// An anchor: what was measured and both tools' AND counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub function: &'static str,
    pub garble_and: u64,
    pub garnet_and: u64,
    pub garnet_xor: u64,
    pub and_depth: u32,
}

fn run(
    function: &'static str,
    garble_and: u64,
    inputs: &[usize],
    f: impl FnOnce(&mut D, &[Vec<B>]) -> Vec<B>,
) -> Anchor {
    let row = crate::table::measure(function, String::new(), inputs, f);
    Anchor {
        function,
        garble_and,
        garnet_and: row.counts.and,
        garnet_xor: row.counts.xor,
        and_depth: row.and_depth,
    }
}

/// Measures every anchor (the dense layer takes a moment: about half a million ANDs).
pub fn all() -> Vec<Anchor> {
    let n = BITS;
    vec![
        run("16-bit add (mod 2^16)", 43, &[n, n], |g, x| {
            add(g, &x[0], &x[1])
        }),
        run(
            "16-bit signed multiply (16 → 16 bits)",
            553,
            &[n, n],
            |g, x| mul_trunc(g, &x[0], &x[1]),
        ),
        run(
            "16-bit signed multiply, full (16 → 32 bits)",
            553,
            &[n, n],
            |g, x| mul_full_signed(g, &x[0], &x[1]),
        ),
        run(
            "64-term dot product of 16-bit values into 32 bits",
            120_421,
            &[n; 128],
            |g, x| dot_signed(g, &x[..64], &x[64..], None, 32),
        ),
        run(
            "64-term dot product, exact (38 bits)",
            120_421,
            &[n; 128],
            |g, x| dot_signed(g, &x[..64], &x[64..], None, exact_width(n, n, 64, None)),
        ),
        run(
            "fully connected 64→16 + bias + ReLU",
            1_886_944,
            &[n; 64 + 16 * 64 + 16],
            |g, x| {
                let w: Vec<Vec<Vec<B>>> = (0..16)
                    .map(|o| x[64 + 64 * o..64 + 64 * (o + 1)].to_vec())
                    .collect();
                dense_relu(g, &x[..64], &w, &x[64 + 16 * 64..]).concat()
            },
        ),
        run(
            "3×3 convolution on 8×8 → 6×6 + bias + ReLU",
            588_609,
            &[n; 64 + 9 + 1],
            |g, x| conv3x3_relu(g, &x[..64], 8, 8, &x[64..73], &x[73]).concat(),
        ),
        run("2×2 max-pool on 6×6", 3_267, &[n; 36], |g, x| {
            maxpool2x2(g, x, 6, 6).concat()
        }),
    ]
}

/// The README's anchor table in Markdown.
pub fn markdown(rows: &[Anchor]) -> String {
    let mut s = String::from(
        "| function | Garble 0.6 AND | garnet AND | garnet / Garble | garnet AND-depth |\n|---|---:|---:|---:|---:|\n",
    );
    for a in rows {
        s += &format!(
            "| {} | {} | {} | {:.3} | {} |\n",
            a.function,
            a.garble_and,
            a.garnet_and,
            a.garnet_and as f64 / a.garble_and as f64,
            a.and_depth
        );
    }
    s
}

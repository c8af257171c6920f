//! Piecewise-linear sigmoid/tanh and the saturating residual add.
//!
//! The activation follows `reference::pwl_eval` on the table of
//! `reference::pwl_table`: one comparison with each (public) breakpoint; since
//! `x ≥ T_i` is monotone in i, the one-hot region indicators are XORs of
//! neighbouring comparisons (free), and so are the selected slope and intercept
//! (constants ANDed with indicators fold). Then one exact product
//! `slope · x + (intercept << f)` and one requantization (floor shift, saturate).

use super::{Sink, Value};
use crate::ir::{Activation, Format};
use crate::reference::pwl_table;
use garnet_stdlib::compare::lt_signed;
use garnet_stdlib::{ColumnSum, add, exact_width, requantize, sign_extend};

/// `sigmoid`/`tanh` on every element of `x` that is `read` (input and output in
/// `fmt`; the others are zeros).
pub(crate) fn piecewise<G: Sink>(
    g: &mut G,
    x: &Value<G::Bit>,
    read: &[bool],
    function: Activation,
    segments: usize,
    fmt: Format,
) -> Value<G::Bit> {
    let t = pwl_table(function, segments, fmt);
    let b = fmt.bits() as usize;
    let f = fmt.frac() as usize;
    let n = t.slopes.len();
    let width = exact_width(b, b, 1, Some((b, f)));
    // Region r: 0 = below T_0, 1 + i = segment i, n + 1 = at or above T_n.
    let slope = |r: usize| {
        if r == 0 || r == n + 1 {
            0
        } else {
            t.slopes[r - 1]
        }
    };
    let intercept = |r: usize| {
        if r == 0 {
            t.low
        } else if r == n + 1 {
            t.high
        } else {
            t.intercepts[r - 1]
        }
    };
    let zero = g.zero();
    x.iter()
        .zip(read)
        .map(|(v, &r)| {
            if !r {
                return vec![zero; b];
            }
            let ge: Vec<G::Bit> = t
                .breakpoints
                .iter()
                .map(|&bp| {
                    let c: Vec<G::Bit> = (0..b).map(|i| g.constant((bp >> i) & 1 == 1)).collect();
                    let below = lt_signed(g, v, &c);
                    g.not(below)
                })
                .collect();
            let one = g.one();
            let zero = g.zero();
            let indicator: Vec<G::Bit> = (0..n + 2)
                .map(|r| {
                    let lo = if r == 0 { one } else { ge[r - 1] };
                    let hi = if r == n + 1 { zero } else { ge[r] };
                    g.xor(lo, hi)
                })
                .collect();
            let pick = |g: &mut G, value: &dyn Fn(usize) -> i64| -> Vec<G::Bit> {
                (0..b)
                    .map(|j| {
                        let mut acc = g.zero();
                        for (r, &ind) in indicator.iter().enumerate() {
                            if (value(r) >> j) & 1 == 1 {
                                acc = g.xor(acc, ind);
                            }
                        }
                        acc
                    })
                    .collect()
            };
            let a = pick(g, &slope);
            let c = pick(g, &intercept);
            let mut cs = ColumnSum::new(width);
            cs.add_product_pm1(g, v, true, &a, true, 0, false);
            cs.add_value(g, &c, true, f, false, 0);
            let acc = cs.finish(g);
            requantize(g, &acc, f, b)
        })
        .collect()
}

/// `sat_b(a + b)` of one element.
pub(crate) fn add_saturating<G: Sink>(
    g: &mut G,
    x: &[G::Bit],
    y: &[G::Bit],
    fmt: Format,
) -> Vec<G::Bit> {
    let w = fmt.bits() as usize;
    let xe = sign_extend(g, x, w + 1);
    let ye = sign_extend(g, y, w + 1);
    let s = add(g, &xe, &ye);
    requantize(g, &s, 0, w)
}

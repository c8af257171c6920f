//! Piecewise-linear activations (sigmoid, tanh) from a configurable segment table.

use garnet_circuits::Gates;

use crate::colsum::ColumnSum;
use crate::compare::{lt_signed, select};
use crate::mul::add_const_product;

/// `y = ((slope · x) >> slope_frac) + intercept` on one segment, in the input's
/// number format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub slope: i128,
    pub intercept: i128,
}

/// Segment j applies for `breakpoints[j−1] ≤ x < breakpoints[j]`; the first from
/// −∞, the last to +∞. Results wrap to the input width, so the table must keep
/// them in range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiecewiseLinear {
    pub breakpoints: Vec<i128>,
    pub segments: Vec<Segment>,
    /// Fraction bits of the slopes.
    pub slope_frac: u32,
}

fn fixed(v: f64, frac: u32) -> i128 {
    (v * (1u64 << frac) as f64).round() as i128
}

impl PiecewiseLinear {
    /// Builds a table from real breakpoints, slopes and intercepts for values in
    /// `fixed(_, frac)`; slopes get 5 fraction bits (exact for PLAN's 2^-k slopes).
    pub fn from_reals(frac: u32, breakpoints: &[f64], lines: &[(f64, f64)]) -> Self {
        assert_eq!(
            lines.len(),
            breakpoints.len() + 1,
            "one more segment than breakpoints"
        );
        let slope_frac = 5;
        PiecewiseLinear {
            breakpoints: breakpoints.iter().map(|&b| fixed(b, frac)).collect(),
            segments: lines
                .iter()
                .map(|&(s, c)| Segment {
                    slope: fixed(s, slope_frac),
                    intercept: fixed(c, frac),
                })
                .collect(),
            slope_frac,
        }
    }

    /// PLAN (Amin, Curtis, Hayes-Gill 1997) sigmoid: power-of-two slopes, so the
    /// constant multiplies are free shifts.
    pub fn sigmoid(frac: u32) -> Self {
        Self::from_reals(
            frac,
            &[-5.0, -2.375, -1.0, 1.0, 2.375, 5.0],
            &[
                (0.0, 0.0),
                (0.03125, 0.15625),
                (0.125, 0.375),
                (0.25, 0.5),
                (0.125, 0.625),
                (0.03125, 0.84375),
                (0.0, 1.0),
            ],
        )
    }

    /// tanh(x) = 2·sigmoid(2x) − 1 with the PLAN segments.
    pub fn tanh(frac: u32) -> Self {
        Self::from_reals(
            frac,
            &[-2.5, -1.1875, -0.5, 0.5, 1.1875, 2.5],
            &[
                (0.0, -1.0),
                (0.125, -0.6875),
                (0.5, -0.25),
                (1.0, 0.0),
                (0.5, 0.25),
                (0.125, 0.6875),
                (0.0, 1.0),
            ],
        )
    }

    /// Plain reference: the same arithmetic on integers, wrapped to `n` bits.
    pub fn eval(&self, x: i128, n: usize) -> i128 {
        let j = self.breakpoints.iter().filter(|&&b| x >= b).count();
        let s = self.segments[j];
        let y = ((s.slope * x) >> self.slope_frac) + s.intercept;
        let sh = 128 - n;
        (y << sh) >> sh
    }
}

/// Evaluates `table` on a signed n-bit `x`: one comparison with a public constant
/// per breakpoint (≤ n ANDs each, less after folding), one constant multiply per
/// segment (free for power-of-two slopes), and one n-bit select per breakpoint.
pub fn piecewise_linear<G: Gates>(g: &mut G, x: &[G::Bit], table: &PiecewiseLinear) -> Vec<G::Bit> {
    assert_eq!(
        table.segments.len(),
        table.breakpoints.len() + 1,
        "one more segment than breakpoints"
    );
    let n = x.len();
    let sf = table.slope_frac as usize;
    let (min, max) = (-(1i128 << (n - 1)), (1i128 << (n - 1)) - 1);
    let values: Vec<Vec<G::Bit>> = table
        .segments
        .iter()
        .map(|s| {
            let mut cs = ColumnSum::new(n + sf);
            add_const_product(g, &mut cs, x, s.slope, 0);
            cs.add_constant(s.intercept << sf);
            cs.finish(g)[sf..].to_vec()
        })
        .collect();
    let mut y = values[0].clone();
    for (j, &bp) in table.breakpoints.iter().enumerate() {
        let at_or_above = if bp > max {
            g.zero()
        } else if bp <= min {
            g.one()
        } else {
            let c: Vec<G::Bit> = (0..n).map(|i| g.constant((bp >> i) & 1 == 1)).collect();
            let below = lt_signed(g, x, &c);
            g.not(below)
        };
        y = select(g, at_or_above, &values[j + 1], &y);
    }
    y
}

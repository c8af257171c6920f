//! Neural-network glue: requantization (with fused ReLU) and argmax.

use garnet_circuits::Gates;

use crate::arith::{shr_arith, sign_extend};
use crate::compare::{lt_signed, or_all, select};

/// `if c { ¬s } else { u }` as `u ⊕ c ⊕ (c ∧ (u ⊕ s))`: one AND, no NOT gate.
fn force<G: Gates>(g: &mut G, c: G::Bit, s: G::Bit, u: G::Bit) -> G::Bit {
    let us = g.xor(u, s);
    let t = g.and(c, us);
    let x = g.xor(u, c);
    g.xor(x, t)
}

/// Arithmetic shift right by `f` (floor), then saturate to `b` signed bits.
///
/// The shifted value overflows exactly when a bit from position b−1 up differs
/// from its sign; the saturated value is then `¬s` in every bit but the sign.
/// With m = len−f bits left: (m−b−1) ANDs for the overflow OR and b−1 for the
/// selects, below the 3b ceiling; free when the value already fits.
pub fn requantize<G: Gates>(g: &mut G, v: &[G::Bit], f: usize, b: usize) -> Vec<G::Bit> {
    assert!(b >= 1, "requantize to at least one bit");
    let u = shr_arith(g, v, f);
    if u.len() <= b {
        return sign_extend(g, &u, b);
    }
    let s = u[u.len() - 1];
    let diff: Vec<G::Bit> = u[b - 1..u.len() - 1].iter().map(|&x| g.xor(x, s)).collect();
    let ovf = or_all(g, &diff);
    let mut out: Vec<G::Bit> = (0..b - 1).map(|i| force(g, ovf, s, u[i])).collect();
    out.push(s);
    out
}

/// `relu(requantize(v, f, b))` fused: one "clamp" condition `s ∨ overflow`
/// selects the constant `¬s` (0 when negative, the maximum when too large), so
/// the ReLU costs one AND instead of b−1: m−1 ANDs for m = len−f bits.
pub fn requantize_relu<G: Gates>(g: &mut G, v: &[G::Bit], f: usize, b: usize) -> Vec<G::Bit> {
    assert!(b >= 1, "requantize to at least one bit");
    let u = shr_arith(g, v, f);
    let s = u[u.len() - 1];
    // Clamp when negative or when any bit from b−1 up (below the sign) is set.
    let mut conds = vec![s];
    if u.len() > b {
        conds.extend_from_slice(&u[b - 1..u.len() - 1]);
    }
    let clamp = or_all(g, &conds);
    let z = g.zero();
    let mut out: Vec<G::Bit> = (0..b - 1)
        .map(|i| {
            if i + 1 < u.len() {
                force(g, clamp, s, u[i])
            } else {
                z
            }
        })
        .collect();
    out.push(z);
    out
}

/// Bits needed for an index below k (0 for k = 1).
pub fn index_bits(k: usize) -> usize {
    (usize::BITS - k.saturating_sub(1).leading_zeros()) as usize
}

/// Index of the first maximum of `k` signed values, as ⌈log2 k⌉ unsigned bits.
///
/// A tournament of aligned pairs: the right side wins only when strictly greater,
/// so ties go to the lowest index. The index bits that tell the two sides apart
/// are constants or the comparison bit itself, so the index selects cost only the
/// bits below the level, about k ANDs in all; the root needs no value select.
/// Total ≈ (k−1)n + (k−2)n + k, well below (k−1)(3n + log2 k).
pub fn argmax<G: Gates>(g: &mut G, values: &[Vec<G::Bit>]) -> Vec<G::Bit> {
    assert!(!values.is_empty(), "argmax of no values");
    let ib = index_bits(values.len());
    // (value, index) of each tournament survivor.
    type Entry<B> = (Vec<B>, Vec<B>);
    let mut level: Vec<Entry<G::Bit>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let idx = (0..ib).map(|j| g.constant((i >> j) & 1 == 1)).collect();
            (v.clone(), idx)
        })
        .collect();
    while level.len() > 1 {
        let root = level.len() == 2;
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut it = level.into_iter();
        while let Some((lv, li)) = it.next() {
            match it.next() {
                Some((rv, ri)) => {
                    let right_wins = lt_signed(g, &lv, &rv);
                    let v = if root {
                        Vec::new()
                    } else {
                        select(g, right_wins, &rv, &lv)
                    };
                    let i = select(g, right_wins, &ri, &li);
                    next.push((v, i));
                }
                None => next.push((lv, li)),
            }
        }
        level = next;
    }
    level.pop().expect("one left").1
}

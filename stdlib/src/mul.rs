//! Multiplication: private × private through one carry-save tree, and
//! multiplication by a public constant over its canonical signed digits.

use garnet_circuits::Gates;

use crate::colsum::ColumnSum;
use crate::dot::{SplitVector, add_products, dot_signed_split, karatsuba, karatsuba_pays};

/// `a · b` for unsigned values, full width (`a.len() + b.len()` bits), by the ±1
/// recoding ([`ColumnSum::add_product_pm1`]): 301 ANDs at 16 bits (Bristol-style
/// schoolbook 2n²−n = 496); Karatsuba from 32 bits (1106 ANDs).
pub fn mul_full_unsigned<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    if a.len() == b.len() && (a.len() >= 32 || karatsuba_pays(a.len(), 1)) {
        let sa = SplitVector::new(g, &[a.to_vec()], false);
        let sb = SplitVector::new(g, &[b.to_vec()], false);
        return karatsuba(g, &sa, &sb, None, 2 * a.len());
    }
    let mut cs = ColumnSum::new(a.len() + b.len());
    add_products(g, &mut cs, &[a.to_vec()], &[b.to_vec()], false);
    cs.finish(g)
}

/// `a · b` for two's-complement values, full width (`a.len() + b.len()` bits), by
/// the ±1 recoding: 286 ANDs at 16 bits (ceiling 2n²−n = 496), Karatsuba where
/// [`karatsuba_pays`].
pub fn mul_full_signed<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    if a.len() == b.len() && karatsuba_pays(a.len(), 1) {
        let sa = SplitVector::new(g, &[a.to_vec()], true);
        let sb = SplitVector::new(g, &[b.to_vec()], true);
        return dot_signed_split(g, &sa, &sb, None, 2 * a.len());
    }
    let mut cs = ColumnSum::new(a.len() + b.len());
    add_products(g, &mut cs, &[a.to_vec()], &[b.to_vec()], true);
    cs.finish(g)
}

/// `a · b mod 2^n` (signed and unsigned agree modulo 2^n): the ±1-recoded rows
/// below column n, 150 ANDs at 16 bits (ceiling n²−n+1 = 241).
pub fn mul_trunc<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    assert_eq!(a.len(), b.len(), "truncated multiply needs equal widths");
    let mut cs = ColumnSum::new(a.len());
    // The ±1 recoding (signed is right modulo 2^n): 150 ANDs at 16 bits.
    cs.add_product_pm1(g, a, true, b, true, 0, false);
    cs.finish(g)
}

/// The canonical signed-digit (non-adjacent) form of `c`: digits in {−1, 0, 1},
/// least significant first, no two adjacent nonzero, the fewest nonzero digits.
pub fn csd(c: i128) -> Vec<i8> {
    let mut digits = Vec::new();
    let mut x = c;
    while x != 0 {
        if x & 1 == 1 {
            // x mod 4 == 1 → +1, == 3 → −1 (then x becomes divisible by 4).
            let d: i8 = if x & 3 == 1 { 1 } else { -1 };
            digits.push(d);
            x -= d as i128;
        } else {
            digits.push(0);
        }
        x >>= 1;
    }
    digits
}

/// `x · c mod 2^width` for a signed `x` and a public constant `c`: one shifted copy
/// of `x` per nonzero CSD digit, all in one carry-save tree (at most the cost of
/// nonzero−1 adders). Powers of two are free shifts.
pub fn mul_const<G: Gates>(g: &mut G, x: &[G::Bit], c: i128, width: usize) -> Vec<G::Bit> {
    let mut cs = ColumnSum::new(width);
    add_const_product(g, &mut cs, x, c, 0);
    cs.finish(g)
}

/// Adds `x · c · 2^shift` (signed `x`, public `c`) to a carry-save sum.
pub fn add_const_product<G: Gates>(
    g: &mut G,
    cs: &mut ColumnSum<G::Bit>,
    x: &[G::Bit],
    c: i128,
    shift: usize,
) {
    for (j, &d) in csd(c).iter().enumerate() {
        if d != 0 {
            cs.add_value(g, x, true, shift + j, d < 0, 0);
        }
    }
}

//! Exact dot products into an accumulator that cannot overflow, schoolbook or
//! Karatsuba.
//!
//! All k products (as ±1-recoded rows) and an aligned addend such as a bias go into
//! one carry-save tree with a single final carry chain: about one AND per row bit,
//! ≈ kn², instead of k multipliers and k accumulator adders (2kn² and more).

use garnet_circuits::Gates;

use crate::colsum::ColumnSum;
use crate::mul::add_const_product;

/// Bits of the narrowest two's-complement type holding every value in `lo..=hi`.
pub fn signed_width(lo: i128, hi: i128) -> usize {
    let bits = |v: i128| -> usize {
        // Width of v as two's complement: magnitude bits plus a sign bit.
        let m = if v < 0 { !v } else { v };
        (128 - m.leading_zeros() as usize) + 1
    };
    bits(lo).max(bits(hi))
}

/// Accumulator width for an exact sum of `k` products of `a_bits`×`b_bits` signed
/// values plus a signed addend of `addend_bits` shifted left by `addend_shift`.
pub fn exact_width(
    a_bits: usize,
    b_bits: usize,
    k: usize,
    addend: Option<(usize, usize)>,
) -> usize {
    let (amin, amax) = (-(1i128 << (a_bits - 1)), (1i128 << (a_bits - 1)) - 1);
    let (bmin, bmax) = (-(1i128 << (b_bits - 1)), (1i128 << (b_bits - 1)) - 1);
    let prods = [amin * bmin, amin * bmax, amax * bmin, amax * bmax];
    let pmax = *prods.iter().max().expect("four");
    let pmin = *prods.iter().min().expect("four");
    let (mut lo, mut hi) = (pmin * k as i128, pmax * k as i128);
    if let Some((bits, shift)) = addend {
        lo += -(1i128 << (bits - 1)) << shift;
        hi += ((1i128 << (bits - 1)) - 1) << shift;
    }
    signed_width(lo, hi)
}

/// Whether Karatsuba beats one ±1-recoded tree for k terms of n bits, as measured
/// (`karatsuba_is_used_only_where_it_pays` checks it): from 24 bits with nine
/// terms, from 32 bits with two (−8% at 32 bits, k = 64).
pub fn karatsuba_pays(n: usize, k: usize) -> bool {
    (n >= 24 && k >= 9) || (n >= 32 && k >= 2) || n >= 48
}

/// `Σ a_t·b_t (+ addend·2^shift) mod 2^width` for signed values. Use
/// [`exact_width`] for a width that never overflows. Wide equal-width operands go
/// through [`dot_signed_split`], others through [`dot_signed_schoolbook`].
pub fn dot_signed<G: Gates>(
    g: &mut G,
    a: &[Vec<G::Bit>],
    b: &[Vec<G::Bit>],
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    dot_uniform(g, a, b, true, addend, width)
}

/// The dot product as one carry-save tree: every product by the ±1 recoding
/// (about n² ANDs each, no partial-product ANDs but one row) plus the addend.
pub fn dot_signed_schoolbook<G: Gates>(
    g: &mut G,
    a: &[Vec<G::Bit>],
    b: &[Vec<G::Bit>],
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    schoolbook(g, a, b, true, addend, width)
}

fn schoolbook<G: Gates>(
    g: &mut G,
    a: &[Vec<G::Bit>],
    b: &[Vec<G::Bit>],
    signed: bool,
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    assert_eq!(
        a.len(),
        b.len(),
        "dot product needs as many weights as values"
    );
    let mut cs = ColumnSum::new(width);
    add_products(g, &mut cs, a, b, signed);
    finish_with(g, cs, addend)
}

/// Adds Σ a_t·b_t to a carry-save sum, each product by the ±1 recoding
/// ([`ColumnSum::add_product_pm1`]), which beats plain partial products (and
/// radix-4 Booth rows, tried and dropped) at every width measured (2 to 32 bits).
pub(crate) fn add_products<G: Gates>(
    g: &mut G,
    cs: &mut ColumnSum<G::Bit>,
    a: &[Vec<G::Bit>],
    b: &[Vec<G::Bit>],
    signed: bool,
) {
    for (x, w) in a.iter().zip(b) {
        cs.add_product_pm1(g, x, signed, w, signed, 0, false);
    }
}

/// `Σ a_t` exactly, for [`dot_signed_shared`]: compute it once for a side (signed,
/// equal widths) shared by many dot products, such as a layer's inputs.
pub fn shared_sum<G: Gates>(g: &mut G, a: &[Vec<G::Bit>]) -> Vec<G::Bit> {
    let n = a.first().map_or(1, Vec::len);
    let k = a.len() as i128;
    let (lo, hi) = (-(1i128 << (n - 1)) * k, ((1i128 << (n - 1)) - 1) * k);
    let mut cs = ColumnSum::new(signed_width(lo, hi));
    for v in a {
        cs.add_value(g, v, true, 0, false, 0);
    }
    cs.finish(g)
}

/// [`dot_signed`] for a side `a` shared by many dot products, given
/// `a_sum = shared_sum(a)`: 2·Σ a_t·b_t = Σ a_t·(2b_t+1) − Σ a_t, and the odd
/// multipliers 2b_t+1 recode into ±1 digits with no AND at all, so each term saves
/// the n ANDs of the `a ∧ ¬b₀` row (one n-bit sum per layer instead).
pub fn dot_signed_shared<G: Gates>(
    g: &mut G,
    a: &[Vec<G::Bit>],
    a_sum: &[G::Bit],
    b: &[Vec<G::Bit>],
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    assert_eq!(
        a.len(),
        b.len(),
        "dot product needs as many weights as values"
    );
    // Everything doubled: one more column at the bottom, dropped at the end.
    let mut cs = ColumnSum::new(width + 1);
    for (x, w) in a.iter().zip(b) {
        cs.add_product_pm1_odd(g, x, w, 0, false);
    }
    cs.add_value(g, a_sum, true, 0, true, 0);
    if let Some((bits, shift)) = addend {
        cs.add_value(g, bits, true, shift + 1, false, 0);
    }
    cs.finish(g)[1..].to_vec()
}

/// Σ a_t·b_t with all operands signed or all unsigned: Karatsuba (recursively)
/// where it pays, else the schoolbook tree.
fn dot_uniform<G: Gates>(
    g: &mut G,
    a: &[Vec<G::Bit>],
    b: &[Vec<G::Bit>],
    signed: bool,
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    let n = a.first().map_or(0, Vec::len);
    if karatsuba_pays(n, a.len()) && a.iter().chain(b).all(|v| v.len() == n) {
        let sa = SplitVector::new(g, a, signed);
        let sb = SplitVector::new(g, b, signed);
        return karatsuba(g, &sa, &sb, addend, width);
    }
    schoolbook(g, a, b, signed, addend, width)
}

/// `Σ c_t·x_t (+ addend·2^shift) mod 2^width` for signed `x_t` and public
/// constant weights `c_t`: one row per nonzero CSD digit, all in one tree.
pub fn dot_const<G: Gates>(
    g: &mut G,
    x: &[Vec<G::Bit>],
    c: &[i128],
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    assert_eq!(
        x.len(),
        c.len(),
        "dot product needs as many weights as values"
    );
    let mut cs = ColumnSum::new(width);
    for (xt, &ct) in x.iter().zip(c) {
        add_const_product(g, &mut cs, xt, ct, 0);
    }
    finish_with(g, cs, addend)
}

/// Range of the product of values in `a` and `b` (inclusive bounds).
fn product_range(a: (i128, i128), b: (i128, i128)) -> (i128, i128) {
    let p = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
    (
        *p.iter().min().expect("four"),
        *p.iter().max().expect("four"),
    )
}

fn range(bits: usize, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// An operand split for Karatsuba: `x = hi·2^m + lo` (`lo` unsigned, `hi` of x's
/// signedness) and `sum = hi + lo − offset`. For signed x the offset 2^(m−1) (a
/// free flip of lo's top bit) centres the sum, so it needs one bit fewer (9 instead
/// of 10 bits at n = 16), which saves about 19 partial products per term; the
/// offset comes back as a linear correction (see [`SplitVector`]).
#[derive(Clone, Debug)]
pub struct Split<B> {
    pub m: usize,
    pub signed: bool,
    pub offset: i128,
    pub hi: Vec<B>,
    pub lo: Vec<B>,
    pub sum: Vec<B>,
}

impl<B: Copy + std::fmt::Debug> Split<B> {
    /// Splits a signed n-bit value at m = n/2: one small adder for the sum.
    pub fn new<G: Gates<Bit = B>>(g: &mut G, x: &[B]) -> Self {
        Self::with_sign(g, x, true)
    }

    /// Splits a signed or unsigned value at m = n/2.
    pub fn with_sign<G: Gates<Bit = B>>(g: &mut G, x: &[B], signed: bool) -> Self {
        assert!(x.len() >= 2, "splitting needs at least two bits");
        let m = x.len() / 2;
        let (lo, hi) = (x[..m].to_vec(), x[m..].to_vec());
        let offset = if signed { 1i128 << (m - 1) } else { 0 };
        let (smin, smax) = Self::sum_range(hi.len(), m, signed, offset);
        let width = if signed {
            signed_width(smin, smax)
        } else {
            (128 - smax.leading_zeros()) as usize
        };
        let mut cs = ColumnSum::new(width);
        cs.add_value(g, &hi, signed, 0, false, 0);
        // − 2^(m−1) turns lo's top bit into a sign bit: no gate.
        cs.add_value(g, &lo, false, 0, false, 0);
        cs.add_constant(-offset);
        let sum = cs.finish(g);
        Split {
            m,
            signed,
            offset,
            hi,
            lo,
            sum,
        }
    }

    fn sum_range(h: usize, m: usize, signed: bool, offset: i128) -> (i128, i128) {
        let hi = range(h, signed);
        (hi.0 - offset, hi.1 + (1i128 << m) - 1 - offset)
    }

    /// Value ranges of hi, lo and sum.
    fn ranges(&self) -> [(i128, i128); 3] {
        [
            range(self.hi.len(), self.signed),
            range(self.m, false),
            Self::sum_range(self.hi.len(), self.m, self.signed, self.offset),
        ]
    }
}

/// The split operands of one side of a dot product and, for signed operands, the
/// total Σ sum_t that the offset correction needs. Build it once for a side shared
/// by several dot products (a layer's inputs, a convolution kernel).
#[derive(Clone, Debug)]
pub struct SplitVector<B> {
    pub splits: Vec<Split<B>>,
    /// The exact sum of every split's `sum` (empty when the offset is zero).
    pub total: Vec<B>,
}

impl<B: Copy + std::fmt::Debug> SplitVector<B> {
    /// Splits every value (all signed or all unsigned, equal widths).
    pub fn new<G: Gates<Bit = B>>(g: &mut G, values: &[Vec<B>], signed: bool) -> Self {
        let splits = values
            .iter()
            .map(|v| Split::with_sign(g, v, signed))
            .collect();
        Self::from_splits(g, splits)
    }

    /// Collects already split values (e.g. a convolution patch of split pixels).
    pub fn from_splits<G: Gates<Bit = B>>(g: &mut G, splits: Vec<Split<B>>) -> Self {
        assert!(!splits.is_empty(), "dot product of no terms");
        let s0 = &splits[0];
        assert!(
            splits
                .iter()
                .all(|s| s.m == s0.m && s.signed == s0.signed && s.hi.len() == s0.hi.len()),
            "split operands must agree"
        );
        let total = if s0.offset == 0 {
            Vec::new()
        } else {
            let (lo, hi) = s0.ranges()[2];
            let k = splits.len() as i128;
            let mut cs = ColumnSum::new(signed_width(lo * k, hi * k));
            for s in &splits {
                cs.add_value(g, &s.sum, true, 0, false, 0);
            }
            cs.finish(g)
        };
        SplitVector { splits, total }
    }
}

/// `Σ a_t·b_t (+ addend·2^shift) mod 2^width` by Karatsuba on split signed
/// operands: 2^2m·H + 2^m·(M − H − L) + L over the three sub-dot-products (see the
/// crate README). Build each side's [`SplitVector`] once when it is shared.
pub fn dot_signed_split<G: Gates>(
    g: &mut G,
    a: &SplitVector<G::Bit>,
    b: &SplitVector<G::Bit>,
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    assert!(
        a.splits.iter().chain(&b.splits).all(|s| s.signed),
        "dot_signed_split takes signed splits"
    );
    karatsuba(g, a, b, addend, width)
}

/// Σ a·b = 2^2m·H + 2^m·(M − H − L) + L with H = Σ a_hi·b_hi, L = Σ a_lo·b_lo,
/// M = Σ (a_hi+a_lo)(b_hi+b_lo): three dot products of about n²/4, n²/4 and
/// (n/2+1)² partial products (each again by Karatsuba where it pays) instead of one
/// of n², and one small tree to combine them. With offset sums s' = s − c,
/// M = Σ s'_a s'_b + c·Σ s'_a + c·Σ s'_b + k·c². Sub-sums are computed only modulo
/// 2^(width − shift) of their lowest use.
pub(crate) fn karatsuba<G: Gates>(
    g: &mut G,
    a: &SplitVector<G::Bit>,
    b: &SplitVector<G::Bit>,
    addend: Option<(&[G::Bit], usize)>,
    width: usize,
) -> Vec<G::Bit> {
    let (sa, sb) = (&a.splits, &b.splits);
    assert_eq!(
        sa.len(),
        sb.len(),
        "dot product needs as many weights as values"
    );
    let (m, signed, c) = (sa[0].m, sa[0].signed, sa[0].offset);
    assert!(
        sb.iter()
            .all(|s| s.m == m && s.signed == signed && s.hi.len() == sa[0].hi.len()),
        "split operands must agree"
    );
    let k = sa.len() as i128;
    let (ra, rb) = (sa[0].ranges(), sb[0].ranges());
    let part_sum = |g: &mut G, part: usize, shift: usize| -> Vec<G::Bit> {
        let (lo, hi) = product_range(ra[part], rb[part]);
        let w = signed_width(lo * k, hi * k)
            .min(width.saturating_sub(shift))
            .max(1);
        let pick = |s: &Split<G::Bit>| match part {
            0 => s.hi.clone(),
            1 => s.lo.clone(),
            _ => s.sum.clone(),
        };
        let xs: Vec<Vec<G::Bit>> = sa.iter().map(pick).collect();
        let ys: Vec<Vec<G::Bit>> = sb.iter().map(pick).collect();
        dot_uniform(g, &xs, &ys, signed && part != 1, None, w)
    };
    let h = part_sum(g, 0, m);
    let l = part_sum(g, 1, 0);
    let s = part_sum(g, 2, m);
    // Each sub-sum is exact in its two's-complement width or truncated to what the
    // result needs, so reading it as signed is right modulo 2^width either way.
    let mut cs = ColumnSum::new(width);
    cs.add_value(g, &h, true, 2 * m, false, 0);
    cs.add_value(g, &h, true, m, true, 0);
    cs.add_value(g, &s, true, m, false, 0);
    cs.add_value(g, &l, true, 0, false, 0);
    cs.add_value(g, &l, true, m, true, 0);
    if c != 0 {
        // c = 2^(m−1): the corrections are shifts.
        let shift = m + c.trailing_zeros() as usize;
        cs.add_value(g, &a.total, true, shift, false, 0);
        cs.add_value(g, &b.total, true, shift, false, 0);
        let kcc = (k * c).wrapping_mul(c);
        cs.add_constant(if m < 127 {
            kcc.wrapping_shl(m as u32)
        } else {
            0
        });
    }
    finish_with(g, cs, addend)
}

/// Adds the signed `addend·2^shift`, if any, and reduces the tree.
fn finish_with<G: Gates>(
    g: &mut G,
    mut cs: ColumnSum<G::Bit>,
    addend: Option<(&[G::Bit], usize)>,
) -> Vec<G::Bit> {
    if let Some((bits, shift)) = addend {
        cs.add_value(g, bits, true, shift, false, 0);
    }
    cs.finish(g)
}

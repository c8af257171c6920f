//! Comparisons, selection, ReLU and max.
//!
//! A comparison is the borrow out of `a − b`: one majority (one AND) per bit, n ANDs,
//! which matches the known multiplicative complexity of n-bit comparison.

use garnet_circuits::Gates;

/// Borrow chain of `a − b` over all bits but the top one; returns the borrow into
/// the top bit.
fn borrow_below_top<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> G::Bit {
    assert_eq!(
        a.len(),
        b.len(),
        "comparison operands must have equal widths"
    );
    assert!(!a.is_empty(), "comparison of empty values");
    let mut z = g.zero();
    for i in 0..a.len() - 1 {
        // borrow' = maj(¬a, b, z) = b ⊕ ((a ⊕ z) ∧ (b ⊕ z))
        let az = g.xor(a[i], z);
        let bz = g.xor(b[i], z);
        let t = g.and(az, bz);
        z = g.xor(b[i], t);
    }
    z
}

/// `a < b` for unsigned values: n ANDs.
pub fn lt_unsigned<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> G::Bit {
    let z = borrow_below_top(g, a, b);
    let (x, y) = (a[a.len() - 1], b[b.len() - 1]);
    let xz = g.xor(x, z);
    let yz = g.xor(y, z);
    let t = g.and(xz, yz);
    g.xor(y, t)
}

/// `a < b` for two's-complement values: n ANDs. The sign bits have negative
/// weight, so the top step is `maj(a, ¬b, z) = a ⊕ ((a ⊕ z) ∧ (b ⊕ z))`.
pub fn lt_signed<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> G::Bit {
    let z = borrow_below_top(g, a, b);
    let (x, y) = (a[a.len() - 1], b[b.len() - 1]);
    let xz = g.xor(x, z);
    let yz = g.xor(y, z);
    let t = g.and(xz, yz);
    g.xor(x, t)
}

/// `a == b`: no bit differs, the complement of an OR tree of XORs: n−1 ANDs,
/// AND-depth ⌈log2 n⌉ (an OR tree rather than an AND of XNORs needs no NOT gates).
pub fn eq<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> G::Bit {
    assert_eq!(a.len(), b.len(), "equality operands must have equal widths");
    let diff: Vec<G::Bit> = a.iter().zip(b).map(|(&x, &y)| g.xor(x, y)).collect();
    let any = or_all(g, &diff);
    g.not(any)
}

/// AND of all bits as a balanced tree (true when empty): len−1 ANDs.
pub fn and_all<G: Gates>(g: &mut G, bits: &[G::Bit]) -> G::Bit {
    let mut level = bits.to_vec();
    if level.is_empty() {
        return g.one();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| {
                if c.len() == 2 {
                    g.and(c[0], c[1])
                } else {
                    c[0]
                }
            })
            .collect();
    }
    level[0]
}

/// OR of all bits as a balanced tree (false when empty): len−1 ANDs.
pub fn or_all<G: Gates>(g: &mut G, bits: &[G::Bit]) -> G::Bit {
    let mut level = bits.to_vec();
    if level.is_empty() {
        return g.zero();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| if c.len() == 2 { g.or(c[0], c[1]) } else { c[0] })
            .collect();
    }
    level[0]
}

/// `if sel { if_true } else { if_false }` bitwise: n ANDs.
pub fn select<G: Gates>(
    g: &mut G,
    sel: G::Bit,
    if_true: &[G::Bit],
    if_false: &[G::Bit],
) -> Vec<G::Bit> {
    assert_eq!(
        if_true.len(),
        if_false.len(),
        "select operands must have equal widths"
    );
    if_true
        .iter()
        .zip(if_false)
        .map(|(&t, &f)| g.mux(sel, t, f))
        .collect()
}

/// `max(a, 0)` for a signed value: the sign bit clears every other bit, n−1 ANDs
/// (`x ∧ ¬s` written as `x ⊕ (x ∧ s)` to avoid NOT gates).
pub fn relu<G: Gates>(g: &mut G, a: &[G::Bit]) -> Vec<G::Bit> {
    let s = a[a.len() - 1];
    let mut out: Vec<G::Bit> = a[..a.len() - 1]
        .iter()
        .map(|&x| {
            let t = g.and(x, s);
            g.xor(x, t)
        })
        .collect();
    out.push(g.zero());
    out
}

/// `max(a, b)` for signed values, the first on ties: comparison plus select, 2n ANDs.
pub fn max_signed<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    let a_lt_b = lt_signed(g, a, b);
    select(g, a_lt_b, b, a)
}

/// `min(a, b)` for signed values: 2n ANDs.
pub fn min_signed<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    let b_lt_a = lt_signed(g, b, a);
    select(g, b_lt_a, b, a)
}

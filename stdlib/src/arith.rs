//! Adders, subtractors, negation and free bit-vector reshaping.
//!
//! The carry of a full adder is a majority, which costs one AND under free-XOR:
//! `maj(a, b, c) = c ⊕ ((a ⊕ c) ∧ (b ⊕ c))`. A ripple chain of these is AND-minimal
//! for addition (n−1 ANDs modulo 2^n); its AND-depth is linear, which garbling
//! does not mind.

use garnet_circuits::Gates;

/// `(a ⊕ b ⊕ c, maj(a, b, c))` with one AND.
pub fn full_adder<G: Gates>(g: &mut G, a: G::Bit, b: G::Bit, c: G::Bit) -> (G::Bit, G::Bit) {
    let ac = g.xor(a, c);
    let bc = g.xor(b, c);
    let s = g.xor(ac, b);
    let t = g.and(ac, bc);
    (s, g.xor(c, t))
}

/// `(a ⊕ b, a ∧ b)` with one AND.
pub fn half_adder<G: Gates>(g: &mut G, a: G::Bit, b: G::Bit) -> (G::Bit, G::Bit) {
    (g.xor(a, b), g.and(a, b))
}

/// Ripple addition with carry-in; returns the sum (len of `a`) and the carry out.
/// The last carry is computed only when `want_carry`, which saves one AND.
fn ripple<G: Gates>(
    g: &mut G,
    a: &[G::Bit],
    b: &[G::Bit],
    carry_in: G::Bit,
    want_carry: bool,
) -> (Vec<G::Bit>, G::Bit) {
    assert_eq!(a.len(), b.len(), "adder operands must have equal widths");
    let mut c = carry_in;
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if i + 1 == a.len() && !want_carry {
            let s = g.xor(a[i], b[i]);
            out.push(g.xor(s, c));
        } else {
            let (s, co) = full_adder(g, a[i], b[i], c);
            out.push(s);
            c = co;
        }
    }
    (out, c)
}

/// Borrow-chain subtraction `a − b − borrow_in`. The borrow is `maj(¬a, b, z)`,
/// written as `b ⊕ ((a ⊕ z) ∧ (b ⊕ z))` so that no NOT gate is needed.
fn ripple_sub<G: Gates>(
    g: &mut G,
    a: &[G::Bit],
    b: &[G::Bit],
    want_borrow: bool,
) -> (Vec<G::Bit>, G::Bit) {
    assert_eq!(
        a.len(),
        b.len(),
        "subtractor operands must have equal widths"
    );
    let mut z = g.zero();
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let az = g.xor(a[i], z);
        out.push(g.xor(az, b[i]));
        if i + 1 < a.len() || want_borrow {
            let bz = g.xor(b[i], z);
            let t = g.and(az, bz);
            z = g.xor(b[i], t);
        }
    }
    (out, z)
}

/// `a + b mod 2^n`: n−1 ANDs.
pub fn add<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    let z = g.zero();
    ripple(g, a, b, z, false).0
}

/// `a + b` as n bits plus the carry out: n ANDs.
pub fn add_carry<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> (Vec<G::Bit>, G::Bit) {
    let z = g.zero();
    ripple(g, a, b, z, true)
}

/// `a − b mod 2^n`: n−1 ANDs.
pub fn sub<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    ripple_sub(g, a, b, false).0
}

/// `a − b mod 2^n` and the borrow out (set when `a < b` as unsigned): n ANDs.
pub fn sub_borrow<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> (Vec<G::Bit>, G::Bit) {
    ripple_sub(g, a, b, true)
}

/// `−a mod 2^n` = `¬a + 1`: bit i flips exactly when some lower bit of `a` is set,
/// a prefix OR, so n−2 ANDs (one fewer than a general subtractor) and no NOT.
pub fn negate<G: Gates>(g: &mut G, a: &[G::Bit]) -> Vec<G::Bit> {
    let mut out = Vec::with_capacity(a.len());
    let mut any = g.zero();
    for (i, &x) in a.iter().enumerate() {
        out.push(g.xor(x, any));
        if i + 1 < a.len() {
            any = g.or(any, x);
        }
    }
    out
}

/// Sign-extends (or truncates) a two's-complement value to `width` bits: free.
pub fn sign_extend<G: Gates>(g: &mut G, a: &[G::Bit], width: usize) -> Vec<G::Bit> {
    let fill = match a.last() {
        Some(&s) => s,
        None => g.zero(),
    };
    (0..width)
        .map(|i| if i < a.len() { a[i] } else { fill })
        .collect()
}

/// Zero-extends (or truncates) an unsigned value to `width` bits: free.
pub fn zero_extend<G: Gates>(g: &mut G, a: &[G::Bit], width: usize) -> Vec<G::Bit> {
    let z = g.zero();
    (0..width)
        .map(|i| if i < a.len() { a[i] } else { z })
        .collect()
}

/// `a · 2^k`, widened by k bits: free wiring.
pub fn shl<G: Gates>(g: &mut G, a: &[G::Bit], k: usize) -> Vec<G::Bit> {
    let z = g.zero();
    std::iter::repeat_n(z, k).chain(a.iter().copied()).collect()
}

/// `floor(a / 2^k)` for signed `a`, narrowed by k bits (at least one bit kept): free.
pub fn shr_arith<G: Gates>(g: &mut G, a: &[G::Bit], k: usize) -> Vec<G::Bit> {
    if k < a.len() {
        a[k..].to_vec()
    } else {
        sign_extend(g, &a[a.len().saturating_sub(1)..], 1)
    }
}

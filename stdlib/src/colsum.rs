//! A carry-save accumulator: bits of weight 2^column, reduced in one tree.
//!
//! Multi-operand sums (products, dot products, popcounts, constant multiplies) put
//! every weighted bit into its column and reduce all columns at once with full
//! adders (one AND each, the sum bit is free), so the cost is about one AND per
//! input bit, with no per-operand adder. Three tricks remove the remaining half
//! adders, which would each cost an AND without reducing the bit count:
//! - constants are summed into one integer; a constant one next to a bit `x` is
//!   the free move `x + 1 = 2·x + ¬x`, and next to two bits it joins a full adder;
//! - negative-weight bits are complemented with a constant correction
//!   (`−x = ¬x − 1`), as in Baugh–Wooley, so signed operands need no sign extension;
//! - a pair of cross products `a_i·b_j + a_j·b_i` of one multiplication costs the
//!   same two ANDs as a sum bit `(a_i ⊕ a_j)(b_i ⊕ b_j) ⊕ a_i b_i ⊕ a_j b_j` and a carry
//!   `a_i b_i ∧ a_j b_j` (given the diagonal products, which are needed anyway): a
//!   half adder for free, used when a column's parity would otherwise need one.
//!
//! Products come in two forms: plain partial products ([`ColumnSum::add_product`],
//! with the tricks above) and the ±1 recoding ([`ColumnSum::add_product_pm1`]),
//! which replaces the partial-product ANDs by XORs with the multiplier's digit
//! signs and is what the multiply and dot-product gadgets use.
//!
//! Within a column the three shallowest bits (by an AND-depth estimate) go into each
//! full adder, which keeps the tree shallow. The result is taken modulo 2^width;
//! the top column needs no carries, so its reduction is all XOR.

use std::collections::VecDeque;

use garnet_circuits::Gates;

use crate::arith::full_adder;

/// Two cross products `a_i·b_j + a_j·b_i` of one multiplication, with the diagonal
/// products `a_i·b_i` and `a_j·b_j` already computed.
#[derive(Clone, Copy, Debug)]
struct Pair<B> {
    ai: B,
    aj: B,
    bi: B,
    bj: B,
    dii: B,
    djj: B,
    negative: bool,
    depth: u32,
}

/// The bits of one column, with estimated AND-depths, taken shallowest first and,
/// among equally deep bits, first in first out. Depths are small integers, so a
/// queue per depth (a bucket queue) gives that order in constant time per bit.
#[derive(Debug)]
struct Column<B> {
    by_depth: Vec<VecDeque<B>>,
    shallowest: usize,
    len: usize,
}

impl<B: Copy> Column<B> {
    fn new() -> Self {
        Column {
            by_depth: Vec::new(),
            shallowest: 0,
            len: 0,
        }
    }
    fn push(&mut self, bit: B, depth: u32) {
        let d = depth as usize;
        if self.by_depth.len() <= d {
            self.by_depth.resize_with(d + 1, VecDeque::new);
        }
        self.by_depth[d].push_back(bit);
        self.shallowest = self.shallowest.min(d);
        self.len += 1;
    }
    fn pop(&mut self) -> Option<(B, u32)> {
        if self.len == 0 {
            return None;
        }
        while self.by_depth[self.shallowest].is_empty() {
            self.shallowest += 1;
        }
        self.len -= 1;
        let bit = self.by_depth[self.shallowest].pop_front()?;
        Some((bit, self.shallowest as u32))
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// A sum of weighted bits and constants, taken modulo 2^width.
#[derive(Debug)]
pub struct ColumnSum<B> {
    width: usize,
    cols: Vec<Column<B>>,
    pairs: Vec<Vec<Pair<B>>>,
    /// The sum of all constants, modulo 2^width.
    constant: u128,
}

impl<B: Copy + std::fmt::Debug> ColumnSum<B> {
    /// An empty sum modulo 2^width (1 ≤ width ≤ 128).
    pub fn new(width: usize) -> Self {
        assert!(
            (1..=128).contains(&width),
            "ColumnSum width must be 1..=128"
        );
        ColumnSum {
            width,
            cols: (0..width).map(|_| Column::new()).collect(),
            pairs: (0..width).map(|_| Vec::new()).collect(),
            constant: 0,
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    fn mask(&self) -> u128 {
        if self.width == 128 {
            u128::MAX
        } else {
            (1u128 << self.width) - 1
        }
    }

    /// Adds `value` (any integer; only its residue modulo 2^width matters).
    pub fn add_constant(&mut self, value: i128) {
        self.constant = self.constant.wrapping_add(value as u128) & self.mask();
    }

    fn add_constant_pow2(&mut self, column: usize, negative: bool) {
        if column < self.width {
            let v = 1u128 << column;
            self.constant = if negative {
                self.constant.wrapping_sub(v)
            } else {
                self.constant.wrapping_add(v)
            } & self.mask();
        }
    }

    /// Adds `±bit · 2^column`, with `depth` its estimated AND-depth.
    pub fn add_bit<G: Gates<Bit = B>>(
        &mut self,
        g: &mut G,
        column: usize,
        bit: B,
        negative: bool,
        depth: u32,
    ) {
        if column >= self.width {
            return;
        }
        if let Some(v) = g.known(bit) {
            if v {
                self.add_constant_pow2(column, negative);
            }
            return;
        }
        if negative {
            // −x = ¬x − 1
            let nb = g.not(bit);
            self.cols[column].push(nb, depth);
            self.add_constant_pow2(column, true);
        } else {
            self.cols[column].push(bit, depth);
        }
    }

    /// Adds `±value · 2^shift` for a value given as bits, signed (two's complement)
    /// or unsigned. The sign bit of a signed value simply has negative weight.
    pub fn add_value<G: Gates<Bit = B>>(
        &mut self,
        g: &mut G,
        bits: &[B],
        signed: bool,
        shift: usize,
        negative: bool,
        depth: u32,
    ) {
        for (i, &b) in bits.iter().enumerate() {
            let neg = negative ^ (signed && i + 1 == bits.len());
            self.add_bit(g, shift + i, b, neg, depth);
        }
    }

    /// Adds `±a·b · 2^shift` as partial products (Baugh–Wooley signs for signed
    /// operands). Cross products whose diagonal products exist are kept as pairs so
    /// the reduction can use them as free half adders.
    #[allow(clippy::too_many_arguments)]
    pub fn add_product<G: Gates<Bit = B>>(
        &mut self,
        g: &mut G,
        a: &[B],
        a_signed: bool,
        b: &[B],
        b_signed: bool,
        shift: usize,
        negative: bool,
    ) {
        let (la, lb) = (a.len(), b.len());
        let sign =
            |i: usize, j: usize| negative ^ (a_signed && i + 1 == la) ^ (b_signed && j + 1 == lb);
        let m = la.min(lb);
        // Diagonal products that land inside the sum.
        let diag: Vec<Option<B>> = (0..m)
            .map(|i| (2 * i + shift < self.width).then(|| g.and(a[i], b[i])))
            .collect();
        for i in 0..la {
            for j in 0..lb {
                let col = i + j + shift;
                if col >= self.width {
                    continue;
                }
                if i == j {
                    let d = diag[i].expect("diagonal inside the sum");
                    self.add_bit(g, col, d, sign(i, i), 1);
                    continue;
                }
                let (lo, hi) = (i.min(j), i.max(j));
                let pairable = hi < m && diag[hi].is_some() && sign(i, j) == sign(j, i);
                if pairable {
                    if i < j {
                        self.pairs[col].push(Pair {
                            ai: a[lo],
                            aj: a[hi],
                            bi: b[lo],
                            bj: b[hi],
                            dii: diag[lo].expect("lower diagonal exists"),
                            djj: diag[hi].expect("checked"),
                            negative: sign(i, j),
                            depth: 1,
                        });
                    }
                    continue;
                }
                let p = g.and(a[i], b[j]);
                self.add_bit(g, col, p, sign(i, j), 1);
            }
        }
    }

    /// Adds `±a·b · 2^shift` with the ±1 recoding of `b`, which needs no partial
    /// product ANDs at all: with b = b_0 + 2b'' and 2b''+1 = Σ_j (2e_j − 1)·2^j, where
    /// e is b'' with its top bit flipped (free), a·b = Σ_j ±a·2^j − (a ∧ ¬b_0). A row
    /// ±a is a XOR with the digit's sign (free) plus one correction bit, so only the
    /// first row and the tree's full adders cost ANDs: about n² in all, against 2n²
    /// for plain partial products (and ~1.5n² measured for radix-4 Booth rows).
    #[allow(clippy::too_many_arguments)]
    pub fn add_product_pm1<G: Gates<Bit = B>>(
        &mut self,
        g: &mut G,
        a: &[B],
        a_signed: bool,
        b: &[B],
        b_signed: bool,
        shift: usize,
        negative: bool,
    ) {
        // Both operands as two's complement.
        let mut a = a.to_vec();
        if !a_signed {
            a.push(g.zero());
        }
        let mut b = b.to_vec();
        if !b_signed {
            b.push(g.zero());
        }
        if b.len() == 1 {
            // b ∈ {0, −1}: a·b = −(a ∧ b_0).
            let row: Vec<B> = a.iter().map(|&x| g.and(x, b[0])).collect();
            self.add_value(g, &row, true, shift, !negative, 1);
            return;
        }
        // −(a ∧ ¬b_0): the one row of ANDs.
        let nb0 = g.not(b[0]);
        let row: Vec<B> = a.iter().map(|&x| g.and(x, nb0)).collect();
        self.add_value(g, &row, true, shift, !negative, 1);
        // Rows for the digits of 2b''+1, b'' = b[1..] (signed).
        self.add_product_pm1_odd(g, &a, &b[1..], shift, negative);
    }

    /// Adds `±a·(2b+1) · 2^shift` as ±1-recoded rows only, no AND at all:
    /// 2b+1 = Σ_j (2e_j − 1)·2^j with e = b with its top bit flipped (b signed).
    /// With Σ a_t subtracted once for a side shared by many dot products, this gives
    /// 2·Σ a_t·b_t without the `a ∧ ¬b₀` row of [`ColumnSum::add_product_pm1`].
    pub fn add_product_pm1_odd<G: Gates<Bit = B>>(
        &mut self,
        g: &mut G,
        a: &[B],
        b: &[B],
        shift: usize,
        negative: bool,
    ) {
        for (j, &bj) in b.iter().enumerate() {
            let base = shift + j;
            if base >= self.width {
                break;
            }
            // f = 1 when the digit is −1: f = ¬e, e = b_j (top bit flipped).
            let f = if j + 1 == b.len() { bj } else { g.not(bj) };
            for (i, &x) in a.iter().enumerate() {
                let r = g.xor(x, f);
                self.add_bit(g, base + i, r, negative ^ (i + 1 == a.len()), 0);
            }
            self.add_bit(g, base, f, negative, 0);
        }
    }

    /// Reduces everything to `width` bits: the sum modulo 2^width.
    pub fn finish<G: Gates<Bit = B>>(mut self, g: &mut G) -> Vec<B> {
        let mut out = Vec::with_capacity(self.width);
        for c in 0..self.width {
            let top = c + 1 == self.width;
            let pairs = std::mem::take(&mut self.pairs[c]);
            // Parity with every pair as two plain products (a negative pair then
            // changes only higher constant bits). An odd count reduces with full
            // adders alone and a constant one fixes an even count for free (below);
            // otherwise one pair becomes a free half adder.
            let k = (self.constant >> c) & 1 == 1;
            let v = self.cols[c].len() + 2 * pairs.len();
            let use_pair = !top && !k && v >= 2 && v & 1 == 0 && !pairs.is_empty();
            for (i, p) in pairs.iter().enumerate() {
                if top || (use_pair && i == 0) {
                    // a_i b_j ⊕ a_j b_i = (a_i ⊕ a_j)(b_i ⊕ b_j) ⊕ a_i b_i ⊕ a_j b_j
                    let xa = g.xor(p.ai, p.aj);
                    let xb = g.xor(p.bi, p.bj);
                    let t = g.and(xa, xb);
                    let t = g.xor(t, p.dii);
                    let s = g.xor(t, p.djj);
                    self.add_bit(g, c, s, p.negative, p.depth.max(1));
                    if !top {
                        let carry = g.and(p.dii, p.djj);
                        self.add_bit(g, c + 1, carry, p.negative, 2);
                    }
                } else {
                    let x = g.and(p.ai, p.bj);
                    let y = g.and(p.aj, p.bi);
                    self.add_bit(g, c, x, p.negative, p.depth);
                    self.add_bit(g, c, y, p.negative, p.depth);
                }
            }
            // The constant's bit c now belongs to this column; lower bits are zero.
            let const_bit = (self.constant >> c) & 1 == 1;
            self.constant &= !(1u128 << c);
            let n = self.cols[c].len();
            if const_bit {
                if n == 0 {
                    out.push(g.one());
                    continue;
                }
                if n % 2 == 1 && !top {
                    // x + 1 = 2x + ¬x: no gate at all.
                    let (x, d) = self.cols[c].pop().expect("nonempty");
                    let nx = g.not(x);
                    self.cols[c].push(nx, d);
                    self.add_bit(g, c + 1, x, false, d);
                } else {
                    let one = g.one();
                    self.cols[c].push(one, 0);
                }
            }
            let col = &mut self.cols[c];
            if top {
                let mut acc = g.zero();
                while let Some((x, _)) = col.pop() {
                    acc = g.xor(acc, x);
                }
                out.push(acc);
                continue;
            }
            let mut carries = Vec::new();
            while col.len() >= 3 {
                let (a, da) = col.pop().expect("3 bits");
                let (b, db) = col.pop().expect("3 bits");
                let (x, dx) = col.pop().expect("3 bits");
                let d = da.max(db).max(dx);
                let (s, co) = full_adder(g, a, b, x);
                col.push(s, d);
                carries.push((co, d + 1));
            }
            if col.len() == 2 {
                let (a, da) = col.pop().expect("2 bits");
                let (b, db) = col.pop().expect("2 bits");
                let d = da.max(db);
                col.push(g.xor(a, b), d);
                carries.push((g.and(a, b), d + 1));
            }
            out.push(match col.pop() {
                Some((x, _)) => x,
                None => g.zero(),
            });
            for (co, d) in carries {
                self.add_bit(g, c + 1, co, false, d);
            }
        }
        out
    }
}

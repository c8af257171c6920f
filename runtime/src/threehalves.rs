//! Three-halves garbling (Rosulek and Roy, Crypto 2021, ePrint 2021/749) with free
//! XOR: one AND gate at a time, and the batch layout the drivers stream.
//!
//! Labels are sliced into halves, `L` (low 64 bits, holding the colour bit) and `R`
//! (high 64 bits); Δ is the half-gates Δ (low bit 1), so free XOR and the colour bits
//! work unchanged. With colours `i = lsb(A)`, `j = lsb(B)` the evaluator hashes `A`,
//! `B` and `A ⊕ B` (tweaks `3j`, `3j + 1`, `3j + 2`) and computes
//!
//! ```text
//! XL = H(A) ⊕ H(A⊕B)        XR = H(B) ⊕ H(A⊕B)
//! C_L = low(XL) ⊕ i·G0 ⊕ (i⊕j)·G2       C_R = low(XR) ⊕ j·G1 ⊕ (i⊕j)·G2
//! (x, y) = (bit64(XL), bit64(XR)) ⊕ the same combination of the 5 sent bits
//! C = (C_L, C_R) ⊕ M_ij · (A_L, A_R, B_L, B_R),   M_ij = P_ij ⊕ x·S1 ⊕ y·S2
//! ```
//!
//! The garbler sends three half-ciphertexts `G0, G1, G2` (1.5κ bits) and five bits
//! (the control bits `(x, y)` of each row, masked by hash bits and compressed like the
//! labels), 1.5κ + 5 bits per AND. It picks `(x, y)` of row 00 at random and those
//! of the other rows from it and the wires' colour offsets, so that every row's
//! "dicing" matrix `M_ij` is uniform over a coset fixed by `(i, j)` alone: the
//! evaluator's control bits say nothing about the truth values (RR21 §5). The
//! constants below are RR21's in this module's bit order; `tests` checks them on every input pair, colour
//! offset and random choice.

use crate::block::Block;
use crate::halfgates::Delta;
use crate::hash::Tccr;
use crate::prg::Prg;

/// Bytes of half-ciphertexts per AND gate (`G0, G1, G2`, 8 bytes each).
pub const HALVES_BYTES: usize = garnet_circuits::cost::THREE_HALVES_HALVES_BYTES as usize;
/// Control bits per AND gate.
pub const CONTROL_BITS: usize = garnet_circuits::cost::THREE_HALVES_CONTROL_BITS as usize;

/// Bytes the tables of `n` AND gates take on the wire: their half-ciphertexts, then
/// their control bits packed 5 per gate (`n` a multiple of 8 wastes nothing).
#[inline]
pub fn table_bytes(n: usize) -> usize {
    HALVES_BYTES * n + (CONTROL_BITS * n).div_ceil(8)
}

/// One AND gate's table: three half-ciphertexts and five control bits (bit 0, 1: the
/// output's `L`/`R` bits; bits 2, 3, 4: those of `G0`, `G1`, `G2`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Table {
    pub g: [u64; 3],
    pub bits: u8,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Table(<redacted>)")
    }
}

/// A dicing matrix: bits 0–3 are the `L` output row's coefficients on
/// `(A_L, A_R, B_L, B_R)`, bits 4–7 the `R` row's.
type Dice = u8;
const S1: Dice = 0x97;
const S2: Dice = 0xE9;
/// `P_ij`, indexed by `2i + j`.
#[cfg_attr(not(test), allow(dead_code))]
const P: [Dice; 4] = [0x24, 0x04, 0x20, 0x00];

#[inline(always)]
fn lo(b: Block) -> u64 {
    b.0 as u64
}

#[inline(always)]
fn hi(b: Block) -> u64 {
    (b.0 >> 64) as u64
}

#[inline(always)]
fn bit64(b: Block) -> u8 {
    ((b.0 >> 64) & 1) as u8
}

#[inline(always)]
fn join(l: u64, r: u64) -> Block {
    Block(l as u128 | ((r as u128) << 64))
}

#[inline(always)]
fn mask(bit: u8) -> u64 {
    0u64.wrapping_sub((bit & 1) as u64)
}

/// `M · (A_L, A_R, B_L, B_R)` as an `(L, R)` pair.
#[inline(always)]
fn dice(m: Dice, a: Block, b: Block) -> (u64, u64) {
    let v = [lo(a), hi(a), lo(b), hi(b)];
    let mut l = 0;
    let mut r = 0;
    for (k, x) in v.into_iter().enumerate() {
        l ^= x & mask(m >> k);
        r ^= x & mask(m >> (4 + k));
    }
    (l, r)
}

/// `M_ij · (A, B)` for `M_ij = P_ij ⊕ x·S1 ⊕ y·S2`: the constant matrices fold into
/// a few XORs, the control bits select whole halves.
#[inline(always)]
fn dice_row(i: u8, j: u8, x: u8, y: u8, a: Block, b: Block) -> (u64, u64) {
    let (s1, s2) = (dice(S1, a, b), dice(S2, a, b));
    let (mx, my) = (mask(x), mask(y));
    // P_ij · (A, B) = ((1 ⊕ i)·B_L, (1 ⊕ j)·A_R) (see `P`; tested).
    (
        (lo(b) & mask(i ^ 1)) ^ (s1.0 & mx) ^ (s2.0 & my),
        (hi(a) & mask(j ^ 1)) ^ (s1.1 & mx) ^ (s2.1 & my),
    )
}

/// Tweaks of AND gate `j`: `(A, B, A ⊕ B)` = `(3j, 3j + 1, 3j + 2)`.
#[inline(always)]
pub fn tweaks(j: u64) -> (u64, u64, u64) {
    (3 * j, 3 * j + 1, 3 * j + 2)
}

/// Garbles AND gate `j` with input 0-labels `a0`, `b0`, using the two random bits of
/// `rand` (bits 0, 1). Returns the output 0-label and the table to send.
pub fn garble_and(
    h: &Tccr,
    delta: &Delta,
    a0: Block,
    b0: Block,
    j: u64,
    rand: u8,
) -> (Block, Table) {
    let (ta, tb, ts) = tweaks(j);
    let d = delta.block();
    let a = a0 ^ d.select(a0.lsb());
    let b = b0 ^ d.select(b0.lsb());
    let hashes = [
        h.hash(a, ta),
        h.hash(a ^ d, ta),
        h.hash(b, tb),
        h.hash(b ^ d, tb),
        h.hash(a ^ b, ts),
        h.hash(a ^ b ^ d, ts),
    ];
    garble_and_hashed(hashes, a0, b0, d, rand)
}

/// The garbler's arithmetic given, for the colour-0 labels `Â = A0 ⊕ lsb(A0)·Δ` and
/// `B̂`, `[H(Â), H(Â⊕Δ), H(B̂), H(B̂⊕Δ), H(Â⊕B̂), H(Â⊕B̂⊕Δ)]` (tweaks as in [`tweaks`]).
#[inline(always)]
pub fn garble_and_hashed(
    h: [Block; 6],
    a0: Block,
    b0: Block,
    delta: Block,
    rand: u8,
) -> (Block, Table) {
    let pa = a0.lsb() as u8;
    let pb = b0.lsb() as u8;
    let a = a0 ^ delta.select(pa == 1);
    let b = b0 ^ delta.select(pb == 1);
    let (dl, dr) = (lo(delta), hi(delta));
    // Control bits of row 00 at random; those of rows 01 and 10 follow (row 11's
    // are implied).
    let (x0, y0) = (rand & 1, (rand >> 1) & 1);
    // E_k: what row k's evaluator must see before the ciphertexts are added.
    let row = |i: u8, j: u8, x: u8, y: u8| {
        let ai = a ^ delta.select(i == 1);
        let bj = b ^ delta.select(j == 1);
        let hs = h[4 + (i ^ j) as usize];
        let xl = h[i as usize] ^ hs;
        let xr = h[2 + j as usize] ^ hs;
        let (ml, mr) = dice_row(i, j, x, y, ai, bj);
        let f = mask((i ^ pa) & (j ^ pb));
        (
            lo(xl) ^ ml ^ (dl & f),
            lo(xr) ^ mr ^ (dr & f),
            bit64(xl) ^ x,
            bit64(xr) ^ y,
        )
    };
    let e = [
        row(0, 0, x0, y0),
        row(0, 1, x0 ^ pa ^ pb, y0 ^ pa ^ 1),
        row(1, 0, x0 ^ pb ^ 1, y0 ^ pa ^ pb),
    ];
    let [e00, e01, e10] = e;
    let g2 = e01.0 ^ e00.0;
    let g1 = e01.1 ^ e00.1 ^ g2;
    let g0 = e10.0 ^ e00.0 ^ g2;
    let z2 = e01.2 ^ e00.2;
    let z1 = e01.3 ^ e00.3 ^ z2;
    let z0 = e10.2 ^ e00.2 ^ z2;
    let bits = e00.2 | (e00.3 << 1) | (z0 << 2) | (z1 << 3) | (z2 << 4);
    (
        join(e00.0, e00.1),
        Table {
            g: [g0, g1, g2],
            bits,
        },
    )
}

/// Evaluates AND gate `j` on the active labels `a`, `b` and its table.
pub fn eval_and(h: &Tccr, a: Block, b: Block, table: &Table, j: u64) -> Block {
    let (ta, tb, ts) = tweaks(j);
    eval_and_hashed(
        [h.hash(a, ta), h.hash(b, tb), h.hash(a ^ b, ts)],
        a,
        b,
        table,
    )
}

/// The evaluator's arithmetic given `[H(A), H(B), H(A⊕B)]`.
#[inline(always)]
pub fn eval_and_hashed(h: [Block; 3], a: Block, b: Block, t: &Table) -> Block {
    let i = a.lsb() as u8;
    let j = b.lsb() as u8;
    let (mi, mj, mij) = (mask(i), mask(j), mask(i ^ j));
    let xl = h[0] ^ h[2];
    let xr = h[1] ^ h[2];
    let z = t.bits;
    let x = bit64(xl) ^ z ^ (i & (z >> 2)) ^ ((i ^ j) & (z >> 4));
    let y = bit64(xr) ^ (z >> 1) ^ (j & (z >> 3)) ^ ((i ^ j) & (z >> 4));
    let l = lo(xl) ^ (t.g[0] & mi) ^ (t.g[2] & mij);
    let r = lo(xr) ^ (t.g[1] & mj) ^ (t.g[2] & mij);
    let (ml, mr) = dice_row(i, j, x & 1, y & 1, a, b);
    join(l ^ ml, r ^ mr)
}

/// Writes the tables of `ts` in the wire layout: all half-ciphertexts in gate order,
/// then the control bits, gate `k`'s at bits `5k..5k + 5` (least significant first).
/// `out` must be [`table_bytes`]`(ts.len())` long.
pub fn write_tables(ts: impl ExactSizeIterator<Item = Table>, out: &mut [u8]) {
    let n = ts.len();
    assert_eq!(out.len(), table_bytes(n), "write_tables: wrong length");
    let (halves, bits) = out.split_at_mut(HALVES_BYTES * n);
    bits.fill(0);
    for (k, t) in ts.enumerate() {
        let c = &mut halves[HALVES_BYTES * k..HALVES_BYTES * (k + 1)];
        for (s, g) in c.chunks_exact_mut(8).zip(t.g) {
            s.copy_from_slice(&g.to_le_bytes());
        }
        put_bits(bits, CONTROL_BITS * k, t.bits);
    }
}

#[inline(always)]
fn put_bits(bits: &mut [u8], at: usize, v: u8) {
    let (byte, shift) = (at / 8, at % 8);
    let w = (v as u16) << shift;
    bits[byte] |= w as u8;
    if shift > 3 {
        bits[byte + 1] |= (w >> 8) as u8;
    }
}

/// Gate `k`'s table of `n` in the wire layout of [`write_tables`].
#[inline(always)]
pub fn read_table(buf: &[u8], n: usize, k: usize) -> Table {
    let c = &buf[HALVES_BYTES * k..HALVES_BYTES * (k + 1)];
    let g = |s: usize| u64::from_le_bytes(c[8 * s..8 * s + 8].try_into().expect("8 bytes"));
    let bits = &buf[HALVES_BYTES * n..];
    let at = CONTROL_BITS * k;
    let (byte, shift) = (at / 8, at % 8);
    let mut w = bits[byte] as u16;
    if shift > 3 {
        w |= (bits[byte + 1] as u16) << 8;
    }
    Table {
        g: [g(0), g(1), g(2)],
        bits: ((w >> shift) & 0x1f) as u8,
    }
}

/// Garbles ANDs `first, first + 1, …` with input 0-labels `xs` (`[A0, B0]` per gate)
/// and two random bits per gate from `rand` (gate `k`'s: bits `2k`, `2k + 1`). The
/// tables go to `table` ([`table_bytes`] long) in the wire layout, the output 0-label
/// of gate `k` to `put(k, label)`. `x3`, `h0`, `h1` are scratch of `3 · n` blocks.
#[allow(clippy::too_many_arguments)]
pub fn garble_batch(
    (hash, delta): (&Tccr, Block),
    first: u64,
    xs: &[Block],
    rand: &[Block],
    (x3, h0, h1): (&mut [Block], &mut [Block], &mut [Block]),
    table: &mut [u8],
    mut put: impl FnMut(usize, Block),
) {
    let n = xs.len() / 2;
    let (x3, h0, h1) = (&mut x3[..3 * n], &mut h0[..3 * n], &mut h1[..3 * n]);
    for (k, x) in x3.chunks_exact_mut(3).enumerate() {
        let (a0, b0) = (xs[2 * k], xs[2 * k + 1]);
        let a = a0 ^ delta.select(a0.lsb());
        let b = b0 ^ delta.select(b0.lsb());
        x.copy_from_slice(&[a, b, a ^ b]);
    }
    // Blocks [Â, B̂, Â⊕B̂] of AND j get tweaks [3j, 3j+1, 3j+2]; so do their ⊕ Δ.
    hash.hash_seq_to(x3, 3 * first, h0, Some((delta, h1)));
    let tables = (0..n).map(|k| {
        let r = (rand[k / 64].0 >> (2 * (k % 64))) as u8 & 3;
        let h = [
            h0[3 * k],
            h1[3 * k],
            h0[3 * k + 1],
            h1[3 * k + 1],
            h0[3 * k + 2],
            h1[3 * k + 2],
        ];
        let (c0, t) = garble_and_hashed(h, xs[2 * k], xs[2 * k + 1], delta, r);
        put(k, c0);
        t
    });
    write_tables(tables, table);
}

/// Evaluates ANDs `first, first + 1, …` on active labels `xs` (`[A, B]` per gate)
/// with their tables in the wire layout; gate `k`'s output label goes to
/// `put(k, label)`. `x3` and `h` are scratch of `3 · n` blocks.
pub fn eval_batch(
    hash: &Tccr,
    first: u64,
    xs: &[Block],
    (x3, h): (&mut [Block], &mut [Block]),
    table: &[u8],
    mut put: impl FnMut(usize, Block),
) {
    let n = xs.len() / 2;
    let (x3, h) = (&mut x3[..3 * n], &mut h[..3 * n]);
    for (k, x) in x3.chunks_exact_mut(3).enumerate() {
        let (a, b) = (xs[2 * k], xs[2 * k + 1]);
        x.copy_from_slice(&[a, b, a ^ b]);
    }
    hash.hash_seq_to(x3, 3 * first, h, None);
    for k in 0..n {
        let t = read_table(table, n, k);
        let hk = [h[3 * k], h[3 * k + 1], h[3 * k + 2]];
        put(k, eval_and_hashed(hk, xs[2 * k], xs[2 * k + 1], &t));
    }
}

/// AND gates per chunk of the wire layout: a window's tables are its chunks' (each as
/// [`write_tables`] lays it out) in order, so threads can garble whole chunks apart.
/// A multiple of 8: a full chunk wastes no control bits.
pub const CHUNK: usize = 128;

/// Scratch of the chunked batches: the blocks hashed, their hashes, random bits.
#[derive(Debug)]
pub struct Scratch {
    x3: Box<[Block]>,
    h0: Box<[Block]>,
    h1: Box<[Block]>,
    rand: [Block; CHUNK.div_ceil(64)],
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            x3: vec![Block::ZERO; 3 * CHUNK].into(),
            h0: vec![Block::ZERO; 3 * CHUNK].into(),
            h1: vec![Block::ZERO; 3 * CHUNK].into(),
            rand: [Block::ZERO; CHUNK.div_ceil(64)],
        }
    }
}

/// [`garble_batch`] chunk by chunk ([`CHUNK`]), with the random bits from `prg`:
/// `table` is [`table_bytes`]`(n)` long and holds the chunks' tables in order.
pub fn garble_chunks(
    (hash, delta): (&Tccr, Block),
    first: u64,
    xs: &[Block],
    (s, prg): (&mut Scratch, &mut Prg),
    table: &mut [u8],
    mut put: impl FnMut(usize, Block),
) {
    for (c, xc) in xs.chunks(2 * CHUNK).enumerate() {
        let (m, k0) = (xc.len() / 2, c * CHUNK);
        let at = table_bytes(k0);
        let rand = &mut s.rand[..m.div_ceil(64)];
        prg.fill_blocks(rand);
        garble_batch(
            (hash, delta),
            first + k0 as u64,
            xc,
            rand,
            (&mut s.x3, &mut s.h0, &mut s.h1),
            &mut table[at..at + table_bytes(m)],
            |k, c0| put(k0 + k, c0),
        );
    }
}

/// [`eval_batch`] chunk by chunk, on tables laid out as [`garble_chunks`] writes them.
pub fn eval_chunks(
    hash: &Tccr,
    first: u64,
    xs: &[Block],
    s: &mut Scratch,
    table: &[u8],
    mut put: impl FnMut(usize, Block),
) {
    for (c, xc) in xs.chunks(2 * CHUNK).enumerate() {
        let (m, k0) = (xc.len() / 2, c * CHUNK);
        let at = table_bytes(k0);
        eval_batch(
            hash,
            first + k0 as u64,
            xc,
            (&mut s.x3, &mut s.h0),
            &table[at..at + table_bytes(m)],
            |k, l| put(k0 + k, l),
        );
    }
}

#[cfg(test)]
mod tests;

//! Garbling and evaluating a run of independent AND gates: the batched hash, then
//! the half-gates combination of each gate. Used by the calling thread on its share
//! of a window and by helper threads on theirs, so every thread count gives the same
//! tables.

use crate::block::Block;
use crate::halfgates::{eval_and_hashed, garble_and_hashed};
use crate::hash::Tccr;
use crate::prg::Prg;
use crate::threehalves::{self, Scratch};

/// Garbles ANDs `first, first + 1, …` with input 0-labels `xs` (`[A0, B0]` per gate):
/// their tables go to `table` (32 bytes each, `[T_G, T_E]`) and the output 0-label of
/// gate `k` to `put(k, label)` (straight into the label array on the calling thread,
/// into the part's buffer on a helper). `h0` and `h1` are scratch of `xs.len()` blocks.
#[inline(always)]
pub(super) fn garble_ands(
    (hash, delta): (&Tccr, Block),
    first: u64,
    xs: &[Block],
    (h0, h1): (&mut [Block], &mut [Block]),
    table: &mut [u8],
    mut put: impl FnMut(usize, Block),
) {
    let n = xs.len() / 2;
    // Blocks [A0, B0] of AND j get tweaks [2j, 2j+1]; so do [A1, B1].
    hash.hash_seq_to(xs, 2 * first, h0, Some((delta, h1)));
    for (k, t) in table[..32 * n].chunks_exact_mut(32).enumerate() {
        let h = [h0[2 * k], h1[2 * k], h0[2 * k + 1], h1[2 * k + 1]];
        let (c0, [tg, te]) = garble_and_hashed(h, xs[2 * k], xs[2 * k + 1], delta);
        put(k, c0);
        t[..16].copy_from_slice(&tg.to_bytes());
        t[16..].copy_from_slice(&te.to_bytes());
    }
}

/// Evaluates ANDs `first, first + 1, …` on active labels `xs` (`[A, B]` per gate) with
/// their tables from `table`; the output label of gate `k` goes to `put(k, label)`.
/// `h` is scratch.
#[inline(always)]
pub(super) fn eval_ands(
    hash: &Tccr,
    first: u64,
    xs: &[Block],
    h: &mut [Block],
    table: &[u8],
    mut put: impl FnMut(usize, Block),
) {
    let n = xs.len() / 2;
    // Blocks [A, B] of AND j get tweaks [2j, 2j+1].
    hash.hash_seq_to(xs, 2 * first, h, None);
    for (k, t) in table[..32 * n].chunks_exact(32).enumerate() {
        let tg = Block::from_bytes(t[..16].try_into().expect("16 bytes"));
        let te = Block::from_bytes(t[16..].try_into().expect("16 bytes"));
        let l = eval_and_hashed(
            [h[2 * k], h[2 * k + 1]],
            xs[2 * k],
            xs[2 * k + 1],
            &[tg, te],
        );
        put(k, l);
    }
}

/// A helper thread's share of a window: the gates' inputs going out, their tables
/// (garbler: out; evaluator: in) and output labels coming back.
#[derive(Debug)]
pub(super) struct Part {
    /// Index of the first AND gate.
    pub first: u64,
    /// Number of AND gates.
    pub n: usize,
    pub xs: Box<[Block]>,
    pub h0: Box<[Block]>,
    /// Garbler only (empty for an evaluator).
    pub h1: Box<[Block]>,
    pub table: Box<[u8]>,
    pub out: Box<[Block]>,
}

impl Part {
    /// Room for `cap` AND gates.
    pub(super) fn new(cap: usize, garbler: bool) -> Part {
        Part {
            first: 0,
            n: 0,
            xs: vec![Block::ZERO; 2 * cap].into(),
            h0: vec![Block::ZERO; 2 * cap].into(),
            h1: vec![Block::ZERO; if garbler { 2 * cap } else { 0 }].into(),
            table: vec![0u8; 32 * cap].into(),
            out: vec![Block::ZERO; cap].into(),
        }
    }
}

/// Garbles a part: three-halves chunks when `three` is given, else half-gates.
pub(super) fn garble_part(
    hash: &Tccr,
    delta: Block,
    p: &mut Part,
    three: Option<&mut (Scratch, Prg)>,
) {
    let m = 2 * p.n;
    if let Some((s, prg)) = three {
        let out = &mut p.out;
        let key = (hash, delta);
        let table = &mut p.table[..threehalves::table_bytes(p.n)];
        threehalves::garble_chunks(key, p.first, &p.xs[..m], (s, prg), table, |k, c0| {
            out[k] = c0
        });
        return;
    }
    garble_ands(
        (hash, delta),
        p.first,
        &p.xs[..m],
        (&mut p.h0[..m], &mut p.h1[..m]),
        &mut p.table,
        |k, c0| p.out[k] = c0,
    );
}

/// Evaluates a part: three-halves chunks when `three` is given, else half-gates.
pub(super) fn eval_part(hash: &Tccr, p: &mut Part, three: Option<&mut Scratch>) {
    let m = 2 * p.n;
    if let Some(s) = three {
        let out = &mut p.out;
        let table = &p.table[..threehalves::table_bytes(p.n)];
        threehalves::eval_chunks(hash, p.first, &p.xs[..m], s, table, |k, l| out[k] = l);
        return;
    }
    eval_ands(
        hash,
        p.first,
        &p.xs[..m],
        &mut p.h0[..m],
        &p.table,
        |k, l| p.out[k] = l,
    );
}

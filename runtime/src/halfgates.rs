//! Half-gates (Zahur, Rosulek, Evans 2015) with free XOR: one AND gate at a time.
//!
//! A wire's labels are `W0` and `W1 = W0 ⊕ Δ`; the colour (point-and-permute) bit is
//! the label's low bit, and Δ's low bit is 1 so the two colours differ. For AND gate
//! number `j` the garbler half is hashed with tweak `2j` and the evaluator half with
//! `2j + 1`. The streaming drivers in [`crate::garble`] batch many gates through the
//! same arithmetic ([`garble_and_hashed`], [`eval_and_hashed`]); the one-gate
//! functions here are the reference they are tested against.

use crate::block::Block;
use crate::hash::Tccr;

/// The garbler's global free-XOR offset. Only garbler-side types hold one; it is
/// never printed (`Debug` is redacted) and has its low bit set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Delta(Block);

impl Delta {
    /// A fresh Δ from `rng`, low bit forced to 1.
    pub fn random(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Delta {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        Delta::from_block(Block::from_bytes(b))
    }

    /// A fresh Δ from the operating system's generator.
    pub fn from_os() -> Delta {
        Delta::random(&mut rand::rngs::OsRng)
    }

    /// Δ from a given block (its low bit is forced to 1). For tests and for OT setup.
    pub fn from_block(b: Block) -> Delta {
        Delta(Block(b.0 | 1))
    }

    /// The offset itself (handed to the correlated-OT sender).
    #[inline(always)]
    pub fn block(&self) -> Block {
        self.0
    }
}

impl std::fmt::Debug for Delta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Delta(<redacted>)")
    }
}

/// Tweaks of AND gate `j`: (garbler half, evaluator half) = (2j, 2j + 1).
#[inline(always)]
pub fn tweaks(j: u64) -> (u64, u64) {
    (2 * j, 2 * j + 1)
}

/// Garbles AND gate `j` with input 0-labels `a0`, `b0`. Returns the output 0-label and
/// the two ciphertexts `[T_G, T_E]` to send.
pub fn garble_and(h: &Tccr, delta: &Delta, a0: Block, b0: Block, j: u64) -> (Block, [Block; 2]) {
    let (tg, te) = tweaks(j);
    let d = delta.block();
    let hashes = [
        h.hash(a0, tg),
        h.hash(a0 ^ d, tg),
        h.hash(b0, te),
        h.hash(b0 ^ d, te),
    ];
    garble_and_hashed(hashes, a0, b0, d)
}

/// The garbler's arithmetic given `[H(A0,2j), H(A1,2j), H(B0,2j+1), H(B1,2j+1)]`.
#[inline(always)]
pub fn garble_and_hashed(h: [Block; 4], a0: Block, b0: Block, delta: Block) -> (Block, [Block; 2]) {
    let pa = a0.lsb();
    let pb = b0.lsb();
    // Generator half: T_G = H(A0) ⊕ H(A1) ⊕ pb·Δ, W_G0 = H(A0) ⊕ pa·T_G.
    let t_g = h[0] ^ h[1] ^ delta.select(pb);
    let w_g0 = h[0] ^ t_g.select(pa);
    // Evaluator half: T_E = H(B0) ⊕ H(B1) ⊕ A0, W_E0 = H(B0) ⊕ pb·(T_E ⊕ A0).
    let t_e = h[2] ^ h[3] ^ a0;
    let w_e0 = h[2] ^ (t_e ^ a0).select(pb);
    (w_g0 ^ w_e0, [t_g, t_e])
}

/// Evaluates AND gate `j` on the active labels `a`, `b` and its ciphertexts.
pub fn eval_and(h: &Tccr, a: Block, b: Block, table: &[Block; 2], j: u64) -> Block {
    let (tg, te) = tweaks(j);
    eval_and_hashed([h.hash(a, tg), h.hash(b, te)], a, b, table)
}

/// The evaluator's arithmetic given `[H(A,2j), H(B,2j+1)]`.
#[inline(always)]
pub fn eval_and_hashed(h: [Block; 2], a: Block, b: Block, table: &[Block; 2]) -> Block {
    let w_g = h[0] ^ table[0].select(a.lsb());
    let w_e = h[1] ^ (table[1] ^ a).select(b.lsb());
    w_g ^ w_e
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn delta_low_bit_is_set() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            assert!(Delta::random(&mut rng).block().lsb());
        }
        assert!(Delta::from_os().block().lsb());
        assert!(Delta::from_block(Block(0)).block().lsb());
    }

    #[test]
    fn deltas_from_the_os_differ() {
        assert_ne!(Delta::from_os(), Delta::from_os());
    }

    #[test]
    fn and_gate_all_four_inputs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for trial in 0..200u64 {
            let h = Tccr::random(&mut rng);
            let delta = Delta::random(&mut rng);
            let d = delta.block();
            let a0 = Block(rng.r#gen());
            let b0 = Block(rng.r#gen());
            let j = trial * 7919;
            let (c0, table) = garble_and(&h, &delta, a0, b0, j);
            for x in [false, true] {
                for y in [false, true] {
                    let a = a0 ^ d.select(x);
                    let b = b0 ^ d.select(y);
                    let c = eval_and(&h, a, b, &table, j);
                    assert_eq!(c, c0 ^ d.select(x & y), "x={x} y={y}");
                    // A wrong tweak gives garbage, not a valid label.
                    let bad = eval_and(&h, a, b, &table, j + 1);
                    assert!(bad != c0 && bad != c0 ^ d);
                }
            }
        }
    }

    #[test]
    fn debug_of_delta_is_redacted() {
        let d = Delta::from_block(Block(0x1234_5678_9abc_def1));
        let s = format!("{d:?}");
        assert_eq!(s, "Delta(<redacted>)");
    }
}

//! The tweakable circular correlation-robust hash used by half-gates and by OT.
//!
//! `H(x, i) = π(π(x) ⊕ i) ⊕ π(x)` (TMMO, Guo–Katz–Wang–Yu, S&P 2020, §7.3) with π
//! AES-128 under a key drawn fresh for every session. Half-gates needs a *tweakable
//! circular* correlation-robust hash; the plain `π(x ⊕ i) ⊕ x` construction is not one
//! (GKWY20 §4 shows the attack), so it is never used here.
//!
//! Throughput comes from the batched entry points: [`Tccr::hash_in_place`] hashes
//! many independent blocks together so the AES units stay busy (see [`crate::aes`]).

use crate::aes::Aes128;
use crate::block::Block;

/// A TCCR hash instance with its own AES key. `Debug` never shows the key.
#[derive(Clone, Debug)]
pub struct Tccr {
    aes: Aes128,
}

impl Tccr {
    /// An instance keyed with `key` (both parties must use the same key).
    pub fn new(key: Block) -> Tccr {
        Tccr {
            aes: Aes128::new(key),
        }
    }

    /// An instance with a fresh key from `rng`.
    pub fn random(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Tccr {
        Tccr {
            aes: Aes128::random(rng),
        }
    }

    /// The same key on the portable AES kernel (tests and benchmarks).
    pub fn portable(self) -> Tccr {
        Tccr {
            aes: self.aes.portable(),
        }
    }

    /// The same key on another AES kernel, or `None` if this CPU cannot run it.
    pub fn with_kernel(self, kernel: crate::aes::Kernel) -> Option<Tccr> {
        Some(Tccr {
            aes: self.aes.with_kernel(kernel)?,
        })
    }

    /// The underlying permutation.
    pub fn aes(&self) -> &Aes128 {
        &self.aes
    }

    /// H(x, tweak) for one block. Slow (two dependent AES calls); batch where you can.
    pub fn hash(&self, x: Block, tweak: u64) -> Block {
        let p = self.aes.encrypt(x);
        self.aes.encrypt(p ^ Block(tweak as u128)) ^ p
    }

    /// `out[i] = H(xs[i], tweaks[i])`, batched.
    ///
    /// # Panics
    /// If the three slices differ in length.
    pub fn hash_many(&self, xs: &[Block], tweaks: &[u64], out: &mut [Block]) {
        assert!(
            xs.len() == tweaks.len() && xs.len() == out.len(),
            "hash_many: length mismatch"
        );
        const CHUNK: usize = 256;
        let mut tw = [Block::ZERO; CHUNK];
        for ((x, t), o) in xs
            .chunks(CHUNK)
            .zip(tweaks.chunks(CHUNK))
            .zip(out.chunks_mut(CHUNK))
        {
            for (d, s) in tw.iter_mut().zip(t) {
                *d = Block(*s as u128);
            }
            o.copy_from_slice(x);
            self.aes.tmmo_in_place(o, &tw[..x.len()]);
        }
    }

    /// `xs[i] = H(xs[i], tweaks[i])` in place, with full 128-bit tweaks (a `u64`
    /// tweak `t` is `Block(t as u128)`). The fastest entry point.
    ///
    /// # Panics
    /// If the slices differ in length.
    #[inline]
    pub fn hash_in_place(&self, xs: &mut [Block], tweaks: &[Block]) {
        self.aes.tmmo_in_place(xs, tweaks);
    }

    /// `xs[i] = H(xs[i], first_tweak + (i >> shift))` in place (`shift` 0: one tweak
    /// per block; 1: one tweak per pair of blocks). The half-gates drivers use this.
    #[inline]
    pub fn hash_seq_in_place(&self, xs: &mut [Block], first_tweak: u64, shift: u32) {
        self.aes.tmmo_seq_in_place(xs, first_tweak, shift);
    }

    /// `out0[i] = H(xs[i], first_tweak + i)` and, with `delta = Some((Δ, out1))`,
    /// `out1[i] = H(xs[i] ⊕ Δ, first_tweak + i)`: the half-gates garbler's batch
    /// (both labels of each AND input at once) or, without Δ, the evaluator's.
    #[inline]
    pub fn hash_seq_to(
        &self,
        xs: &[Block],
        first_tweak: u64,
        out0: &mut [Block],
        delta: Option<(Block, &mut [Block])>,
    ) {
        self.aes.tmmo_seq_to(xs, first_tweak, out0, delta);
    }

    /// Eight blocks at once (a convenience for fixed-size callers).
    pub fn hash8(&self, xs: [Block; 8], tweaks: [u64; 8]) -> [Block; 8] {
        let mut out = xs;
        self.hash_in_place(&mut out, &tweaks.map(|t| Block(t as u128)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn batched_equals_single_and_formula() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let h = Tccr::random(&mut rng);
        let xs: Vec<Block> = (0..37).map(|_| Block(rng.r#gen())).collect();
        let tw: Vec<u64> = (0..37).map(|_| rng.r#gen()).collect();
        let mut out = vec![Block::ZERO; 37];
        h.hash_many(&xs, &tw, &mut out);
        for i in 0..37 {
            assert_eq!(out[i], h.hash(xs[i], tw[i]));
            let p = h.aes().encrypt(xs[i]);
            assert_eq!(out[i], h.aes().encrypt(p ^ Block(tw[i] as u128)) ^ p);
        }
        let eight = h.hash8(xs[..8].try_into().unwrap(), tw[..8].try_into().unwrap());
        assert_eq!(&eight[..], &out[..8]);
    }

    #[test]
    fn tweak_and_key_change_the_output() {
        let h1 = Tccr::new(Block(1));
        let h2 = Tccr::new(Block(2));
        let x = Block(0xabcdef);
        assert_ne!(h1.hash(x, 0), h1.hash(x, 1));
        assert_ne!(h1.hash(x, 0), h2.hash(x, 0));
        // Not the weak MMO shape π(x ⊕ i) ⊕ x.
        assert_ne!(h1.hash(x, 5), h1.aes().encrypt(x ^ Block(5)) ^ x);
    }

    #[test]
    fn debug_is_redacted() {
        let h = Tccr::new(Block(0x5eed));
        let s = format!("{h:?}");
        assert!(s.contains("redacted") && !s.contains("5eed") && !s.contains("24301"));
    }
}

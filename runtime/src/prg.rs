//! An AES-128 counter-mode pseudorandom generator.
//!
//! `Prg::new(seed)` encrypts the counter values 0, 1, 2, … under the key `seed`;
//! the counter keeps running across calls, so a generator never repeats an output
//! block. Bulk fills write the counters in place and encrypt them with
//! [`crate::aes::Aes128::encrypt_blocks`] (VAES four blocks per instruction where
//! the CPU has it, else the `aes` crate's eight-way AES-NI pipeline, else its
//! constant-time software AES).
//!
//! The generator also implements [`rand_core::RngCore`] + [`rand_core::CryptoRng`],
//! so it can stand in wherever the crate wants a cryptographic RNG.

use crate::aes::Aes128;
use crate::block::Block;
use rand_core::{CryptoRng, OsRng, RngCore};

/// Blocks per internal chunk of [`Prg::fill_bytes`].
const CHUNK: usize = 32;

/// AES-CTR PRG. The seed is the AES key; output block `i` is `AES_seed(i)`.
#[derive(Clone)]
pub struct Prg {
    cipher: Aes128,
    counter: u128,
}

/// The seed and the stream are secrets: never print them.
impl std::fmt::Debug for Prg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prg(<redacted>)")
    }
}

impl Prg {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: Block) -> Prg {
        Prg {
            cipher: Aes128::new(seed),
            counter: 0,
        }
    }

    /// A generator seeded from the operating system's entropy source.
    pub fn from_entropy() -> Prg {
        let mut seed = [0u8; 16];
        OsRng.fill_bytes(&mut seed);
        Prg::new(Block::from_bytes(seed))
    }

    /// A generator seeded from another cryptographic RNG.
    pub fn from_rng<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Prg {
        let mut seed = [0u8; 16];
        rng.fill_bytes(&mut seed);
        Prg::new(Block::from_bytes(seed))
    }

    /// The next pseudorandom block.
    #[inline]
    pub fn next_block(&mut self) -> Block {
        let mut b = [Block::ZERO];
        self.fill_blocks(&mut b);
        b[0]
    }

    /// Fills `out` with the next `out.len()` output blocks.
    pub fn fill_blocks(&mut self, out: &mut [Block]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = Block(self.counter.wrapping_add(k as u128));
        }
        self.counter = self.counter.wrapping_add(out.len() as u128);
        self.cipher.encrypt_blocks(out);
    }

    /// Fills `out` with pseudorandom bytes (whole blocks; a partial last block's
    /// remaining bytes are discarded).
    pub fn fill_bytes(&mut self, out: &mut [u8]) {
        let mut blocks = [Block::ZERO; CHUNK];
        for chunk in out.chunks_mut(CHUNK * 16) {
            let nblocks = chunk.len().div_ceil(16);
            self.fill_blocks(&mut blocks[..nblocks]);
            for (bytes, b) in chunk.chunks_mut(16).zip(blocks.iter()) {
                bytes.copy_from_slice(&b.to_bytes()[..bytes.len()]);
            }
        }
    }
}

impl RngCore for Prg {
    fn next_u32(&mut self) -> u32 {
        self.next_block().0 as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.next_block().0 as u64
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        Prg::fill_bytes(self, dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        Prg::fill_bytes(self, dest);
        Ok(())
    }
}

impl CryptoRng for Prg {}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::{BlockEncrypt, KeyInit};

    #[test]
    fn matches_aes_ctr_definition() {
        let seed = Block(0x0f0e_0d0c_0b0a_0908_0706_0504_0302_0100);
        let cipher = aes::Aes128Enc::new(&seed.to_bytes().into());
        let mut prg = Prg::new(seed);
        // Odd sizes cross the internal chunk boundary and continue the counter.
        let mut out = vec![Block::ZERO; 77];
        prg.fill_blocks(&mut out[..3]);
        prg.fill_blocks(&mut out[3..40]);
        prg.fill_blocks(&mut out[40..]);
        for (i, o) in out.iter().enumerate() {
            let mut b: aes::Block = (i as u128).to_le_bytes().into();
            cipher.encrypt_block(&mut b);
            assert_eq!(*o, Block::from_bytes(b.into()), "block {i}");
        }
        assert_ne!(out[0], out[1]);
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let mut a = Prg::new(Block(7));
        let mut b = Prg::new(Block(7));
        let mut c = Prg::new(Block(8));
        let (mut x, mut y, mut z) = ([0u8; 100], [0u8; 100], [0u8; 100]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        c.fill_bytes(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        // fill_bytes is the block stream in little-endian order.
        let mut d = Prg::new(Block(7));
        assert_eq!(&x[..16], &d.next_block().to_bytes());
    }

    #[test]
    fn entropy_seeds_differ() {
        assert_ne!(
            Prg::from_entropy().next_block(),
            Prg::from_entropy().next_block()
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(format!("{:?}", Prg::new(Block(1))), "Prg(<redacted>)");
    }
}

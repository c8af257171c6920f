//! IKNP OT extension (Ishai–Kilian–Nissim–Petrank 2003), semi-honest, with the
//! extension sender's secret `s` set to the garbler's Δ so that every extended OT
//! is directly a free-XOR label pair (correlated OT).
//!
//! Roles (note the swap): the extension **sender** (garbler) is the base-OT
//! *receiver* with choice bits `s = Δ`; the extension **receiver** (evaluator) is
//! the base-OT *sender* with 128 seed pairs `(k_j^0, k_j^1)`.
//!
//! For a run of `m` OTs with choice vector `r` (one bit per OT):
//! - the receiver expands `t^j = G(k_j^0)` and sends `u^j = t^j ⊕ G(k_j^1) ⊕ r`,
//!   128 columns of `m` bits (16 bytes per OT — the only traffic);
//! - the sender computes `q^j = G(k_j^{s_j}) ⊕ s_j·u^j = t^j ⊕ s_j·r`;
//! - both transpose their 128×m matrices to rows, so `q_i = t_i ⊕ r_i·Δ`.
//!
//! The sender's 0-label is `q_i`, its 1-label `q_i ⊕ Δ`, and the receiver holds
//! `t_i = q_i ⊕ r_i·Δ`, the label of its choice. `G` is the AES-CTR [`Prg`] keyed
//! with the base-OT key; each of the 128 (resp. 256) generators keeps its counter
//! across calls, so any number of `*_correlated` calls after one setup use fresh
//! columns. Work is done in batches of up to [`BATCH_OTS`] OTs (the receiver
//! flushes after each batch, so the two parties pipeline), with buffers allocated
//! once per setup.
//!
//! Chosen-message OT hashes the rows with the session's TCCR hash (GKWY20) under a
//! unique tweak per OT: the sender sends `m_i^0 ⊕ H(q_i, τ_i)` and
//! `m_i^1 ⊕ H(q_i ⊕ Δ, τ_i)`, the receiver unmasks with `H(t_i, τ_i)`.
//!
//! # Security
//! Semi-honest only: a malicious receiver could send inconsistent columns and learn
//! bits of Δ (KOS-style consistency checks are not implemented). Δ's low bit is
//! public by construction (point-and-permute sets it to 1), so the receiver knows
//! `s_0`; the remaining 127 unknown bits of Δ are what correlation robustness
//! rests on, exactly as for free-XOR garbling itself. All secret-dependent
//! operations on Δ's bits (base-OT point choice, the `s_j·u^j` term) are
//! branch-free.

use crate::block::Block;
use crate::channel::Channel;
use crate::hash::Tccr;
use crate::ot::base;
use crate::ot::transpose::Kernel;
use crate::prg::Prg;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::io;

/// Security parameter: number of base OTs and of matrix columns.
pub const KAPPA: usize = 128;
/// 128-OT groups processed per batch.
const BATCH_GROUPS: usize = 64;
/// Blocks between consecutive columns of a batch matrix. One more than the
/// batch width: a power-of-two stride (1 KiB) would map all 128 rows a transpose
/// reads onto a few L1 sets, and the conflict misses cost more than the transpose.
const COL_STRIDE: usize = BATCH_GROUPS + 1;
/// OTs processed per batch (one flush of `16 · BATCH_OTS` bytes from the receiver).
pub const BATCH_OTS: usize = 128 * BATCH_GROUPS;
/// Blocks hashed per batch in chosen-message OT.
const HASH_CHUNK: usize = 1024;

const TCCR_LABEL: &[u8] = b"garnet/iknp/tccr-key/v1";

fn context(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("OT extension: {what}: {e}"))
}

/// Both parties derive the chosen-OT hash key from the base-OT transcript.
fn tccr_from_transcript(transcript: &[u8; 32]) -> Tccr {
    let h = Sha256::new()
        .chain_update(TCCR_LABEL)
        .chain_update(transcript)
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&h[..16]);
    Tccr::new(Block::from_bytes(key))
}

/// Writes the 128 rows of group `g` (rows `out[0..]`, at most 128 of them) from a
/// column-major batch matrix (columns [`COL_STRIDE`] blocks apart).
///
/// Full groups go straight into `out` (the SIMD kernels write their output with
/// whole-vector and whole-row stores); a final partial group goes through
/// `scratch`.
#[inline]
fn transpose_group(
    kernel: Kernel,
    matrix: &[Block],
    g: usize,
    scratch: &mut [Block; 128],
    out: &mut [Block],
) {
    if out.len() >= 128 {
        kernel.transpose(&matrix[g..], COL_STRIDE, &mut out[..128]);
    } else {
        kernel.transpose(&matrix[g..], COL_STRIDE, scratch);
        let k = out.len();
        out.copy_from_slice(&scratch[..k]);
    }
}

/// Packs up to 128 choice bits, bit `i` = `choices[i]`, eight at a time: with
/// the bools as bytes 0/1 of a `u64`, multiplying by `0x0102_0408_1020_4080`
/// gathers byte `i`'s bit at position `56 + i` without carries.
#[inline]
fn pack_choices(choices: &[bool]) -> Block {
    let mut r = 0u128;
    for (k, chunk) in choices.chunks(8).enumerate() {
        let mut bytes = [0u8; 8];
        for (d, &c) in bytes.iter_mut().zip(chunk) {
            *d = c as u8;
        }
        let bits = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        r |= (bits as u128) << (8 * k);
    }
    Block(r)
}

/// The garbler's side: IKNP extension sender with secret Δ.
pub struct CotSender {
    delta: Block,
    /// `G(k_j^{Δ_j})` for every column `j`.
    prgs: Vec<Prg>,
    tccr: Tccr,
    /// Next chosen-OT tweak.
    tweak: u64,
    kernel: Kernel,
    /// Column-major `q` matrix of one batch.
    q: Vec<Block>,
    /// The receiver's `u` columns of one batch, as received.
    buf: Vec<u8>,
    /// One transposed group.
    scratch: Box<[Block; 128]>,
}

/// The evaluator's side: IKNP extension receiver. Holds no Δ.
pub struct CotReceiver {
    /// `G(k_j^0)` for every column `j`.
    prgs0: Vec<Prg>,
    /// `G(k_j^1)` for every column `j`.
    prgs1: Vec<Prg>,
    tccr: Tccr,
    tweak: u64,
    kernel: Kernel,
    /// Column-major `t` matrix of one batch.
    t: Vec<Block>,
    /// `u` columns of one batch, serialized.
    buf: Vec<u8>,
    /// One transposed group.
    scratch: Box<[Block; 128]>,
}

impl std::fmt::Debug for CotSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CotSender")
            .field("delta", &"<redacted>")
            .field("ots_for_chosen", &self.tweak)
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CotReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CotReceiver")
            .field("ots_for_chosen", &self.tweak)
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

impl CotSender {
    /// Runs the 128 base OTs (as their receiver, choice bits = Δ) with fresh
    /// randomness from `rng`.
    pub fn setup(
        ch: &mut dyn Channel,
        delta: Block,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> io::Result<Self> {
        let choices: Vec<bool> = (0..KAPPA).map(|j| (delta.0 >> j) & 1 == 1).collect();
        let out = base::receive(ch, &choices, rng)?;
        Ok(CotSender {
            delta,
            prgs: out.keys.iter().map(|&k| Prg::new(k)).collect(),
            tccr: tccr_from_transcript(&out.transcript),
            tweak: 0,
            kernel: Kernel::best(),
            q: vec![Block::ZERO; KAPPA * COL_STRIDE],
            buf: vec![0u8; 16 * KAPPA * BATCH_GROUPS],
            scratch: Box::new([Block::ZERO; 128]),
        })
    }

    /// Correlated OT: returns `q_i` (the 0-labels); the 1-labels are `q_i ⊕ Δ`.
    /// No per-OT ciphertexts. Must be matched by `receive_correlated` with `n`
    /// choices on the other side.
    pub fn send_correlated(&mut self, ch: &mut dyn Channel, n: usize) -> io::Result<Vec<Block>> {
        let mut out = vec![Block::ZERO; n];
        self.send_correlated_into(ch, &mut out)?;
        Ok(out)
    }

    /// [`CotSender::send_correlated`] into a caller-provided buffer (`out.len()` OTs).
    pub fn send_correlated_into(
        &mut self,
        ch: &mut dyn Channel,
        out: &mut [Block],
    ) -> io::Result<()> {
        let n = out.len();
        let groups = n.div_ceil(128);
        let mut g0 = 0;
        while g0 < groups {
            let gb = BATCH_GROUPS.min(groups - g0);
            let bytes = &mut self.buf[..16 * KAPPA * gb];
            ch.read_bytes(bytes)
                .map_err(context("reading the receiver's columns"))?;
            for (j, (col, prg)) in self
                .q
                .chunks_exact_mut(COL_STRIDE)
                .zip(&mut self.prgs)
                .enumerate()
            {
                let col = &mut col[..gb];
                prg.fill_blocks(col);
                // All-ones if bit j of Δ is set: q^j = G(k_j^{Δ_j}) ⊕ Δ_j·u^j, branch-free.
                let mask = Block(0u128.wrapping_sub((self.delta.0 >> j) & 1));
                let u_col = &bytes[16 * gb * j..16 * gb * (j + 1)];
                for (c, u) in col.iter_mut().zip(u_col.chunks_exact(16)) {
                    let u = Block::from_bytes(u.try_into().expect("16-byte chunk"));
                    *c ^= u & mask;
                }
            }
            let base = g0 * 128;
            let rows = &mut out[base..n.min(base + 128 * gb)];
            for (g, chunk) in rows.chunks_mut(128).enumerate() {
                transpose_group(self.kernel, &self.q, g, &mut self.scratch, chunk);
            }
            g0 += gb;
        }
        Ok(())
    }

    /// Chosen-message OT on top of the extension: the receiver learns
    /// `messages[i].0` if its choice `i` is 0, else `messages[i].1`, and nothing
    /// about the other message.
    pub fn send_chosen(
        &mut self,
        ch: &mut dyn Channel,
        messages: &[(Block, Block)],
    ) -> io::Result<()> {
        let q = self.send_correlated(ch, messages.len())?;
        let mut h0 = [Block::ZERO; HASH_CHUNK];
        let mut h1 = [Block::ZERO; HASH_CHUNK];
        let mut tweaks = [Block::ZERO; HASH_CHUNK];
        let mut bytes = vec![0u8; 32 * HASH_CHUNK.min(messages.len())];
        for (qc, mc) in q.chunks(HASH_CHUNK).zip(messages.chunks(HASH_CHUNK)) {
            let k = qc.len();
            for i in 0..k {
                tweaks[i] = Block(self.tweak as u128);
                self.tweak += 1;
                h0[i] = qc[i];
                h1[i] = qc[i] ^ self.delta;
            }
            self.tccr.hash_in_place(&mut h0[..k], &tweaks[..k]);
            self.tccr.hash_in_place(&mut h1[..k], &tweaks[..k]);
            for i in 0..k {
                bytes[32 * i..32 * i + 16].copy_from_slice(&(mc[i].0 ^ h0[i]).to_bytes());
                bytes[32 * i + 16..32 * i + 32].copy_from_slice(&(mc[i].1 ^ h1[i]).to_bytes());
            }
            ch.write_bytes(&bytes[..32 * k])
                .map_err(context("sending chosen-message ciphertexts"))?;
        }
        ch.flush()
            .map_err(context("sending chosen-message ciphertexts"))
    }
}

impl CotReceiver {
    /// Runs the 128 base OTs (as their sender) with fresh randomness from `rng`.
    pub fn setup(ch: &mut dyn Channel, rng: &mut (impl CryptoRng + RngCore)) -> io::Result<Self> {
        let out = base::send(ch, KAPPA, rng)?;
        Ok(CotReceiver {
            prgs0: out.keys.iter().map(|&(k0, _)| Prg::new(k0)).collect(),
            prgs1: out.keys.iter().map(|&(_, k1)| Prg::new(k1)).collect(),
            tccr: tccr_from_transcript(&out.transcript),
            tweak: 0,
            kernel: Kernel::best(),
            t: vec![Block::ZERO; KAPPA * COL_STRIDE],
            buf: vec![0u8; 16 * KAPPA * BATCH_GROUPS],
            scratch: Box::new([Block::ZERO; 128]),
        })
    }

    /// Correlated OT: returns `t_i = q_i ⊕ c_i·Δ`, the sender's label for bit
    /// `choices[i]`.
    pub fn receive_correlated(
        &mut self,
        ch: &mut dyn Channel,
        choices: &[bool],
    ) -> io::Result<Vec<Block>> {
        let mut out = vec![Block::ZERO; choices.len()];
        self.receive_correlated_into(ch, choices, &mut out)?;
        Ok(out)
    }

    /// [`CotReceiver::receive_correlated`] into a caller-provided buffer.
    ///
    /// # Panics
    /// If `out.len() != choices.len()`.
    pub fn receive_correlated_into(
        &mut self,
        ch: &mut dyn Channel,
        choices: &[bool],
        out: &mut [Block],
    ) -> io::Result<()> {
        assert_eq!(out.len(), choices.len(), "one output per choice");
        let n = choices.len();
        let groups = n.div_ceil(128);
        let mut g0 = 0;
        let mut r = [Block::ZERO; BATCH_GROUPS];
        let mut g1 = [Block::ZERO; BATCH_GROUPS];
        while g0 < groups {
            let gb = BATCH_GROUPS.min(groups - g0);
            let base = g0 * 128;
            let batch_choices = &choices[base..n.min(base + 128 * gb)];
            for (rg, c) in r.iter_mut().zip(batch_choices.chunks(128)) {
                *rg = pack_choices(c);
            }
            let r = &r[..gb];
            let g1 = &mut g1[..gb];
            let bytes = &mut self.buf[..16 * KAPPA * gb];
            for (((col, u_col), p0), p1) in self
                .t
                .chunks_exact_mut(COL_STRIDE)
                .zip(bytes.chunks_exact_mut(16 * gb))
                .zip(&mut self.prgs0)
                .zip(&mut self.prgs1)
            {
                let col = &mut col[..gb];
                p0.fill_blocks(col);
                p1.fill_blocks(g1);
                for (((u, c), x), rg) in u_col
                    .chunks_exact_mut(16)
                    .zip(col.iter())
                    .zip(g1.iter())
                    .zip(r)
                {
                    u.copy_from_slice(&(*c ^ *x ^ *rg).to_bytes());
                }
            }
            ch.write_bytes(bytes)
                .map_err(context("sending the columns"))?;
            ch.flush().map_err(context("sending the columns"))?;
            let rows = &mut out[base..n.min(base + 128 * gb)];
            for (g, chunk) in rows.chunks_mut(128).enumerate() {
                transpose_group(self.kernel, &self.t, g, &mut self.scratch, chunk);
            }
            g0 += gb;
        }
        Ok(())
    }

    /// Chosen-message OT: returns `messages[i].0` or `.1` of the sender's
    /// [`CotSender::send_chosen`] according to `choices[i]`.
    pub fn receive_chosen(
        &mut self,
        ch: &mut dyn Channel,
        choices: &[bool],
    ) -> io::Result<Vec<Block>> {
        let mut t = self.receive_correlated(ch, choices)?;
        let mut tweaks = [Block::ZERO; HASH_CHUNK];
        let mut bytes = vec![0u8; 32 * HASH_CHUNK.min(choices.len())];
        for (tc, cc) in t.chunks_mut(HASH_CHUNK).zip(choices.chunks(HASH_CHUNK)) {
            let k = tc.len();
            ch.read_bytes(&mut bytes[..32 * k])
                .map_err(context("reading chosen-message ciphertexts"))?;
            for tw in &mut tweaks[..k] {
                *tw = Block(self.tweak as u128);
                self.tweak += 1;
            }
            self.tccr.hash_in_place(tc, &tweaks[..k]);
            for (i, (h, &c)) in tc.iter_mut().zip(cc).enumerate() {
                let y0 =
                    Block::from_bytes(bytes[32 * i..32 * i + 16].try_into().expect("16 bytes"));
                let y1 = Block::from_bytes(
                    bytes[32 * i + 16..32 * i + 32]
                        .try_into()
                        .expect("16 bytes"),
                );
                // y_c = y0 ⊕ c·(y0 ⊕ y1), branch-free in the choice.
                *h ^= y0 ^ (y0 ^ y1).select(c);
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_choices_matches_bit_by_bit() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for len in [0, 1, 7, 8, 9, 63, 64, 100, 127, 128] {
            for _ in 0..20 {
                let c: Vec<bool> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x & 1 == 1
                    })
                    .collect();
                let want = c
                    .iter()
                    .enumerate()
                    .fold(0u128, |acc, (i, &b)| acc | ((b as u128) << i));
                assert_eq!(pack_choices(&c).0, want, "len {len}");
            }
        }
        assert_eq!(pack_choices(&[true; 128]).0, u128::MAX);
    }
}

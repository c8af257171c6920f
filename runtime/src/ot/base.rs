//! Base oblivious transfer: Chou–Orlandi "simplest OT" on Ristretto255, secure
//! against semi-honest parties.
//!
//! ```text
//! sender                                   receiver (choice bits s_i)
//! a ← Z_l, A = a·G          ── A ──▶
//!                                          b_i ← Z_l
//!                                          B_i = b_i·G        if s_i = 0
//!                                          B_i = A + b_i·G    if s_i = 1
//!                           ◀── B_0..B_{n-1} ──
//! k_i^0 = H(i, a·B_i)                      k_i = H(i, b_i·A) = k_i^{s_i}
//! k_i^1 = H(i, a·B_i − a·A)
//! ```
//!
//! `H` is SHA-256 over a domain label, a digest of the whole transcript
//! (`n`, `A`, every `B_i`), the index `i` and the compressed point, truncated to
//! 128 bits. The receiver's choice is hidden perfectly (`B_i` is uniform either
//! way); the other key stays hidden under CDH. The selection of `B_i` is
//! constant-time in the choice bit (in IKNP the choice bits are the garbler's Δ).
//!
//! Malformed input — a point that is not a canonical Ristretto encoding, the
//! identity point, a truncated stream — ends the protocol with an
//! `io::ErrorKind::InvalidData` (or the channel's own error), never a panic.

use crate::block::Block;
use crate::channel::Channel;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::io;
use subtle::{Choice, ConditionallySelectable};

const TRANSCRIPT_LABEL: &[u8] = b"garnet/base-ot/transcript/v1";
const KEY_LABEL: &[u8] = b"garnet/base-ot/key/v1";

/// The sender's outputs: both keys of every OT, and the transcript digest.
#[derive(Clone)]
pub struct SenderOutput {
    pub keys: Vec<(Block, Block)>,
    pub transcript: [u8; 32],
}

/// The receiver's outputs: the chosen key of every OT, and the transcript digest.
#[derive(Clone)]
pub struct ReceiverOutput {
    pub keys: Vec<Block>,
    pub transcript: [u8; 32],
}

impl std::fmt::Debug for SenderOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "base::SenderOutput({} key pairs, <redacted>)",
            self.keys.len()
        )
    }
}

impl std::fmt::Debug for ReceiverOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "base::ReceiverOutput({} keys, <redacted>)",
            self.keys.len()
        )
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Adds protocol context to a channel error, keeping its kind (`TimedOut`,
/// `UnexpectedEof`, …) so callers can still tell what happened.
fn context(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("base OT: {what}: {e}"))
}

fn read_point(ch: &mut dyn Channel, what: &'static str) -> io::Result<(RistrettoPoint, [u8; 32])> {
    let mut bytes = [0u8; 32];
    ch.read_bytes(&mut bytes).map_err(context(what))?;
    let point = CompressedRistretto(bytes).decompress().ok_or_else(|| {
        invalid(format!(
            "base OT: {what}: not a canonical Ristretto255 point encoding"
        ))
    })?;
    if point == RistrettoPoint::identity() {
        return Err(invalid(format!(
            "base OT: {what}: the identity point is not allowed"
        )));
    }
    Ok((point, bytes))
}

fn transcript_digest(a: &[u8; 32], bs: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TRANSCRIPT_LABEL);
    h.update((bs.len() as u64).to_le_bytes());
    h.update(a);
    for b in bs {
        h.update(b);
    }
    h.finalize().into()
}

fn derive_key(transcript: &[u8; 32], index: usize, point: &RistrettoPoint) -> Block {
    let h = Sha256::new()
        .chain_update(KEY_LABEL)
        .chain_update(transcript)
        .chain_update((index as u64).to_le_bytes())
        .chain_update(point.compress().as_bytes())
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&h[..16]);
    Block::from_bytes(key)
}

/// Runs `n` base OTs as the sender. Writes `A`, flushes, then reads the
/// receiver's `n` points.
pub fn send<R: RngCore + CryptoRng>(
    ch: &mut dyn Channel,
    n: usize,
    rng: &mut R,
) -> io::Result<SenderOutput> {
    let a = Scalar::random(rng);
    let big_a = RistrettoPoint::mul_base(&a);
    let a_bytes = big_a.compress().to_bytes();
    ch.write_bytes(&a_bytes)
        .map_err(context("sending the sender's point"))?;
    ch.flush().map_err(context("sending the sender's point"))?;

    let mut points = Vec::with_capacity(n);
    let mut encodings = Vec::with_capacity(n);
    for _ in 0..n {
        let (p, bytes) = read_point(ch, "reading the receiver's points")?;
        points.push(p);
        encodings.push(bytes);
    }
    let transcript = transcript_digest(&a_bytes, &encodings);
    let a_big_a = a * big_a;
    let keys = points
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p0 = a * b;
            let p1 = p0 - a_big_a;
            (
                derive_key(&transcript, i, &p0),
                derive_key(&transcript, i, &p1),
            )
        })
        .collect();
    Ok(SenderOutput { keys, transcript })
}

/// Runs `choices.len()` base OTs as the receiver. Reads the sender's `A`, then
/// writes and flushes one point per OT.
pub fn receive<R: RngCore + CryptoRng>(
    ch: &mut dyn Channel,
    choices: &[bool],
    rng: &mut R,
) -> io::Result<ReceiverOutput> {
    let (big_a, a_bytes) = read_point(ch, "reading the sender's point")?;
    let table_a = RistrettoBasepointTable::create(&big_a);
    let mut encodings = Vec::with_capacity(choices.len());
    let mut shared = Vec::with_capacity(choices.len());
    let mut msg = Vec::with_capacity(32 * choices.len());
    for &c in choices {
        let b = Scalar::random(rng);
        let b_g = RistrettoPoint::mul_base(&b);
        let b_g_plus_a = b_g + big_a;
        let big_b = RistrettoPoint::conditional_select(&b_g, &b_g_plus_a, Choice::from(c as u8));
        let bytes = big_b.compress().to_bytes();
        msg.extend_from_slice(&bytes);
        encodings.push(bytes);
        shared.push(&b * &table_a);
    }
    ch.write_bytes(&msg)
        .map_err(context("sending the receiver's points"))?;
    ch.flush()
        .map_err(context("sending the receiver's points"))?;
    let transcript = transcript_digest(&a_bytes, &encodings);
    let keys = shared
        .iter()
        .enumerate()
        .map(|(i, p)| derive_key(&transcript, i, p))
        .collect();
    Ok(ReceiverOutput { keys, transcript })
}

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

/// Decodes a point, refusing non-canonical encodings and the identity.
fn decode_point(bytes: &[u8; 32], what: &str) -> io::Result<RistrettoPoint> {
    let point = CompressedRistretto(*bytes).decompress().ok_or_else(|| {
        invalid(format!(
            "base OT: {what}: not a canonical Ristretto255 point encoding"
        ))
    })?;
    if point == RistrettoPoint::identity() {
        return Err(invalid(format!(
            "base OT: {what}: the identity point is not allowed"
        )));
    }
    Ok(point)
}

fn read_point(ch: &mut dyn Channel, what: &'static str) -> io::Result<(RistrettoPoint, [u8; 32])> {
    let mut bytes = [0u8; 32];
    ch.read_bytes(&mut bytes).map_err(context(what))?;
    Ok((decode_point(&bytes, what)?, bytes))
}

/// `f` on every item, the items split over the available cores (up to four):
/// the point arithmetic of 128 OTs takes milliseconds, a thread tens of
/// microseconds. Results in order.
fn on_cores<T: Sync, U: Send>(items: &[T], f: impl Fn(usize, &T) -> U + Sync) -> Vec<U> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if cores < 2 || items.len() < 16 {
        return items.iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let per = items.len().div_ceil(cores);
    let f = &f;
    std::thread::scope(|s| {
        let parts: Vec<_> = items
            .chunks(per)
            .enumerate()
            .skip(1)
            .map(|(k, chunk)| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(j, x)| f(k * per + j, x))
                        .collect::<Vec<U>>()
                })
            })
            .collect();
        let mut out: Vec<U> = items[..per.min(items.len())]
            .iter()
            .enumerate()
            .map(|(i, x)| f(i, x))
            .collect();
        for p in parts {
            out.extend(p.join().expect("base OT worker panicked"));
        }
        out
    })
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

fn derive_key(transcript: &[u8; 32], index: usize, point: &CompressedRistretto) -> Block {
    let h = Sha256::new()
        .chain_update(KEY_LABEL)
        .chain_update(transcript)
        .chain_update((index as u64).to_le_bytes())
        .chain_update(point.as_bytes())
        .finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&h[..16]);
    Block::from_bytes(key)
}

/// The encodings of `2·P` for every `P`, with one field inversion for all of them.
///
/// Encoding a point costs an inversion, as much as a third of a scalar
/// multiplication; so both parties compute every point they must encode at half
/// its value (`x/2 · Q` instead of `x · Q`, with `1/2` taken mod the group order)
/// and encode the doubles in one batch. The keys and messages are exactly those of
/// the plain protocol.
fn encode_doubles(halves: &[RistrettoPoint]) -> Vec<CompressedRistretto> {
    RistrettoPoint::double_and_compress_batch(halves)
}

fn half() -> Scalar {
    Scalar::from(2u8).invert()
}

/// Runs `n` base OTs as the sender. Writes `A`, flushes, then reads the
/// receiver's `n` points; the point arithmetic is spread over the cores.
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

    let what = "reading the receiver's points";
    let mut msg = vec![0u8; 32 * n];
    ch.read_bytes(&mut msg).map_err(context(what))?;
    let encodings: Vec<[u8; 32]> = msg
        .chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    let transcript = transcript_digest(&a_bytes, &encodings);
    // (a/2)·B_i and (a/2)·(B_i − A): their doubles are the plain protocol's points.
    let a_half = a * half();
    let a_half_big_a = a_half * big_a;
    let halves = on_cores(&encodings, |_, bytes| -> io::Result<[RistrettoPoint; 2]> {
        let p0 = a_half * decode_point(bytes, what)?;
        Ok([p0, p0 - a_half_big_a])
    })
    .into_iter()
    .collect::<io::Result<Vec<_>>>()?;
    let points = encode_doubles(halves.as_flattened());
    let keys = points
        .chunks_exact(2)
        .enumerate()
        .map(|(i, p)| {
            (
                derive_key(&transcript, i, &p[0]),
                derive_key(&transcript, i, &p[1]),
            )
        })
        .collect();
    Ok(SenderOutput { keys, transcript })
}

/// Runs `choices.len()` base OTs as the receiver. Reads the sender's `A`, then
/// writes and flushes one point per OT, and derives its keys while the sender
/// derives its own.
pub fn receive<R: RngCore + CryptoRng>(
    ch: &mut dyn Channel,
    choices: &[bool],
    rng: &mut R,
) -> io::Result<ReceiverOutput> {
    let (big_a, a_bytes) = read_point(ch, "reading the sender's point")?;
    // The points go out first; the keys are derived while the sender works.
    let bs: Vec<(Scalar, bool)> = choices.iter().map(|&c| (Scalar::random(rng), c)).collect();
    // (b_i/2)·G (+ A/2): doubled, B_i = b_i·G (+ A).
    let inv2 = half();
    let half_a = inv2 * big_a;
    let halves = on_cores(&bs, |_, (b, c)| {
        let h = RistrettoPoint::mul_base(&(b * inv2));
        let h_plus = h + half_a;
        RistrettoPoint::conditional_select(&h, &h_plus, Choice::from(*c as u8))
    });
    let encodings: Vec<[u8; 32]> = encode_doubles(&halves)
        .into_iter()
        .map(|c| c.to_bytes())
        .collect();
    ch.write_bytes(&encodings.concat())
        .map_err(context("sending the receiver's points"))?;
    ch.flush()
        .map_err(context("sending the receiver's points"))?;
    let transcript = transcript_digest(&a_bytes, &encodings);
    let table_a = RistrettoBasepointTable::create(&big_a);
    let shared_halves = on_cores(&bs, |_, (b, _)| &(b * inv2) * &table_a);
    let keys = encode_doubles(&shared_halves)
        .iter()
        .enumerate()
        .map(|(i, p)| derive_key(&transcript, i, p))
        .collect();
    Ok(ReceiverOutput { keys, transcript })
}

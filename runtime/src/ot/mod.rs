//! Oblivious transfer: base OT on Ristretto255 ([`base`]), IKNP extension
//! ([`iknp`]) producing correlated OTs whose secret is the garbler's Δ, a
//! chosen-message OT on top, and the bit-matrix transpose it needs
//! ([`transpose`]).
//!
//! Security is semi-honest throughout (see [`iknp`] for what that means here):
//! both parties are assumed to follow the protocol; a deviating evaluator could
//! learn bits of Δ (no KOS consistency check). Fresh base OTs run at every
//! [`CotSender::setup`] / [`CotReceiver::setup`].
//!
//! Throughput (AMD EPYC Zen 4 with VAES and GFNI, 2 vCPUs shared with other
//! jobs). Each side alone, one thread, through a byte buffer
//! (`GARNET_COT_SPLIT=1 cargo bench -p garnet-runtime --bench ot`): receiver
//! ≈ 4.1–4.4 ns/OT, sender ≈ 2.8–3.3 ns/OT, i.e. ≈ 230 M/s for the slower side.
//! Two threads over [`crate::memory::MemoryChannel`] (`garnet_infer::bench::bench_cot`;
//! `GARNET_COT_N=20000000 cargo bench -p garnet-infer --bench cot`): 80–105 M/s
//! when the two cores are mostly ours, 45–70 M/s while other jobs keep the load
//! average around 7. Per OT the time goes to the transpose (one per side), AES
//! (two blocks on the receiver, one on the sender) and moving 16 bytes through the
//! channel and into the output vectors.
//!
//! ```text
//! garbler                                 evaluator
//! CotSender::setup(ch, Δ, rng)      ⇄     CotReceiver::setup(ch, rng)
//! q = send_correlated(ch, n)        ◀──   t = receive_correlated(ch, &bits)
//!   0-label q[i], 1-label q[i] ^ Δ          t[i] = q[i] ^ bits[i]·Δ
//! ```

pub mod base;
pub mod iknp;
pub mod transpose;

pub use iknp::{CotReceiver, CotSender};

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
//! Two threads over [`crate::memory::MemoryChannel`] ([`bench_cot`];
//! `GARNET_COT_N=20000000 cargo bench -p garnet-runtime --bench ot`): 80–105 M/s
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

use crate::block::Block;
use crate::channel::Channel;
use crate::prg::Prg;
use std::time::Instant;

/// Correlated OTs per second for `n` OTs between two threads over an in-memory
/// channel (setup and base OTs excluded). Used by `garnet bench`.
///
/// The OTs run as calls of at most [`BENCH_CHUNK`] OTs into output buffers
/// allocated (and touched) before the clock starts, so the figure is the
/// protocol's throughput rather than the kernel's page-fault rate for a fresh
/// multi-hundred-megabyte vector.
pub fn bench_cot(n: usize) -> f64 {
    let (a, b) = crate::memory::MemoryChannel::pair();
    bench_cot_over(Box::new(a), Box::new(b), n)
}

/// OTs per call in [`bench_cot`].
pub const BENCH_CHUNK: usize = 1 << 20;

/// [`bench_cot`] over a given channel pair (`garbler`, `evaluator`).
pub fn bench_cot_over(
    mut garbler: Box<dyn Channel>,
    mut evaluator: Box<dyn Channel>,
    n: usize,
) -> f64 {
    let chunk = n.clamp(1, BENCH_CHUNK);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let b2 = barrier.clone();
    let evaluator_thread = std::thread::spawn(move || {
        let mut rng = Prg::from_entropy();
        let mut recv = CotReceiver::setup(&mut *evaluator, &mut rng).expect("OT setup (evaluator)");
        let mut bytes = vec![0u8; chunk];
        rng.fill_bytes(&mut bytes);
        let choices: Vec<bool> = bytes.iter().map(|b| b & 1 == 1).collect();
        let mut t = vec![Block::ONES; chunk];
        b2.wait();
        let mut done = 0;
        while done < n {
            let k = chunk.min(n - done);
            recv.receive_correlated_into(&mut *evaluator, &choices[..k], &mut t[..k])
                .expect("correlated OT (evaluator)");
            std::hint::black_box(&mut t);
            done += k;
        }
    });
    let mut rng = Prg::from_entropy();
    let delta = Block(rng.next_block().0 | 1);
    let mut send = CotSender::setup(&mut *garbler, delta, &mut rng).expect("OT setup (garbler)");
    let mut q = vec![Block::ONES; chunk];
    barrier.wait();
    let start = Instant::now();
    let mut done = 0;
    while done < n {
        let k = chunk.min(n - done);
        send.send_correlated_into(&mut *garbler, &mut q[..k])
            .expect("correlated OT (garbler)");
        std::hint::black_box(&mut q);
        done += k;
    }
    evaluator_thread.join().expect("evaluator thread");
    n as f64 / start.elapsed().as_secs_f64()
}

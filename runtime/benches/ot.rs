//! OT benchmarks: transpose kernels, the AES-CTR PRG, base OT, and IKNP correlated
//! OT between two threads over an in-memory channel.
//!
//! `cargo bench -p garnet-runtime --bench ot` (criterion), plus a one-shot
//! throughput print: `cargo bench -p garnet-runtime --bench ot -- cot_rate`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use garnet_runtime::Block;
use garnet_runtime::ot::{CotReceiver, CotSender, base, transpose::Kernel};
use garnet_runtime::prg::Prg;
use std::hint::black_box;
use std::time::Duration;

#[path = "../tests/ot_util/mod.rs"]
mod ot_util;

fn transpose(c: &mut Criterion) {
    let mut g = c.benchmark_group("transpose128");
    g.throughput(Throughput::Elements(128));
    let mut prg = Prg::new(Block(1));
    let mut m = vec![Block::ZERO; 128];
    prg.fill_blocks(&mut m);
    let mut out = vec![Block::ZERO; 128];
    // The layout IKNP uses: 64-block columns padded to a 65-block stride, one
    // group (column of blocks) after the other.
    let mut wide = vec![Block::ZERO; 128 * 65];
    prg.fill_blocks(&mut wide);
    for k in Kernel::available() {
        g.bench_function(format!("{k:?}"), |b| {
            b.iter(|| k.transpose(black_box(&m), 1, &mut out));
        });
        if k != Kernel::Naive {
            g.bench_function(format!("{k:?}_iknp_layout"), |b| {
                let mut gi = 0;
                b.iter(|| {
                    k.transpose(black_box(&wide[gi..]), 65, &mut out);
                    gi = (gi + 1) % 64;
                });
            });
        }
    }
    g.finish();
}

fn prg(c: &mut Criterion) {
    let mut g = c.benchmark_group("prg");
    let mut buf = vec![Block::ZERO; 64];
    let mut p = Prg::new(Block(7));
    g.throughput(Throughput::Bytes(64 * 16));
    g.bench_function("fill_blocks_64", |b| {
        b.iter(|| p.fill_blocks(black_box(&mut buf)))
    });
    g.finish();
}

fn base_ot(c: &mut Criterion) {
    let mut g = c.benchmark_group("base_ot");
    g.sample_size(10);
    g.bench_function("128_ots_two_threads", |b| {
        b.iter(|| {
            let (mut x, mut y) = ot_util::pipe_pair();
            let h = std::thread::spawn(move || {
                let mut rng = Prg::from_entropy();
                base::send(&mut x, 128, &mut rng).unwrap()
            });
            let mut rng = Prg::from_entropy();
            let r = base::receive(&mut y, &[true; 128], &mut rng).unwrap();
            black_box((h.join().unwrap(), r))
        })
    });
    g.finish();
}

/// Correlated OT with both parties in their own thread, set up once; each
/// iteration runs one `n`-OT extension.
fn cot(c: &mut Criterion) {
    let mut g = c.benchmark_group("iknp_cot");
    g.measurement_time(Duration::from_secs(5));
    for n in [1usize << 14, 1 << 20] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let (mut x, mut y) = ot_util::pipe_pair();
            let (tx, rx) = std::sync::mpsc::channel::<usize>();
            let h = std::thread::spawn(move || {
                let mut rng = Prg::from_entropy();
                let mut r = CotReceiver::setup(&mut y, &mut rng).unwrap();
                let choices = vec![true; n];
                while let Ok(k) = rx.recv() {
                    for _ in 0..k {
                        black_box(r.receive_correlated(&mut y, &choices).unwrap());
                    }
                }
            });
            let mut rng = Prg::from_entropy();
            let mut s = CotSender::setup(&mut x, Block(rng.next_block().0 | 1), &mut rng).unwrap();
            let mut out = vec![Block::ZERO; n];
            b.iter_custom(|iters| {
                let start = std::time::Instant::now();
                tx.send(iters as usize).unwrap();
                for _ in 0..iters {
                    s.send_correlated_into(&mut x, &mut out).unwrap();
                }
                start.elapsed()
            });
            drop(tx);
            h.join().unwrap();
        });
    }
    g.finish();
}

criterion_group!(benches, transpose, prg, base_ot, cot);

/// Minimum over many short runs: robust on a machine shared with other jobs.
fn transpose_min() {
    let mut prg = Prg::new(Block(3));
    let mut wide = vec![Block::ZERO; 128 * 65];
    prg.fill_blocks(&mut wide);
    let mut out = vec![Block::ZERO; 128];
    for k in Kernel::available() {
        let mut best = f64::INFINITY;
        for _ in 0..3000 {
            let start = std::time::Instant::now();
            for gi in 0..64 {
                k.transpose(black_box(&wide[gi..]), 65, &mut out);
            }
            best = best.min(start.elapsed().as_secs_f64() / 64.0);
            black_box(&out);
        }
        println!("transpose {k:?}: {:.1} ns min (IKNP layout)", best * 1e9);
    }
}

/// Each side of the extension alone, one thread, through a byte buffer (the
/// protocol is one-way after setup): minimum over several 1M-OT runs.
fn cot_split() {
    use garnet_runtime::memory::{BufferChannel, MemoryChannel};
    let (mut x, mut y) = MemoryChannel::pair();
    let h = std::thread::spawn(move || {
        let mut rng = Prg::from_entropy();
        CotReceiver::setup(&mut y, &mut rng).unwrap()
    });
    let mut rng = Prg::from_entropy();
    let delta = Block(rng.next_block().0 | 1);
    let mut s = CotSender::setup(&mut x, delta, &mut rng).unwrap();
    let mut r = h.join().unwrap();
    let n = 1 << 20;
    let choices: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let mut t = vec![Block::ONES; n];
    let mut q = vec![Block::ONES; n];
    let mut ch = BufferChannel::with_capacity(16 * n + 4096);
    let (mut best_r, mut best_s) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..15 {
        ch.clear();
        let start = std::time::Instant::now();
        r.receive_correlated_into(&mut ch, &choices, &mut t)
            .unwrap();
        best_r = best_r.min(start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        s.send_correlated_into(&mut ch, &mut q).unwrap();
        best_s = best_s.min(start.elapsed().as_secs_f64());
        assert!(
            (0..n)
                .step_by(4099)
                .all(|i| t[i] == q[i] ^ delta.select(choices[i]))
        );
    }
    println!(
        "receiver {:.2} ns/OT ({:.0} M/s alone), sender {:.2} ns/OT ({:.0} M/s alone)",
        best_r * 1e9 / n as f64,
        n as f64 / best_r / 1e6,
        best_s * 1e9 / n as f64,
        n as f64 / best_s / 1e6
    );
}

/// `GARNET_TRANSPOSE_MIN=1` or `GARNET_COT_SPLIT=1` skip criterion for one quick figure;
/// the two-thread rate that `garnet bench` reports is `cargo bench -p garnet-infer --bench cot`.
fn main() {
    if std::env::var("GARNET_TRANSPOSE_MIN").is_ok() {
        transpose_min();
        return;
    }
    if std::env::var("GARNET_COT_SPLIT").is_ok() {
        cot_split();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Half-gates garbling and evaluation, ns per AND: one thread (and all cores), an AND-only layer,
//! tables to and from memory (the way EMP-toolkit's figures are taken), on every AES
//! kernel this CPU has; then three-halves on the selected kernel, one thread.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use garnet_circuits::Gate;
use garnet_runtime::Block;
use garnet_runtime::aes::Kernel;
use garnet_runtime::garble::{EvaluatorCore, GarblerCore, Scheme};
use garnet_runtime::halfgates::Delta;
use garnet_runtime::hash::Tccr;
use garnet_runtime::memory::BufferChannel;

const K: u32 = 4096;
const N: u64 = 1 << 20;

fn layer() -> impl Iterator<Item = Gate> + Clone {
    (0..N as u32).map(|i| Gate::and(i % K, K + (i.wrapping_mul(7) % K), 2 * K + i % K))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("halfgates");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Every kernel on one thread, then the selected kernel on all cores.
    let runs = Kernel::ALL
        .into_iter()
        .map(|k| (k, 1))
        .chain((threads > 1).then_some((Kernel::selected(), threads)));
    for (kernel, threads) in runs {
        let Some(hash) = Tccr::new(Block(0x1234)).with_kernel(kernel) else {
            eprintln!("kernel {kernel}: not on this CPU, skipped");
            continue;
        };
        let tag = format!("{}_{threads}t", kernel.name());
        let delta = Delta::from_os();
        let mut g = GarblerCore::with_threads(hash.clone(), delta, 3 * K, threads).unwrap();
        for (i, l) in g.labels_mut().iter_mut().enumerate() {
            *l = Block(i as u128 * 0x9e37_79b9_7f4a_7c15);
        }
        let mut ch = BufferChannel::with_capacity(N as usize * 32);
        group.bench_function(format!("garble_and_layer_{tag}"), |bch| {
            bch.iter(|| {
                ch.clear();
                g.garble(layer(), &mut ch, &mut |_| {}).unwrap();
            })
        });
        let mut e = EvaluatorCore::with_threads(hash.clone(), 3 * K, threads).unwrap();
        e.labels_mut().copy_from_slice(g.labels());
        group.bench_function(format!("eval_and_layer_{tag}"), |bch| {
            bch.iter(|| {
                ch.rewind();
                e.evaluate(layer(), &mut ch, &mut |_| {}).unwrap();
            })
        });
        // (A filter may skip the benches above: nothing to check here; `evaluate`
        // fails on missing tables.)
    }
    group.finish();
    three_halves(c);
}

/// Three-halves on the selected kernel (it runs on one thread).
fn three_halves(c: &mut Criterion) {
    let mut group = c.benchmark_group("threehalves");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    let kernel = Kernel::selected();
    let hash = Tccr::new(Block(0x1234));
    let tag = format!("{}_1t", kernel.name());
    let s = Scheme::ThreeHalves;
    let mut g = GarblerCore::with_scheme(hash.clone(), Delta::from_os(), 3 * K, 1, s).unwrap();
    for (i, l) in g.labels_mut().iter_mut().enumerate() {
        *l = Block(i as u128 * 0x9e37_79b9_7f4a_7c15);
    }
    let mut ch = BufferChannel::with_capacity(N as usize * 25);
    group.bench_function(format!("garble_and_layer_{tag}"), |bch| {
        bch.iter(|| {
            ch.clear();
            g.garble(layer(), &mut ch, &mut |_| {}).unwrap();
        })
    });
    let mut e = EvaluatorCore::with_scheme(hash, 3 * K, 1, s).unwrap();
    e.labels_mut().copy_from_slice(g.labels());
    group.bench_function(format!("eval_and_layer_{tag}"), |bch| {
        bch.iter(|| {
            ch.rewind();
            e.evaluate(layer(), &mut ch, &mut |_| {}).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Half-gates garbling and evaluation, ns per AND: one thread, an AND-only layer,
//! tables to and from memory (the way EMP-toolkit's figures are taken).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use garnet_circuits::Gate;
use garnet_runtime::garble::{EvaluatorCore, GarblerCore};
use garnet_runtime::halfgates::Delta;
use garnet_runtime::hash::Tccr;
use garnet_runtime::memory::BufferChannel;
use garnet_runtime::{Block, Channel};

const K: u32 = 4096;
const N: u64 = 1 << 20;

fn layer() -> impl Iterator<Item = Gate> + Clone {
    (0..N as u32).map(|i| Gate::and(i % K, K + (i.wrapping_mul(7) % K), 2 * K + i % K))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("halfgates");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    for vaes in [true, false] {
        let mut hash = Tccr::new(Block(0x1234));
        if !vaes {
            hash = hash.without_vaes();
        }
        if vaes && !hash.aes().uses_vaes() {
            continue;
        }
        let tag = if vaes { "vaes" } else { "portable" };
        let delta = Delta::from_os();
        let mut g = GarblerCore::new(hash.clone(), delta, 3 * K);
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
        let mut e = EvaluatorCore::new(hash.clone(), 3 * K);
        e.labels_mut().copy_from_slice(g.labels());
        group.bench_function(format!("eval_and_layer_{tag}"), |bch| {
            bch.iter(|| {
                ch.rewind();
                e.evaluate(layer(), &mut ch, &mut |_| {}).unwrap();
            })
        });
        assert!(ch.bytes_received() > 0);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

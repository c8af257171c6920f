//! Bit-sliced plaintext evaluation throughput on a 10 M-gate random circuit.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use garnet_circuits::passes::allocate_slots;
use garnet_circuits::random::{RandomSpec, random_circuit};
use rand::{SeedableRng, rngs::StdRng};
use std::hint::black_box;

fn bench_eval(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let spec = RandomSpec {
        input_widths: vec![128, 128],
        gates: 10_000_000,
        output_widths: vec![64],
        and_fraction: 0.4,
        window: 256,
    };
    // Slots only (no dead-gate removal), so all 10 M gates are evaluated.
    let circuit = allocate_slots(random_circuit(&mut rng, &spec));
    let inputs: Vec<u64> = (0..circuit.input_bits())
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let mut group = c.benchmark_group("plain_eval");
    group.sample_size(10);
    // Elements = gate-lanes: each pass evaluates every gate for 64 inputs.
    group.throughput(Throughput::Elements(circuit.gates.len() as u64 * 64));
    group.bench_function("bit_sliced_10M_gates_x64", |b| {
        b.iter(|| black_box(circuit.eval_lanes(black_box(&inputs)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench_eval);
criterion_main!(benches);

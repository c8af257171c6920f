//! `.gcirc` write and streaming read+validate throughput on a 10 M-gate random circuit.
//!
//! Run: `cargo bench -p garnet-circuits --bench formats`. Throughput is in gates/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use garnet_circuits::format::gcirc;
use garnet_circuits::passes::allocate_slots;
use garnet_circuits::random::{RandomSpec, random_circuit};
use rand::{SeedableRng, rngs::StdRng};
use std::hint::black_box;

fn bench_formats(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let spec = RandomSpec {
        input_widths: vec![128, 128],
        gates: 10_000_000,
        output_widths: vec![64],
        and_fraction: 0.4,
        window: 256,
    };
    let ssa = random_circuit(&mut rng, &spec);
    // Slots only (no dead-gate removal), so all 10 M gates stay.
    let slots = allocate_slots(ssa.clone());
    for (name, circuit) in [("slots", &slots), ("ssa", &ssa)] {
        let bytes = gcirc::to_bytes(circuit);
        let n = circuit.gates.len() as u64;
        eprintln!(
            "{name}: {n} gates, {} wires, {} bytes, {:.2} bytes/gate",
            circuit.wires,
            bytes.len(),
            bytes.len() as f64 / n as f64
        );
        let mut group = c.benchmark_group(format!("gcirc_{name}_10M"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(n));
        let mut out = Vec::with_capacity(bytes.len());
        group.bench_function("write", |b| {
            b.iter(|| {
                out.clear();
                gcirc::write(black_box(circuit), &mut out).unwrap();
                black_box(out.len())
            })
        });
        group.bench_function("stream_read_validate", |b| {
            b.iter(|| {
                let mut r = gcirc::GateReader::new(black_box(&bytes[..])).unwrap();
                let mut ands = 0u64;
                for g in r.by_ref() {
                    ands += (g.unwrap().op == garnet_circuits::Op::And) as u64;
                }
                black_box((ands, r.digest().unwrap()))
            })
        });
        group.bench_function("read_to_circuit", |b| {
            b.iter(|| black_box(gcirc::read(&mut black_box(&bytes[..])).unwrap().gates.len()))
        });
        group.finish();
    }
}

criterion_group!(benches, bench_formats);
criterion_main!(benches);

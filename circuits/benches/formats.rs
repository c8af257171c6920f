//! `.gcirc` write and streaming read+validate throughput on a 10 M-gate random circuit.
//!
//! Run: `cargo bench -p garnet-circuits --bench formats`. Throughput is in gates/s
//! of wall-clock time; the bench also prints gates per second of its own CPU time,
//! which is what to compare on a busy machine.

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
        // Wall-clock figures on a shared box mostly measure the other processes, so
        // also print throughput per second of this thread's own CPU time.
        let cpu_rate = |f: &mut dyn FnMut()| {
            let (t0, w0) = (thread_cpu_ns(), std::time::Instant::now());
            for _ in 0..3 {
                f();
            }
            let cpu = thread_cpu_ns().map(|t| (t - t0.unwrap_or(t)) as f64 / 3e9);
            let wall = w0.elapsed().as_secs_f64() / 3.0;
            let cpu = cpu.map_or("n/a".to_string(), |s| format!("{:.1}", n as f64 / s / 1e6));
            (cpu, n as f64 / wall / 1e6)
        };
        let mut out = Vec::with_capacity(bytes.len());
        let (cpu, wall) = cpu_rate(&mut || {
            out.clear();
            gcirc::write(circuit, &mut out).unwrap();
        });
        eprintln!("{name}: write {cpu} M gates per CPU-second, {wall:.1} M gates/s wall");
        let (cpu, wall) = cpu_rate(&mut || {
            let mut r = gcirc::GateReader::new(&bytes[..]).unwrap();
            for g in r.by_ref() {
                black_box(g.unwrap());
            }
            black_box(r.digest().unwrap());
        });
        eprintln!(
            "{name}: stream read+validate {cpu} M gates per CPU-second, {wall:.1} M gates/s wall"
        );

        let mut group = c.benchmark_group(format!("gcirc_{name}_10M"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(n));
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

/// CPU time of the current thread in nanoseconds (Linux), if available.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

criterion_group!(benches, bench_formats);
criterion_main!(benches);

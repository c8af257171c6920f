//! Compile and count throughput (gates per second) on the digits network, private
//! weights: building and optimizing the circuit, and counting its live gates without it.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use garnet_compiler::{Sources, compile, count, frontend_file, render};
use std::path::PathBuf;

fn digits(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/digits/digits.gnet");
    let mut s = Sources::new();
    let net = frontend_file(&path, &mut s).unwrap_or_else(|d| panic!("{}", render(&d, &s)));
    let gates = compile(&net, None).expect("compiles").gates.len() as u64;
    let mut g = c.benchmark_group("compile");
    g.throughput(Throughput::Elements(gates));
    g.sample_size(10);
    g.bench_function("digits", |b| {
        b.iter(|| compile(&net, None).expect("compiles"))
    });
    g.bench_function("digits_count_live", |b| {
        b.iter(|| count(&net, None).expect("counts"))
    });
    g.finish();
}

criterion_group!(benches, digits);
criterion_main!(benches);

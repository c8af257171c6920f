//! The correlated-OT rate `garnet bench` reports: two threads over an in-memory
//! channel, setup and base OTs excluded ([`garnet_infer::bench::bench_cot`]).
//!
//! `GARNET_COT_N=N cargo bench -p garnet-infer --bench cot` skips criterion and
//! prints the rate for N OTs five times (for quick checks and `perf stat`).

use criterion::{Criterion, criterion_group};
use garnet_infer::bench::bench_cot;
use std::time::Duration;

fn cot_rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("cot_rate");
    g.sample_size(10);
    g.bench_function("bench_cot_10M", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let n = 10_000_000;
                let rate = bench_cot(n);
                eprintln!("bench_cot({n}): {:.1} M correlated OTs/s", rate / 1e6);
                total += Duration::from_secs_f64(n as f64 / rate);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, cot_rate);

fn main() {
    if let Some(n) = std::env::var("GARNET_COT_N")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        for _ in 0..5 {
            println!(
                "bench_cot({n}): {:.1} M correlated OTs/s",
                bench_cot(n) / 1e6
            );
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

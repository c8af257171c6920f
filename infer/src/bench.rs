//! Measurement harnesses behind `garnet bench` and the criterion benches: they
//! drive the runtime's public cores, so they live here rather than in the
//! runtime's library API.

use garnet_runtime::Block;
use garnet_runtime::channel::Channel;
use garnet_runtime::garble::{EvaluatorCore, GarblerCore, Scheme};
use garnet_runtime::halfgates::Delta;
use garnet_runtime::hash::Tccr;
use garnet_runtime::memory::{BufferChannel, MemoryChannel};
use garnet_runtime::ot::{CotReceiver, CotSender};
use garnet_runtime::prg::Prg;
use garnet_runtime::synthetic::and_only_layer;
use std::time::Instant;

use crate::Model;
use crate::session::session;
use anyhow::{Result, anyhow};
use garnet_circuits::Party;
use garnet_runtime::session::SessionReport;
use garnet_runtime::synthetic::AndLayers;
use garnet_runtime::tcp::TcpChannel;
use std::net::TcpListener;
use std::time::Duration;

/// Width of the AND layers of the end-to-end run.
pub const E2E_WIDTH: u32 = 4096;

/// The synthetic AND-layer model of the end-to-end run, about `ands` AND gates.
pub fn e2e_model(ands: u64, scheme: Scheme) -> Model {
    let mut m = Model::synthetic(AndLayers::with_ands(ands, E2E_WIDTH));
    m.scheme = scheme;
    m
}

/// The AND gates the end-to-end run of about `ands` really has.
pub fn e2e_ands(ands: u64) -> u64 {
    AndLayers::with_ands(ands, E2E_WIDTH).ands()
}

/// Fixed inputs of `party` for the end-to-end run.
pub fn e2e_inputs(m: &Model, party: Party) -> Vec<Vec<bool>> {
    m.interface
        .inputs
        .iter()
        .map(|s| {
            if s.owner == party {
                (0..s.bits).map(|i| i % 3 != 1).collect()
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// The garbler of the end-to-end run: accepts one evaluator on `listener` and
/// garbles one session of about `ands` AND gates.
pub fn e2e_garble(listener: &TcpListener, ands: u64, scheme: Scheme) -> Result<SessionReport> {
    let m = e2e_model(ands, scheme);
    let (stream, _) = listener.accept()?;
    let mut ch = TcpChannel::new(stream, Duration::from_secs(60))?;
    let out = session(
        Party::Garbler,
        &mut ch,
        &m,
        &e2e_inputs(&m, Party::Garbler),
        None,
    )?;
    Ok(out.report)
}

/// The evaluator of the end-to-end run against a garbler at `addr`: the session's
/// wall time (connect included) and report.
pub fn e2e_evaluate(addr: &str, ands: u64, scheme: Scheme) -> Result<(f64, SessionReport)> {
    let m = e2e_model(ands, scheme);
    let start = Instant::now();
    let mut ch = TcpChannel::connect(addr, Duration::from_secs(10), Duration::from_secs(60))
        .map_err(|e| anyhow!("{e}"))?;
    let out = session(
        Party::Evaluator,
        &mut ch,
        &m,
        &e2e_inputs(&m, Party::Evaluator),
        None,
    )?;
    Ok((start.elapsed().as_secs_f64(), out.report))
}

/// Results of [`measure_layer`], in nanoseconds per AND gate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerTimes {
    /// Best wall-clock time over the repetitions.
    pub garble_ns: f64,
    pub eval_ns: f64,
    /// On-CPU time of this thread, averaged over all repetitions (Linux
    /// `/proc/thread-self/schedstat`; `None` elsewhere). Unlike wall time it does not
    /// grow when other processes compete for the cores.
    pub garble_cpu_ns: Option<f64>,
    pub eval_cpu_ns: Option<f64>,
    /// Bytes of tables per AND gate.
    pub table_bytes_per_and: f64,
}

/// Nanoseconds this thread has run on a CPU, if the OS tells.
fn thread_cpu_ns() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Garbles and evaluates an AND-only layer of `ands` gates `reps` times on `threads`
/// threads (the on-CPU figures count the calling thread only), tables to and from
/// memory.
pub fn measure_layer(ands: u64, reps: usize, threads: usize) -> LayerTimes {
    measure_layer_with(ands, reps, threads, Scheme::HalfGates)
}

/// [`measure_layer`] with a garbling scheme.
pub fn measure_layer_with(ands: u64, reps: usize, threads: usize, scheme: Scheme) -> LayerTimes {
    const W: u32 = 4096;
    let hash = Tccr::new(Prg::from_entropy().next_block());
    let mut g = GarblerCore::with_scheme(hash.clone(), Delta::from_os(), 3 * W, threads, scheme)
        .expect("garbling threads start");
    let mut prg = Prg::from_entropy();
    prg.fill_blocks(g.labels_mut());
    let mut e =
        EvaluatorCore::with_scheme(hash, 3 * W, threads, scheme).expect("evaluation threads start");
    let delta = g.delta().block();
    for (i, (el, gl)) in e.labels_mut().iter_mut().zip(g.labels()).enumerate() {
        *el = *gl ^ delta.select(i % 3 == 0);
    }
    let mut ch = BufferChannel::with_capacity(ands as usize * 32);
    // One untimed round to fault the table buffer in.
    g.garble(and_only_layer(ands, W), &mut ch, &mut |_| {})
        .expect("in-memory garbling");
    let (mut best_g, mut best_e) = (f64::MAX, f64::MAX);
    let (mut cpu_g, mut cpu_e) = (Some(0.0), Some(0.0));
    let reps = reps.max(1);
    for _ in 0..reps {
        ch.clear();
        let (t, c) = (Instant::now(), thread_cpu_ns());
        g.garble(and_only_layer(ands, W), &mut ch, &mut |_| {})
            .expect("in-memory garbling");
        best_g = best_g.min(t.elapsed().as_secs_f64());
        cpu_g = cpu_g
            .zip(c)
            .zip(thread_cpu_ns())
            .map(|((sum, a), b)| sum + (b - a));
        let (t, c) = (Instant::now(), thread_cpu_ns());
        e.evaluate(and_only_layer(ands, W), &mut ch, &mut |_| {})
            .expect("in-memory evaluation");
        best_e = best_e.min(t.elapsed().as_secs_f64());
        cpu_e = cpu_e
            .zip(c)
            .zip(thread_cpu_ns())
            .map(|((sum, a), b)| sum + (b - a));
    }
    let per = |total: f64| total / (reps as f64 * ands as f64);
    LayerTimes {
        table_bytes_per_and: ch.len() as f64 / ands as f64,
        garble_ns: best_g * 1e9 / ands as f64,
        eval_ns: best_e * 1e9 / ands as f64,
        garble_cpu_ns: cpu_g.map(per),
        eval_cpu_ns: cpu_e.map(per),
    }
}

/// Correlated OTs per second for `n` OTs between two threads over an in-memory
/// channel (setup and base OTs excluded). Used by `garnet bench`.
///
/// The OTs run as calls of at most [`BENCH_CHUNK`] OTs into output buffers
/// allocated (and touched) before the clock starts, so the figure is the
/// protocol's throughput rather than the kernel's page-fault rate for a fresh
/// multi-hundred-megabyte vector.
pub fn bench_cot(n: usize) -> f64 {
    let (a, b) = MemoryChannel::pair();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cot_harness_reports_a_rate() {
        let rate = bench_cot(20_000);
        assert!(rate.is_finite() && rate > 0.0);
    }

    #[test]
    fn layer_harness_reports_both_schemes() {
        for s in Scheme::ALL {
            let t = measure_layer_with(4096, 1, 1, s);
            assert!(t.garble_ns > 0.0 && t.eval_ns > 0.0);
            let want = s.table_bytes(4096) as f64 / 4096.0;
            assert!((t.table_bytes_per_and - want).abs() < 0.1, "{s}: {t:?}");
        }
    }
}

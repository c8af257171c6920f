//! `garnet bench`: garbling and evaluation speed (both schemes), OT extension rate,
//! and an end-to-end run between two processes.

use anyhow::{Context, Result, anyhow, bail};
use garnet_runtime::garble::Scheme;
use garnet_runtime::session::SessionReport;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use garnet_infer::bench;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
    /// AND gates of the end-to-end run between two processes.
    #[arg(long, default_value_t = 50_000_000)]
    pub ands: u64,
    /// AND gates of the one-thread garbling/evaluation layer.
    #[arg(long, default_value_t = 1 << 20)]
    pub layer_ands: u64,
    /// Threads for the multi-threaded garbling/evaluation figure (default: all cores;
    /// 1 skips it).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Correlated OTs for the OT extension figure.
    #[arg(long, default_value_t = 10_000_000)]
    pub cots: usize,
    /// Garbling scheme of the end-to-end run (the one-thread figures cover both).
    #[arg(long, default_value = "half-gates", value_name = "SCHEME")]
    pub scheme: Scheme,
    /// Internal: run as the garbler peer of the end-to-end benchmark.
    #[arg(long, hide = true)]
    pub e2e_peer: bool,
    /// Internal: the address the garbler peer listens on (tools/bench_netem.sh).
    #[arg(long, hide = true, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub e2e_listen: String,
    /// Internal: run only the evaluator of the end-to-end benchmark against a peer
    /// started with --e2e-peer at ADDR, and print its figures (tools/bench_netem.sh).
    #[arg(long, hide = true, value_name = "ADDR")]
    pub e2e_connect: Option<String>,
}

// ---------------------------------------------------------------------------
// garnet bench

/// Peak resident memory of this process in bytes (Linux), if known.
pub(super) fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The child side of the end-to-end benchmark: print the port, garble one session,
/// print the peak memory.
pub(super) fn e2e_peer(ands: u64, scheme: Scheme, listen: &str) -> Result<()> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    println!("port {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let report = bench::e2e_garble(&listener, ands, scheme)?;
    println!("rss {}", peak_rss().unwrap_or(0));
    println!("garbling_seconds {}", report.total_seconds());
    Ok(())
}

pub(super) struct E2e {
    and_per_second: f64,
    seconds: f64,
    garbler_rss: u64,
    evaluator_rss: u64,
    report: SessionReport,
}

pub(super) fn e2e(ands: u64, scheme: Scheme) -> Result<E2e> {
    let exe = std::env::current_exe().context("cannot find the garnet executable")?;
    /// Kills the peer process if the benchmark fails before it ends by itself.
    struct Peer(std::process::Child);
    impl Drop for Peer {
        fn drop(&mut self) {
            if matches!(self.0.try_wait(), Ok(None)) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let mut child = Peer(
        std::process::Command::new(exe)
            .args(["bench", "--e2e-peer", "--ands", &ands.to_string()])
            .args(["--scheme", scheme.name()])
            .stdout(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null())
            .spawn()
            .context("cannot start the garbler process")?,
    );
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from the garbler process"))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .ok_or_else(|| anyhow!("the garbler process exited early"))??;
    let port: u16 = first
        .strip_prefix("port ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| anyhow!("unexpected line from the garbler process: {first}"))?;
    let (seconds, report) = bench::e2e_evaluate(&format!("127.0.0.1:{port}"), ands, scheme)?;
    let mut garbler_rss = 0;
    for line in lines {
        let line = line?;
        if let Some(v) = line.strip_prefix("rss ") {
            garbler_rss = v.trim().parse().unwrap_or(0);
        }
    }
    let status = child.0.wait()?;
    if !status.success() {
        bail!("the garbler process failed ({status})");
    }
    Ok(E2e {
        and_per_second: bench::e2e_ands(ands) as f64 / seconds,
        seconds,
        garbler_rss,
        evaluator_rss: peak_rss().unwrap_or(0),
        report,
    })
}

pub fn run_bench(args: BenchArgs) -> Result<()> {
    if args.e2e_peer {
        return e2e_peer(args.ands, args.scheme, &args.e2e_listen);
    }
    if args.ands == 0 || args.layer_ands == 0 || args.cots == 0 {
        bail!("--ands, --layer-ands and --cots must be positive");
    }
    if let Some(addr) = &args.e2e_connect {
        let (seconds, report) = bench::e2e_evaluate(addr, args.ands, args.scheme)?;
        let ands = bench::e2e_ands(args.ands);
        println!(
            "{}",
            serde_json::json!({
                "scheme": args.scheme.name(),
                "e2e_ands": ands,
                "e2e_seconds": seconds,
                "e2e_and_per_second": ands as f64 / seconds,
                "table_bytes_per_and": report.table_bytes_per_and(),
            })
        );
        return Ok(());
    }
    // End-to-end first, so that the evaluator's peak memory is the session's.
    let e2e = e2e(args.ands, args.scheme)?;
    let layer = garnet_infer::bench::measure_layer(args.layer_ands, 10, 1);
    let (garble_ns, eval_ns) = (layer.garble_ns, layer.eval_ns);
    let three =
        garnet_infer::bench::measure_layer_with(args.layer_ands, 10, 1, Scheme::ThreeHalves);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let multi =
        (threads > 1).then(|| garnet_infer::bench::measure_layer(args.layer_ands, 10, threads));
    let three_multi = (threads > 1).then(|| {
        garnet_infer::bench::measure_layer_with(args.layer_ands, 10, threads, Scheme::ThreeHalves)
    });
    let kernel = garnet_runtime::aes::Kernel::selected();
    let cot = garnet_infer::bench::bench_cot(args.cots);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "kernel": kernel.name(),
                "threads": threads,
                "garble_mt_ns_per_and": multi.map(|m| m.garble_ns),
                "eval_mt_ns_per_and": multi.map(|m| m.eval_ns),
                "garble_ns_per_and": garble_ns,
                "eval_ns_per_and": eval_ns,
                "garble_cpu_ns_per_and": layer.garble_cpu_ns,
                "eval_cpu_ns_per_and": layer.eval_cpu_ns,
                "table_bytes_per_and": layer.table_bytes_per_and,
                "three_halves_garble_ns_per_and": three.garble_ns,
                "three_halves_eval_ns_per_and": three.eval_ns,
                "three_halves_garble_cpu_ns_per_and": three.garble_cpu_ns,
                "three_halves_eval_cpu_ns_per_and": three.eval_cpu_ns,
                "three_halves_table_bytes_per_and": three.table_bytes_per_and,
                "three_halves_garble_mt_ns_per_and": three_multi.map(|m| m.garble_ns),
                "three_halves_eval_mt_ns_per_and": three_multi.map(|m| m.eval_ns),
                "e2e_scheme": args.scheme.name(),
                "cot_per_second": cot,
                "e2e_and_per_second": e2e.and_per_second,
                "e2e_ands": bench::e2e_ands(args.ands),
                "e2e_seconds": e2e.seconds,
                "e2e_garbler_peak_rss_mib": mib(e2e.garbler_rss),
                "e2e_evaluator_peak_rss_mib": mib(e2e.evaluator_rss),
            })
        );
    } else {
        let cpu = |c: Option<f64>| c.map(|c| format!(", {c:.2} on-CPU")).unwrap_or_default();
        println!(
            "AES kernel  {kernel} (of {}; GARNET_AES_KERNEL picks another)",
            garnet_runtime::aes::Kernel::available()
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "garbling    {garble_ns:>8.2} ns/AND  (best wall time{}; one thread, AND-only layer, tables to memory)",
            cpu(layer.garble_cpu_ns)
        );
        println!(
            "evaluation  {eval_ns:>8.2} ns/AND  (best wall time{}; one thread, tables from memory)",
            cpu(layer.eval_cpu_ns)
        );
        println!(
            "three-halves {:>7.2} / {:.2} ns/AND garbling / evaluation  (one thread{}; {:.3} bytes/AND vs {:.0})",
            three.garble_ns,
            three.eval_ns,
            three
                .garble_cpu_ns
                .zip(three.eval_cpu_ns)
                .map(|(g, e)| format!(", {g:.2} / {e:.2} on-CPU"))
                .unwrap_or_default(),
            three.table_bytes_per_and,
            layer.table_bytes_per_and
        );
        if let Some(m) = multi {
            println!(
                "{threads} threads   {:>8.2} / {:.2} ns/AND garbling / evaluation  ({:.2}× / {:.2}× one thread)",
                m.garble_ns,
                m.eval_ns,
                garble_ns / m.garble_ns,
                eval_ns / m.eval_ns
            );
        }
        if let Some(m) = three_multi {
            println!(
                "{threads} threads   {:>8.2} / {:.2} ns/AND three-halves garbling / evaluation  ({:.2}× / {:.2}× one thread)",
                m.garble_ns,
                m.eval_ns,
                three.garble_ns / m.garble_ns,
                three.eval_ns / m.eval_ns
            );
        }
        println!("IKNP COT    {:>8.1} M/s", cot / 1e6);
        println!(
            "end-to-end  {:>8.1} M AND/s  ({} AND in {:.2} s, {}, two processes over loopback TCP)",
            e2e.and_per_second / 1e6,
            bench::e2e_ands(args.ands),
            e2e.seconds,
            args.scheme
        );
        println!(
            "peak memory {:>8.1} MiB garbler, {:.1} MiB evaluator",
            mib(e2e.garbler_rss),
            mib(e2e.evaluator_rss)
        );
        println!("{}", e2e.report);
    }
    Ok(())
}

//! The two-party commands: `garnet garble` (the garbler, a server), `garnet evaluate`
//! (the evaluator, a client), `garnet run` (both in one process) and `garnet bench`.
//!
//! Security model: semi-honest (honest-but-curious), as in DeepSecure. The evaluator
//! learns the outputs the circuit addresses to it and nothing about the garbler's
//! inputs beyond them; the garbler learns the outputs addressed to it and nothing
//! about the evaluator's inputs. Both learn the circuit (it is public) and its size.

use anyhow::{Context, Result, bail};
use garnet_circuits::Party;
use garnet_infer::Model;
use garnet_infer::serve::ServeConfig;
use garnet_runtime::session::{SessionOutcome, SessionReport};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

mod bench;
mod progress;

pub use bench::{BenchArgs, run_bench};
use progress::{Progress, timeout};

// ---------------------------------------------------------------------------
// Arguments

/// Arguments every two-party command shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// A circuit file: .gcirc (streamed, never held in memory; a compiled network is
    /// used as its .gnet) or Bristol; or a .gnet network, compiled in memory. A
    /// .gnet and the .gcirc `garnet compile` makes of it are the same circuit.
    pub file: PathBuf,
    /// This party's inputs. Circuits: NAME=VALUE, VALUE decimal (negative = two's
    /// complement), 0x… or 0b…. Networks: NAME=FILE, a JSON array, .npy or CSV of reals.
    /// The evaluator may give its inputs k times, or network files of k samples (an .npy
    /// of shape [k, …], k CSV rows): one session then runs k inferences (handshake and
    /// base OTs once) on the garbler's fixed inputs; an input given once serves them all.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE|FILE")]
    pub inputs: Vec<String>,
    /// For a network (.gnet or its compiled .gcirc): the weights (.safetensors). The
    /// party that owns the parameters passes them; a .gnet with `params public` needs
    /// them on both sides (a compiled one holds them as constants).
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// Who owns each input value, in order: `garbler`/`g` or `evaluator`/`e`, comma-separated
    /// (default: the circuit's owners; for Bristol files value 0 is the garbler's, the rest the
    /// evaluator's). Both parties must give the same list.
    #[arg(long, value_delimiter = ',', value_name = "OWNER,...")]
    pub owners: Option<Vec<String>>,
    /// Read timeout in seconds: a peer silent for longer ends the session with an error.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Threads garbling or evaluating in each session (default: all cores; for `run`,
    /// half of them per party). 1 turns it off; the results are the same for every N.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Garbling scheme: half-gates (32 bytes per AND) or three-halves (24.625 bytes per
    /// AND, about twice the garbling work). Both parties must give the same.
    #[arg(long, default_value = "half-gates", value_name = "SCHEME")]
    pub scheme: garnet_runtime::garble::Scheme,
}

/// The thread count for `--threads`, or `cores / share` (at least 1).
fn threads(common: &Common, share: usize) -> Result<usize> {
    match common.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Ok((cores / share).max(1))
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct GarbleArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address to listen on, e.g. 0.0.0.0:7878 (port 0 picks a free port; the address is
    /// printed on standard error).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Serve one session, then exit with its result. Without it the server runs
    /// until SIGINT or SIGTERM, then finishes the running sessions and exits.
    #[arg(long)]
    pub once: bool,
    /// Sessions served at once, one thread each.
    #[arg(long, default_value_t = 4)]
    pub max_sessions: usize,
    /// The most inferences one session may ask for: an evaluator asking for more is
    /// disconnected, so no client holds a session slot forever.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_inferences: usize,
    /// Handshake deadline in seconds: the time a client may keep the server waiting
    /// before its rate counts (its hello arrives at once); see --min-rate.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub handshake_timeout: f64,
    /// Minimum rate a client must send at, in bytes per second of the server's
    /// waiting: past the handshake deadline, each second waited must be paid for
    /// with this many bytes received, so a client trickling a byte every few
    /// seconds is dropped instead of holding a session slot (--timeout alone is
    /// per read).
    #[arg(long, default_value_t = 64, value_name = "BYTES")]
    pub min_rate: u64,
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The garbler's address, e.g. server.example:7878.
    #[arg(long, value_name = "ADDR")]
    pub connect: String,
    /// How long to keep trying to connect, in seconds: a server that is not
    /// listening yet (still loading its circuit) is retried with backoff until then.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub connect_timeout: f64,
    /// Print the outputs as JSON, as `garnet eval --json` does (the report then goes to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print the outputs as JSON, as `garnet eval --json` does (reports go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Connect the two parties with an in-memory channel instead of loopback TCP.
    #[arg(long)]
    pub in_memory: bool,
}

/// Opens the model a two-party command names.
fn open(common: &Common) -> Result<Model> {
    let mut m = Model::open(&common.file, common.weights.as_deref())?;
    if let Some(owners) = &common.owners {
        m.set_owners(owners)?;
    }
    Ok(m)
}

/// Prints the outputs of every inference of a session: one block per inference
/// (`inference N:` when there are several), or one JSON object per line.
pub(crate) fn print_inferences(
    m: &Model,
    all: &[Vec<Option<Vec<bool>>>],
    json: bool,
) -> Result<()> {
    for (j, outputs) in all.iter().enumerate() {
        if all.len() > 1 && !json {
            println!("inference {}:", j + 1);
        }
        crate::cmd::print::decoded(m, &m.decode(outputs)?, json)?;
    }
    Ok(())
}

/// A session's report: the one inference's, or for several a line saying how many
/// and their reports combined phase by phase.
fn session_report(outs: &[SessionOutcome]) -> String {
    let reports: Vec<SessionReport> = outs.iter().map(|o| o.report.clone()).collect();
    let Some(all) = SessionReport::combine(&reports) else {
        return "no inference ran".into();
    };
    if reports.len() == 1 {
        return all.to_string();
    }
    format!(
        "{} inferences in one session, {:.1} ms each on average:\n{all}",
        reports.len(),
        1e3 * all.total_seconds() / reports.len() as f64
    )
}

// ---------------------------------------------------------------------------
// garnet garble

pub fn run_garble(args: GarbleArgs) -> Result<()> {
    let mut model = open(&args.common)?;
    model.threads = threads(&args.common, 1)?;
    model.scheme = args.common.scheme;
    if args.max_inferences == 0 {
        bail!("--max-inferences must be at least 1");
    }
    model.max_inferences = Some(args.max_inferences);
    let inputs = model.party_inputs(&args.common.inputs, Party::Garbler)?;
    let to = timeout(args.common.timeout)?;
    let pace = garnet_runtime::tcp::Pace {
        handshake: timeout(args.handshake_timeout).context("--handshake-timeout")?,
        min_rate: args.min_rate,
    };
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("garbler: ready, listening on {addr}");
    let mut cfg = ServeConfig {
        max_sessions: args.max_sessions,
        timeout: to,
        pace,
        limit: None,
        stop: None,
    };
    if args.once {
        let mut p = Progress::new(model.gate_count());
        let mut cb = |d| p.update(d);
        let (peer, outs, log) =
            garnet_infer::serve::serve_once(&listener, &model, &inputs, &cfg, Some(&mut cb))?;
        p.finish();
        report_session(&model, &log, &outs);
        return log
            .outcome
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("session with {peer} failed"));
    }
    // SIGINT/SIGTERM: stop accepting, finish the running sessions, exit 0.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if !flag.swap(true, Ordering::SeqCst) {
            eprintln!("garbler: stopping: no new sessions; finishing the running ones");
        }
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    cfg.stop = Some(stop);
    let model = Arc::new(model);
    let m2 = model.clone();
    let n = garnet_infer::serve::serve(
        &listener,
        model,
        Arc::new(inputs),
        &cfg,
        move |log, outs| report_session(&m2, log, outs),
    )?;
    eprintln!("garbler: stopped after {n} session(s)");
    Ok(())
}

/// The garbler's log line for a session, then (if the circuit gives the garbler
/// outputs) what it learned.
fn report_session(m: &Model, log: &garnet_infer::serve::SessionLog, outs: &[SessionOutcome]) {
    eprintln!("garbler: {log}");
    if !outs.is_empty() {
        // The per-phase report, also of the finished inferences of a failed session.
        let how = if log.outcome.is_ok() {
            "done"
        } else {
            "ended early; its finished inferences"
        };
        eprintln!(
            "garbler: session with {} {how}\n{}",
            log.peer,
            session_report(outs)
        );
    }
    if outs.iter().any(|o| o.outputs.iter().any(|x| x.is_some())) {
        let learned: Vec<Vec<Option<Vec<bool>>>> = outs.iter().map(|o| o.outputs.clone()).collect();
        if let Err(e) = print_inferences(m, &learned, false) {
            eprintln!(
                "garbler: cannot print the outputs of the session with {}: {e:#}",
                log.peer
            );
        }
        let _ = std::io::stdout().flush();
    }
}

// ---------------------------------------------------------------------------
// garnet evaluate

pub fn run_evaluate(args: EvaluateArgs) -> Result<()> {
    let mut model = open(&args.common)?;
    model.threads = threads(&args.common, 1)?;
    model.scheme = args.common.scheme;
    let inputs = model.party_inputs_per_inference(&args.common.inputs, Party::Evaluator)?;
    let to = timeout(args.common.timeout)?;
    let connect_to = timeout(args.connect_timeout)?;
    let mut ch = garnet_infer::serve::connect(&args.connect, connect_to, to, |e| {
        eprintln!(
            "evaluator: waiting for the server at {} (up to {:.0} s, --connect-timeout): {e}",
            args.connect, args.connect_timeout
        )
    })?;
    // Each inference's result is printed (and flushed) as soon as it is known, so
    // a server that dies mid-session costs only the inferences not yet done.
    let k = inputs.len();
    let mut outs: Vec<SessionOutcome> = Vec::new();
    let mut printing: Result<()> = Ok(());
    let mut p = Progress::new(model.gate_count());
    let mut cb = |d| p.update(d);
    let r = garnet_infer::serve::query_each(
        &mut ch,
        &model,
        &inputs,
        Some(&mut cb),
        &mut |o: SessionOutcome| {
            if printing.is_ok() {
                if k > 1 && !args.json {
                    println!("inference {}:", outs.len() + 1);
                }
                printing = model
                    .decode(&o.outputs)
                    .and_then(|d| crate::cmd::print::decoded(&model, &d, args.json));
                let _ = std::io::stdout().flush();
            }
            outs.push(o);
        },
    );
    p.finish();
    printing?;
    if let Err(e) = r {
        let done = outs.len();
        let failed = match k - done.min(k) {
            0 => "none lacks a result".to_string(),
            1 => format!("inference {k} has no result"),
            _ => format!("inferences {}-{k} have no result", done + 1),
        };
        if args.json {
            let why = format!("{e:#}");
            for j in done + 1..=k {
                println!("{}", serde_json::json!({ "inference": j, "error": why }));
            }
        }
        if done > 0 {
            eprintln!("{}", session_report(&outs));
        }
        return Err(e.context(format!(
            "the session failed after {done} of {k} inferences: {failed}"
        )));
    }
    eprintln!("{}", session_report(&outs));
    Ok(())
}

// ---------------------------------------------------------------------------
// garnet run

pub fn run_run(args: RunArgs) -> Result<()> {
    let mut model = open(&args.common)?;
    model.threads = threads(&args.common, 2)?;
    model.scheme = args.common.scheme;
    let (gi, eis) = model.split_inputs(&args.common.inputs)?;
    let to = timeout(args.common.timeout)?;
    let mut p = Progress::new(model.gate_count());
    let mut cb = |d| p.update(d);
    let r = garnet_infer::serve::both_parties(&model, &gi, &eis, args.in_memory, to, Some(&mut cb));
    p.finish();
    let (g, e) = r?;
    // Every output is learned by one side or both (and both agree).
    let learned: Vec<Vec<Option<Vec<bool>>>> = g
        .iter()
        .zip(&e)
        .map(|(g, e)| {
            g.outputs
                .iter()
                .zip(&e.outputs)
                .map(|(a, b)| b.clone().or_else(|| a.clone()))
                .collect()
        })
        .collect();
    print_inferences(&model, &learned, args.json)?;
    let reports = format!("{}\n{}", session_report(&g), session_report(&e));
    if args.json {
        eprintln!("{reports}");
    } else {
        println!("{reports}");
    }
    Ok(())
}

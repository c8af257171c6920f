//! The two-party commands: `garnet garble` (the garbler, a server), `garnet evaluate`
//! (the evaluator, a client), `garnet run` (both in one process) and `garnet bench`.
//!
//! Security model: semi-honest (honest-but-curious), as in DeepSecure. The evaluator
//! learns the outputs the circuit addresses to it and nothing about the garbler's
//! inputs beyond them; the garbler learns the outputs addressed to it and nothing
//! about the evaluator's inputs. Both learn the circuit (it is public) and its size.

use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::values::collect_inputs;
use garnet_circuits::{Circuit, Party};
use garnet_runtime::Channel;
use garnet_runtime::memory::MemoryChannel;
use garnet_runtime::session::{SessionOutcome, SessionReport};
use garnet_runtime::tcp::{ServeOptions, TcpChannel, serve};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod bench;
mod side;

pub use bench::{BenchArgs, run_bench};
use side::*;

// ---------------------------------------------------------------------------
// Arguments

/// Arguments every two-party command shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// A circuit file: .gcirc (streamed, never held in memory) or Bristol; or a .gnet
    /// network, compiled in memory (both parties must compile the same source).
    pub file: PathBuf,
    /// This party's inputs. Circuits: NAME=VALUE, VALUE decimal (negative = two's
    /// complement), 0x… or 0b…. Networks: NAME=FILE, a JSON array, .npy or CSV of reals.
    /// The evaluator may give its inputs k times, or network files of k samples (an .npy
    /// of shape [k, …], k CSV rows): one session then runs k inferences (handshake and
    /// base OTs once) on the garbler's fixed inputs; an input given once serves them all.
    #[arg(long = "input", short = 'i', value_name = "NAME=VALUE|FILE")]
    pub inputs: Vec<String>,
    /// For a .gnet network: the weights (.safetensors). The party that owns the parameters
    /// passes them; with `params public` both parties do.
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
}

#[derive(clap::Args, Debug)]
pub struct GarbleArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address to listen on, e.g. 0.0.0.0:7878 (port 0 picks a free port; the address is
    /// printed on standard error).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Serve one session, then exit with its result.
    #[arg(long)]
    pub once: bool,
    /// Sessions served at once, one thread each.
    #[arg(long, default_value_t = 4)]
    pub max_sessions: usize,
    /// The most inferences one session may ask for: an evaluator asking for more is
    /// disconnected, so no client holds a session slot forever.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_inferences: usize,
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The garbler's address, e.g. server.example:7878.
    #[arg(long, value_name = "ADDR")]
    pub connect: String,
    /// Connect timeout in seconds.
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

/// Prints the outputs a party learned: decoded values for a network (as `garnet eval`
/// prints them), hex and decimal for a circuit.
fn print_learned(l: &Loaded, outputs: &[Option<Vec<bool>>], json: bool) -> Result<()> {
    let Some(n) = &l.network else {
        let (view, bits) = learned(&l.meta, outputs);
        return crate::cmd::eval::print_outputs(&view, &bits, json);
    };
    // Unknown outputs decode from zeros and are then left out.
    let full: Vec<Vec<bool>> = l
        .meta
        .outputs
        .iter()
        .zip(outputs)
        .map(|(spec, o)| o.clone().unwrap_or_else(|| vec![false; spec.bits.len()]))
        .collect();
    let decoded = garnet_compiler::decode_outputs(&n.net, &full)?;
    let mut view = n.net.clone();
    let known: Vec<&str> = l
        .meta
        .outputs
        .iter()
        .zip(outputs)
        .filter(|(_, o)| o.is_some())
        .map(|(spec, _)| spec.name.as_str())
        .collect();
    view.outputs.retain(|o| known.contains(&o.name.as_str()));
    crate::cmd::network::print_outputs(&view, &decoded, json)
}

/// The outputs of every inference of a session: as [`print_learned`] for one; for
/// several, each under an `inference N:` line, or one JSON object per line.
fn print_inferences(l: &Loaded, all: &[Vec<Option<Vec<bool>>>], json: bool) -> Result<()> {
    for (j, outputs) in all.iter().enumerate() {
        if all.len() > 1 && !json {
            println!("inference {}:", j + 1);
        }
        print_learned(l, outputs, json)?;
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

/// The outputs a party learned, as a circuit-shaped (name, bits) list.
fn learned(c: &Circuit, outputs: &[Option<Vec<bool>>]) -> (Circuit, Vec<Vec<bool>>) {
    let mut view = Circuit::default();
    let mut bits = Vec::new();
    for (spec, v) in c.outputs.iter().zip(outputs) {
        if let Some(v) = v {
            view.outputs.push(spec.clone());
            bits.push(v.clone());
        }
    }
    (view, bits)
}

// ---------------------------------------------------------------------------
// garnet garble

pub fn run_garble(args: GarbleArgs) -> Result<()> {
    let mut loaded = load(&args.common)?;
    if args.max_inferences == 0 {
        bail!("--max-inferences must be at least 1");
    }
    loaded.max_inferences = Some(args.max_inferences);
    let loaded = Arc::new(loaded);
    let inputs = Arc::new(party_inputs(&loaded, &args.common.inputs, Party::Garbler)?);
    let to = timeout(args.common.timeout)?;
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("garbler: listening on {addr}");
    if args.once {
        let (stream, peer) = listener.accept().context("accept failed")?;
        let mut ch = TcpChannel::new(stream, to)?;
        let mut p = Progress::new(loaded.gate_count);
        let mut cb = |d| p.update(d);
        let ins = std::slice::from_ref(&*inputs);
        let (outs, r) = sessions_keeping(Party::Garbler, &mut ch, &loaded, ins, Some(&mut cb));
        p.finish();
        print_garbler_outcomes(&loaded, &outs, &peer.to_string(), r.is_ok());
        return r.with_context(|| format!("session with {peer} failed"));
    }
    let opts = ServeOptions {
        max_sessions: args.max_sessions,
        limit: None,
        timeout: to,
    };
    let (l2, i2) = (loaded.clone(), inputs.clone());
    serve(&listener, &opts, move |mut ch| {
        let peer = ch
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "?".into());
        let ins = std::slice::from_ref(&*i2);
        let (outs, r) = sessions_keeping(Party::Garbler, &mut ch, &l2, ins, None);
        print_garbler_outcomes(&l2, &outs, &peer, r.is_ok());
        if let Err(e) = r {
            eprintln!("garbler: session with {peer} failed: {e:#}");
        }
    })?;
    Ok(())
}

/// What a garbler's session gave: its report and the outputs it learned (of the
/// inferences that ended, when the session failed later).
fn print_garbler_outcomes(l: &Loaded, outs: &[SessionOutcome], peer: &str, complete: bool) {
    if outs.is_empty() {
        return;
    }
    let how = if complete {
        "done"
    } else {
        "ended early; its finished inferences"
    };
    eprintln!(
        "garbler: session with {peer} {how}\n{}",
        session_report(outs)
    );
    if outs.iter().any(|o| o.outputs.iter().any(|x| x.is_some())) {
        let learned: Vec<Vec<Option<Vec<bool>>>> = outs.iter().map(|o| o.outputs.clone()).collect();
        if let Err(e) = print_inferences(l, &learned, false) {
            eprintln!("garbler: cannot print the outputs of the session with {peer}: {e:#}");
        }
        let _ = std::io::stdout().flush();
    }
}

// ---------------------------------------------------------------------------
// garnet evaluate

pub fn run_evaluate(args: EvaluateArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let inputs = party_inputs_per_inference(&loaded, &args.common.inputs, Party::Evaluator)?;
    let to = timeout(args.common.timeout)?;
    let mut ch = TcpChannel::connect(args.connect.as_str(), timeout(args.connect_timeout)?, to)?;
    let mut p = Progress::new(loaded.gate_count);
    let mut cb = |d| p.update(d);
    let outs = sessions(Party::Evaluator, &mut ch, &loaded, &inputs, Some(&mut cb));
    p.finish();
    let outs = outs?;
    let learned: Vec<Vec<Option<Vec<bool>>>> = outs.iter().map(|o| o.outputs.clone()).collect();
    print_inferences(&loaded, &learned, args.json)?;
    eprintln!("{}", session_report(&outs));
    Ok(())
}

// ---------------------------------------------------------------------------
// garnet run

pub fn run_run(args: RunArgs) -> Result<()> {
    let loaded = load(&args.common)?;
    let (gi, eis) = if let Some(n) = &loaded.network {
        // Each side gets the --input files of its own network inputs.
        let own = |p: Party| -> Vec<String> {
            args.common
                .inputs
                .iter()
                .filter(|a| {
                    let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
                    !n.net.inputs.iter().any(|i| {
                        n.net.tensors[i.tensor].name == name
                            && crate::cmd::network::circuit_party(i.owner) != p
                    })
                })
                .cloned()
                .collect()
        };
        (
            party_inputs(&loaded, &own(Party::Garbler), Party::Garbler)?,
            party_inputs_per_inference(&loaded, &own(Party::Evaluator), Party::Evaluator)?,
        )
    } else {
        let split = |all: &[Vec<bool>], p: Party| -> Vec<Vec<bool>> {
            loaded
                .meta
                .inputs
                .iter()
                .zip(all)
                .map(|(s, v)| if s.owner == p { v.clone() } else { Vec::new() })
                .collect()
        };
        let mut gi = None;
        let mut eis = Vec::new();
        for batch in per_inference(&args.common.inputs)? {
            let all = collect_inputs(&loaded.meta, &batch, None).context("bad --input")?;
            let g = split(&all, Party::Garbler);
            if gi.get_or_insert_with(|| g.clone()) != &g {
                bail!("the garbler's inputs are fixed for a session: give each once");
            }
            eis.push(split(&all, Party::Evaluator));
        }
        (gi.unwrap_or_default(), eis)
    };
    let to = timeout(args.common.timeout)?;
    let (g, e) = both_parties(&loaded, &gi, &eis, args.in_memory, to)?;
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
    print_inferences(&loaded, &learned, args.json)?;
    let reports = format!("{}\n{}", session_report(&g), session_report(&e));
    if args.json {
        eprintln!("{reports}");
    } else {
        println!("{reports}");
    }
    Ok(())
}

/// Both sides of one session: the garbler on `gi`, the evaluator one inference per
/// entry of `eis`; their outcomes.
fn both_parties(
    l: &Loaded,
    gi: &[Vec<bool>],
    eis: &[Vec<Vec<bool>>],
    in_memory: bool,
    to: Duration,
) -> Result<(Vec<SessionOutcome>, Vec<SessionOutcome>)> {
    let (mut gch, mut ech): (Box<dyn Channel>, Box<dyn Channel>) = if in_memory {
        let (a, b) = MemoryChannel::pair_with_timeout(to);
        (Box::new(a), Box::new(b))
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
        let addr = listener.local_addr()?;
        let client = TcpChannel::connect(addr, Duration::from_secs(10), to)?;
        let (server, _) = listener.accept()?;
        (Box::new(TcpChannel::new(server, to)?), Box::new(client))
    };
    std::thread::scope(|s| {
        let g = s.spawn(move || {
            let r = sessions(
                Party::Garbler,
                &mut *gch,
                l,
                std::slice::from_ref(&gi.to_vec()),
                None,
            );
            drop(gch);
            r
        });
        let mut p = Progress::new(l.gate_count);
        let mut cb = |d| p.update(d);
        let e = sessions(Party::Evaluator, &mut *ech, l, eis, Some(&mut cb));
        p.finish();
        drop(ech);
        let g = g.join().map_err(|_| anyhow!("garbler thread panicked"))?;
        match (g, e) {
            (Ok(g), Ok(e)) => Ok((g, e)),
            (Err(g), Err(e)) => Err(anyhow!("{g:#}; {e:#}")),
            (Err(x), _) | (_, Err(x)) => Err(x),
        }
    })
}

//! The two-party commands: `garnet garble` (the garbler, a server), `garnet evaluate`
//! (the evaluator, a client), `garnet run` (both in one process) and `garnet bench`.
//!
//! Security model: semi-honest (honest-but-curious), as in DeepSecure. The evaluator
//! learns the outputs the circuit addresses to it and nothing about the garbler's
//! inputs beyond them; the garbler learns the outputs addressed to it and nothing
//! about the evaluator's inputs. Both learn the circuit (it is public) and its size.

use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::format::gcirc::GateReader;
use garnet_circuits::values::collect_inputs;
use garnet_circuits::{Circuit, Party};
use garnet_runtime::Channel;
use garnet_runtime::error::SessionError;
use garnet_runtime::garble::GateItem;
use garnet_runtime::memory::MemoryChannel;
use garnet_runtime::session::{
    SessionOptions, SessionOutcome, SessionReport, run_evaluator_each, serve_garbler,
};
use garnet_runtime::synthetic::AndLayers;
use garnet_runtime::tcp::{ServeOptions, TcpChannel, serve};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Correlated OTs for the OT extension figure.
    #[arg(long, default_value_t = 10_000_000)]
    pub cots: usize,
    /// Internal: run as the garbler peer of the end-to-end benchmark.
    #[arg(long, hide = true)]
    pub e2e_peer: bool,
}

// ---------------------------------------------------------------------------
// Loading circuits and inputs

enum Gates {
    /// The gates are in `meta.gates`.
    Memory,
    /// Streamed from a .gcirc file on every session.
    Gcirc(PathBuf),
    /// Generated on the fly.
    Synthetic(AndLayers),
}

/// A circuit ready for sessions: its inputs/outputs/wires, its digest, its gates,
/// and the network it was compiled from, if any.
struct Loaded {
    meta: Circuit,
    digest: [u8; 32],
    gate_count: u64,
    gates: Gates,
    network: Option<super::network::Compiled>,
}

fn parse_owner(s: &str) -> Result<Party> {
    match s.trim().to_ascii_lowercase().as_str() {
        "g" | "garbler" => Ok(Party::Garbler),
        "e" | "evaluator" => Ok(Party::Evaluator),
        other => bail!("--owners: `{other}` is not an owner (use garbler/g or evaluator/e)"),
    }
}

fn open_gcirc(path: &Path) -> Result<GateReader<BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    GateReader::new(BufReader::with_capacity(1 << 16, f))
        .with_context(|| format!("cannot load circuit {}", path.display()))
}

fn load(common: &Common) -> Result<Loaded> {
    let path = &common.file;
    if super::network::is_network(path) {
        if common.owners.is_some() {
            bail!("--owners is for circuit files: a .gnet network names its owners itself");
        }
        let compiled = super::network::compile(path, common.weights.as_deref())?;
        let meta = compiled.circuit.clone();
        return Ok(Loaded {
            digest: garnet_circuits::format::gcirc::digest(&meta),
            gate_count: meta.gates.len() as u64,
            meta,
            gates: Gates::Memory,
            network: Some(compiled),
        });
    }
    if common.weights.is_some() {
        bail!(
            "--weights is for .gnet networks; {} is a circuit file",
            path.display()
        );
    }
    let mut head = [0u8; 8];
    let is_gcirc = {
        let mut f =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
        garnet_circuits::format::detect(&head[..n]) == garnet_circuits::format::Format::Gcirc
    };
    let mut loaded = if is_gcirc {
        // Pass 1 checks the whole file and its digest without keeping the gates.
        let mut r = open_gcirc(path)?;
        let digest = r
            .finish()
            .with_context(|| format!("cannot load circuit {}", path.display()))?;
        let h = r.into_header();
        let meta = Circuit {
            inputs: h.inputs,
            outputs: h.outputs,
            gates: Vec::new(),
            wires: h.wires,
            sections: Vec::new(),
        };
        Loaded {
            meta,
            digest,
            gate_count: h.gates,
            gates: Gates::Gcirc(path.clone()),
            network: None,
        }
    } else {
        let c = super::load::circuit(path)?;
        garnet_circuits::passes::validate(&c)
            .with_context(|| format!("invalid circuit {}", path.display()))?;
        let digest = garnet_circuits::format::gcirc::digest(&c);
        Loaded {
            gate_count: c.gates.len() as u64,
            meta: c,
            digest,
            gates: Gates::Memory,
            network: None,
        }
    };
    if let Some(owners) = &common.owners {
        if owners.len() != loaded.meta.inputs.len() {
            bail!(
                "--owners lists {} owners but the circuit has {} input values ({})",
                owners.len(),
                loaded.meta.inputs.len(),
                loaded
                    .meta
                    .inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (spec, o) in loaded.meta.inputs.iter_mut().zip(owners) {
            spec.owner = parse_owner(o)?;
        }
    }
    Ok(loaded)
}

/// This party's inputs as one vector per circuit input (empty for the peer's).
fn party_inputs(l: &Loaded, assignments: &[String], party: Party) -> Result<Vec<Vec<bool>>> {
    match &l.network {
        Some(n) => network_inputs(n, assignments, party),
        None => circuit_inputs(&l.meta, assignments, party),
    }
}

/// A network party's input bits: its input files and, if it owns them, the weights.
fn network_inputs(
    n: &super::network::Compiled,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
    let values = super::network::load_party_inputs(&n.net, assignments, Some(party))?;
    network_bits(n, &values, party)
}

/// The circuit inputs of one sample of a network party's values (and, if it owns
/// them, the weights); empty for the other party's inputs.
fn network_bits(
    n: &super::network::Compiled,
    values: &[Vec<i64>],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
    use garnet_compiler::ir::ParamsOwner;
    let net = &n.net;
    let owns_params = matches!(net.params_owner,
        ParamsOwner::Party(p) if super::network::circuit_party(p) == party);
    let all: Vec<Vec<bool>> = if owns_params {
        if n.weights.is_none() {
            bail!(
                "this party provides the parameters of `{}`: pass --weights W.safetensors",
                net.name
            );
        }
        garnet_compiler::circuit_inputs(net, &n.circuit, n.weights.as_ref(), values)?
    } else {
        // Network inputs come first in the circuit; the parameters are the peer's.
        net.inputs
            .iter()
            .zip(values)
            .map(|(i, v)| {
                let t = &net.tensors[i.tensor];
                garnet_compiler::tensor_bits(&t.name, v, t.len(), t.format)
            })
            .collect::<Result<_, _>>()?
    };
    Ok(n.circuit
        .inputs
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            if spec.owner == party {
                all.get(k).cloned().unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect())
}

fn circuit_inputs(c: &Circuit, assignments: &[String], party: Party) -> Result<Vec<Vec<bool>>> {
    let mut ours = collect_inputs(c, assignments, Some(party))
        .context("bad --input")?
        .into_iter();
    Ok(c.inputs
        .iter()
        .map(|s| {
            if s.owner == party {
                ours.next().unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Running one side

/// The gates of a `.gcirc` file, opened anew for each inference of a session; a
/// file that cannot be reopened ends the stream with its error.
enum Reopened {
    Reader(Box<GateReader<BufReader<std::fs::File>>>),
    Failed(Option<std::io::Error>),
}

impl Reopened {
    fn open(path: &Path) -> Reopened {
        match open_gcirc(path) {
            Ok(r) => Reopened::Reader(Box::new(r)),
            Err(e) => Reopened::Failed(Some(std::io::Error::other(format!("{e:#}")))),
        }
    }
}

impl Iterator for Reopened {
    type Item = Result<garnet_circuits::Gate, std::io::Error>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Reopened::Reader(r) => r
                .next()
                .map(|g| g.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
            Reopened::Failed(e) => e.take().map(Err),
        }
    }
}

/// Runs one side of a session: the garbler serves as many inferences as the
/// evaluator asks for, on its one set of `inputs`; the evaluator runs one inference
/// per entry of `inputs`. `each` gets every outcome.
fn run_side<F, I>(
    party: Party,
    ch: &mut dyn Channel,
    l: &Loaded,
    gates: F,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
    each: &mut dyn FnMut(SessionOutcome),
) -> Result<(), SessionError>
where
    F: FnMut() -> I,
    I: IntoIterator,
    I::Item: GateItem,
{
    let opts = SessionOptions { progress };
    match party {
        Party::Garbler => {
            let [one] = inputs else {
                return Err(SessionError::Input(
                    "the garbler's inputs are fixed for a session: give each once".into(),
                ));
            };
            serve_garbler(ch, &l.meta, l.digest, gates, one, opts, each).map(|_| ())
        }
        Party::Evaluator => run_evaluator_each(ch, &l.meta, l.digest, gates, inputs, opts, each),
    }
}

/// A session (see [`run_side`]); the outcomes in order.
fn sessions(
    party: Party,
    ch: &mut dyn Channel,
    l: &Loaded,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<Vec<SessionOutcome>> {
    let who = if party == Party::Garbler {
        "garbler"
    } else {
        "evaluator"
    };
    let mut outs = Vec::new();
    let mut each = |o| outs.push(o);
    let r = match &l.gates {
        Gates::Memory => run_side(
            party,
            ch,
            l,
            || l.meta.gates.iter().copied(),
            inputs,
            progress,
            &mut each,
        ),
        Gates::Gcirc(path) => run_side(
            party,
            ch,
            l,
            || Reopened::open(path),
            inputs,
            progress,
            &mut each,
        ),
        Gates::Synthetic(s) => {
            run_side(party, ch, l, || s.gates_iter(), inputs, progress, &mut each)
        }
    };
    r.map_err(|e| anyhow!("{who}: {e}"))?;
    Ok(outs)
}

/// A session of one inference.
fn session(
    party: Party,
    ch: &mut dyn Channel,
    l: &Loaded,
    inputs: &[Vec<bool>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<SessionOutcome> {
    sessions(
        party,
        ch,
        l,
        std::slice::from_ref(&inputs.to_vec()),
        progress,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow!("the session ended before its inference"))
}

/// Splits `--input` assignments into one list per inference: an input given k
/// times takes its j-th value in inference j, one given once serves them all.
fn per_inference(assignments: &[String]) -> Result<Vec<Vec<String>>> {
    let name = |a: &String| a.split_once('=').map_or(a.clone(), |(n, _)| n.to_string());
    let mut names: Vec<String> = Vec::new();
    let mut values: Vec<Vec<String>> = Vec::new();
    for a in assignments {
        let n = name(a);
        match names.iter().position(|x| *x == n) {
            Some(i) => values[i].push(a.clone()),
            None => {
                names.push(n);
                values.push(vec![a.clone()]);
            }
        }
    }
    let k = values.iter().map(Vec::len).max().unwrap_or(1);
    if let Some((n, v)) = names
        .iter()
        .zip(&values)
        .find(|(_, v)| v.len() != 1 && v.len() != k)
    {
        bail!(
            "--input {n} is given {} times but another input {k} times: give each input once (for every inference) or as often as the others",
            v.len()
        );
    }
    Ok((0..k)
        .map(|j| {
            values
                .iter()
                .map(|v| v[j.min(v.len() - 1)].clone())
                .collect()
        })
        .collect())
}

/// This party's inputs for each inference: for a circuit an input given k times
/// (see [`per_inference`]), for a network also files holding several samples.
fn party_inputs_per_inference(
    l: &Loaded,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<Vec<bool>>>> {
    if let Some(n) = &l.network {
        let samples = super::network::load_party_samples(&n.net, assignments, Some(party))?;
        let k = samples.len();
        return samples
            .iter()
            .enumerate()
            .map(|(j, v)| {
                network_bits(n, v, party).with_context(|| format!("sample {} of {k}", j + 1))
            })
            .collect();
    }
    let batches = per_inference(assignments)?;
    let k = batches.len();
    batches
        .iter()
        .enumerate()
        .map(|(j, b)| {
            circuit_inputs(&l.meta, b, party).with_context(|| format!("inference {} of {k}", j + 1))
        })
        .collect()
}

/// A progress bar on standard error that appears once a run passes one second.
struct Progress {
    start: Instant,
    total: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            start: Instant::now(),
            total,
            bar: None,
        }
    }
    fn update(&mut self, done: u64) {
        if self.bar.is_none() && self.start.elapsed() > Duration::from_secs(1) {
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {percent}% {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message("gates");
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

fn timeout(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        bail!("timeout must be a positive number of seconds, got {secs}");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Prints the outputs a party learned: decoded values for a network (as `garnet eval`
/// prints them), hex and decimal for a circuit.
fn print_learned(l: &Loaded, outputs: &[Option<Vec<bool>>], json: bool) -> Result<()> {
    let Some(n) = &l.network else {
        let (view, bits) = learned(&l.meta, outputs);
        return super::eval::print_outputs(&view, &bits, json);
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
    super::network::print_outputs(&view, &decoded, json)
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
    let loaded = Arc::new(load(&args.common)?);
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
        let outs = sessions(Party::Garbler, &mut ch, &loaded, ins, Some(&mut cb));
        p.finish();
        let outs = outs.with_context(|| format!("session with {peer} failed"))?;
        print_garbler_outcomes(&loaded, &outs, &peer.to_string());
        return Ok(());
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
        match sessions(
            Party::Garbler,
            &mut ch,
            &l2,
            std::slice::from_ref(&*i2),
            None,
        ) {
            Ok(outs) => print_garbler_outcomes(&l2, &outs, &peer),
            Err(e) => eprintln!("garbler: session with {peer} failed: {e:#}"),
        }
    })?;
    Ok(())
}

fn print_garbler_outcomes(l: &Loaded, outs: &[SessionOutcome], peer: &str) {
    eprintln!(
        "garbler: session with {peer} done\n{}",
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
                            && super::network::circuit_party(i.owner) != p
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

// ---------------------------------------------------------------------------
// garnet bench

/// Peak resident memory of this process in bytes (Linux), if known.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

const E2E_WIDTH: u32 = 4096;

fn synthetic(ands: u64) -> Loaded {
    let s = AndLayers::with_ands(ands, E2E_WIDTH);
    Loaded {
        meta: s.meta(),
        digest: s.digest(),
        gate_count: s.gates(),
        gates: Gates::Synthetic(s),
        network: None,
    }
}

fn e2e_inputs(l: &Loaded, p: Party) -> Vec<Vec<bool>> {
    l.meta
        .inputs
        .iter()
        .map(|s| {
            if s.owner == p {
                (0..s.bits).map(|i| i % 3 != 1).collect()
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// The child side of the end-to-end benchmark: print the port, garble one session,
/// print the peak memory.
fn e2e_peer(ands: u64) -> Result<()> {
    let l = synthetic(ands);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("port {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let (stream, _) = listener.accept()?;
    let mut ch = TcpChannel::new(stream, Duration::from_secs(60))?;
    let out = session(
        Party::Garbler,
        &mut ch,
        &l,
        &e2e_inputs(&l, Party::Garbler),
        None,
    )?;
    drop(ch);
    println!("rss {}", peak_rss().unwrap_or(0));
    println!("garbling_seconds {}", out.report.total_seconds());
    Ok(())
}

struct E2e {
    and_per_second: f64,
    seconds: f64,
    garbler_rss: u64,
    evaluator_rss: u64,
    report: SessionReport,
}

fn e2e(ands: u64) -> Result<E2e> {
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
    let l = synthetic(ands);
    let start = Instant::now();
    let mut ch = TcpChannel::connect(
        format!("127.0.0.1:{port}").as_str(),
        Duration::from_secs(10),
        Duration::from_secs(60),
    )
    .map_err(|e| anyhow!("{e}"))?;
    let out = session(
        Party::Evaluator,
        &mut ch,
        &l,
        &e2e_inputs(&l, Party::Evaluator),
        None,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    drop(ch);
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
        and_per_second: AndLayers::with_ands(ands, E2E_WIDTH).ands() as f64 / seconds,
        seconds,
        garbler_rss,
        evaluator_rss: peak_rss().unwrap_or(0),
        report: out.report,
    })
}

pub fn run_bench(args: BenchArgs) -> Result<()> {
    if args.e2e_peer {
        return e2e_peer(args.ands);
    }
    if args.ands == 0 || args.layer_ands == 0 || args.cots == 0 {
        bail!("--ands, --layer-ands and --cots must be positive");
    }
    // End-to-end first, so that the evaluator's peak memory is the session's.
    let e2e = e2e(args.ands)?;
    let layer = garnet_runtime::synthetic::measure_layer(args.layer_ands, 10);
    let (garble_ns, eval_ns) = (layer.garble_ns, layer.eval_ns);
    let cot = garnet_runtime::ot::bench_cot(args.cots);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "garble_ns_per_and": garble_ns,
                "eval_ns_per_and": eval_ns,
                "garble_cpu_ns_per_and": layer.garble_cpu_ns,
                "eval_cpu_ns_per_and": layer.eval_cpu_ns,
                "cot_per_second": cot,
                "e2e_and_per_second": e2e.and_per_second,
                "e2e_ands": AndLayers::with_ands(args.ands, E2E_WIDTH).ands(),
                "e2e_seconds": e2e.seconds,
                "e2e_garbler_peak_rss_mib": mib(e2e.garbler_rss),
                "e2e_evaluator_peak_rss_mib": mib(e2e.evaluator_rss),
            })
        );
    } else {
        let cpu = |c: Option<f64>| c.map(|c| format!(", {c:.2} on-CPU")).unwrap_or_default();
        println!(
            "garbling    {garble_ns:>8.2} ns/AND  (best wall time{}; one thread, AND-only layer, tables to memory)",
            cpu(layer.garble_cpu_ns)
        );
        println!(
            "evaluation  {eval_ns:>8.2} ns/AND  (best wall time{}; one thread, tables from memory)",
            cpu(layer.eval_cpu_ns)
        );
        println!("IKNP COT    {:>8.1} M/s", cot / 1e6);
        println!(
            "end-to-end  {:>8.1} M AND/s  ({} AND in {:.2} s, two processes over loopback TCP)",
            e2e.and_per_second / 1e6,
            AndLayers::with_ands(args.ands, E2E_WIDTH).ands(),
            e2e.seconds
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

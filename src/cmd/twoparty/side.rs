//! Loading a circuit or network for sessions, each party's inputs (one set per
//! inference), and running one side of a session.

use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::format::gcirc::GateReader;
use garnet_circuits::values::collect_inputs;
use garnet_circuits::{Circuit, Party};
use garnet_runtime::Channel;
use garnet_runtime::error::SessionError;
use garnet_runtime::garble::GateItem;
use garnet_runtime::session::{SessionOptions, SessionOutcome, run_evaluator_each, serve_garbler};
use garnet_runtime::synthetic::AndLayers;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Common;

// ---------------------------------------------------------------------------
// Loading circuits and inputs

pub(super) enum Gates {
    /// The gates are in `meta.gates`.
    Memory,
    /// In the compiled network's circuit.
    Network,
    /// Streamed from `.gcirc` bytes in memory (a network too big to expand).
    Bytes(std::sync::Arc<[u8]>),
    /// Streamed from a .gcirc file on every session.
    Gcirc(PathBuf),
    /// Generated on the fly.
    Synthetic(AndLayers),
}

/// A circuit ready for sessions: its inputs/outputs/wires, its digest, its gates,
/// and the network it was compiled from, if any.
pub(super) struct Loaded {
    pub(super) meta: Circuit,
    pub(super) digest: [u8; 32],
    pub(super) gate_count: u64,
    pub(super) gates: Gates,
    pub(super) network: Option<crate::cmd::network::Compiled>,
    /// For a garbler: the most inferences one session may ask for.
    pub(super) max_inferences: Option<usize>,
}

pub(super) fn parse_owner(s: &str) -> Result<Party> {
    match s.trim().to_ascii_lowercase().as_str() {
        "g" | "garbler" => Ok(Party::Garbler),
        "e" | "evaluator" => Ok(Party::Evaluator),
        other => bail!("--owners: `{other}` is not an owner (use garbler/g or evaluator/e)"),
    }
}

pub(super) fn open_gcirc(path: &Path) -> Result<GateReader<BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    GateReader::new(BufReader::with_capacity(1 << 16, f))
        .with_context(|| format!("cannot load circuit {}", path.display()))
}

pub(super) fn load(common: &Common) -> Result<Loaded> {
    let path = &common.file;
    if crate::cmd::network::is_network(path) {
        if common.owners.is_some() {
            bail!("--owners is for circuit files: a .gnet network names its owners itself");
        }
        let compiled = crate::cmd::network::compile(path, common.weights.as_deref())?;
        let gates = match &compiled.gcirc {
            Some(b) => Gates::Bytes(b.clone()),
            None => Gates::Network,
        };
        return Ok(Loaded {
            meta: Circuit {
                wires: compiled.circuit.wires,
                inputs: compiled.circuit.inputs.clone(),
                outputs: compiled.circuit.outputs.clone(),
                gates: Vec::new(),
                sections: compiled.circuit.sections.clone(),
            },
            digest: compiled.digest,
            gate_count: compiled.gates,
            gates,
            network: Some(compiled),
            max_inferences: None,
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
            max_inferences: None,
        }
    } else {
        let c = crate::cmd::load::circuit(path)?;
        garnet_circuits::passes::validate(&c)
            .with_context(|| format!("invalid circuit {}", path.display()))?;
        let digest = garnet_circuits::format::gcirc::digest(&c);
        Loaded {
            gate_count: c.gates.len() as u64,
            meta: c,
            digest,
            gates: Gates::Memory,
            network: None,
            max_inferences: None,
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
pub(super) fn party_inputs(
    l: &Loaded,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
    match &l.network {
        Some(n) => network_inputs(n, assignments, party),
        None => circuit_inputs(&l.meta, assignments, party),
    }
}

/// A network party's input bits: its input files and, if it owns them, the weights.
pub(super) fn network_inputs(
    n: &crate::cmd::network::Compiled,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
    let values = crate::cmd::network::load_party_inputs(&n.net, assignments, Some(party))?;
    network_bits(n, &values, party)
}

/// The circuit inputs of one sample of a network party's values (and, if it owns
/// them, the weights); empty for the other party's inputs.
pub(super) fn network_bits(
    n: &crate::cmd::network::Compiled,
    values: &[Vec<i64>],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
    use garnet_compiler::ir::ParamsOwner;
    let net = &n.net;
    let owns_params = matches!(net.params_owner,
        ParamsOwner::Party(p) if crate::cmd::network::circuit_party(p) == party);
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

pub(super) fn circuit_inputs(
    c: &Circuit,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<bool>>> {
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
/// file that cannot be reopened, or is no longer the circuit the session announced
/// (its digest, checked at the end before any output bit goes out), ends the stream
/// with an error.
pub(super) enum Reopened<R: BufRead> {
    Reader(Box<GateReader<R>>, [u8; 32]),
    Failed(Option<std::io::Error>),
}

impl Reopened<BufReader<std::fs::File>> {
    fn open(path: &Path, l: &Loaded) -> Self {
        let r = open_gcirc(path).and_then(|r| {
            let h = r.header();
            let widths =
                |c: &[garnet_circuits::InputSpec]| c.iter().map(|i| i.bits).collect::<Vec<_>>();
            if h.wires != l.meta.wires
                || widths(&h.inputs) != widths(&l.meta.inputs)
                || h.outputs != l.meta.outputs
            {
                bail!(
                    "{} changed since this session was set up (another circuit now)",
                    path.display()
                );
            }
            Ok(r)
        });
        Self::from((r, l.digest))
    }
}

impl<'a> Reopened<&'a [u8]> {
    /// The gates of a circuit this process compiled, whose digest it knows.
    fn bytes(b: &'a [u8], digest: [u8; 32]) -> Self {
        let r = GateReader::trusted(b, digest).context("the compiled circuit does not read back");
        Self::from((r, digest))
    }
}

impl<R: BufRead> From<(Result<GateReader<R>>, [u8; 32])> for Reopened<R> {
    fn from((r, digest): (Result<GateReader<R>>, [u8; 32])) -> Self {
        match r {
            Ok(r) => Reopened::Reader(Box::new(r), digest),
            Err(e) => Reopened::Failed(Some(std::io::Error::other(format!("{e:#}")))),
        }
    }
}

impl<R: BufRead> Iterator for Reopened<R> {
    type Item = Result<garnet_circuits::Gate, std::io::Error>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Reopened::Reader(r, want) => match r.next() {
                Some(g) => {
                    Some(g.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
                }
                None if r.digest() == Some(*want) => None,
                None => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the circuit file changed since this session was set up (its digest differs)",
                    );
                    *self = Reopened::Failed(None);
                    Some(Err(e))
                }
            },
            Reopened::Failed(e) => e.take().map(Err),
        }
    }
}

/// Runs one side of a session: the garbler serves as many inferences as the
/// evaluator asks for, on its one set of `inputs`; the evaluator runs one inference
/// per entry of `inputs`. `each` gets every outcome.
pub(super) fn run_side<F, I>(
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
    let opts = SessionOptions {
        progress,
        max_inferences: l.max_inferences,
    };
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
pub(super) fn sessions(
    party: Party,
    ch: &mut dyn Channel,
    l: &Loaded,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<Vec<SessionOutcome>> {
    let (outs, r) = sessions_keeping(party, ch, l, inputs, progress);
    r.map(|()| outs)
}

/// A session (see [`run_side`]): the outcomes of the inferences that ended, and
/// whether the session as a whole did, so a failure late in a session keeps what
/// the earlier inferences gave.
pub(super) fn sessions_keeping(
    party: Party,
    ch: &mut dyn Channel,
    l: &Loaded,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> (Vec<SessionOutcome>, Result<()>) {
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
        Gates::Network => run_side(
            party,
            ch,
            l,
            || {
                l.network
                    .as_ref()
                    .map_or(&[][..], |n| &n.circuit.gates[..])
                    .iter()
                    .copied()
            },
            inputs,
            progress,
            &mut each,
        ),
        Gates::Bytes(b) => run_side(
            party,
            ch,
            l,
            || Reopened::bytes(b, l.digest),
            inputs,
            progress,
            &mut each,
        ),
        Gates::Gcirc(path) => run_side(
            party,
            ch,
            l,
            || Reopened::open(path, l),
            inputs,
            progress,
            &mut each,
        ),
        Gates::Synthetic(s) => {
            run_side(party, ch, l, || s.gates_iter(), inputs, progress, &mut each)
        }
    };
    (outs, r.map_err(|e| anyhow!("{who}: {e}")))
}

/// A session of one inference.
pub(super) fn session(
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
pub(super) fn per_inference(assignments: &[String]) -> Result<Vec<Vec<String>>> {
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
pub(super) fn party_inputs_per_inference(
    l: &Loaded,
    assignments: &[String],
    party: Party,
) -> Result<Vec<Vec<Vec<bool>>>> {
    if let Some(n) = &l.network {
        let samples = crate::cmd::network::load_party_samples(&n.net, assignments, Some(party))?;
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
pub(super) struct Progress {
    start: Instant,
    total: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(super) fn new(total: u64) -> Progress {
        Progress {
            start: Instant::now(),
            total,
            bar: None,
        }
    }
    pub(super) fn update(&mut self, done: u64) {
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
    pub(super) fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

pub(super) fn timeout(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0) {
        bail!("timeout must be a positive number of seconds, got {secs}");
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use rand::SeedableRng;

    fn circuit(seed: u64) -> Circuit {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let spec = RandomSpec {
            input_widths: vec![4, 4],
            gates: 200,
            output_widths: vec![4],
            and_fraction: 0.5,
            window: 0,
        };
        random_circuit(&mut rng, &spec)
    }

    #[test]
    fn a_circuit_file_replaced_during_a_session_is_an_error() {
        let dir = std::env::temp_dir().join(format!("garnet-reopen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.gcirc");
        let write = |c: &Circuit| {
            garnet_circuits::format::write_file(&path, c, garnet_circuits::format::Format::Gcirc)
                .unwrap()
        };
        // b: the same interface and wiring, one gate's operation changed
        let a = circuit(1);
        let mut b = a.clone();
        let k = b
            .gates
            .iter()
            .position(|g| g.op != garnet_circuits::Op::Not)
            .unwrap();
        b.gates[k].op = match b.gates[k].op {
            garnet_circuits::Op::Xor => garnet_circuits::Op::And,
            _ => garnet_circuits::Op::Xor,
        };
        write(&a);
        let common = Common {
            file: path.clone(),
            inputs: Vec::new(),
            weights: None,
            owners: None,
            timeout: 1.0,
        };
        let l = load(&common).unwrap();
        let gates: Vec<_> = Reopened::open(&path, &l).collect();
        assert_eq!(gates.len(), a.gates.len());
        assert!(gates.iter().all(|g| g.is_ok()));
        // same shape, another gate: the stream ends in an error, before any output
        write(&b);
        let last = Reopened::open(&path, &l).last().unwrap();
        let e = last.unwrap_err().to_string();
        assert!(e.contains("changed"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! A model ready for sessions: its [`Interface`], digest, a replayable
//! [`GateSource`] and, for a network, the layer IR with its bound weights.

use crate::embed::NetworkSource;
use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::format::gcirc::{Annotation, GateReader};
use garnet_circuits::{Circuit, Gate, HasInterface, Interface, Party};
use garnet_compiler::ir::{Network, ParamsOwner};
use garnet_compiler::weights::{Weights, load_safetensors};
use garnet_compiler::{Sources, render};
use garnet_runtime::synthetic::AndLayers;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a session's gates come from. Every variant can be replayed: a session of
/// k inferences walks the gates k times, from memory or from the start of the
/// bytes or file, so memory stays per wire slot whatever the circuit's size.
#[derive(Clone, Debug)]
pub enum GateSource {
    /// Gates in memory.
    Memory(Arc<[Gate]>),
    /// A `.gcirc` this process wrote (a network compiled in memory), streamed.
    Bytes(Arc<[u8]>),
    /// A `.gcirc` file, opened anew for each inference; its digest is checked
    /// again at the end of every pass, before any output bit leaves.
    File(PathBuf),
    /// Generated on the fly (benchmarks).
    Synthetic(AndLayers),
}

/// A network's layer IR and its weights, when this party has them.
#[derive(Debug)]
pub struct Bound {
    pub net: Network,
    pub weights: Option<Weights>,
}

/// A circuit or compiled network ready to serve or to query.
#[derive(Debug)]
pub struct Model {
    pub interface: Interface,
    /// SHA-256 of the circuit (the `.gcirc` digest): what the handshake compares.
    pub digest: [u8; 32],
    pub gates: GateSource,
    /// For a network (a `.gnet`, or a `.gcirc` compiled from one).
    pub network: Option<Bound>,
    /// For a garbler: the most inferences one session may ask for.
    pub max_inferences: Option<usize>,
    /// Threads each side's garbling or evaluation uses (1: the session's own thread).
    pub threads: usize,
    /// The garbling scheme of its sessions (both parties must choose the same).
    pub scheme: garnet_runtime::garble::Scheme,
}

/// True if `path` names a network source (`.gnet`).
pub fn is_network(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gnet"))
}

/// Runs the front end on a `.gnet` file; errors are the rendered diagnostics.
pub fn load_network(path: &Path) -> Result<(Network, NetworkSource)> {
    let mut sources = Sources::new();
    let net = garnet_compiler::frontend_file(path, &mut sources).map_err(|d| {
        anyhow!(
            "{} has errors:\n{}",
            path.display(),
            render(&d, &sources).trim_end()
        )
    })?;
    for p in net.projections.iter().filter(|p| p.saturated > 0) {
        eprintln!(
            "warning: {} value(s) of the public `{}.weight` saturated when quantized",
            p.saturated, p.name
        );
    }
    let source = NetworkSource::from_network(&sources, &net);
    Ok((net, source))
}

/// The default of [`read_limit`]: the longest weights or input file read, 256 MiB.
/// Far above what garbling can use: every weight bit becomes a 16-byte label (and
/// every evaluator input bit an OT), so 256 MiB of weights would be gigabytes of
/// labels; the bundled weights are kilobytes.
pub const READ_LIMIT: u64 = 256 << 20;

/// The longest weights (`--weights`) or input (`--input NAME=FILE`) file read, in
/// bytes: [`READ_LIMIT`], or the environment variable `GARNET_READ_LIMIT`. A file
/// named by mistake (`/dev/zero`, a disk image) is then an error naming it and the
/// limit, not gigabytes of memory.
pub fn read_limit() -> u64 {
    std::env::var("GARNET_READ_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(READ_LIMIT)
}

/// Reads a whole weights or input file within [`read_limit`]; `what` says which.
pub fn read_user_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    garnet_circuits::read_capped(path, read_limit()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            anyhow!("{what}: {e} (GARNET_READ_LIMIT=BYTES raises it)")
        } else {
            anyhow!("{what}: {e}")
        }
    })
}

/// Loads and binds a weights file, reporting saturated values on stderr.
pub fn load_weights(net: &Network, path: &Path) -> Result<Weights> {
    let bytes = read_user_file(path, "--weights")?;
    let w = load_safetensors(net, &bytes).with_context(|| format!("in {}", path.display()))?;
    for (tensor, n) in &w.saturated {
        eprintln!("warning: {n} value(s) of `{tensor}` saturated when quantized");
    }
    Ok(w)
}

/// Weights when given; an error if the network has public parameters (they become
/// circuit constants) and none were given. A network without parameters needs none.
pub fn weights_for_compile(net: &Network, path: Option<&Path>) -> Result<Option<Weights>> {
    match path {
        Some(p) => Ok(Some(load_weights(net, p)?)),
        None if net.params_owner == ParamsOwner::Public && net.params().next().is_some() => {
            let names: Vec<&str> = net.params().map(|p| p.name.as_str()).take(3).collect();
            bail!(
                "network `{}` has `params public` ({}, …): pass its weights with --weights W.safetensors",
                net.name,
                names.join(", ")
            )
        }
        None => Ok(None),
    }
}

/// Weights required for plaintext evaluation (parameters are inputs or constants).
pub fn weights_for_eval(net: &Network, path: Option<&Path>) -> Result<Weights> {
    match path {
        Some(p) => load_weights(net, p),
        None if net.params().next().is_some() => bail!(
            "network `{}` has parameters: pass its weights with --weights W.safetensors",
            net.name
        ),
        None => Ok(Weights::default()),
    }
}

/// What [`compile_gcirc`] wrote.
pub use garnet_circuits::passes::StreamSummary;

/// Compiles `net` to `.gcirc` bytes on `out`, in bounded memory, with its source
/// stored in the file (see [`crate::embed`]): the file alone then serves as the
/// network. `garnet compile` and the in-memory compile of a `.gnet` both use it,
/// so both give the same digest and interoperate.
pub fn compile_gcirc<W: std::io::Write>(
    net: &Network,
    source: &NetworkSource,
    weights: Option<&Weights>,
    out: W,
) -> Result<StreamSummary> {
    let b = garnet_compiler::lower_to_builder(net, weights)
        .with_context(|| format!("cannot compile network `{}`", net.name))?;
    let notes: Vec<Annotation> = vec![source.annotation()];
    Ok(garnet_circuits::passes::optimize_into_gcirc_annotated(
        b, notes, out,
    )?)
}

/// The most memory expanded gates (16 bytes each) may take: DeepSecure's
/// benchmark 1 (193 M gates) expands, MiniONN (1.2 G) streams. The environment
/// variable `GARNET_EXPAND_LIMIT` (bytes) overrides it.
pub const EXPAND_LIMIT: u64 = 4 << 30;

fn expand_limit() -> u64 {
    std::env::var("GARNET_EXPAND_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(EXPAND_LIMIT)
}

impl Model {
    /// Opens what a command line names: a `.gnet` network (compiled in memory), a
    /// `.gcirc` file (streamed; a network if it was compiled from one) or a Bristol
    /// file (in memory). `weights` binds a network's parameters (the party that owns
    /// them passes them; for `params public` a `.gnet` needs them to compile).
    pub fn open(path: &Path, weights: Option<&Path>) -> Result<Model> {
        if is_network(path) {
            let (net, source) = load_network(path)?;
            let w = weights_for_compile(&net, weights)?;
            return Model::compile(path, net, &source, w);
        }
        let head = {
            let mut f = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut head = [0u8; 8];
            let n = std::io::Read::read(&mut f, &mut head).unwrap_or(0);
            head[..n].to_vec()
        };
        if garnet_circuits::format::detect(&head) == garnet_circuits::format::Format::Gcirc {
            return Model::open_gcirc(path, weights);
        }
        if weights.is_some() {
            bail!(
                "--weights is for networks; {} is a Bristol circuit",
                path.display()
            );
        }
        let c = garnet_circuits::format::read_file(path)
            .with_context(|| format!("cannot load circuit {}", path.display()))?;
        garnet_circuits::passes::validate(&c)
            .with_context(|| format!("invalid circuit {}", path.display()))?;
        // Files from other tools list gates gadget by gate (AES: S-box after S-box);
        // grouping independent ANDs by level gives the garbler long batches (AES-128
        // ×1000: 0.95 s -> 0.42 s here). Both parties do the same, so the digests agree.
        Ok(Model::from_circuit(&garnet_circuits::passes::optimize(c)))
    }

    /// A circuit in memory.
    pub fn from_circuit(c: &Circuit) -> Model {
        Model {
            interface: Interface::from(c),
            digest: garnet_circuits::format::gcirc::digest(c),
            gates: GateSource::Memory(c.gates.clone().into()),
            network: None,
            max_inferences: None,
            threads: 1,
            scheme: Default::default(),
        }
    }

    /// A synthetic AND-layer circuit (benchmarks).
    pub fn synthetic(s: AndLayers) -> Model {
        Model {
            interface: s.interface(),
            digest: s.digest(),
            gates: GateSource::Synthetic(s),
            network: None,
            max_inferences: None,
            threads: 1,
            scheme: Default::default(),
        }
    }

    /// Compiles a loaded network in memory; kept as `.gcirc` bytes, expanded to
    /// gates up to [`EXPAND_LIMIT`].
    pub fn compile(
        origin: &Path,
        net: Network,
        source: &NetworkSource,
        weights: Option<Weights>,
    ) -> Result<Model> {
        let mut bytes = Vec::new();
        let summary = compile_gcirc(&net, source, weights.as_ref(), &mut bytes)
            .with_context(|| format!("cannot compile {}", origin.display()))?;
        let back = "the compiled circuit does not read back";
        let (interface, gates) = if summary.gates.saturating_mul(16) <= expand_limit() {
            let c = garnet_circuits::format::gcirc::read(&mut &bytes[..]).context(back)?;
            (Interface::from(&c), GateSource::Memory(c.gates.into()))
        } else {
            let h = GateReader::new(&bytes[..]).context(back)?.into_header();
            (Interface::from(h), GateSource::Bytes(Arc::from(bytes)))
        };
        Ok(Model {
            interface,
            digest: summary.digest,
            gates,
            network: Some(Bound { net, weights }),
            max_inferences: None,
            threads: 1,
            scheme: Default::default(),
        })
    }

    /// A `.gcirc` file, checked whole (digest included) without keeping its gates.
    fn open_gcirc(path: &Path, weights: Option<&Path>) -> Result<Model> {
        let mut r = open_gcirc(path)?;
        let digest = r
            .finish()
            .with_context(|| format!("cannot load circuit {}", path.display()))?;
        let h = r.into_header();
        let source = NetworkSource::from_annotations(&h.annotations)
            .with_context(|| format!("in {}", path.display()))?;
        let interface = Interface::from(h);
        let network = match source {
            Some(s) => {
                let net = s.network(path)?;
                check_network_interface(&net, &interface)
                    .with_context(|| format!("in {}", path.display()))?;
                let weights = weights.map(|w| load_weights(&net, w)).transpose()?;
                Some(Bound { net, weights })
            }
            None if weights.is_some() => bail!(
                "--weights is for networks; {} is a circuit without a network in it (compile the .gnet with this version of `garnet compile`)",
                path.display()
            ),
            None => None,
        };
        Ok(Model {
            interface,
            digest,
            gates: GateSource::File(path.to_path_buf()),
            network,
            max_inferences: None,
            threads: 1,
            scheme: Default::default(),
        })
    }

    /// Reassigns the owners of a circuit's inputs (`--owners`), in input order.
    pub fn set_owners(&mut self, owners: &[String]) -> Result<()> {
        if self.network.is_some() {
            bail!("--owners is for circuit files: a network names its owners itself");
        }
        let ins = &mut self.interface.inputs;
        if owners.len() != ins.len() {
            bail!(
                "--owners lists {} owners but the circuit has {} input values ({})",
                owners.len(),
                ins.len(),
                ins.iter()
                    .take(20)
                    .map(|i| garnet_circuits::text::quote(&i.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for (spec, o) in ins.iter_mut().zip(owners) {
            spec.owner = parse_owner(o)?;
        }
        Ok(())
    }

    /// The number of gates.
    pub fn gate_count(&self) -> u64 {
        self.interface.gates
    }
}

/// `garbler`/`g` or `evaluator`/`e`.
pub fn parse_owner(s: &str) -> Result<Party> {
    match s.trim().to_ascii_lowercase().as_str() {
        "g" | "garbler" => Ok(Party::Garbler),
        "e" | "evaluator" => Ok(Party::Evaluator),
        other => bail!("--owners: `{other}` is not an owner (use garbler/g or evaluator/e)"),
    }
}

/// Opens a `.gcirc` file for streaming.
pub fn open_gcirc(path: &Path) -> Result<GateReader<BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    GateReader::new(BufReader::with_capacity(1 << 16, f))
        .with_context(|| format!("cannot load circuit {}", path.display()))
}

/// The network stored in a `.gcirc` must declare the circuit's inputs and outputs.
fn check_network_interface(net: &Network, c: &Interface) -> Result<()> {
    let want = garnet_compiler::interface(net);
    let ins = |i: &[garnet_circuits::InputSpec]| -> Vec<(String, Party, u32)> {
        i.iter()
            .map(|i| (i.name.clone(), i.owner, i.bits))
            .collect()
    };
    let outs = |o: &[garnet_circuits::OutputSpec]| -> Vec<(String, usize)> {
        o.iter().map(|o| (o.name.clone(), o.bits.len())).collect()
    };
    if ins(want.inputs()) != ins(c.inputs()) || outs(want.outputs()) != outs(c.outputs()) {
        bail!(
            "the stored network `{}` does not declare the circuit's inputs and outputs",
            net.name
        );
    }
    Ok(())
}

impl Model {
    /// One pass over the gates, in order, from wherever they are: memory, bytes
    /// this process compiled, a `.gcirc` file (its digest checked at the end) or a
    /// generator.
    pub fn for_each_gate(&self, f: &mut dyn FnMut(&Gate)) -> Result<()> {
        match &self.gates {
            GateSource::Memory(g) => g.iter().for_each(f),
            GateSource::Bytes(b) => {
                for g in GateReader::trusted(&b[..], self.digest)? {
                    f(&g?);
                }
            }
            GateSource::File(p) => {
                let mut r = open_gcirc(p)?;
                for g in r.by_ref() {
                    f(&g.with_context(|| format!("in {}", p.display()))?);
                }
                if r.digest() != Some(self.digest) {
                    bail!("{} changed while it was being read", p.display());
                }
            }
            GateSource::Synthetic(s) => s.gates_iter().for_each(|g| f(&g)),
        }
        Ok(())
    }

    /// Gate counts, depths and traffic of the circuit, in one pass over its gates.
    pub fn stats(&self) -> Result<garnet_circuits::stats::Stats> {
        let mut acc = garnet_circuits::stats::StatsBuilder::new(&self.interface);
        self.for_each_gate(&mut |g| acc.push(g))?;
        Ok(acc.finish(&self.interface))
    }

    /// Plaintext outputs of many samples (circuit input bits each), 64 per pass
    /// over the gates, streamed from the gate source.
    pub fn eval_many(&self, samples: &[Vec<Vec<bool>>]) -> Result<Vec<Vec<Vec<bool>>>> {
        use garnet_circuits::eval::{LaneEval, eval_many_by};
        eval_many_by(&self.interface, samples, |lanes| -> Result<Vec<u64>> {
            let mut ev = LaneEval::new(&self.interface, lanes)?;
            self.for_each_gate(&mut |g| ev.gate(g))?;
            Ok(ev.outputs(&self.interface))
        })
    }
}

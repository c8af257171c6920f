//! Shared helpers for commands that take a `.gnet` network: the front end with
//! rendered diagnostics, weights, `--input NAME=FILE` inputs (JSON, `.npy` or
//! CSV, quantized with saturations reported on stderr), compiling in memory and
//! the circuit's input bits.

use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::eval::LaneEval;
use garnet_circuits::format::gcirc::GateReader;
use garnet_circuits::{Circuit, Party};
use garnet_compiler::inputs::InputKind;
use garnet_compiler::ir::{Format, Network, ParamsOwner};
use garnet_compiler::weights::{Weights, load_safetensors};
use garnet_compiler::{Sources, render};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// True if `path` names a network source (`.gnet`).
pub fn is_network(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gnet"))
}

/// Runs the front end on a `.gnet` file; errors are the rendered diagnostics.
pub fn load_network(path: &Path) -> Result<Network> {
    let mut sources = Sources::new();
    garnet_compiler::frontend_file(path, &mut sources).map_err(|d| {
        anyhow!(
            "{} has errors:\n{}",
            path.display(),
            render(&d, &sources).trim_end()
        )
    })
}

/// Loads and binds a weights file, reporting saturated values on stderr.
pub fn load_weights(net: &Network, path: &Path) -> Result<Weights> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let w = load_safetensors(net, &bytes).with_context(|| format!("in {}", path.display()))?;
    for (tensor, n) in &w.saturated {
        eprintln!("warning: {n} value(s) of `{tensor}` saturated when quantized");
    }
    Ok(w)
}

/// Weights when given; an error if the network's parameters are public and
/// none were given (they become circuit constants).
pub fn weights_for_compile(net: &Network, path: Option<&Path>) -> Result<Option<Weights>> {
    match path {
        Some(p) => Ok(Some(load_weights(net, p)?)),
        None if net.params_owner == ParamsOwner::Public => bail!(
            "network `{}` has `params public`: pass its weights with --weights W.safetensors",
            net.name
        ),
        None => Ok(None),
    }
}

/// Weights required for evaluation (parameters are inputs or constants).
pub fn weights_for_eval(net: &Network, path: Option<&Path>) -> Result<Weights> {
    let needs = net.params().next().is_some();
    match path {
        Some(p) => load_weights(net, p),
        None if needs => bail!(
            "network `{}` has parameters: pass its weights with --weights W.safetensors",
            net.name
        ),
        None => Ok(Weights::default()),
    }
}

/// The circuit party that provides a network input.
pub fn circuit_party(p: garnet_compiler::ir::Party) -> Party {
    match p {
        garnet_compiler::ir::Party::Client => Party::Evaluator,
        garnet_compiler::ir::Party::Server => Party::Garbler,
    }
}

/// Parses `--input NAME=FILE` arguments into quantized values, one sample, in the
/// order of the network's inputs (the file kind comes from the extension: .json,
/// .npy, anything else CSV). Only the inputs of `party` (all when `None`) are read;
/// the other party's inputs are zeros that the session never uses.
pub fn load_party_inputs(
    net: &Network,
    args: &[String],
    party: Option<Party>,
) -> Result<Vec<Vec<i64>>> {
    let mut samples = load_party_samples(net, args, party)?;
    if samples.len() != 1 {
        bail!(
            "the --input files hold {} samples; give one sample per input here",
            samples.len()
        );
    }
    Ok(samples.pop().unwrap_or_default())
}

/// The samples of `--input NAME=FILE` arguments: one list of input values per sample,
/// in the order of the network's inputs. A file may hold several samples one after
/// the other (an `.npy` of shape `[k, …]`, k CSV rows) and an input may be given
/// several times; an input with one sample serves every sample of the others. Only
/// the inputs of `party` (all when `None`) are read; the other's are zeros.
pub fn load_party_samples(
    net: &Network,
    args: &[String],
    party: Option<Party>,
) -> Result<Vec<Vec<Vec<i64>>>> {
    let mut files: Vec<Vec<PathBuf>> = vec![Vec::new(); net.inputs.len()];
    for a in args {
        let (name, file) = a
            .split_once('=')
            .ok_or_else(|| anyhow!("--input `{a}`: expected NAME=FILE"))?;
        let idx = net
            .inputs
            .iter()
            .position(|i| net.tensors[i.tensor].name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = net
                    .inputs
                    .iter()
                    .map(|i| net.tensors[i.tensor].name.as_str())
                    .collect();
                anyhow!(
                    "--input `{a}`: network `{}` has no input `{name}` (its inputs: {})",
                    net.name,
                    names.join(", ")
                )
            })?;
        files[idx].push(PathBuf::from(file));
    }
    // Per network input, its samples.
    let per_input: Vec<Vec<Vec<i64>>> = net
        .inputs
        .iter()
        .zip(files)
        .map(|(inp, files)| {
            let t = &net.tensors[inp.tensor];
            if party.is_some_and(|p| p != circuit_party(inp.owner)) {
                if !files.is_empty() {
                    bail!(
                        "--input {}: that input belongs to the other party ({:?})",
                        t.name,
                        inp.owner
                    );
                }
                return Ok(vec![vec![0; t.len()]]);
            }
            if files.is_empty() {
                bail!(
                    "missing --input {}=FILE ({} values of {})",
                    t.name,
                    t.len(),
                    t.format
                );
            }
            let mut samples = Vec::new();
            for file in files {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let kind = InputKind::from_path(&file.to_string_lossy());
                let qs = garnet_compiler::inputs::load_samples(&bytes, kind, t)
                    .with_context(|| format!("in {}", file.display()))?;
                let saturated: usize = qs.iter().map(|q| q.saturated).sum();
                if saturated > 0 {
                    eprintln!(
                        "warning: {saturated} value(s) of input `{}` saturated when quantized to {}",
                        t.name, t.format
                    );
                }
                samples.extend(qs.into_iter().map(|q| q.values));
            }
            Ok(samples)
        })
        .collect::<Result<_>>()?;
    let k = per_input.iter().map(Vec::len).max().unwrap_or(1);
    for (inp, s) in net.inputs.iter().zip(&per_input) {
        if s.len() != 1 && s.len() != k {
            bail!(
                "input `{}` has {} samples but another input has {k}: give each input one sample or as many as the others",
                net.tensors[inp.tensor].name,
                s.len()
            );
        }
    }
    Ok((0..k)
        .map(|j| {
            per_input
                .iter()
                .map(|s| s[j.min(s.len() - 1)].clone())
                .collect()
        })
        .collect())
}

/// A network compiled in memory, with what it was compiled from. The circuit is
/// compiled to `.gcirc` bytes (5–7 bytes a gate, in bounded memory); up to
/// [`EXPAND_LIMIT`] they are expanded to gates for speed, beyond it kept as bytes and
/// streamed gate by gate wherever they are used.
#[derive(Debug)]
pub struct Compiled {
    pub net: Network,
    pub weights: Option<Weights>,
    /// The circuit: its interface, and its gates when they are expanded.
    pub circuit: Circuit,
    /// The circuit as a `.gcirc` file, when it is too big to expand.
    pub gcirc: Option<Arc<[u8]>>,
    pub digest: [u8; 32],
    pub gates: u64,
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

/// Loads, binds (if `weights` is given) and compiles a `.gnet` file.
pub fn compile(path: &Path, weights: Option<&Path>) -> Result<Compiled> {
    let net = load_network(path)?;
    let w = weights_for_compile(&net, weights)?;
    compile_bound(path, net, w)
}

/// Compiles a loaded network (from `path`) with its bound weights, if any.
pub fn compile_bound(path: &Path, net: Network, w: Option<Weights>) -> Result<Compiled> {
    let mut bytes = Vec::new();
    let summary = garnet_compiler::compile_to_gcirc(&net, w.as_ref(), &mut bytes)
        .with_context(|| format!("cannot compile {}", path.display()))?
        .context("cannot hold the compiled circuit")?;
    let back = "the compiled circuit does not read back";
    let (circuit, gcirc) = if summary.gates.saturating_mul(16) <= expand_limit() {
        let c = garnet_circuits::format::gcirc::read(&mut &bytes[..]).context(back)?;
        (c, None)
    } else {
        let h = GateReader::new(&bytes[..]).context(back)?.into_header();
        let c = Circuit {
            wires: h.wires,
            inputs: h.inputs,
            outputs: h.outputs,
            gates: Vec::new(),
            sections: h.sections,
        };
        (c, Some(Arc::from(bytes)))
    };
    Ok(Compiled {
        net,
        weights: w,
        circuit,
        gcirc,
        digest: summary.digest,
        gates: summary.gates,
    })
}

impl Compiled {
    /// The bits of every circuit input from the network inputs and the weights.
    pub fn input_bits(&self, inputs: &[Vec<i64>]) -> Result<Vec<Vec<bool>>> {
        Ok(garnet_compiler::circuit_inputs(
            &self.net,
            &self.circuit,
            self.weights.as_ref(),
            inputs,
        )?)
    }

    /// Plaintext outputs of many samples (circuit input bits each), 64 per pass.
    pub fn eval_many(&self, samples: &[Vec<Vec<bool>>]) -> Result<Vec<Vec<Vec<bool>>>> {
        let c = &self.circuit;
        let Some(bytes) = &self.gcirc else {
            return Ok(c.eval_many(samples)?);
        };
        c.eval_many_by(samples, |lanes| -> Result<Vec<u64>> {
            let mut ev = LaneEval::new(c, lanes)?;
            for g in GateReader::trusted(&bytes[..], self.digest)? {
                ev.gate(&g?);
            }
            Ok(ev.outputs(c))
        })
    }
}

/// One decoded output as printed: an index as an integer, a tensor as real
/// values (fixed point / 2^frac, binary ±1) and raw integers.
pub fn output_json(net: &Network, name: &str, raw: &[i64]) -> serde_json::Value {
    let Some(o) = net.outputs.iter().find(|o| o.name == name) else {
        return serde_json::Value::Null;
    };
    let t = &net.tensors[o.tensor];
    match t.format {
        Format::Index { .. } => serde_json::json!(raw.first().copied().unwrap_or(0)),
        Format::Fixed { frac, .. } => {
            let scale = (1u64 << frac) as f64;
            serde_json::json!({
                "shape": t.shape,
                "values": raw.iter().map(|v| *v as f64 / scale).collect::<Vec<_>>(),
                "raw": raw,
                "format": t.format.to_string(),
            })
        }
        Format::Binary => serde_json::json!({
            "shape": t.shape,
            "values": raw.iter().map(|v| if *v != 0 { 1 } else { -1 }).collect::<Vec<_>>(),
            "raw": raw,
            "format": "binary",
        }),
    }
}

/// Prints decoded outputs (in the network's output order), as text or JSON.
pub fn print_outputs(
    net: &Network,
    outputs: &std::collections::BTreeMap<String, Vec<i64>>,
    json: bool,
) -> Result<()> {
    if json {
        let map: serde_json::Map<String, serde_json::Value> = net
            .outputs
            .iter()
            .map(|o| (o.name.clone(), output_json(net, &o.name, &outputs[&o.name])))
            .collect();
        println!("{}", serde_json::json!({ "outputs": map }));
        return Ok(());
    }
    for o in &net.outputs {
        let raw = &outputs[&o.name];
        let t = &net.tensors[o.tensor];
        match t.format {
            Format::Index { .. } => println!("{} = {}", o.name, raw.first().copied().unwrap_or(0)),
            _ => {
                let v = output_json(net, &o.name, raw);
                println!(
                    "{} {} = {}  (raw {})",
                    o.name,
                    t.format,
                    v["values"],
                    serde_json::json!(raw)
                );
            }
        }
    }
    Ok(())
}

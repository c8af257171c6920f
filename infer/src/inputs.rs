//! Each party's inputs, in one place: network input files (JSON, `.npy`, CSV; one
//! or many samples, quantized with saturations reported on stderr) or circuit
//! values (`NAME=VALUE`), turned into one bit vector per circuit input for each
//! inference, with the other party's inputs left empty; a network's weights go
//! to whichever party owns the parameters. An input that the network projects
//! (`p = project(x, K)`) is given raw (`x=FILE`) and projected here, in plaintext,
//! with the public matrix: the circuit receives only the projection.

use crate::model::{Bound, Model};
use crate::values::collect_inputs;
use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::{HasInterface, Party};
use garnet_compiler::inputs::InputKind;
use garnet_compiler::ir::{Network, ParamsOwner};
use std::path::PathBuf;

/// One bit vector per circuit input (empty for the other party's): one inference.
pub type Inputs = Vec<Vec<bool>>;

/// The circuit party that provides a network input.
pub fn circuit_party(p: garnet_compiler::ir::Party) -> Party {
    match p {
        garnet_compiler::ir::Party::Client => Party::Evaluator,
        garnet_compiler::ir::Party::Server => Party::Garbler,
    }
}

/// The name of a `NAME=…` assignment.
fn assigned_name(a: &str) -> &str {
    a.split_once('=').map_or(a, |(n, _)| n)
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
        let idx = (0..net.inputs.len())
            .position(|i| net.given_input(i).name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = (0..net.inputs.len())
                    .map(|i| net.given_input(i).name.as_str())
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
        .enumerate()
        .map(|(idx, (inp, files))| {
            // A projected input: the party gives the raw tensor, projected here.
            let t = net.given_input(idx);
            let circuit_len = net.tensors[inp.tensor].len();
            if party.is_some_and(|p| p != circuit_party(inp.owner)) {
                if !files.is_empty() {
                    bail!(
                        "--input {}: that input belongs to the other party ({:?})",
                        t.name,
                        inp.owner
                    );
                }
                return Ok(vec![vec![0; circuit_len]]);
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
                let bytes = crate::model::read_user_file(&file, &format!("--input {}", t.name))?;
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
                for q in qs {
                    samples.push(net.prepare_input(idx, q.values)?);
                }
            }
            Ok(samples)
        })
        .collect::<Result<_>>()?;
    let k = per_input.iter().map(Vec::len).max().unwrap_or(1);
    for (idx, s) in per_input.iter().enumerate() {
        if s.len() != 1 && s.len() != k {
            bail!(
                "input `{}` has {} samples but another input has {k}: give each input one sample or as many as the others",
                net.given_input(idx).name,
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

impl Model {
    /// This party's inputs for a session whose inputs are fixed (the garbler's):
    /// one bit vector per circuit input, empty for the peer's.
    pub fn party_inputs(&self, assignments: &[String], party: Party) -> Result<Vec<Vec<bool>>> {
        let mut all = self.party_inputs_per_inference(assignments, party)?;
        if all.len() != 1 {
            bail!(
                "the --input values hold {} samples; this party's inputs are fixed for a session: give one",
                all.len()
            );
        }
        Ok(all.pop().unwrap_or_default())
    }

    /// This party's inputs for each inference: for a network, every sample of its
    /// input files; for a circuit, an input given k times (see [`per_inference`]).
    pub fn party_inputs_per_inference(
        &self,
        assignments: &[String],
        party: Party,
    ) -> Result<Vec<Vec<Vec<bool>>>> {
        if let Some(b) = &self.network {
            let samples = load_party_samples(&b.net, assignments, Some(party))?;
            let k = samples.len();
            return samples
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    self.network_bits(b, v, party)
                        .with_context(|| format!("sample {} of {k}", j + 1))
                })
                .collect();
        }
        let batches = per_inference(assignments)?;
        let k = batches.len();
        batches
            .iter()
            .enumerate()
            .map(|(j, a)| {
                self.circuit_bits(a, party)
                    .with_context(|| format!("inference {} of {k}", j + 1))
            })
            .collect()
    }

    /// Splits the assignments of one command playing both parties (`garnet run`)
    /// into the garbler's fixed inputs and the evaluator's inputs per inference.
    pub fn split_inputs(&self, assignments: &[String]) -> Result<(Inputs, Vec<Inputs>)> {
        let owner = |a: &String| -> Option<Party> {
            let name = assigned_name(a);
            match &self.network {
                Some(b) => (0..b.net.inputs.len())
                    .find(|&i| b.net.given_input(i).name == name)
                    .map(|i| circuit_party(b.net.inputs[i].owner)),
                None => self
                    .interface
                    .inputs
                    .iter()
                    .find(|i| i.name == name)
                    .map(|i| i.owner),
            }
        };
        // An unknown name goes to both, so that the error names it.
        let own = |p: Party| -> Vec<String> {
            assignments
                .iter()
                .filter(|a| owner(a).is_none_or(|o| o == p))
                .cloned()
                .collect()
        };
        Ok((
            self.party_inputs(&own(Party::Garbler), Party::Garbler)?,
            self.party_inputs_per_inference(&own(Party::Evaluator), Party::Evaluator)?,
        ))
    }

    /// One sample of a network party's values (and, if it owns them, the weights)
    /// as circuit inputs; empty for the other party's inputs.
    pub(crate) fn network_bits(
        &self,
        b: &Bound,
        values: &[Vec<i64>],
        party: Party,
    ) -> Result<Vec<Vec<bool>>> {
        let net = &b.net;
        let owns_params = matches!(net.params_owner,
            ParamsOwner::Party(p) if circuit_party(p) == party);
        let all: Vec<Vec<bool>> = if owns_params {
            if b.weights.is_none() {
                bail!(
                    "this party provides the parameters of `{}`: pass --weights W.safetensors",
                    net.name
                );
            }
            garnet_compiler::circuit_inputs(net, &self.interface, b.weights.as_ref(), values)?
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
        Ok(self
            .interface
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

    /// A circuit party's `NAME=VALUE` inputs; empty for the peer's.
    fn circuit_bits(&self, assignments: &[String], party: Party) -> Result<Vec<Vec<bool>>> {
        let c = &self.interface;
        let mut ours = collect_inputs(c, assignments, Some(party))
            .context("bad --input")?
            .into_iter();
        Ok(c.inputs()
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
}

/// Splits `--input` assignments into one list per inference: an input given k
/// times takes its j-th value in inference j, one given once serves them all.
pub fn per_inference(assignments: &[String]) -> Result<Vec<Vec<String>>> {
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

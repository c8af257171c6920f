//! Compiling a checked network to a circuit, counting its gates without building
//! it, and moving values in and out of the circuit.

use crate::ir::{Format, Network, ParamsOwner};
use crate::lower::params::param_bits;
use crate::lower::{self, LowerError, param_inputs, party, recipient, value_type};
use crate::weights::Weights;
use garnet_circuits::bits::{from_i128, to_i128, to_u128};
use garnet_circuits::passes::StreamSummary;
use garnet_circuits::{
    Builder, Circuit, GateCounts, HasInterface, InputSpec, OutBit, OutputSpec, Party, passes,
};
use std::collections::BTreeMap;

/// Errors of compiling, counting and input/output conversion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// Lowering failed (missing or mismatched weights).
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// Wrong number of network inputs.
    #[error("network `{network}` has {expected} inputs, got {got}")]
    InputCount {
        /// Network name.
        network: String,
        /// Expected.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// A network input has the wrong length or a value outside its format.
    #[error("input `{name}`: {problem}")]
    BadInput {
        /// Input name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// Private parameters need weights to produce their input bits.
    #[error("the parameters of `{0}` are circuit inputs: weights are needed to produce their bits")]
    NeedWeights(String),
    /// The circuit does not match the network's interface.
    #[error("the circuit does not match network `{network}`: {problem}")]
    Interface {
        /// Network name.
        network: String,
        /// What differs.
        problem: String,
    },
    /// Circuit outputs of the wrong number or width.
    #[error("output `{name}`: expected {expected} bits, got {got}")]
    OutputWidth {
        /// Output name.
        name: String,
        /// Expected bits.
        expected: usize,
        /// Given bits.
        got: usize,
    },
}

/// Lowers `net` onto a [`Builder`] and optimizes (dead gates, wire slots). The
/// same network and weights always give the same circuit. `weights` are required
/// for `params public`, and unused otherwise.
pub fn compile(net: &Network, weights: Option<&Weights>) -> Result<Circuit, CompileError> {
    Ok(passes::optimize(lower_to_builder(net, weights)?.finish()))
}

/// `net` lowered onto a [`Builder`], before any pass: [`compile`] is
/// `passes::optimize(lower_to_builder(net, weights)?.finish())`.
pub fn lower_to_builder(net: &Network, weights: Option<&Weights>) -> Result<Builder, CompileError> {
    let mut b = Builder::new();
    lower::lower(&mut b, net, weights)?;
    Ok(b)
}

/// [`compile`] written straight to `.gcirc` in bounded memory: the gates stay in
/// the builder's compact store (8 bytes a gate) and the passes stream over it (see
/// [`passes::optimize_into_gcirc`]). The bytes equal
/// `gcirc::to_bytes(&compile(net, weights)?)`. The outer error is the compile
/// error, the inner one a write error.
pub fn compile_to_gcirc<W: std::io::Write>(
    net: &Network,
    weights: Option<&Weights>,
    out: W,
) -> Result<std::io::Result<StreamSummary>, CompileError> {
    let b = lower_to_builder(net, weights)?;
    Ok(passes::optimize_into_gcirc(b, out))
}

/// Gate counts of [`compile`]'s optimized circuit, total and per layer (section),
/// exactly, from a [`garnet_circuits::LiveCounter`]: no circuit is built.
pub fn count(
    net: &Network,
    weights: Option<&Weights>,
) -> Result<(GateCounts, Vec<(String, GateCounts)>), CompileError> {
    let c = lower::count_live(net, weights)?;
    Ok((c.total, c.sections))
}

/// The circuit's interface (inputs and outputs with their types, no gates), as
/// [`compile`] declares it; for statistics from [`count`]. Output bits are
/// placeholders, `wires` is the number of input wires and `gates` is 0.
pub fn interface(net: &Network) -> garnet_circuits::Interface {
    let mut inputs = Vec::new();
    for i in &net.inputs {
        let t = &net.tensors[i.tensor];
        inputs.push(InputSpec {
            name: t.name.clone(),
            owner: party(i.owner),
            bits: (t.len() * t.format.bits() as usize) as u32,
            ty: value_type(&t.shape, t.format),
        });
    }
    if let ParamsOwner::Party(p) = net.params_owner {
        for pi in param_inputs(net) {
            inputs.push(InputSpec {
                name: pi.name.clone(),
                owner: party(p),
                bits: (pi.count * pi.elem_bits) as u32,
                ty: garnet_circuits::ValueType {
                    shape: Some(pi.shape.iter().map(|d| *d as u32).collect()),
                    format: pi
                        .format
                        .map(|(bits, frac)| garnet_circuits::FixedFormat { bits, frac }),
                },
            });
        }
    }
    let outputs = net
        .outputs
        .iter()
        .map(|o| {
            let t = &net.tensors[o.tensor];
            OutputSpec {
                name: o.name.clone(),
                recipient: recipient(o.owner),
                bits: vec![OutBit::Const(false); t.len() * t.format.bits() as usize],
                ty: value_type(&t.shape, t.format),
            }
        })
        .collect();
    let wires = inputs.iter().map(|i: &InputSpec| i.bits).sum();
    garnet_circuits::Interface {
        inputs,
        outputs,
        wires,
        sections: Vec::new(),
        gates: 0,
    }
}

fn check_interface(
    net: &Network,
    circuit: &(impl HasInterface + ?Sized),
) -> Result<(), CompileError> {
    let want = interface(net);
    let sig = |c: &[InputSpec]| -> Vec<(String, Party, u32)> {
        c.iter()
            .map(|i| (i.name.clone(), i.owner, i.bits))
            .collect()
    };
    if sig(&want.inputs) != sig(circuit.inputs()) {
        return Err(CompileError::Interface {
            network: net.name.clone(),
            problem: format!(
                "inputs {:?}, expected {:?}",
                sig(circuit.inputs()),
                sig(&want.inputs)
            ),
        });
    }
    Ok(())
}

/// The bits of every circuit input, in the circuit's order: the network inputs
/// (`inputs`, quantized integers in `net.inputs` order), then (private
/// parameters) the parameter tensors from `weights`.
pub fn circuit_inputs(
    net: &Network,
    circuit: &(impl HasInterface + ?Sized),
    weights: Option<&Weights>,
    inputs: &[Vec<i64>],
) -> Result<Vec<Vec<bool>>, CompileError> {
    check_interface(net, circuit)?;
    if inputs.len() != net.inputs.len() {
        return Err(CompileError::InputCount {
            network: net.name.clone(),
            expected: net.inputs.len(),
            got: inputs.len(),
        });
    }
    let mut out = Vec::with_capacity(circuit.inputs().len());
    for (inp, v) in net.inputs.iter().zip(inputs) {
        let t = &net.tensors[inp.tensor];
        out.push(tensor_bits(&t.name, v, t.len(), t.format)?);
    }
    if let ParamsOwner::Party(_) = net.params_owner {
        let w = weights.ok_or_else(|| CompileError::NeedWeights(net.name.clone()))?;
        for p in param_inputs(net) {
            let bits = param_bits(&p, w, net).ok_or_else(|| {
                CompileError::Lower(LowerError::BadWeights(net.layers[p.layer].name.clone()))
            })?;
            out.push(bits);
        }
    }
    Ok(out)
}

/// The inputs `party` provides, by name, in circuit order (see [`circuit_inputs`]).
pub fn party_inputs(
    net: &Network,
    circuit: &(impl HasInterface + ?Sized),
    party: Party,
    weights: Option<&Weights>,
    inputs: &[Vec<i64>],
) -> Result<Vec<(String, Vec<bool>)>, CompileError> {
    let all = circuit_inputs(net, circuit, weights, inputs)?;
    Ok(circuit
        .inputs()
        .iter()
        .zip(all)
        .filter(|(spec, _)| spec.owner == party)
        .map(|(spec, bits)| (spec.name.clone(), bits))
        .collect())
}

/// Bits of a tensor's integer values (two's complement, element 0 lowest).
pub fn tensor_bits(
    name: &str,
    values: &[i64],
    len: usize,
    format: Format,
) -> Result<Vec<bool>, CompileError> {
    if values.len() != len {
        return Err(CompileError::BadInput {
            name: name.to_string(),
            problem: format!("needs {len} values, got {}", values.len()),
        });
    }
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| **v < format.min_int() || **v > format.max_int())
    {
        return Err(CompileError::BadInput {
            name: name.to_string(),
            problem: format!("value {v} at index {i} is outside {format}"),
        });
    }
    let w = format.bits() as usize;
    Ok(values
        .iter()
        .flat_map(|v| from_i128(*v as i128, w))
        .collect())
}

/// Decodes circuit outputs (one bit vector per output, in `net.outputs` order)
/// to integers per output name, as `reference::outputs` gives them: fixed
/// point signed, binary 0/1, class indices unsigned.
pub fn decode_outputs(
    net: &Network,
    outputs: &[Vec<bool>],
) -> Result<BTreeMap<String, Vec<i64>>, CompileError> {
    if outputs.len() != net.outputs.len() {
        return Err(CompileError::Interface {
            network: net.name.clone(),
            problem: format!("{} outputs, expected {}", outputs.len(), net.outputs.len()),
        });
    }
    let mut map = BTreeMap::new();
    for (o, bits) in net.outputs.iter().zip(outputs) {
        let t = &net.tensors[o.tensor];
        let w = t.format.bits() as usize;
        if bits.len() != w * t.len() {
            return Err(CompileError::OutputWidth {
                name: o.name.clone(),
                expected: w * t.len(),
                got: bits.len(),
            });
        }
        let vals = bits
            .chunks(w)
            .map(|c| match t.format {
                Format::Fixed { .. } => to_i128(c) as i64,
                Format::Binary | Format::Index { .. } => to_u128(c) as i64,
            })
            .collect();
        map.insert(o.name.clone(), vals);
    }
    Ok(map)
}

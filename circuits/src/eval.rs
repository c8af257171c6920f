//! Plaintext evaluation, bit-sliced: each wire holds a `u64` whose bit j belongs to
//! independent input j, so one pass over the gates evaluates 64 inputs.

use crate::interface::HasInterface;
use crate::ir::{Circuit, Gate, Op, OutBit, grow_slots};

/// Inputs that do not fit the circuit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("expected {expected} input values, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("input `{}` is {expected} bits wide, got {got} bits", crate::text::quote(.name))]
    InputWidth {
        name: String,
        expected: u32,
        got: usize,
    },
    #[error("expected {expected} input wires, got {got}")]
    WireCount { expected: u64, got: usize },
}

/// Bit-sliced evaluation one gate at a time, one `u64` per wire slot: gates can come
/// from a stream (a `.gcirc` [`crate::format::gcirc::GateReader`]), so memory is per
/// wire slot, not per gate. The slots grow as gates write them
/// ([`crate::ir::grow_slots`]), so a header's wire count allocates nothing.
pub struct LaneEval {
    w: Vec<u64>,
}

impl std::fmt::Debug for LaneEval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaneEval")
            .field("wires", &self.w.len())
            .finish()
    }
}

impl LaneEval {
    /// Starts evaluating a circuit of this interface on 64 inputs:
    /// `input_wires[i]` carries input wire i across the lanes.
    pub fn new(interface: &impl HasInterface, input_wires: &[u64]) -> Result<LaneEval, EvalError> {
        let n_in = interface.input_bits();
        if input_wires.len() as u64 != n_in || n_in > interface.wires() as u64 {
            return Err(EvalError::WireCount {
                expected: n_in,
                got: input_wires.len(),
            });
        }
        Ok(LaneEval {
            w: input_wires.to_vec(),
        })
    }

    /// Starts evaluating one input, a bit vector per input value (lane 0).
    pub fn for_sample(
        interface: &impl HasInterface,
        inputs: &[Vec<bool>],
    ) -> Result<LaneEval, EvalError> {
        check_inputs(interface, inputs)?;
        let lanes: Vec<u64> = inputs.iter().flatten().map(|&b| b as u64).collect();
        LaneEval::new(interface, &lanes)
    }

    /// Applies one gate. Its wires must be in range and defined, as for a circuit that
    /// [`crate::passes::validate`] accepts or a reader hands out.
    #[inline]
    pub fn gate(&mut self, g: &Gate) {
        grow_slots(&mut self.w, g.out, 0);
        let a = self.w[g.a as usize];
        self.w[g.out as usize] = match g.op {
            Op::Xor => a ^ self.w[g.b as usize],
            Op::And => a & self.w[g.b as usize],
            Op::Not => !a,
        };
    }

    /// One `u64` per output bit, outputs in order.
    pub fn outputs(&self, interface: &impl HasInterface) -> Vec<u64> {
        interface
            .outputs()
            .iter()
            .flat_map(|o| o.bits.iter())
            .map(|b| match *b {
                OutBit::Wire(x) => self.w.get(x as usize).copied().unwrap_or(0),
                OutBit::Const(v) => 0u64.wrapping_sub(v as u64),
            })
            .collect()
    }

    /// The outputs of lane 0, a bit vector per output value.
    pub fn sample_outputs(&self, interface: &impl HasInterface) -> Vec<Vec<bool>> {
        let lanes = self.outputs(interface);
        let mut bits = lanes.iter().map(|l| l & 1 == 1);
        interface
            .outputs()
            .iter()
            .map(|o| bits.by_ref().take(o.bits.len()).collect())
            .collect()
    }
}

impl Circuit {
    /// Evaluates 64 independent inputs at once. `input_wires[i]` carries input wire i
    /// across the 64 lanes; the result has one `u64` per output bit, outputs in order.
    /// The circuit must be valid ([`crate::passes::validate`]), as the builder and
    /// every reader guarantee.
    pub fn eval_lanes(&self, input_wires: &[u64]) -> Result<Vec<u64>, EvalError> {
        let mut ev = LaneEval::new(self, input_wires)?;
        for g in &self.gates {
            ev.gate(g);
        }
        Ok(ev.outputs(self))
    }

    /// Evaluates one input: a bit vector per input value (LSB first), in declaration
    /// order; returns a bit vector per output value.
    pub fn eval(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>, EvalError> {
        let mut out = self.eval_many(std::slice::from_ref(&inputs.to_vec()))?;
        Ok(out.pop().unwrap_or_default())
    }

    /// Evaluates many inputs, 64 per pass over the circuit.
    pub fn eval_many(&self, samples: &[Vec<Vec<bool>>]) -> Result<Vec<Vec<Vec<bool>>>, EvalError> {
        self.eval_many_by(samples, |lanes| self.eval_lanes(lanes))
    }

    /// [`eval_many_by`] on this circuit's interface.
    pub fn eval_many_by<E: From<EvalError>>(
        &self,
        samples: &[Vec<Vec<bool>>],
        pass: impl FnMut(&[u64]) -> Result<Vec<u64>, E>,
    ) -> Result<Vec<Vec<Vec<bool>>>, E> {
        eval_many_by(self, samples, pass)
    }

    /// Checks that `inputs` has one value per circuit input, each of its width.
    pub fn check_inputs(&self, inputs: &[Vec<bool>]) -> Result<(), EvalError> {
        check_inputs(self, inputs)
    }
}

/// Evaluates many samples of a circuit with this `interface`, 64 per pass over
/// its gates, the passes done by `pass`: it maps 64 lanes of input wires to 64
/// lanes of output bits (say, a [`LaneEval`] over gates streamed from a file), so
/// the gates need not be in memory.
pub fn eval_many_by<E: From<EvalError>>(
    interface: &impl HasInterface,
    samples: &[Vec<Vec<bool>>],
    mut pass: impl FnMut(&[u64]) -> Result<Vec<u64>, E>,
) -> Result<Vec<Vec<Vec<bool>>>, E> {
    for s in samples {
        check_inputs(interface, s)?;
    }
    let n_in = interface.input_bits() as usize;
    let mut results = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(64) {
        let mut lanes = vec![0u64; n_in];
        for (j, sample) in chunk.iter().enumerate() {
            for (i, bit) in sample.iter().flatten().enumerate() {
                lanes[i] |= (*bit as u64) << j;
            }
        }
        let out = pass(&lanes)?;
        for j in 0..chunk.len() {
            let mut bits = out.iter().map(|lane| (lane >> j) & 1 == 1);
            results.push(
                interface
                    .outputs()
                    .iter()
                    .map(|o| bits.by_ref().take(o.bits.len()).collect())
                    .collect(),
            );
        }
    }
    Ok(results)
}

/// Checks that `inputs` has one value per input of `interface`, each of its width.
pub fn check_inputs(interface: &impl HasInterface, inputs: &[Vec<bool>]) -> Result<(), EvalError> {
    let specs = interface.inputs();
    if inputs.len() != specs.len() {
        return Err(EvalError::InputCount {
            expected: specs.len(),
            got: inputs.len(),
        });
    }
    for (spec, v) in specs.iter().zip(inputs) {
        if v.len() != spec.bits as usize {
            return Err(EvalError::InputWidth {
                name: spec.name.clone(),
                expected: spec.bits,
                got: v.len(),
            });
        }
    }
    Ok(())
}

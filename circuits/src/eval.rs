//! Plaintext evaluation, bit-sliced: each wire holds a `u64` whose bit j belongs to
//! independent input j, so one pass over the gates evaluates 64 inputs.

use crate::ir::{Circuit, Op, OutBit};

/// Inputs that do not fit the circuit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("expected {expected} input values, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("input `{name}` is {expected} bits wide, got {got} bits")]
    InputWidth {
        name: String,
        expected: u32,
        got: usize,
    },
    #[error("expected {expected} input wires, got {got}")]
    WireCount { expected: u64, got: usize },
}

impl Circuit {
    /// Evaluates 64 independent inputs at once. `input_wires[i]` carries input wire i
    /// across the 64 lanes; the result has one `u64` per output bit, outputs in order.
    /// The circuit must be valid ([`crate::passes::validate`]), as the builder and
    /// every reader guarantee.
    pub fn eval_lanes(&self, input_wires: &[u64]) -> Result<Vec<u64>, EvalError> {
        let n_in = self.input_bits();
        if input_wires.len() as u64 != n_in {
            return Err(EvalError::WireCount {
                expected: n_in,
                got: input_wires.len(),
            });
        }
        let mut w = vec![0u64; self.wires as usize];
        w[..input_wires.len()].copy_from_slice(input_wires);
        for g in &self.gates {
            let a = w[g.a as usize];
            w[g.out as usize] = match g.op {
                Op::Xor => a ^ w[g.b as usize],
                Op::And => a & w[g.b as usize],
                Op::Not => !a,
            };
        }
        Ok(self
            .outputs
            .iter()
            .flat_map(|o| o.bits.iter())
            .map(|b| match *b {
                OutBit::Wire(x) => w[x as usize],
                OutBit::Const(v) => 0u64.wrapping_sub(v as u64),
            })
            .collect())
    }

    /// Evaluates one input: a bit vector per input value (LSB first), in declaration
    /// order; returns a bit vector per output value.
    pub fn eval(&self, inputs: &[Vec<bool>]) -> Result<Vec<Vec<bool>>, EvalError> {
        let mut out = self.eval_many(std::slice::from_ref(&inputs.to_vec()))?;
        Ok(out.pop().unwrap_or_default())
    }

    /// Evaluates many inputs, 64 per pass over the circuit.
    pub fn eval_many(&self, samples: &[Vec<Vec<bool>>]) -> Result<Vec<Vec<Vec<bool>>>, EvalError> {
        for s in samples {
            self.check_inputs(s)?;
        }
        let n_in = self.input_bits() as usize;
        let mut results = Vec::with_capacity(samples.len());
        for chunk in samples.chunks(64) {
            let mut lanes = vec![0u64; n_in];
            for (j, sample) in chunk.iter().enumerate() {
                for (i, bit) in sample.iter().flatten().enumerate() {
                    lanes[i] |= (*bit as u64) << j;
                }
            }
            let out = self.eval_lanes(&lanes)?;
            for j in 0..chunk.len() {
                let mut bits = out.iter().map(|lane| (lane >> j) & 1 == 1);
                results.push(
                    self.outputs
                        .iter()
                        .map(|o| bits.by_ref().take(o.bits.len()).collect())
                        .collect(),
                );
            }
        }
        Ok(results)
    }

    fn check_inputs(&self, inputs: &[Vec<bool>]) -> Result<(), EvalError> {
        if inputs.len() != self.inputs.len() {
            return Err(EvalError::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        for (spec, v) in self.inputs.iter().zip(inputs) {
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
}

//! Random circuits for property tests and benchmarks across the workspace.

use crate::builder::Builder;
use crate::gates::Gates;
use crate::ir::{Circuit, Gate, InputSpec, OutBit, OutputSpec, Party, Recipient, ValueType};
use rand::Rng;

/// Shape of a random circuit.
#[derive(Clone, Debug)]
pub struct RandomSpec {
    /// Widths of the input values; owners alternate garbler, evaluator, garbler, ...
    pub input_widths: Vec<u32>,
    pub gates: usize,
    /// Widths of the output values; recipients cycle evaluator, garbler, both.
    pub output_widths: Vec<u32>,
    /// Fraction of AND gates (the rest split between XOR and NOT).
    pub and_fraction: f64,
    /// Operands are drawn from the last `window` wires (locality, like real circuits);
    /// 0 means from all wires defined so far.
    pub window: u32,
}

impl Default for RandomSpec {
    fn default() -> Self {
        RandomSpec {
            input_widths: vec![8, 8],
            gates: 1000,
            output_widths: vec![8, 4],
            and_fraction: 0.4,
            window: 64,
        }
    }
}

fn owner(i: usize) -> Party {
    if i.is_multiple_of(2) {
        Party::Garbler
    } else {
        Party::Evaluator
    }
}

fn recipient(i: usize) -> Recipient {
    [Recipient::Evaluator, Recipient::Garbler, Recipient::Both][i % 3]
}

/// A raw random circuit in SSA form, exactly `spec.gates` gates, no simplification,
/// so it exercises every gate kind and duplicate patterns. Outputs draw from the
/// whole circuit (many gates stay dead, which the passes must handle).
pub fn random_circuit(rng: &mut impl Rng, spec: &RandomSpec) -> Circuit {
    let inputs: Vec<InputSpec> = spec
        .input_widths
        .iter()
        .enumerate()
        .map(|(i, &bits)| InputSpec {
            name: format!("in{i}"),
            owner: owner(i),
            bits,
            ty: ValueType::default(),
        })
        .collect();
    let n_in: u32 = spec.input_widths.iter().sum();
    assert!(n_in > 0, "a random circuit needs at least one input bit");
    let mut gates = Vec::with_capacity(spec.gates);
    let mut next = n_in;
    let pick = |rng: &mut dyn rand::RngCore, next: u32| -> u32 {
        let lo = if spec.window == 0 {
            0
        } else {
            next.saturating_sub(spec.window)
        };
        rng.gen_range(lo..next)
    };
    for _ in 0..spec.gates {
        let r: f64 = rng.r#gen();
        let a = pick(rng, next);
        let b = pick(rng, next);
        let g = if r < spec.and_fraction {
            Gate::and(a, b, next)
        } else if r < spec.and_fraction + (1.0 - spec.and_fraction) * 0.85 {
            Gate::xor(a, b, next)
        } else {
            Gate::not(a, next)
        };
        gates.push(g);
        next += 1;
    }
    let outputs = spec
        .output_widths
        .iter()
        .enumerate()
        .map(|(i, &bits)| OutputSpec {
            name: format!("out{i}"),
            recipient: recipient(i),
            bits: (0..bits)
                .map(|_| {
                    // Mostly late wires, so that much of the circuit is live.
                    let lo = next - (next / 4).max(1);
                    OutBit::Wire(rng.gen_range(lo..next))
                })
                .collect(),
            ty: ValueType::default(),
        })
        .collect();
    Circuit {
        inputs,
        outputs,
        gates,
        wires: next,
        sections: Vec::new(),
    }
}

/// Random gates fed through the simplifying [`Builder`] (constants included), for
/// checking that simplification never changes a result. Returns the built circuit.
pub fn random_built_circuit(rng: &mut impl Rng, spec: &RandomSpec) -> Circuit {
    random_builder(rng, spec).finish()
}

/// The builder [`random_built_circuit`] finishes, with sections every
/// `spec.gates / 3 + 1` operations when `sections` is set.
pub fn random_builder_with_sections(
    rng: &mut impl Rng,
    spec: &RandomSpec,
    sections: bool,
) -> Builder {
    let mut b = Builder::new();
    let mut pool = Vec::new();
    for (i, &w) in spec.input_widths.iter().enumerate() {
        pool.extend(b.input(&format!("in{i}"), owner(i), w));
    }
    pool.push(b.zero());
    pool.push(b.one());
    for step in 0..spec.gates {
        if sections && step % (spec.gates / 3 + 1) == 0 {
            b.section(&format!("s{step}"));
        }
        let lo = if spec.window == 0 {
            0
        } else {
            pool.len().saturating_sub(spec.window as usize)
        };
        let x = pool[rng.gen_range(lo..pool.len())];
        // Sometimes reuse an operand or its complement to hit the x^x, x&x, x&!x rules.
        let y = match rng.gen_range(0..10) {
            0 => x,
            1 => b.not(x),
            _ => pool[rng.gen_range(lo..pool.len())],
        };
        let r: f64 = rng.r#gen();
        let w = if r < spec.and_fraction {
            b.and(x, y)
        } else if r < 0.9 {
            b.xor(x, y)
        } else {
            b.not(x)
        };
        pool.push(w);
    }
    for (i, &w) in spec.output_widths.iter().enumerate() {
        let bits: Vec<_> = (0..w)
            .map(|_| pool[rng.gen_range(pool.len() - pool.len().min(32)..pool.len())])
            .collect();
        b.output(&format!("out{i}"), recipient(i), &bits);
    }
    b
}

/// The builder [`random_built_circuit`] finishes (no sections).
pub fn random_builder(rng: &mut impl Rng, spec: &RandomSpec) -> Builder {
    random_builder_with_sections(rng, spec, false)
}

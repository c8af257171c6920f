//! DeepSecure's secure outsourcing as a circuit transform: a client too weak to
//! evaluate one-time-pads its input; the masked value goes to the garbler, the pad
//! to the evaluator (a proxy), and the circuit removes the pad with free XORs.
//! Outputs to the evaluator are masked by a garbler input the client chose, so the
//! proxy learns only y⊕s. The AND count is unchanged.

use crate::ir::{Circuit, Gate, InputSpec, OutBit, OutputSpec, Party, Recipient};

/// Suffix of the garbler-owned masked copy of a client input (x⊕r).
pub const MASKED: &str = ".masked";
/// Suffix of the evaluator-owned pad of a client input (r).
pub const PAD: &str = ".pad";
/// Suffix of the garbler-owned mask of an output to the evaluator (s).
pub const MASK: &str = ".mask";

/// The outsourced form of `c`. Inputs, in order: each original input, where an
/// evaluator-owned `X` becomes `X.masked` (garbler) then `X.pad` (evaluator); then
/// `OUT.mask` (garbler) for each output whose recipient includes the evaluator.
/// Such outputs become `OUT ⊕ OUT.mask`, addressed to the evaluator only.
pub fn outsource(c: &Circuit) -> Circuit {
    let mut inputs = Vec::new();
    for i in &c.inputs {
        if i.owner == Party::Evaluator {
            for (suffix, owner) in [(MASKED, Party::Garbler), (PAD, Party::Evaluator)] {
                inputs.push(InputSpec {
                    name: format!("{}{suffix}", i.name),
                    owner,
                    ..i.clone()
                });
            }
        } else {
            inputs.push(i.clone());
        }
    }
    let masked_outputs: Vec<usize> = (0..c.outputs.len())
        .filter(|&k| c.outputs[k].recipient.includes(Party::Evaluator))
        .collect();
    for &k in &masked_outputs {
        let o = &c.outputs[k];
        inputs.push(InputSpec {
            name: format!("{}{MASK}", o.name),
            owner: Party::Garbler,
            bits: o.bits.len() as u32,
            ty: o.ty.clone(),
        });
    }
    let new_inputs: u64 = inputs.iter().map(|i| i.bits as u64).sum();
    let base = new_inputs as u32;
    // Where each original slot's current value lives in the new circuit.
    let mut map: Vec<u32> = (0..c.wires.max(c.slots_used())).map(|w| base + w).collect();
    let mut gates = Vec::with_capacity(c.gates.len() + c.input_bits() as usize);
    let mut next = 0u32; // next new input wire
    let mut orig = 0u32; // next original input wire
    for i in &c.inputs {
        if i.owner == Party::Evaluator {
            let (m, p) = (next, next + i.bits);
            for b in 0..i.bits {
                gates.push(Gate::xor(m + b, p + b, base + orig + b));
            }
            next += 2 * i.bits;
        } else {
            for b in 0..i.bits {
                map[(orig + b) as usize] = next + b;
            }
            next += i.bits;
        }
        orig += i.bits;
    }
    for g in &c.gates {
        let a = map[g.a as usize];
        let b = map[g.b as usize];
        map[g.out as usize] = base + g.out;
        gates.push(Gate {
            op: g.op,
            a,
            b,
            out: base + g.out,
        });
    }
    let mut fresh = base + map.len() as u32;
    let mut outputs = Vec::with_capacity(c.outputs.len());
    for (k, o) in c.outputs.iter().enumerate() {
        let mut o2 = o.clone();
        for b in o2.bits.iter_mut() {
            if let OutBit::Wire(w) = b {
                *w = map[*w as usize];
            }
        }
        if masked_outputs.contains(&k) {
            for bit in o2.bits.iter_mut() {
                let mask = next;
                next += 1;
                *bit = match *bit {
                    OutBit::Const(false) => OutBit::Wire(mask),
                    OutBit::Const(true) => {
                        gates.push(Gate::not(mask, fresh));
                        fresh += 1;
                        OutBit::Wire(fresh - 1)
                    }
                    OutBit::Wire(w) => {
                        gates.push(Gate::xor(w, mask, fresh));
                        fresh += 1;
                        OutBit::Wire(fresh - 1)
                    }
                };
            }
            o2.recipient = Recipient::Evaluator;
        }
        outputs.push(OutputSpec { ..o2 });
    }
    Circuit {
        inputs,
        outputs,
        gates,
        wires: fresh,
        sections: Vec::new(),
    }
}

/// The outsourced circuit's garbler inputs, in order: the original garbler
/// inputs `own` (a network's weights), each client input's masked value
/// `masked` (in the order of the original evaluator inputs) and each masked
/// output's mask `masks`. `None` if a count or width does not fit.
pub fn garbler_inputs(
    c: &Circuit,
    own: &[Vec<bool>],
    masked: &[Vec<bool>],
    masks: &[Vec<bool>],
) -> Option<Vec<Vec<bool>>> {
    let (mut own, mut masked) = (own.iter(), masked.iter());
    let mut out = Vec::new();
    for i in &c.inputs {
        let v = match i.owner {
            Party::Garbler => own.next()?,
            Party::Evaluator => masked.next()?,
        };
        if v.len() != i.bits as usize {
            return None;
        }
        out.push(v.clone());
    }
    let widths = c
        .outputs
        .iter()
        .filter(|o| o.recipient.includes(Party::Evaluator))
        .map(|o| o.bits.len());
    if widths.clone().count() != masks.len() {
        return None;
    }
    for (w, m) in widths.zip(masks) {
        if m.len() != w {
            return None;
        }
        out.push(m.clone());
    }
    (own.next().is_none() && masked.next().is_none()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{RandomSpec, random_circuit};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn xor(a: &[bool], b: &[bool]) -> Vec<bool> {
        a.iter().zip(b).map(|(x, y)| x ^ y).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn outsourced_on_masked_inputs_is_original_xor_mask(seed: u64, owners: u8, recips: u8) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let spec = RandomSpec {
                input_widths: vec![3, 5, 4],
                gates: 150,
                output_widths: vec![4, 2, 3],
                and_fraction: 0.4,
                window: 0,
            };
            let mut c = random_circuit(&mut rng, &spec);
            for (k, i) in c.inputs.iter_mut().enumerate() {
                i.owner = if owners >> k & 1 == 1 { Party::Evaluator } else { Party::Garbler };
            }
            for (k, o) in c.outputs.iter_mut().enumerate() {
                o.recipient = [Recipient::Evaluator, Recipient::Garbler, Recipient::Both][(recips as usize >> (2 * k)) % 3];
            }
            // A folded constant output bit must be masked too.
            c.outputs[0].bits[0] = OutBit::Const(true);
            let c = crate::passes::allocate_slots(c);
            let o = outsource(&c);
            crate::passes::validate(&o).unwrap();
            prop_assert_eq!(o.and_count(), c.and_count());
            let mut rand_bits = |n: u32| (0..n).map(|_| rng.r#gen::<bool>()).collect::<Vec<_>>();
            let x: Vec<Vec<bool>> = c.inputs.iter().map(|i| rand_bits(i.bits)).collect();
            let want = c.eval(&x).unwrap();
            let (mut own, mut masked, mut pads) = (vec![], vec![], vec![]);
            for (i, v) in c.inputs.iter().zip(&x) {
                if i.owner == Party::Evaluator {
                    let r = rand_bits(i.bits);
                    masked.push(xor(v, &r));
                    pads.push(r);
                } else {
                    own.push(v.clone());
                }
            }
            let to_eval: Vec<usize> = (0..c.outputs.len())
                .filter(|&k| c.outputs[k].recipient.includes(Party::Evaluator)).collect();
            let masks: Vec<Vec<bool>> = to_eval.iter().map(|&k| rand_bits(c.outputs[k].bits.len() as u32)).collect();
            let g = garbler_inputs(&c, &own, &masked, &masks).unwrap();
            // Interleave by owner in the outsourced circuit's input order.
            let (mut g, mut e) = (g.into_iter(), pads.into_iter());
            let all: Vec<Vec<bool>> = o.inputs.iter().map(|i| match i.owner {
                Party::Garbler => g.next().unwrap(),
                Party::Evaluator => e.next().unwrap(),
            }).collect();
            let got = o.eval(&all).unwrap();
            let mut m = masks.iter();
            for (k, w) in want.iter().enumerate() {
                if to_eval.contains(&k) {
                    prop_assert_eq!(&got[k], &xor(w, m.next().unwrap()));
                    prop_assert_eq!(o.outputs[k].recipient, Recipient::Evaluator);
                } else {
                    prop_assert_eq!(&got[k], w);
                }
            }
        }
    }

    #[test]
    fn wrong_widths_are_refused() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let spec = RandomSpec {
            input_widths: vec![2, 2],
            gates: 20,
            output_widths: vec![2],
            and_fraction: 0.5,
            window: 0,
        };
        let mut c = random_circuit(&mut rng, &spec);
        c.inputs[1].owner = Party::Evaluator;
        c.outputs[0].recipient = Recipient::Evaluator;
        let ok = garbler_inputs(&c, &[vec![true; 2]], &[vec![false; 2]], &[vec![true; 2]]);
        assert!(ok.is_some());
        assert!(
            garbler_inputs(&c, &[vec![true; 2]], &[vec![false; 3]], &[vec![true; 2]]).is_none()
        );
        assert!(garbler_inputs(&c, &[vec![true; 2]], &[vec![false; 2]], &[]).is_none());
    }
}

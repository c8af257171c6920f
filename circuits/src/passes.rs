//! Circuit passes, each a function from one circuit to the next, plus `validate`.

use crate::ir::{Circuit, Gate, Op, OutBit, Section};

/// Why a circuit is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    #[error("the inputs take {input_bits} wires but the circuit has only {wires}")]
    InputsExceedWires { input_bits: u64, wires: u32 },
    #[error("gate {gate}: wire {wire} is out of range (the circuit has {wires} wires)")]
    WireOutOfRange { gate: u64, wire: u32, wires: u32 },
    #[error("gate {gate}: wire {wire} is used before it is defined")]
    UndefinedWire { gate: u64, wire: u32 },
    #[error("output `{output}` bit {bit}: wire {wire} is out of range or never defined")]
    UndefinedOutput {
        output: String,
        bit: usize,
        wire: u32,
    },
    #[error(
        "section `{name}` covers gates {start}..{end}, outside the circuit's {gates} gates or before the previous section's end"
    )]
    BadSection {
        name: String,
        start: u64,
        end: u64,
        gates: u64,
    },
}

/// Checks topological order: every wire in range and defined (an input, or an earlier
/// gate's output) before it is read; outputs defined; sections ordered and in range.
pub fn validate(c: &Circuit) -> Result<(), ValidateError> {
    let input_bits = c.input_bits();
    if input_bits > c.wires as u64 {
        return Err(ValidateError::InputsExceedWires {
            input_bits,
            wires: c.wires,
        });
    }
    let mut defined = vec![false; c.wires as usize];
    defined[..input_bits as usize].fill(true);
    for (i, g) in c.gates.iter().enumerate() {
        for w in g.operands().chain(std::iter::once(g.out)) {
            if w >= c.wires {
                return Err(ValidateError::WireOutOfRange {
                    gate: i as u64,
                    wire: w,
                    wires: c.wires,
                });
            }
        }
        for w in g.operands() {
            if !defined[w as usize] {
                return Err(ValidateError::UndefinedWire {
                    gate: i as u64,
                    wire: w,
                });
            }
        }
        defined[g.out as usize] = true;
    }
    for o in &c.outputs {
        for (bit, b) in o.bits.iter().enumerate() {
            if let OutBit::Wire(w) = *b
                && defined.get(w as usize) != Some(&true)
            {
                return Err(ValidateError::UndefinedOutput {
                    output: o.name.clone(),
                    bit,
                    wire: w,
                });
            }
        }
    }
    let mut prev_end = 0;
    for s in &c.sections {
        if s.gates.start < prev_end
            || s.gates.start > s.gates.end
            || s.gates.end > c.gates.len() as u64
        {
            return Err(ValidateError::BadSection {
                name: s.name.clone(),
                start: s.gates.start,
                end: s.gates.end,
                gates: c.gates.len() as u64,
            });
        }
        prev_end = s.gates.end;
    }
    Ok(())
}

/// Removes gates whose results reach no output. Works on SSA and slot-reusing circuits
/// alike by walking backwards with the set of slots whose current value is still needed.
pub fn dead_gates(mut c: Circuit) -> Circuit {
    let mut needed = vec![false; c.wires as usize];
    for o in &c.outputs {
        for b in &o.bits {
            if let OutBit::Wire(w) = *b {
                needed[w as usize] = true;
            }
        }
    }
    let mut keep = vec![false; c.gates.len()];
    for (i, g) in c.gates.iter().enumerate().rev() {
        if needed[g.out as usize] {
            keep[i] = true;
            needed[g.out as usize] = false;
            for w in g.operands() {
                needed[w as usize] = true;
            }
        }
    }
    c.sections = remap_sections(&c.sections, &keep);
    let mut k = keep.iter();
    c.gates.retain(|_| *k.next().unwrap_or(&false));
    c
}

/// Section ranges after dropping the gates whose `keep` flag is false.
fn remap_sections(sections: &[Section], keep: &[bool]) -> Vec<Section> {
    let mut kept_before = Vec::with_capacity(keep.len() + 1);
    let mut n = 0u64;
    kept_before.push(0);
    for &k in keep {
        n += k as u64;
        kept_before.push(n);
    }
    sections
        .iter()
        .map(|s| Section {
            name: s.name.clone(),
            gates: kept_before[s.gates.start as usize]..kept_before[s.gates.end as usize],
        })
        .collect()
}

const NEVER: u32 = u32::MAX;
const PINNED: u32 = u32::MAX - 1;

/// Renumbers wires so a slot is reused after its value's last use: `wires` becomes
/// the peak number of live wires. Inputs keep the first slots; output values are
/// never overwritten. A freed slot is reused last-in first-out, for cache locality.
pub fn allocate_slots(mut c: Circuit) -> Circuit {
    let n_in = c.input_bits() as usize;
    let n_values = n_in + c.gates.len();
    assert!(
        n_values < PINNED as usize,
        "circuit too large for 32-bit wire ids"
    );
    let initial_slots = |c: &Circuit| -> Vec<u32> {
        (0..c.wires)
            .map(|s| if (s as usize) < n_in { s } else { NEVER })
            .collect()
    };

    // Pass 1: last use of every value (value = input bit, or gate index + n_in).
    let mut last_use = vec![NEVER; n_values];
    let mut current = initial_slots(&c);
    for (i, g) in c.gates.iter().enumerate() {
        for w in g.operands() {
            last_use[current[w as usize] as usize] = i as u32;
        }
        current[g.out as usize] = (n_in + i) as u32;
    }
    for o in &c.outputs {
        for b in &o.bits {
            if let OutBit::Wire(w) = *b {
                last_use[current[w as usize] as usize] = PINNED;
            }
        }
    }

    // Pass 2: assign slots.
    let mut slot_of = vec![NEVER; n_values];
    let mut free: Vec<u32> = Vec::new();
    for v in (0..n_in).rev() {
        slot_of[v] = v as u32;
        if last_use[v] == NEVER {
            free.push(v as u32);
        }
    }
    let mut next_slot = n_in as u32;
    let mut current = initial_slots(&c);
    for (i, g) in c.gates.iter_mut().enumerate() {
        let va = current[g.a as usize] as usize;
        let vb = current[g.b as usize] as usize;
        let (sa, sb) = (slot_of[va], slot_of[vb]);
        if last_use[va] == i as u32 {
            free.push(sa);
        }
        if vb != va && last_use[vb] == i as u32 {
            free.push(sb);
        }
        let v = n_in + i;
        let slot = free.pop().unwrap_or_else(|| {
            next_slot += 1;
            next_slot - 1
        });
        slot_of[v] = slot;
        if last_use[v] == NEVER {
            free.push(slot);
        }
        current[g.out as usize] = v as u32;
        *g = Gate {
            op: g.op,
            a: sa,
            b: sb,
            out: slot,
        };
    }
    for o in &mut c.outputs {
        for b in &mut o.bits {
            if let OutBit::Wire(w) = b {
                *w = slot_of[current[*w as usize] as usize];
            }
        }
    }
    c.wires = next_slot;
    c
}

/// Gates per scheduling window: large enough to gather many independent ANDs,
/// small enough that the live wires it adds stay in cache.
pub const SCHEDULE_WINDOW: usize = 1 << 16;

/// Reorders gates so that, within each window of `window` gates (never across a
/// section boundary), the AND gates of one AND-level come together, each level's ANDs
/// before its XORs and NOTs. The garbler and evaluator hash independent ANDs in
/// batches, so long runs of independent ANDs keep AES pipelines full.
///
/// The key of a gate is 2·(AND-depth of its output), plus one unless it is an AND.
/// An AND at depth d reads only wires of depth < d (keys < 2d); an XOR or NOT at depth
/// d reads wires of depth ≤ d (keys ≤ 2d + 1, equal keys keeping their order); so a
/// stable sort by key is still a topological order. It needs SSA form (each wire
/// written once, as the builder makes), since reordering a slot-reusing circuit could
/// overwrite a value before its last read; other circuits are returned unchanged.
pub fn schedule_and_levels(mut c: Circuit, window: usize) -> Circuit {
    let n_in = c.input_bits() as usize;
    let wires = c.wires as usize;
    let mut written = vec![false; wires];
    written[..n_in.min(wires)].fill(true);
    for g in &c.gates {
        if std::mem::replace(&mut written[g.out as usize], true) {
            return c;
        }
    }
    let mut depth = vec![0u32; c.wires as usize];
    let mut keys = Vec::with_capacity(c.gates.len());
    for g in &c.gates {
        let d = depth[g.a as usize].max(depth[g.b as usize]) + (g.op == Op::And) as u32;
        depth[g.out as usize] = d;
        keys.push(2 * d as u64 + (g.op != Op::And) as u64);
    }
    // Window boundaries: every `window` gates and every section start and end.
    let mut cuts: Vec<usize> = (0..c.gates.len()).step_by(window.max(1)).collect();
    for s in &c.sections {
        cuts.push(s.gates.start as usize);
        cuts.push(s.gates.end as usize);
    }
    cuts.push(c.gates.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut order: Vec<u32> = (0..c.gates.len() as u32).collect();
    for w in cuts.windows(2) {
        order[w[0]..w[1]].sort_by_key(|&i| keys[i as usize]);
    }
    c.gates = order.iter().map(|&i| c.gates[i as usize]).collect();
    c
}

/// The standard pipeline after building: drop dead gates, group independent ANDs,
/// then reuse wire slots.
pub fn optimize(c: Circuit) -> Circuit {
    allocate_slots(schedule_and_levels(dead_gates(c), SCHEDULE_WINDOW))
}

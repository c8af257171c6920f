//! Circuit passes, each a function from one circuit to the next, plus `validate`.
//!
//! [`optimize_into_gcirc`] runs the same pipeline as [`optimize`] over a
//! [`crate::Builder`]'s compact gate store and writes `.gcirc` as it goes, for
//! circuits too large to hold as a [`Circuit`]: a backward pass finds dead gates and
//! last uses (a few bits a gate), then two forward passes schedule each window and
//! allocate slots with maps over the live values only (the first to learn the wire
//! count and output slots the header needs, the second to write the gates).

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
    #[error(
        "output `{}` bit {bit}: wire {wire} is out of range or never defined",
        crate::text::quote(.output)
    )]
    UndefinedOutput {
        output: String,
        bit: usize,
        wire: u32,
    },
    #[error(
        "section `{}` covers gates {start}..{end}, outside the circuit's {gates} gates or before the previous section's end",
        crate::text::quote(.name)
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
    let mut defined = vec![false; c.slots_used().min(c.wires) as usize];
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
    let mut needed = vec![false; c.slots_used() as usize];
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
        (0..c.slots_used())
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
    let wires = c.slots_used() as usize;
    let mut written = vec![false; wires];
    written[..n_in.min(wires)].fill(true);
    for g in &c.gates {
        if std::mem::replace(&mut written[g.out as usize], true) {
            return c;
        }
    }
    let mut depth = vec![0u32; wires];
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

// ---------------------------------------------------------------------------------
// The same pipeline over a builder's compact gate store, streamed to `.gcirc`.

/// What [`optimize_into_gcirc`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSummary {
    /// Gates written (after dropping dead gates).
    pub gates: u64,
    /// AND gates among them.
    pub and_gates: u64,
    /// Wire slots (peak live wires).
    pub wires: u32,
    /// The file's SHA-256 digest.
    pub digest: [u8; 32],
}

/// One bit per index.
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    #[inline]
    fn get(&self, i: usize) -> bool {
        self.0[i >> 6] >> (i & 63) & 1 == 1
    }
    #[inline]
    fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }
    /// Number of set bits below each of `positions` (ascending).
    fn ranks(&self, positions: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(positions.len());
        let (mut word, mut count) = (0usize, 0u64);
        for &p in positions {
            let p = p as usize;
            while word < p >> 6 {
                count += self.0[word].count_ones() as u64;
                word += 1;
            }
            let partial = if p & 63 == 0 {
                0
            } else {
                (self.0[word] & ((1u64 << (p & 63)) - 1)).count_ones() as u64
            };
            out.push(count + partial);
        }
        out
    }
}

/// A cheap hasher for wire ids (a multiplicative mix).
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64);
    }
    fn write_u64(&mut self, x: u64) {
        let h = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

type IdMap<V> = std::collections::HashMap<u32, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A value read or written in the current window.
#[derive(Clone, Copy)]
struct Rec {
    value: u32,
    slot: u32,
    depth: u32,
    /// Position (in scheduled order) of the value's last read in this window.
    last_pos: u32,
    /// Its last read is in this window.
    dies: bool,
    /// Defined before this window.
    external: bool,
}

/// A gate of the current window, operands and output as indices into the records.
#[derive(Clone, Copy)]
struct WinGate {
    op: Op,
    a: u32,
    b: u32,
    out: u32,
}

/// The results of the backward pass over a gate store.
struct Liveness {
    keep: Bits,
    /// Gate i is the last reader of its operand a (b), in the original order.
    last_a: Bits,
    last_b: Bits,
    /// Input wires that are read by a kept gate or are outputs.
    needed: Bits,
    kept: u64,
    sections: Vec<Section>,
}

fn liveness(p: &crate::builder::BuiltParts) -> Liveness {
    let n_in = p.input_bits as usize;
    let g = p.store.len();
    let mut needed = Bits::new(n_in + g);
    let mut keep = Bits::new(g);
    let mut last_a = Bits::new(g);
    let mut last_b = Bits::new(g);
    for o in &p.outputs {
        for b in &o.bits {
            if let OutBit::Wire(w) = *b {
                needed.set(w as usize);
            }
        }
    }
    let mut kept = 0u64;
    for i in (0..g).rev() {
        if !needed.get(n_in + i) {
            continue;
        }
        keep.set(i);
        kept += 1;
        let (op, a, b) = p.store.get(i);
        if !needed.get(a as usize) {
            needed.set(a as usize);
            last_a.set(i);
        }
        if op != Op::Not && !needed.get(b as usize) {
            needed.set(b as usize);
            last_b.set(i);
        }
    }
    let mut points: Vec<u64> = p
        .sections
        .iter()
        .flat_map(|s| [s.gates.start, s.gates.end])
        .collect();
    points.sort_unstable();
    points.dedup();
    // Only the inputs' bits are used from here on.
    needed.0.truncate(n_in.div_ceil(64));
    needed.0.shrink_to_fit();
    let ranks = keep.ranks(&points);
    let remap = |x: u64| ranks[points.binary_search(&x).expect("a section boundary")];
    let sections = p
        .sections
        .iter()
        .map(|s| Section {
            name: s.name.clone(),
            gates: remap(s.gates.start)..remap(s.gates.end),
        })
        .collect();
    Liveness {
        keep,
        last_a,
        last_b,
        needed,
        kept,
        sections,
    }
}

/// Dead gates dropped, AND levels scheduled per window and slots allocated, exactly
/// as [`optimize`] does, passing each final gate to `emit`. Returns the wire count
/// and the slots (and depths) of the gate values still live at the end (the
/// outputs that are not input wires).
///
/// Per window, each value read or written gets a record: the window's own values
/// through `in_window` (indexed by original gate index, so it spans the window's dead
/// gates too), earlier ones through `external`, which loads them from `global`, the
/// map of gate values defined before the window and read after it (an input wire
/// keeps its own slot and has depth 0, so it needs no entry).
fn forward(
    p: &crate::builder::BuiltParts,
    live: &Liveness,
    window: usize,
    mut emit: impl FnMut(&Gate) -> std::io::Result<()>,
) -> std::io::Result<(u32, IdMap<(u32, u32)>)> {
    let n_in = p.input_bits as usize;
    let g = p.store.len();
    let window = window.max(1) as u64;
    // Gate values defined before the current window and still to be read:
    // (slot, depth).
    let mut global: IdMap<(u32, u32)> = IdMap::default();
    let mut free: Vec<u32> = Vec::new();
    for v in (0..n_in).rev() {
        if !live.needed.get(v) {
            free.push(v as u32);
        }
    }
    let mut next_slot = n_in as u32;
    let mut cuts: Vec<u64> = live
        .sections
        .iter()
        .flat_map(|s| [s.gates.start, s.gates.end])
        .collect();
    cuts.push(live.kept);
    cuts.sort_unstable();
    cuts.dedup();

    let mut external: IdMap<u32> = IdMap::default();
    let mut in_window: Vec<u32> = Vec::new();
    let mut recs: Vec<Rec> = Vec::new();
    let mut win: Vec<WinGate> = Vec::new();
    let mut keys: Vec<u64> = Vec::new();
    let mut order: Vec<u32> = Vec::new();
    let mut i = 0usize; // original gate index
    let mut k = 0u64; // kept gate index
    let mut cut = 0usize;
    while k < live.kept {
        while cuts[cut] <= k {
            cut += 1;
        }
        let end = cuts[cut].min((k / window + 1) * window);
        external.clear();
        recs.clear();
        win.clear();
        keys.clear();
        // Records of this window's values by gate index from `first` (a dead gate
        // has none), and of earlier values through `external`.
        let first = i;
        in_window.clear();
        // Gather the window in the original order, with global AND depths.
        while k < end {
            if !live.keep.get(i) {
                in_window.push(NEVER);
                i += 1;
                continue;
            }
            let (op, a, b) = p.store.get(i);
            let mut resolve = |x: u32| -> u32 {
                if let Some(j) = (x as usize).checked_sub(n_in + first) {
                    return in_window[j];
                }
                *external.entry(x).or_insert_with(|| {
                    let (slot, depth) = if (x as usize) < n_in {
                        (x, 0)
                    } else {
                        *global.get(&x).expect("a live value")
                    };
                    recs.push(Rec {
                        value: x,
                        slot,
                        depth,
                        last_pos: 0,
                        dies: false,
                        external: true,
                    });
                    recs.len() as u32 - 1
                })
            };
            let ra = resolve(a);
            let rb = if op == Op::Not { ra } else { resolve(b) };
            if live.last_a.get(i) {
                recs[ra as usize].dies = true;
            }
            if live.last_b.get(i) {
                recs[rb as usize].dies = true;
            }
            let d = recs[ra as usize].depth.max(recs[rb as usize].depth) + (op == Op::And) as u32;
            let v = (n_in + i) as u32;
            recs.push(Rec {
                value: v,
                slot: NEVER,
                depth: d,
                last_pos: 0,
                dies: false,
                external: false,
            });
            let rv = recs.len() as u32 - 1;
            in_window.push(rv);
            win.push(WinGate {
                op,
                a: ra,
                b: rb,
                out: rv,
            });
            keys.push(2 * d as u64 + (op != Op::And) as u64);
            i += 1;
            k += 1;
        }
        order.clear();
        order.extend(0..win.len() as u32);
        order.sort_by_key(|&j| keys[j as usize]);
        for (pos, &j) in order.iter().enumerate() {
            let wg = win[j as usize];
            recs[wg.a as usize].last_pos = pos as u32;
            recs[wg.b as usize].last_pos = pos as u32;
        }
        for (pos, &j) in order.iter().enumerate() {
            let wg = win[j as usize];
            let (ra, rb) = (recs[wg.a as usize], recs[wg.b as usize]);
            if ra.dies && ra.last_pos == pos as u32 {
                free.push(ra.slot);
            }
            if wg.b != wg.a && rb.dies && rb.last_pos == pos as u32 {
                free.push(rb.slot);
            }
            let slot = free.pop().unwrap_or_else(|| {
                next_slot += 1;
                next_slot - 1
            });
            recs[wg.out as usize].slot = slot;
            emit(&Gate {
                op: wg.op,
                a: ra.slot,
                b: rb.slot,
                out: slot,
            })?;
        }
        for r in &recs {
            if r.external && r.dies && r.value as usize >= n_in {
                global.remove(&r.value);
            } else if !r.external && !r.dies {
                global.insert(r.value, (r.slot, r.depth));
            }
        }
    }
    debug_assert_eq!(
        (0..g).filter(|&i| live.keep.get(i)).count() as u64,
        live.kept
    );
    Ok((next_slot, global))
}

/// Runs [`optimize`]'s pipeline (dead gates, AND-level scheduling, slot allocation)
/// over the builder's compact gate store and writes the result as `.gcirc` to `out`,
/// without materializing the circuit: the bytes equal
/// `gcirc::to_bytes(&optimize(b.finish()))`. Memory beyond the builder's 8 bytes a
/// gate is a few bits a gate plus maps over the live values. The gates are processed
/// twice: once to learn the wire count and output slots for the header, once to write.
pub fn optimize_into_gcirc<W: std::io::Write>(
    b: crate::builder::Builder,
    out: W,
) -> std::io::Result<StreamSummary> {
    optimize_into_gcirc_annotated(b, Vec::new(), out)
}

/// [`optimize_into_gcirc`] with annotations in the header (a version 2 file when
/// there are any).
pub fn optimize_into_gcirc_annotated<W: std::io::Write>(
    b: crate::builder::Builder,
    annotations: Vec<crate::format::gcirc::Annotation>,
    out: W,
) -> std::io::Result<StreamSummary> {
    use crate::format::gcirc;
    let parts = b.into_parts();
    let live = liveness(&parts);
    let (wires, global) = forward(&parts, &live, SCHEDULE_WINDOW, |_| Ok(()))?;
    let outputs = parts
        .outputs
        .iter()
        .map(|o| crate::ir::OutputSpec {
            bits: o
                .bits
                .iter()
                .map(|b| match *b {
                    // An input wire keeps its slot.
                    OutBit::Wire(w) if (w as u64) < parts.input_bits => OutBit::Wire(w),
                    OutBit::Wire(w) => OutBit::Wire(global[&w].0),
                    c => c,
                })
                .collect(),
            ..o.clone()
        })
        .collect();
    drop(global);
    let header = gcirc::Header {
        version: gcirc::VERSION,
        wires,
        gates: live.kept,
        inputs: parts.inputs.clone(),
        outputs,
        sections: live.sections.clone(),
        annotations,
    };
    let mut w = gcirc::Writer::new(out, &header)?;
    let mut and_gates = 0u64;
    forward(&parts, &live, SCHEDULE_WINDOW, |g| {
        and_gates += (g.op == Op::And) as u64;
        w.write_gate(g)
    })?;
    let (digest, _) = w.finish()?;
    Ok(StreamSummary {
        gates: live.kept,
        and_gates,
        wires,
        digest,
    })
}

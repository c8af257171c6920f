//! Building circuits through [`Gates`]: constant folding, operand normalization,
//! structural hashing and the `x^x`, `x&x`, `x&!x`, `!!x` rules.
//!
//! Bits are literals, as in and-inverter graphs: a node id and a complement flag.
//! NOT only flips the flag, and XOR absorbs the flags of its operands, so a NOT
//! gate is emitted only where an AND (or an output) reads a complemented node.
//! Identical gates are found through a direct-mapped cache of fixed size, which
//! keeps memory bounded on huge networks at the price of missing some far-apart
//! duplicates; the same rules run in [`Counter`], so counting and building agree.

use crate::gates::Gates;
use crate::ir::{
    Circuit, Gate, InputSpec, Op, OutBit, OutputSpec, Party, Recipient, Section, ValueType,
};
use crate::liveness::{Liveness, NodeSet};

/// A bit while building: node id times two, plus one if complemented.
/// Node 0 is the constant false, so `Wire::FALSE` and `Wire::TRUE` are literals 0 and 1.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Wire(u32);

impl Wire {
    pub const FALSE: Wire = Wire(0);
    pub const TRUE: Wire = Wire(1);
    fn node(self) -> u32 {
        self.0 >> 1
    }
    fn complemented(self) -> bool {
        self.0 & 1 == 1
    }
    fn is_const(self) -> bool {
        self.node() == 0
    }
    fn of(node: u32, complemented: bool) -> Wire {
        Wire(node << 1 | complemented as u32)
    }
}

/// Gate counts by kind.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GateCounts {
    pub and: u64,
    pub xor: u64,
    pub not: u64,
}

impl GateCounts {
    pub fn total(&self) -> u64 {
        self.and + self.xor + self.not
    }
    pub(crate) fn bump(&mut self, op: Op) {
        match op {
            Op::And => self.and += 1,
            Op::Xor => self.xor += 1,
            Op::Not => self.not += 1,
        }
    }
}

impl std::ops::Sub for GateCounts {
    type Output = GateCounts;
    fn sub(self, o: GateCounts) -> GateCounts {
        GateCounts {
            and: self.and - o.and,
            xor: self.xor - o.xor,
            not: self.not - o.not,
        }
    }
}

/// 2^16 entries of 16 bytes: 1 MiB, which stays in L2. Larger tables catch a few more
/// far-apart duplicates (0.01% of ANDs on the MiniONN network) but miss the cache on
/// nearly every gate, which made counting huge networks twice as slow.
const CACHE_BITS: u32 = 16;

#[derive(Copy, Clone, Default)]
struct CacheEntry {
    /// op + 1 (0 means empty), a, b: positive node ids.
    key: (u8, u32, u32),
    node: u32,
}

/// Gates per chunk of a [`GateStore`].
const CHUNK_BITS: u32 = 20;
const CHUNK: usize = 1 << CHUNK_BITS;

/// SSA gates packed one per `u64` (op in bits 62-63, `b` in bits 31-61, `a` in
/// bits 0-30; the output is implicit: the inputs, then one node per gate in order),
/// in chunks of fixed size, so growing never copies or doubles: 8 bytes a gate.
#[derive(Default)]
pub(crate) struct GateStore {
    chunks: Vec<Box<[u64]>>,
    len: usize,
}

impl GateStore {
    fn push(&mut self, op: Op, a: u32, b: u32) {
        debug_assert!(a < 1 << 31 && b < 1 << 31);
        let i = self.len & (CHUNK - 1);
        if i == 0 {
            self.chunks.push(vec![0u64; CHUNK].into_boxed_slice());
        }
        let packed = (op as u64) << 62 | (b as u64) << 31 | a as u64;
        self.chunks[self.len >> CHUNK_BITS][i] = packed;
        self.len += 1;
    }

    /// Number of gates.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Gate `i` as (op, a, b), operands as stored.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> (Op, u32, u32) {
        let packed = self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)];
        let op = match packed >> 62 {
            0 => Op::Xor,
            1 => Op::And,
            _ => Op::Not,
        };
        (
            op,
            (packed & 0x7fff_ffff) as u32,
            (packed >> 31 & 0x7fff_ffff) as u32,
        )
    }
}

/// A built circuit before the passes: SSA gates in a [`GateStore`] over wire ids
/// (the inputs are wires `0..input_bits`, gate `k` writes wire `input_bits + k`).
pub(crate) struct BuiltParts {
    pub(crate) store: GateStore,
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) outputs: Vec<OutputSpec>,
    pub(crate) sections: Vec<Section>,
    pub(crate) input_bits: u64,
}

/// The simplifying core shared by [`Builder`] and [`Counter`].
struct Core {
    next_node: u32,
    cache: Vec<CacheEntry>,
    counts: GateCounts,
    /// Gates in SSA form, wire ids (node id − 1); `None` when only counting.
    gates: Option<GateStore>,
    /// Liveness of the gates made, for [`LiveCounter`].
    live: Option<Liveness>,
    inputs: Vec<InputSpec>,
    /// The names in `inputs` and `outputs`, so that each declaration checks for a
    /// duplicate in constant time (a Bristol file may declare 2^18 values).
    input_names: std::collections::HashSet<String>,
    output_names: std::collections::HashSet<String>,
    outputs: Vec<(String, Recipient, Vec<Wire>, ValueType)>,
    /// Section names with the gate counts at their start.
    sections: Vec<(String, GateCounts)>,
}

impl Core {
    fn new(record: bool) -> Core {
        Core {
            next_node: 1,
            cache: Vec::new(),
            counts: GateCounts::default(),
            gates: record.then(GateStore::default),
            live: None,
            inputs: Vec::new(),
            input_names: std::collections::HashSet::new(),
            output_names: std::collections::HashSet::new(),
            outputs: Vec::new(),
            sections: Vec::new(),
        }
    }

    fn fresh(&mut self) -> u32 {
        let n = self.next_node;
        self.next_node = n
            .checked_add(1)
            .filter(|&n| n < (1 << 31))
            .expect("circuit too large: more than 2^31 wires");
        n
    }

    fn input(&mut self, name: &str, owner: Party, bits: u32, ty: ValueType) -> Vec<Wire> {
        assert!(
            self.counts.total() == 0,
            "input `{name}` declared after gates: declare all inputs first"
        );
        assert!(
            self.input_names.insert(name.to_string()),
            "input `{name}` declared twice"
        );
        self.inputs.push(InputSpec {
            name: name.to_string(),
            owner,
            bits,
            ty,
        });
        (0..bits).map(|_| Wire::of(self.fresh(), false)).collect()
    }

    /// Finds or makes the gate `op(a, b)` on positive nodes.
    fn gate(&mut self, op: Op, a: u32, b: u32) -> u32 {
        if self.cache.is_empty() {
            self.cache = vec![CacheEntry::default(); 1 << CACHE_BITS];
        }
        let key = (op as u8 + 1, a, b);
        let h = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ op as u64;
        let slot = (h.wrapping_mul(0x1656_67B1_9E37_79F9) >> (64 - CACHE_BITS)) as usize;
        let entry = self.cache[slot];
        if entry.key == key {
            return entry.node;
        }
        let node = self.fresh();
        self.counts.bump(op);
        if let Some(g) = &mut self.gates {
            g.push(op, a - 1, b - 1);
        }
        if let Some(l) = &mut self.live {
            l.record(node, op, a, b);
        }
        self.cache[slot] = CacheEntry { key, node };
        node
    }

    /// A positive node carrying the literal's value, emitting a NOT if needed.
    fn materialize(&mut self, w: Wire) -> u32 {
        if w.complemented() {
            self.gate(Op::Not, w.node(), w.node())
        } else {
            w.node()
        }
    }

    fn xor(&mut self, a: Wire, b: Wire) -> Wire {
        let flip = a.complemented() ^ b.complemented();
        let (x, y) = (a.node().min(b.node()), a.node().max(b.node()));
        if x == y {
            return Wire::of(0, flip);
        }
        if x == 0 {
            return Wire::of(y, flip);
        }
        Wire::of(self.gate(Op::Xor, x, y), flip)
    }

    fn and(&mut self, a: Wire, b: Wire) -> Wire {
        let (a, b) = (a.min(b), a.max(b));
        if a == Wire::FALSE {
            return Wire::FALSE;
        }
        if a == Wire::TRUE {
            return b;
        }
        if a == b {
            return a;
        }
        if a.node() == b.node() {
            return Wire::FALSE;
        }
        let x = self.materialize(a);
        let y = self.materialize(b);
        Wire::of(self.gate(Op::And, x.min(y), x.max(y)), false)
    }

    fn section(&mut self, name: &str) {
        self.sections.push((name.to_string(), self.counts));
        if let Some(l) = &mut self.live {
            l.section(self.next_node);
        }
    }

    fn checkpoint(&mut self, bits: &[Wire], outputs: bool) {
        if let Some(l) = &mut self.live {
            l.checkpoint(bits.iter().map(|w| w.node()), outputs);
        }
    }

    fn output(&mut self, name: &str, recipient: Recipient, bits: &[Wire], ty: ValueType) {
        assert!(
            self.output_names.insert(name.to_string()),
            "output `{name}` declared twice"
        );
        // Complemented outputs need a real NOT; emit it now so it is counted.
        let bits: Vec<Wire> = bits
            .iter()
            .map(|&w| {
                if w.is_const() {
                    w
                } else {
                    Wire::of(self.materialize(w), false)
                }
            })
            .collect();
        self.checkpoint(&bits, true);
        self.outputs.push((name.to_string(), recipient, bits, ty));
    }

    fn section_counts(&self) -> Vec<(String, GateCounts)> {
        let mut out = Vec::new();
        for (i, (name, start)) in self.sections.iter().enumerate() {
            let end = self.sections.get(i + 1).map_or(self.counts, |s| s.1);
            out.push((name.clone(), end - *start));
        }
        out
    }
}

/// The interface and the [`Gates`] implementation that [`Builder`] and [`Counter`]
/// share: both run the same simplifying [`Core`], one keeping the gates, one only
/// counting them.
macro_rules! simplifying_gates {
    ($t:ident) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("counts", &self.core.counts)
                    .finish()
            }
        }

        impl $t {
            /// Declares an input value of `bits` wires; all inputs come before any gate.
            pub fn input(&mut self, name: &str, owner: Party, bits: u32) -> Vec<Wire> {
                self.core.input(name, owner, bits, ValueType::default())
            }

            /// Declares an input value with a tensor shape and number format.
            pub fn typed_input(
                &mut self,
                name: &str,
                owner: Party,
                bits: u32,
                ty: ValueType,
            ) -> Vec<Wire> {
                self.core.input(name, owner, bits, ty)
            }

            pub fn output(&mut self, name: &str, recipient: Recipient, bits: &[Wire]) {
                self.core
                    .output(name, recipient, bits, ValueType::default())
            }

            pub fn typed_output(
                &mut self,
                name: &str,
                recipient: Recipient,
                bits: &[Wire],
                ty: ValueType,
            ) {
                self.core.output(name, recipient, bits, ty)
            }

            pub fn counts(&self) -> GateCounts {
                self.core.counts
            }
        }

        impl Gates for $t {
            type Bit = Wire;
            fn constant(&mut self, value: bool) -> Wire {
                if value { Wire::TRUE } else { Wire::FALSE }
            }
            fn xor(&mut self, a: Wire, b: Wire) -> Wire {
                self.core.xor(a, b)
            }
            fn and(&mut self, a: Wire, b: Wire) -> Wire {
                self.core.and(a, b)
            }
            fn not(&mut self, a: Wire) -> Wire {
                Wire(a.0 ^ 1)
            }
            fn known(&self, bit: Wire) -> Option<bool> {
                bit.is_const().then(|| bit.complemented())
            }
            fn section(&mut self, name: &str) {
                self.core.section(name)
            }
            fn checkpoint(&mut self, live: &[Wire]) {
                self.core.checkpoint(live, false)
            }
        }
    };
}

/// Builds a [`Circuit`] in SSA form (one wire per gate); run
/// [`crate::passes::optimize`] on the result to drop dead gates and reuse slots.
/// Gates are kept compactly (8 bytes each, in fixed-size chunks) until
/// [`Builder::finish`] expands them; [`crate::passes::optimize_into_gcirc`] instead
/// streams the optimized circuit to a `.gcirc` writer straight from that store.
pub struct Builder {
    core: Core,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            core: Core::new(true),
        }
    }

    /// The circuit built so far, in SSA form: node n is wire n − 1.
    pub fn finish(self) -> Circuit {
        let parts = self.into_parts();
        let n_in = parts.input_bits as u32;
        let store = parts.store;
        let mut gates = Vec::with_capacity(store.len());
        for i in 0..store.len() {
            let (op, a, b) = store.get(i);
            gates.push(Gate {
                op,
                a,
                b,
                out: n_in + i as u32,
            });
        }
        drop(store);
        Circuit {
            wires: n_in + gates.len() as u32,
            inputs: parts.inputs,
            outputs: parts.outputs,
            gates,
            sections: parts.sections,
        }
    }

    /// The circuit built so far with its gates still in the compact store.
    pub(crate) fn into_parts(self) -> BuiltParts {
        let core = self.core;
        let mut sections = Vec::new();
        for (i, (name, start)) in core.sections.iter().enumerate() {
            let end = core.sections.get(i + 1).map_or(core.counts, |s| s.1);
            sections.push(Section {
                name: name.clone(),
                gates: start.total()..end.total(),
            });
        }
        let outputs = core
            .outputs
            .into_iter()
            .map(|(name, recipient, bits, ty)| OutputSpec {
                name,
                recipient,
                bits: bits
                    .into_iter()
                    .map(|w| {
                        if w.is_const() {
                            OutBit::Const(w.complemented())
                        } else {
                            OutBit::Wire(w.node() - 1)
                        }
                    })
                    .collect(),
                ty,
            })
            .collect();
        let input_bits = core.inputs.iter().map(|i| i.bits as u64).sum();
        BuiltParts {
            store: core.gates.unwrap_or_default(),
            inputs: core.inputs,
            outputs,
            sections,
            input_bits,
        }
    }
}

simplifying_gates!(Builder);

/// Counts the gates a [`Builder`] would make, with the same simplifications, without
/// storing them: the cost of a huge network in bounded memory.
pub struct Counter {
    core: Core,
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            core: Core::new(false),
        }
    }
    /// Gate counts per section, in order.
    pub fn section_counts(&self) -> Vec<(String, GateCounts)> {
        self.core.section_counts()
    }
}

simplifying_gates!(Counter);

/// Counts the gates of the optimized circuit, that is without the gates
/// [`crate::passes::dead_gates`] would drop, without building it: exact where
/// [`Counter`] is an upper bound, in memory for the gates made since the last
/// [`Gates::checkpoint`], the checkpoint bits not read yet and the dead gates (see
/// the `liveness` module), not for the whole circuit.
///
/// A checkpoint's bits are taken as used later; [`LiveCounter::finish`] reports any
/// that were not, and then the counts can be too high: count again with
/// [`LiveCounter::with_unused_roots`] until none is reported (`count_live` in the
/// compiler does).
pub struct LiveCounter {
    core: Core,
}

/// Checkpoint bits that turned out unused, as node ids of one run; they stay valid
/// for another run making the same gates in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnusedRoots(NodeSet);

impl UnusedRoots {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Both sets.
    pub fn union(mut self, other: UnusedRoots) -> UnusedRoots {
        self.0.extend(other.0);
        self
    }
}

/// What a [`LiveCounter`] found.
#[derive(Clone, Debug)]
pub struct LiveCounts {
    /// Live gates in all.
    pub total: GateCounts,
    /// Live gates per section, in order (gates before the first section only count
    /// in `total`).
    pub sections: Vec<(String, GateCounts)>,
    /// Checkpoint bits nothing read: when not empty, the counts are upper bounds.
    pub unused_roots: UnusedRoots,
    /// Gates made (what [`Counter`] counts).
    pub made: GateCounts,
}

impl Default for LiveCounter {
    fn default() -> Self {
        LiveCounter::new()
    }
}

impl LiveCounter {
    pub fn new() -> LiveCounter {
        LiveCounter::with_unused_roots(UnusedRoots::default())
    }

    /// A counter that does not take the given checkpoint bits (found unused by an
    /// earlier run of the same gates) as used.
    pub fn with_unused_roots(unused: UnusedRoots) -> LiveCounter {
        let mut core = Core::new(false);
        core.live = Some(Liveness::new(unused.0));
        LiveCounter { core }
    }

    /// The live counts; gates not reached by then are dead.
    pub fn finish(mut self) -> LiveCounts {
        self.core.checkpoint(&[], false);
        let live = self
            .core
            .live
            .take()
            .expect("a live counter tracks liveness");
        let per = live.live();
        let mut total = GateCounts::default();
        for c in per {
            total.and += c.and;
            total.xor += c.xor;
            total.not += c.not;
        }
        LiveCounts {
            total,
            sections: self
                .core
                .sections
                .iter()
                .zip(&per[1..])
                .map(|((name, _), c)| (name.clone(), *c))
                .collect(),
            unused_roots: UnusedRoots(live.unused_roots()),
            made: self.core.counts,
        }
    }

    /// Gates made but not (yet) found live.
    pub fn maybe_dead(&self) -> usize {
        self.core.live.as_ref().map_or(0, Liveness::maybe_dead)
    }
}

simplifying_gates!(LiveCounter);

//! Which gates survive dead-gate removal, found while the gates are being made, in
//! memory for the gates made since the last checkpoint, the checkpoint bits not read
//! yet and the dead gates, rather than the whole circuit.
//!
//! A gate is live when some output depends on it. Knowing that in general needs the
//! whole circuit, so the maker says, at checkpoints, which bits it will use later
//! (say, the output bits of a neuron). Gates made since the previous checkpoint are
//! then swept once, newest first: those the checkpoint's roots reach are counted and
//! forgotten; the others are kept aside as *maybe dead*, with their operands, and
//! counted after all if a later sweep reaches them (through a bit the maker held on
//! to, or a structural-hash hit). What is still aside at the end is dead.
//!
//! This is exact when every root is really used later. Each root therefore records
//! whether a counted gate (or an output) read it; roots nobody read are reported, and
//! the caller runs again with those roots left out (see
//! [`crate::LiveCounter::with_unused_roots`]). A root read only by counted gates is
//! live by induction from the newest root, which only outputs can read, so when no
//! root is reported the counts are those of [`crate::passes::dead_gates`].

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::builder::GateCounts;
use crate::ir::Op;

/// A multiplicative hash for node ids: `std`'s SipHash would dominate the sweep.
#[derive(Default)]
pub(crate) struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type NodeMap<V> = HashMap<u32, V, BuildHasherDefault<NodeHasher>>;
pub(crate) type NodeSet = HashSet<u32, BuildHasherDefault<NodeHasher>>;

/// What is known of a node made before the current batch.
#[derive(Copy, Clone, Debug)]
enum Older {
    /// A checkpoint root (counted) that no counted gate or output has read yet; read,
    /// it is forgotten.
    UnreadRoot,
    /// Not reached yet: the gate, operands as node ids.
    MaybeDead(Op, u32, u32),
}

/// Liveness bookkeeping for [`crate::LiveCounter`]; nodes as in the builder (node 0
/// is the constant, then the inputs, then one node per gate).
#[derive(Default)]
pub(crate) struct Liveness {
    /// Nodes up to this one are the constant and the inputs.
    last_input: u32,
    /// First node of the current batch.
    batch_start: u32,
    /// Gates of the current batch, in order, packed as in the builder's store.
    batch: Vec<u64>,
    /// Per gate of the batch: [`LIVE`] and [`ROOT`] bits.
    flags: Vec<u8>,
    older: NodeMap<Older>,
    /// Roots found unused by an earlier run: not roots this time.
    not_roots: NodeSet,
    /// First node of each section.
    section_starts: Vec<u32>,
    /// Live gates before any section, then per section.
    live: Vec<GateCounts>,
    stack: Vec<u32>,
    /// Older nodes recently read that need nothing more (counted, or used roots),
    /// direct-mapped: a neuron reads the same input bits over and over, and this
    /// spares most map lookups.
    settled: Vec<u32>,
}

const SETTLED_BITS: u32 = 12;
/// Reached from a root or an output.
const LIVE: u8 = 1;
/// A root of this batch.
const ROOT: u8 = 2;

fn pack(op: Op, a: u32, b: u32) -> u64 {
    (op as u64) << 62 | (b as u64) << 31 | a as u64
}

fn unpack(g: u64) -> (Op, u32, u32) {
    let op = match g >> 62 {
        0 => Op::Xor,
        1 => Op::And,
        _ => Op::Not,
    };
    (op, (g & 0x7fff_ffff) as u32, (g >> 31 & 0x7fff_ffff) as u32)
}

impl Liveness {
    pub(crate) fn new(not_roots: NodeSet) -> Liveness {
        Liveness {
            not_roots,
            live: vec![GateCounts::default()],
            settled: vec![0; 1 << SETTLED_BITS],
            ..Liveness::default()
        }
    }

    /// A gate was made as node `node` (the next one).
    #[inline]
    pub(crate) fn record(&mut self, node: u32, op: Op, a: u32, b: u32) {
        if self.batch.is_empty() && self.batch_start == 0 {
            self.last_input = node - 1;
            self.batch_start = node;
        }
        debug_assert_eq!(node, self.batch_start + self.batch.len() as u32);
        self.batch.push(pack(op, a, b));
    }

    /// A section starts at node `next_node`.
    pub(crate) fn section(&mut self, next_node: u32) {
        self.section_starts.push(next_node);
        self.live.push(GateCounts::default());
    }

    /// Index into `live` of the section holding `node`.
    fn section_of(&self, node: u32) -> usize {
        self.section_starts.partition_point(|&s| s <= node)
    }

    /// Ends a batch: `roots` (node ids) will be read later; with `outputs`, they are
    /// read by outputs, which makes them used roots.
    pub(crate) fn checkpoint(&mut self, roots: impl Iterator<Item = u32>, outputs: bool) {
        let n = self.batch.len();
        self.flags.clear();
        self.flags.resize(n, 0);
        for r in roots {
            if r <= self.last_input || self.batch_start == 0 {
                continue;
            }
            if outputs {
                self.read(r);
                continue;
            }
            if self.not_roots.contains(&r) {
                continue;
            }
            if r >= self.batch_start {
                let i = (r - self.batch_start) as usize;
                if self.flags[i] & ROOT == 0 {
                    self.older.insert(r, Older::UnreadRoot);
                }
                self.flags[i] |= LIVE | ROOT;
            } else {
                match self.older.get(&r) {
                    Some(Older::MaybeDead(..)) => {
                        self.revive(r);
                        self.older.insert(r, Older::UnreadRoot);
                    }
                    Some(Older::UnreadRoot) => {}
                    // counted already, not a root: it stays uncounted as a root
                    None => {}
                }
            }
        }
        // Newest first, so a gate's readers are decided before it.
        let mut section = self.section_of(self.batch_start + n as u32);
        let mut counts = [0u64; 3];
        for i in (0..n).rev() {
            let node = self.batch_start + i as u32;
            let packed = self.batch[i];
            if self.flags[i] & LIVE == 0 {
                let (op, a, b) = unpack(packed);
                self.older.insert(node, Older::MaybeDead(op, a, b));
                continue;
            }
            if section > 0 && self.section_starts[section - 1] > node {
                self.add_counts(section, &mut counts);
                while section > 0 && self.section_starts[section - 1] > node {
                    section -= 1;
                }
            }
            counts[(packed >> 62) as usize] += 1;
            let (a, b) = (
                (packed & 0x7fff_ffff) as u32,
                (packed >> 31 & 0x7fff_ffff) as u32,
            );
            self.read(a);
            if b != a {
                self.read(b);
            }
        }
        self.add_counts(section, &mut counts);
        self.batch_start += n as u32;
        self.batch.clear();
    }

    /// Adds `counts` (by op code) to a section's and clears them.
    fn add_counts(&mut self, section: usize, counts: &mut [u64; 3]) {
        let c = &mut self.live[section];
        c.xor += counts[Op::Xor as usize];
        c.and += counts[Op::And as usize];
        c.not += counts[Op::Not as usize];
        *counts = [0; 3];
    }

    /// Node `x` is read by a counted gate or an output.
    #[inline]
    fn read(&mut self, x: u32) {
        if x >= self.batch_start {
            let i = (x - self.batch_start) as usize;
            if self.flags[i] & ROOT != 0 {
                // used: nothing more to track
                self.older.remove(&x);
            }
            self.flags[i] |= LIVE;
        } else if x > self.last_input {
            self.read_older(x);
        }
    }

    #[inline(never)]
    fn read_older(&mut self, x: u32) {
        let slot = (x.wrapping_mul(0x9E37_79B9) >> (32 - SETTLED_BITS)) as usize;
        if self.settled[slot] == x {
            return;
        }
        match self.older.get(&x) {
            // used: nothing more to track
            Some(Older::UnreadRoot) => {
                self.older.remove(&x);
            }
            Some(Older::MaybeDead(..)) => self.revive(x),
            None => {}
        }
        // Counted (now) and not an unused root: reading it again changes nothing.
        self.settled[slot] = x;
    }

    /// Counts an older maybe-dead gate and everything maybe-dead it reads.
    fn revive(&mut self, x: u32) {
        self.stack.push(x);
        while let Some(y) = self.stack.pop() {
            let Some(Older::MaybeDead(op, a, b)) = self.older.get(&y).copied() else {
                continue;
            };
            self.older.remove(&y);
            let s = self.section_of(y);
            self.live[s].bump(op);
            for z in [a, b] {
                if z <= self.last_input {
                    continue;
                }
                match self.older.get(&z) {
                    Some(Older::UnreadRoot) => {
                        self.older.remove(&z);
                    }
                    Some(Older::MaybeDead(..)) => self.stack.push(z),
                    None => {}
                }
            }
        }
    }

    /// Live gates before the first section and per section.
    pub(crate) fn live(&self) -> &[GateCounts] {
        &self.live
    }

    /// Roots that no counted gate and no output read.
    pub(crate) fn unused_roots(&self) -> NodeSet {
        self.older
            .iter()
            .filter_map(|(&n, o)| matches!(o, Older::UnreadRoot).then_some(n))
            .collect()
    }

    /// Gates still kept aside (for tests and memory reports).
    pub(crate) fn maybe_dead(&self) -> usize {
        self.older
            .values()
            .filter(|o| matches!(o, Older::MaybeDead(..)))
            .count()
    }
}

//! The circuit IR: gates over wire slots, and named, typed input and output values.
//!
//! Wire ids are slots. A freshly built circuit uses one slot per gate (SSA form);
//! [`crate::passes::allocate_slots`] reuses a slot after its last use so that
//! [`Circuit::wires`] becomes the peak number of live wires. Input values occupy
//! the first wires, in declaration order, each value least-significant bit first.

use std::ops::Range;

/// The three gate kinds. XOR and NOT are free under free-XOR; AND costs two ciphertexts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Op {
    Xor = 0,
    And = 1,
    Not = 2,
}

/// One gate. For [`Op::Not`], `b` is unused and kept equal to `a`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Gate {
    pub op: Op,
    pub a: u32,
    pub b: u32,
    pub out: u32,
}

impl Gate {
    pub fn xor(a: u32, b: u32, out: u32) -> Gate {
        Gate {
            op: Op::Xor,
            a,
            b,
            out,
        }
    }
    pub fn and(a: u32, b: u32, out: u32) -> Gate {
        Gate {
            op: Op::And,
            a,
            b,
            out,
        }
    }
    pub fn not(a: u32, out: u32) -> Gate {
        Gate {
            op: Op::Not,
            a,
            b: a,
            out,
        }
    }
    /// The wires this gate reads (one for NOT).
    pub fn operands(&self) -> impl Iterator<Item = u32> {
        let n = if self.op == Op::Not { 1 } else { 2 };
        [self.a, self.b].into_iter().take(n)
    }
}

/// Which party provides an input value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The server / model owner, who garbles.
    Garbler,
    /// The client / data owner, who evaluates.
    Evaluator,
}

/// Who learns an output value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipient {
    Garbler,
    Evaluator,
    Both,
}

impl Recipient {
    pub fn includes(self, party: Party) -> bool {
        matches!(
            (self, party),
            (Recipient::Both, _)
                | (Recipient::Garbler, Party::Garbler)
                | (Recipient::Evaluator, Party::Evaluator)
        )
    }
}

/// `fixed(bits, frac)`: a real v is the `bits`-bit two's-complement integer round(v·2^frac).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FixedFormat {
    pub bits: u32,
    pub frac: u32,
}

/// How the bits of a value are to be read: an optional tensor shape (row-major,
/// each element `format.bits` wide, element 0 in the lowest bits) and number format.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ValueType {
    pub shape: Option<Vec<u32>>,
    pub format: Option<FixedFormat>,
}

/// A named input value occupying `bits` consecutive input wires.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InputSpec {
    pub name: String,
    pub owner: Party,
    pub bits: u32,
    pub ty: ValueType,
}

/// One bit of an output: a wire, or a constant the builder folded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OutBit {
    Wire(u32),
    Const(bool),
}

/// A named output value, least-significant bit first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutputSpec {
    pub name: String,
    pub recipient: Recipient,
    pub bits: Vec<OutBit>,
    pub ty: ValueType,
}

/// A named range of gates, e.g. one network layer, for per-section statistics.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Section {
    pub name: String,
    pub gates: Range<u64>,
}

/// A Boolean circuit of XOR, AND and NOT gates in topological order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Circuit {
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    pub gates: Vec<Gate>,
    /// Number of wire slots; every wire id is below it.
    pub wires: u32,
    pub sections: Vec<Section>,
}

impl Circuit {
    /// Total number of input wires (they are wires `0..input_bits()`).
    pub fn input_bits(&self) -> u64 {
        self.inputs.iter().map(|i| i.bits as u64).sum()
    }

    /// Wire range of input value `index`.
    pub fn input_wires(&self, index: usize) -> Range<u32> {
        let start: u64 = self.inputs[..index].iter().map(|i| i.bits as u64).sum();
        start as u32..(start + self.inputs[index].bits as u64) as u32
    }

    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|i| i.name == name)
    }

    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.outputs.iter().position(|o| o.name == name)
    }

    /// One past the highest wire slot the inputs, gates and outputs use: at most
    /// [`Circuit::wires`] for a valid circuit, and at most the inputs plus the gates
    /// plus the output bits whatever the header says. Per-slot arrays sized by it
    /// follow what the circuit holds, not a count read from a file.
    pub fn slots_used(&self) -> u32 {
        let gates = self
            .gates
            .iter()
            .map(|g| g.a.max(g.b).max(g.out) as u64 + 1);
        let outs = self.outputs.iter().flat_map(|o| &o.bits).map(|b| match *b {
            OutBit::Wire(w) => w as u64 + 1,
            OutBit::Const(_) => 0,
        });
        let used = gates.chain(outs).fold(self.input_bits(), u64::max);
        used.min(u32::MAX as u64) as u32
    }

    pub fn and_count(&self) -> u64 {
        self.gates.iter().filter(|g| g.op == Op::And).count() as u64
    }
}

/// Makes `slot` an index of the per-slot array `v`, filling new entries with
/// `fill`, growing at least geometrically: for evaluators that size their arrays by
/// the slots gates actually write rather than by a header's wire count (which a
/// file may set to 2^30 at no cost to itself). A no-op when `slot` is in range.
#[inline]
pub fn grow_slots<T: Clone>(v: &mut Vec<T>, slot: u32, fill: T) {
    if slot as usize >= v.len() {
        grow_cold(v, slot, fill);
    }
}

#[cold]
#[inline(never)]
fn grow_cold<T: Clone>(v: &mut Vec<T>, slot: u32, fill: T) {
    let n = (slot as usize + 1).max(v.len() * 2).max(1024);
    v.resize(n, fill);
}

//! Circuit statistics: gate counts, depths, live wires and the estimated traffic of
//! a two-party run with free-XOR, half-gates and IKNP oblivious transfer.

use crate::builder::GateCounts;
use crate::interface::HasInterface;
use crate::ir::{Circuit, Gate, Op, Party, Recipient, grow_slots};
use serde::Serialize;
use std::fmt;

use crate::cost::Scheme;
pub use crate::cost::{
    BASE_OT_BYTES, BYTES_PER_EVALUATOR_INPUT, BYTES_PER_GARBLER_INPUT,
    HALF_GATES_BYTES_PER_AND as BYTES_PER_AND,
};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputStat {
    pub name: String,
    pub owner: Party,
    pub bits: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputStat {
    pub name: String,
    pub recipient: Recipient,
    pub bits: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SectionStat {
    pub name: String,
    pub and_gates: u64,
    pub xor_gates: u64,
    pub not_gates: u64,
    /// Garbled-table bytes of this section.
    pub table_bytes: u64,
}

/// Where the bytes of a run go.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Traffic {
    /// With half-gates, the default scheme (what `total` counts).
    pub garbled_tables: u64,
    /// The same tables with three-halves garbling (`--scheme three-halves`).
    pub garbled_tables_three_halves: u64,
    pub garbler_labels: u64,
    pub ot_extension: u64,
    pub base_ot: u64,
    pub output_decoding: u64,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.garbled_tables
            + self.garbler_labels
            + self.ot_extension
            + self.base_ot
            + self.output_decoding
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub and_gates: u64,
    pub xor_gates: u64,
    pub not_gates: u64,
    /// Wire slots, i.e. peak live wires once slots are allocated (`None` when only
    /// counted, not built: slots depend on the gate order).
    pub wires: Option<u64>,
    /// Longest chain of AND gates (`None` when only counted, not built).
    pub and_depth: Option<u32>,
    pub depth: Option<u32>,
    pub garbler_input_bits: u64,
    pub evaluator_input_bits: u64,
    pub output_bits: u64,
    pub inputs: Vec<InputStat>,
    pub outputs: Vec<OutputStat>,
    pub estimated_bytes: u64,
    pub traffic: Traffic,
    pub sections: Vec<SectionStat>,
}

fn traffic(and: u64, garbler_bits: u64, evaluator_bits: u64, outputs: &[OutputStat]) -> Traffic {
    let decoding_bits = |pred: fn(Recipient) -> bool| -> u64 {
        outputs
            .iter()
            .filter(|o| pred(o.recipient))
            .map(|o| o.bits as u64)
            .sum()
    };
    let to_evaluator = decoding_bits(|r| r.includes(Party::Evaluator));
    let to_garbler = decoding_bits(|r| r.includes(Party::Garbler));
    Traffic {
        garbled_tables: Scheme::HalfGates.table_bytes(and),
        garbled_tables_three_halves: Scheme::ThreeHalves.table_bytes(and),
        garbler_labels: garbler_bits * BYTES_PER_GARBLER_INPUT,
        ot_extension: evaluator_bits * BYTES_PER_EVALUATOR_INPUT,
        base_ot: if evaluator_bits > 0 { BASE_OT_BYTES } else { 0 },
        output_decoding: to_evaluator.div_ceil(8) + to_garbler.div_ceil(8),
    }
}

fn section_stat(name: &str, c: GateCounts) -> SectionStat {
    SectionStat {
        name: name.to_string(),
        and_gates: c.and,
        xor_gates: c.xor,
        not_gates: c.not,
        table_bytes: c.and * BYTES_PER_AND,
    }
}

/// Statistics gathered gate by gate, for gates that come from a callback rather
/// than an iterator ([`Stats::of_stream`] wraps it). Memory is per wire slot.
#[derive(Debug)]
pub struct StatsBuilder {
    counts: GateCounts,
    and_depth: Vec<u32>,
    depth: Vec<u32>,
    max_and: u32,
    max_all: u32,
    /// Gate index ranges of the sections, and their counts.
    ranges: Vec<std::ops::Range<u64>>,
    section_counts: Vec<GateCounts>,
    section: usize,
    index: u64,
}

impl StatsBuilder {
    /// Starts on a circuit of this interface.
    pub fn new(c: &impl HasInterface) -> StatsBuilder {
        StatsBuilder {
            counts: GateCounts::default(),
            // Grown as gates write slots: the wire count may come from a file.
            and_depth: Vec::new(),
            depth: Vec::new(),
            max_and: 0,
            max_all: 0,
            ranges: c.sections().iter().map(|s| s.gates.clone()).collect(),
            section_counts: vec![GateCounts::default(); c.sections().len()],
            section: 0,
            index: 0,
        }
    }

    /// Takes the next gate.
    #[inline]
    pub fn push(&mut self, g: &Gate) {
        let (a, b) = (g.a as usize, g.b as usize);
        grow_slots(&mut self.depth, g.out.max(g.a).max(g.b), 0);
        grow_slots(&mut self.and_depth, g.out.max(g.a).max(g.b), 0);
        let d = self.depth[a].max(self.depth[b]) + 1;
        let ad = self.and_depth[a].max(self.and_depth[b]) + (g.op == Op::And) as u32;
        self.depth[g.out as usize] = d;
        self.and_depth[g.out as usize] = ad;
        self.max_all = self.max_all.max(d);
        self.max_and = self.max_and.max(ad);
        self.counts.bump(g.op);
        let i = self.index;
        while self.section < self.ranges.len() && self.ranges[self.section].end <= i {
            self.section += 1;
        }
        if self.section < self.ranges.len() && self.ranges[self.section].contains(&i) {
            self.section_counts[self.section].bump(g.op);
        }
        self.index += 1;
    }

    /// The statistics of the gates pushed.
    pub fn finish(self, c: &impl HasInterface) -> Stats {
        let sections = c
            .sections()
            .iter()
            .zip(self.section_counts)
            .map(|(sec, cnt)| section_stat(&sec.name, cnt))
            .collect();
        let mut st = Stats::from_counts(c, self.counts, sections);
        st.and_depth = Some(self.max_and);
        st.depth = Some(self.max_all);
        st.wires = Some(c.wires() as u64);
        st
    }
}

impl Stats {
    /// Statistics of a built circuit, depths included.
    pub fn of(c: &Circuit) -> Stats {
        let mut acc = StatsBuilder::new(c);
        for g in &c.gates {
            acc.push(g);
        }
        acc.finish(c)
    }

    /// Statistics of a circuit given as its interface and a stream of its gates, such as a `.gcirc` [`crate::format::gcirc::GateReader`]: memory
    /// is per wire slot, not per gate, so a file of any size fits.
    pub fn of_stream<E>(
        interface: &impl HasInterface,
        gates: impl Iterator<Item = Result<Gate, E>>,
    ) -> Result<Stats, E> {
        let mut acc = StatsBuilder::new(interface);
        for g in gates {
            acc.push(&g?);
        }
        Ok(acc.finish(interface))
    }

    /// Statistics from counts alone (e.g. from a [`crate::LiveCounter`]), with the
    /// circuit's interface for inputs and outputs; depths and wires unknown.
    pub fn from_counts(
        interface: &impl HasInterface,
        counts: GateCounts,
        sections: Vec<SectionStat>,
    ) -> Stats {
        let inputs: Vec<InputStat> = interface
            .inputs()
            .iter()
            .map(|i| InputStat {
                name: i.name.clone(),
                owner: i.owner,
                bits: i.bits,
            })
            .collect();
        let outputs: Vec<OutputStat> = interface
            .outputs()
            .iter()
            .map(|o| OutputStat {
                name: o.name.clone(),
                recipient: o.recipient,
                bits: o.bits.len() as u32,
            })
            .collect();
        let party_bits = |p: Party| {
            inputs
                .iter()
                .filter(|i| i.owner == p)
                .map(|i| i.bits as u64)
                .sum()
        };
        let garbler_input_bits: u64 = party_bits(Party::Garbler);
        let evaluator_input_bits: u64 = party_bits(Party::Evaluator);
        let traffic = traffic(
            counts.and,
            garbler_input_bits,
            evaluator_input_bits,
            &outputs,
        );
        Stats {
            and_gates: counts.and,
            xor_gates: counts.xor,
            not_gates: counts.not,
            wires: None,
            and_depth: None,
            depth: None,
            garbler_input_bits,
            evaluator_input_bits,
            output_bits: outputs.iter().map(|o| o.bits as u64).sum(),
            inputs,
            outputs,
            estimated_bytes: traffic.total(),
            traffic,
            sections,
        }
    }

    /// Section statistics from per-section counts, e.g. [`crate::LiveCounts::sections`].
    pub fn sections_from_counts(counts: &[(String, GateCounts)]) -> Vec<SectionStat> {
        counts.iter().map(|(n, c)| section_stat(n, *c)).collect()
    }
}

/// Thousands separators, for tables people read.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |d: Option<u32>| d.map_or("-".to_string(), |d| group(d as u64));
        let rows = [
            ("AND gates", group(self.and_gates)),
            ("XOR gates", group(self.xor_gates)),
            ("NOT gates", group(self.not_gates)),
            ("AND depth", opt(self.and_depth)),
            ("depth", opt(self.depth)),
            (
                "wires (peak live)",
                self.wires.map_or("-".to_string(), group),
            ),
            ("garbler input bits", group(self.garbler_input_bits)),
            ("evaluator input bits", group(self.evaluator_input_bits)),
            ("output bits", group(self.output_bits)),
        ];
        for (k, v) in rows {
            writeln!(f, "{k:<22} {v:>16}")?;
        }
        writeln!(
            f,
            "{:<22} {:>16}",
            "estimated traffic",
            bytes(self.estimated_bytes)
        )?;
        let t = &self.traffic;
        for (k, v) in [
            ("garbled tables", t.garbled_tables),
            ("garbler labels", t.garbler_labels),
            ("OT extension", t.ot_extension),
            ("base OT", t.base_ot),
            ("output decoding", t.output_decoding),
        ] {
            writeln!(f, "  {k:<20} {:>16}", bytes(v))?;
        }
        writeln!(
            f,
            "  {:<20} {:>16}",
            "(three-halves tables)",
            bytes(t.garbled_tables_three_halves)
        )?;
        writeln!(f)?;
        writeln!(f, "{:<20} {:<10} {:>8}", "input", "owner", "bits")?;
        for i in &self.inputs {
            writeln!(
                f,
                "{:<20} {:<10} {:>8}",
                crate::text::escape(&i.name),
                format!("{:?}", i.owner).to_lowercase(),
                i.bits
            )?;
        }
        writeln!(f, "{:<20} {:<10} {:>8}", "output", "recipient", "bits")?;
        for o in &self.outputs {
            writeln!(
                f,
                "{:<20} {:<10} {:>8}",
                crate::text::escape(&o.name),
                format!("{:?}", o.recipient).to_lowercase(),
                o.bits
            )?;
        }
        if !self.sections.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:<20} {:>14} {:>14} {:>10} {:>12}",
                "section", "AND", "XOR", "NOT", "tables"
            )?;
            for s in &self.sections {
                writeln!(
                    f,
                    "{:<20} {:>14} {:>14} {:>10} {:>12}",
                    crate::text::escape(&s.name),
                    group(s.and_gates),
                    group(s.xor_gates),
                    group(s.not_gates),
                    bytes(s.table_bytes)
                )?;
            }
        }
        Ok(())
    }
}

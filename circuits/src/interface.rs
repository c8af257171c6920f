//! A circuit's interface without its gates: what two parties must agree on before
//! a session (named, typed inputs and outputs, wire slots) and what statistics
//! name (sections). Sessions and tools that stream gates from elsewhere (a `.gcirc`
//! file, a generator) hold an [`Interface`] instead of a [`Circuit`] whose gate
//! list is empty, so "no gates here" is a type, not a convention.

use crate::format::gcirc::Header;
use crate::ir::{Circuit, InputSpec, OutputSpec, Section};
use std::ops::Range;

/// Inputs, outputs, wire slots and sections of a circuit, and how many gates it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interface {
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// Number of wire slots; every wire id is below it.
    pub wires: u32,
    pub sections: Vec<Section>,
    /// Number of gates of the circuit this describes.
    pub gates: u64,
}

/// Anything that has an interface: a whole [`Circuit`] or an [`Interface`]. The
/// two-party session, the lane evaluator and the statistics take it, so in-memory
/// circuits and streamed ones share code.
pub trait HasInterface {
    fn inputs(&self) -> &[InputSpec];
    fn outputs(&self) -> &[OutputSpec];
    fn wires(&self) -> u32;
    /// Named gate ranges (layers), for statistics.
    fn sections(&self) -> &[Section];

    /// Total number of input wires (they are wires `0..input_bits()`).
    fn input_bits(&self) -> u64 {
        self.inputs().iter().map(|i| i.bits as u64).sum()
    }

    /// Wire range of input value `index`.
    fn input_wires(&self, index: usize) -> Range<u32> {
        let ins = self.inputs();
        let start: u64 = ins[..index].iter().map(|i| i.bits as u64).sum();
        start as u32..(start + ins[index].bits as u64) as u32
    }
}

impl HasInterface for Circuit {
    fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }
    fn outputs(&self) -> &[OutputSpec] {
        &self.outputs
    }
    fn wires(&self) -> u32 {
        self.wires
    }
    fn sections(&self) -> &[Section] {
        &self.sections
    }
}

impl HasInterface for Interface {
    fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }
    fn outputs(&self) -> &[OutputSpec] {
        &self.outputs
    }
    fn wires(&self) -> u32 {
        self.wires
    }
    fn sections(&self) -> &[Section] {
        &self.sections
    }
}

impl Interface {
    /// The circuit of this interface and `gates`.
    pub fn with_gates(self, gates: Vec<crate::ir::Gate>) -> Circuit {
        Circuit {
            inputs: self.inputs,
            outputs: self.outputs,
            gates,
            wires: self.wires,
            sections: self.sections,
        }
    }

    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|i| i.name == name)
    }
}

impl From<&Circuit> for Interface {
    fn from(c: &Circuit) -> Interface {
        Interface {
            inputs: c.inputs.clone(),
            outputs: c.outputs.clone(),
            wires: c.wires,
            sections: c.sections.clone(),
            gates: c.gates.len() as u64,
        }
    }
}

impl From<Header> for Interface {
    fn from(h: Header) -> Interface {
        Interface {
            inputs: h.inputs,
            outputs: h.outputs,
            wires: h.wires,
            sections: h.sections,
            gates: h.gates,
        }
    }
}

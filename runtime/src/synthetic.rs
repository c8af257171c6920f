//! Large synthetic AND-heavy circuits generated on the fly, for benchmarks and the
//! memory check: the gates are never stored, so a 100 M-AND circuit costs nothing but
//! its wire slots.
//!
//! `and_layers`: `layers` layers of `width` AND gates. Layer 0 ANDs the garbler's
//! value `x` with the evaluator's `y` bitwise (a rotated pairing); each later layer
//! ANDs the previous layer's bits with the previous layer rotated by one and XORed
//! with an input bit, ping-ponging between two banks of `width` slots. The evaluator
//! learns the last layer.

use garnet_circuits::{
    Gate, InputSpec, Interface, OutBit, OutputSpec, Party, Recipient, ValueType,
};
use sha2::{Digest, Sha256};

/// A synthetic circuit's shape.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AndLayers {
    pub width: u32,
    pub layers: u64,
}

impl AndLayers {
    /// About `ands` AND gates in layers of `width` (at least one layer).
    pub fn with_ands(ands: u64, width: u32) -> AndLayers {
        AndLayers {
            width,
            layers: ands.div_ceil(width as u64).max(1),
        }
    }

    pub fn ands(&self) -> u64 {
        self.layers * self.width as u64
    }

    /// Gates per layer: `width` ANDs, plus `width` XORs after layer 0.
    pub fn gates(&self) -> u64 {
        self.ands() + (self.layers - 1) * self.width as u64
    }

    /// Inputs, outputs and wire count (stream the gates with [`AndLayers::gates_iter`]).
    pub fn interface(&self) -> Interface {
        let w = self.width;
        let input = |name: &str, owner| InputSpec {
            name: name.into(),
            owner,
            bits: w,
            ty: ValueType::default(),
        };
        let last_bank = self.bank(self.layers - 1);
        Interface {
            inputs: vec![input("x", Party::Garbler), input("y", Party::Evaluator)],
            outputs: vec![OutputSpec {
                name: "z".into(),
                recipient: Recipient::Evaluator,
                bits: (0..w).map(|i| OutBit::Wire(last_bank + i)).collect(),
                ty: ValueType::default(),
            }],
            gates: self.gates(),
            // x, y, two banks, one scratch bank for the XORs.
            wires: 5 * w,
            sections: Vec::new(),
        }
    }

    /// First slot of the bank layer `l` writes.
    fn bank(&self, l: u64) -> u32 {
        2 * self.width + (l % 2) as u32 * self.width
    }

    /// A digest naming the shape (both parties generate the same gates from it).
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"garnet synthetic and-layers v1");
        h.update(self.width.to_le_bytes());
        h.update(self.layers.to_le_bytes());
        h.finalize().into()
    }

    /// The gates, generated as they are consumed.
    pub fn gates_iter(&self) -> LayerGates {
        LayerGates {
            shape: *self,
            l: 0,
            i: 0,
            second: false,
        }
    }
}

/// The gates of an [`AndLayers`] circuit, generated on the fly.
#[derive(Clone, Debug)]
pub struct LayerGates {
    shape: AndLayers,
    l: u64,
    i: u32,
    /// Within a later layer: the XOR of gate pair `i` is done, the AND is next.
    second: bool,
}

impl Iterator for LayerGates {
    type Item = Gate;

    #[inline]
    fn next(&mut self) -> Option<Gate> {
        let s = &self.shape;
        if self.l >= s.layers {
            return None;
        }
        let w = s.width;
        let i = self.i;
        let j = if i + 1 == w { 0 } else { i + 1 };
        let dst = 2 * w + (self.l % 2) as u32 * w;
        let src = 2 * w + ((self.l + 1) % 2) as u32 * w;
        let scratch = 4 * w;
        let g = if self.l == 0 {
            Gate::and(i, w + j, dst + i)
        } else if !self.second {
            // t = prev[j] ^ x[i]
            self.second = true;
            return Some(Gate::xor(src + j, i, scratch + i));
        } else {
            // out = prev[i] & t
            self.second = false;
            Gate::and(src + i, scratch + i, dst + i)
        };
        self.i += 1;
        if self.i == w {
            self.i = 0;
            self.l += 1;
        }
        Some(g)
    }
}

/// An AND-only layer of `ands` gates over `2 * width` input slots, each gate writing
/// one of `width` further slots: independent ANDs, the shape EMP-toolkit's garbling
/// figures are measured on. Wires: `3 * width`.
pub fn and_only_layer(ands: u64, width: u32) -> impl Iterator<Item = Gate> + Clone {
    (0..ands).map(move |i| {
        let i = (i % width as u64) as u32;
        Gate::and(i, width + (i.wrapping_mul(7) + 1) % width, 2 * width + i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_circuit_is_valid_and_counts_match() {
        let s = AndLayers {
            width: 16,
            layers: 5,
        };
        let c = s.interface().with_gates(s.gates_iter().collect());
        assert_eq!(c.gates.len() as u64, s.gates());
        assert_eq!(c.and_count(), s.ands());
        garnet_circuits::passes::validate(&c).unwrap();
        let x: Vec<bool> = (0..16).map(|i| i % 3 != 0).collect();
        let y: Vec<bool> = (0..16).map(|i| i % 5 != 1).collect();
        let out = c.eval(&[x, y]).unwrap();
        assert_eq!(out[0].len(), 16);
        assert_ne!(
            s.digest(),
            AndLayers {
                width: 16,
                layers: 6
            }
            .digest()
        );
    }
}

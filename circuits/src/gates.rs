//! The gate-building trait: every gadget is written once against [`Gates`] and then
//! builds a circuit ([`crate::Builder`]), computes on plain bits ([`crate::PlainBits`]),
//! or only counts gates ([`crate::Counter`]).

/// Something that can combine bits with XOR, AND and NOT.
///
/// Implementations may fold constants and simplify, so gadgets should build from
/// [`Gates::constant`] rather than special-casing known bits themselves.
pub trait Gates {
    /// A bit handle: a wire of a circuit under construction, or a plain `bool`.
    type Bit: Copy + std::fmt::Debug;

    fn constant(&mut self, value: bool) -> Self::Bit;
    fn xor(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit;
    fn and(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit;
    fn not(&mut self, a: Self::Bit) -> Self::Bit;

    /// The value of `bit` if it is a build-time constant, so gadgets can fold it.
    fn known(&self, bit: Self::Bit) -> Option<bool>;

    /// Starts a new named section (e.g. a network layer); gates made from now on
    /// belong to it. Implementations that keep no sections ignore it.
    fn section(&mut self, _name: &str) {}

    /// A hint that `live` will be read later (say, a neuron's output bits), so gates
    /// made since the last checkpoint that do not lead to them may be dead. Only
    /// [`crate::LiveCounter`] uses it, to count live gates in bounded memory.
    fn checkpoint(&mut self, _live: &[Self::Bit]) {}

    fn zero(&mut self) -> Self::Bit {
        self.constant(false)
    }
    fn one(&mut self) -> Self::Bit {
        self.constant(true)
    }
    /// a OR b, one AND: a ⊕ b ⊕ ab.
    fn or(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit {
        let x = self.xor(a, b);
        let y = self.and(a, b);
        self.xor(x, y)
    }
    fn xnor(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit {
        let x = self.xor(a, b);
        self.not(x)
    }
    /// `if sel { if_true } else { if_false }`, one AND: f ⊕ sel·(f ⊕ t).
    fn mux(&mut self, sel: Self::Bit, if_true: Self::Bit, if_false: Self::Bit) -> Self::Bit {
        let d = self.xor(if_true, if_false);
        let m = self.and(sel, d);
        self.xor(if_false, m)
    }
}

/// Evaluates gadgets directly on `bool`s: the reference for testing them.
///
/// It reports no bit as [`Gates::known`], although it holds every value: otherwise
/// gadgets that fold constants would fold the whole computation on plain bits and
/// their gate logic would go untested.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainBits;

impl Gates for PlainBits {
    type Bit = bool;
    fn constant(&mut self, value: bool) -> bool {
        value
    }
    fn xor(&mut self, a: bool, b: bool) -> bool {
        a ^ b
    }
    fn and(&mut self, a: bool, b: bool) -> bool {
        a & b
    }
    fn not(&mut self, a: bool) -> bool {
        !a
    }
    fn known(&self, _bit: bool) -> Option<bool> {
        None
    }
}

/// Helpers to move integers in and out of little-endian bit vectors.
pub mod bits {
    /// The low `width` bits of `value`, least-significant first.
    pub fn from_u128(value: u128, width: usize) -> Vec<bool> {
        (0..width)
            .map(|i| i < 128 && (value >> i) & 1 == 1)
            .collect()
    }
    /// The low `width` bits of the two's-complement `value`, least-significant first.
    pub fn from_i128(value: i128, width: usize) -> Vec<bool> {
        (0..width).map(|i| (value >> i.min(127)) & 1 == 1).collect()
    }
    /// Unsigned value of up to 128 bits.
    pub fn to_u128(bits: &[bool]) -> u128 {
        assert!(bits.len() <= 128, "to_u128 takes at most 128 bits");
        bits.iter()
            .rev()
            .fold(0u128, |acc, &b| (acc << 1) | b as u128)
    }
    /// Two's-complement value of 1 to 128 bits.
    pub fn to_i128(bits: &[bool]) -> i128 {
        assert!(
            !bits.is_empty() && bits.len() <= 128,
            "to_i128 takes 1 to 128 bits"
        );
        let u = to_u128(bits);
        let shift = 128 - bits.len();
        ((u << shift) as i128) >> shift
    }
}

//! AND-depth measurement: a [`Gates`] wrapper that tracks each bit's depth.

use garnet_circuits::Gates;

/// Wraps another [`Gates`] (typically a `Counter`) and tracks, per bit, the
/// number of ANDs on its longest path from the inputs. XOR and NOT add nothing;
/// an AND the inner builder folds away (a constant operand) adds nothing either.
#[derive(Debug, Default)]
pub struct DepthCounter<G> {
    pub inner: G,
}

impl<G: Gates> DepthCounter<G> {
    pub fn new(inner: G) -> Self {
        DepthCounter { inner }
    }

    /// Wraps a bit of the inner gate builder (an input) at depth 0.
    pub fn input(&self, bit: G::Bit) -> (G::Bit, u32) {
        (bit, 0)
    }

    /// The largest depth among `bits`.
    pub fn max_depth(bits: &[(G::Bit, u32)]) -> u32 {
        bits.iter().map(|b| b.1).max().unwrap_or(0)
    }
}

impl<G: Gates> Gates for DepthCounter<G> {
    type Bit = (G::Bit, u32);
    fn constant(&mut self, value: bool) -> Self::Bit {
        (self.inner.constant(value), 0)
    }
    fn xor(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit {
        let x = self.inner.xor(a.0, b.0);
        let d = if self.inner.known(x).is_some() {
            0
        } else {
            a.1.max(b.1)
        };
        (x, d)
    }
    fn and(&mut self, a: Self::Bit, b: Self::Bit) -> Self::Bit {
        let x = self.inner.and(a.0, b.0);
        let d = if self.inner.known(x).is_some() {
            0
        } else if self.inner.known(a.0).is_some() {
            b.1
        } else if self.inner.known(b.0).is_some() {
            a.1
        } else {
            a.1.max(b.1) + 1
        };
        (x, d)
    }
    fn not(&mut self, a: Self::Bit) -> Self::Bit {
        (self.inner.not(a.0), a.1)
    }
    fn known(&self, bit: Self::Bit) -> Option<bool> {
        self.inner.known(bit.0)
    }
    fn section(&mut self, name: &str) {
        self.inner.section(name)
    }
}

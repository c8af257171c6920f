//! A 128-bit block: a wire label, a ciphertext, or an OT message.

use std::ops::{BitAnd, BitXor, BitXorAssign};

/// 128 bits, 16-byte aligned so batches load straight into AES-NI registers.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
#[repr(C, align(16))]
pub struct Block(pub u128);

impl Block {
    pub const ZERO: Block = Block(0);
    pub const ONES: Block = Block(u128::MAX);

    /// The point-and-permute colour bit.
    #[inline(always)]
    pub fn lsb(self) -> bool {
        self.0 & 1 == 1
    }

    #[inline(always)]
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }

    #[inline(always)]
    pub fn from_bytes(bytes: [u8; 16]) -> Block {
        Block(u128::from_le_bytes(bytes))
    }

    /// `self` if `bit`, else zero; branch-free.
    #[inline(always)]
    pub fn select(self, bit: bool) -> Block {
        Block(self.0 & (0u128.wrapping_sub(bit as u128)))
    }
}

/// Labels are secrets: never print their value.
impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Block(<redacted>)")
    }
}

impl BitXor for Block {
    type Output = Block;
    #[inline(always)]
    fn bitxor(self, o: Block) -> Block {
        Block(self.0 ^ o.0)
    }
}

impl BitXorAssign for Block {
    #[inline(always)]
    fn bitxor_assign(&mut self, o: Block) {
        self.0 ^= o.0
    }
}

impl BitAnd for Block {
    type Output = Block;
    #[inline(always)]
    fn bitand(self, o: Block) -> Block {
        Block(self.0 & o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_lsb() {
        let b = Block(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(Block::from_bytes(b.to_bytes()), b);
        assert!(b.lsb());
        assert!(!(b ^ Block(1)).lsb());
        assert_eq!(b.select(true), b);
        assert_eq!(b.select(false), Block::ZERO);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let b = Block(0xdead_beef);
        assert!(!format!("{b:?}").contains("deadbeef"));
        assert!(!format!("{b:?}").contains(&format!("{}", 0xdead_beefu128)));
    }
}

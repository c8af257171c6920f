//! aarch64 kernel: the ARMv8 cryptography extensions (`aese` + `aesmc`), one block per
//! 128-bit register (Graviton, Ampere, Apple M-series, recent phones).
//!
//! ARM splits a round differently from x86: `aese` is AddRoundKey, SubBytes and
//! ShiftRows, `aesmc` is MixColumns. So AES-128 is nine `aese`+`aesmc` pairs with
//! keys 0..=8, an `aese` with key 9 and a final XOR with key 10 — the same function
//! as x86's `aesenc` chain, checked against the portable one by the same tests.
//!
//! `unsafe` here is the intrinsics' CPU-feature requirement, checked at run time by
//! [`crate::aes::Kernel::is_available`], and unaligned loads and stores through
//! pointers the generic algorithms in [`super::lanes`] keep in bounds.

use super::lanes::Lane;
use crate::block::Block;
use std::arch::aarch64::*;

impl Lane for uint8x16_t {
    const L: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const Block) -> Self {
        // SAFETY: caller (trait contract).
        unsafe { vld1q_u8(p as *const u8) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut Block) {
        // SAFETY: caller (trait contract).
        unsafe { vst1q_u8(p as *mut u8, self) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { veorq_u8(self, o) }
    }
    #[inline(always)]
    unsafe fn splat(b: Block) -> Self {
        // SAFETY: a `Block` is 16 readable bytes.
        unsafe { Self::load(&b) }
    }
    #[inline(always)]
    unsafe fn tweaks(first: u64, _shift: u32) -> Self {
        unsafe { vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(first), vcreate_u64(0))) }
    }
    // `aese`/`aesmc` are `inline(always)` and need the features right here.
    #[inline]
    #[target_feature(enable = "neon,aes")]
    unsafe fn encrypt<const N: usize>(k: &[Self; 11], s: &mut [Self; N]) {
        // With the features enabled on this function, the intrinsics are safe here.
        for kr in &k[..9] {
            for x in s.iter_mut() {
                *x = vaesmcq_u8(vaeseq_u8(*x, *kr));
            }
        }
        for x in s.iter_mut() {
            *x = veorq_u8(vaeseq_u8(*x, k[9]), k[10]);
        }
    }
}

/// ARMv8 AES, one block per register.
pub(super) mod armv8 {
    use std::arch::aarch64::uint8x16_t;
    super::super::lanes::entry_points!("neon,aes", uint8x16_t);
}

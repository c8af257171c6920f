//! x86-64 kernels: AES-NI on 128-bit registers (every x86-64 CPU with AES since
//! 2010), VAES on 256-bit registers with AVX2 (Zen 3, Alder Lake and later) and VAES on
//! 512-bit registers with AVX-512 (Ice Lake, Zen 4 and later).
//!
//! `unsafe` here is the intrinsics' CPU-feature requirement, which
//! [`crate::aes::Kernel::is_available`] checks at run time before an entry point is
//! called, and unaligned loads and stores through pointers the generic algorithms in
//! [`super::lanes`] keep in bounds.

use super::lanes::Lane;
use crate::block::Block;
use std::arch::x86_64::*;

impl Lane for __m128i {
    const L: usize = 1;
    #[inline(always)]
    unsafe fn load(p: *const Block) -> Self {
        // SAFETY: caller (trait contract).
        unsafe { _mm_loadu_si128(p as *const __m128i) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut Block) {
        // SAFETY: caller (trait contract).
        unsafe { _mm_storeu_si128(p as *mut __m128i, self) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { _mm_xor_si128(self, o) }
    }
    #[inline(always)]
    unsafe fn splat(b: Block) -> Self {
        // SAFETY: a `Block` is 16 readable bytes.
        unsafe { Self::load(&b) }
    }
    #[inline(always)]
    unsafe fn tweaks(first: u64, _shift: u32) -> Self {
        unsafe { _mm_set_epi64x(0, first as i64) }
    }
    #[inline(always)]
    unsafe fn encrypt<const N: usize>(k: &[Self; 11], s: &mut [Self; N]) {
        unsafe {
            for x in s.iter_mut() {
                *x = _mm_xor_si128(*x, k[0]);
            }
            for kr in &k[1..10] {
                for x in s.iter_mut() {
                    *x = _mm_aesenc_si128(*x, *kr);
                }
            }
            for x in s.iter_mut() {
                *x = _mm_aesenclast_si128(*x, k[10]);
            }
        }
    }
}

impl Lane for __m256i {
    const L: usize = 2;
    #[inline(always)]
    unsafe fn load(p: *const Block) -> Self {
        // SAFETY: caller (trait contract).
        unsafe { _mm256_loadu_si256(p as *const __m256i) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut Block) {
        // SAFETY: caller (trait contract).
        unsafe { _mm256_storeu_si256(p as *mut __m256i, self) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { _mm256_xor_si256(self, o) }
    }
    #[inline(always)]
    unsafe fn splat(b: Block) -> Self {
        // SAFETY: a `Block` is 16 readable bytes.
        unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(&b as *const Block as *const _)) }
    }
    #[inline(always)]
    unsafe fn tweaks(first: u64, shift: u32) -> Self {
        let f = first as i64;
        unsafe { _mm256_set_epi64x(0, f.wrapping_add(1 >> shift), 0, f) }
    }
    #[inline(always)]
    unsafe fn encrypt<const N: usize>(k: &[Self; 11], s: &mut [Self; N]) {
        unsafe {
            for x in s.iter_mut() {
                *x = _mm256_xor_si256(*x, k[0]);
            }
            for kr in &k[1..10] {
                for x in s.iter_mut() {
                    *x = _mm256_aesenc_epi128(*x, *kr);
                }
            }
            for x in s.iter_mut() {
                *x = _mm256_aesenclast_epi128(*x, k[10]);
            }
        }
    }
}

impl Lane for __m512i {
    const L: usize = 4;
    #[inline(always)]
    unsafe fn load(p: *const Block) -> Self {
        // SAFETY: caller (trait contract).
        unsafe { _mm512_loadu_si512(p as *const _) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut Block) {
        // SAFETY: caller (trait contract).
        unsafe { _mm512_storeu_si512(p as *mut _, self) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        unsafe { _mm512_xor_si512(self, o) }
    }
    #[inline(always)]
    unsafe fn splat(b: Block) -> Self {
        // SAFETY: a `Block` is 16 readable bytes.
        unsafe { _mm512_broadcast_i32x4(_mm_loadu_si128(&b as *const Block as *const _)) }
    }
    #[inline(always)]
    unsafe fn tweaks(first: u64, shift: u32) -> Self {
        let f = first as i64;
        let at = |j: i64| f.wrapping_add(j >> shift);
        unsafe { _mm512_set_epi64(0, at(3), 0, at(2), 0, at(1), 0, f) }
    }
    #[inline(always)]
    unsafe fn encrypt<const N: usize>(k: &[Self; 11], s: &mut [Self; N]) {
        unsafe {
            for x in s.iter_mut() {
                *x = _mm512_xor_si512(*x, k[0]);
            }
            for kr in &k[1..10] {
                for x in s.iter_mut() {
                    *x = _mm512_aesenc_epi128(*x, *kr);
                }
            }
            for x in s.iter_mut() {
                *x = _mm512_aesenclast_epi128(*x, k[10]);
            }
        }
    }
}

/// AES-NI, one block per register (x86-64 baseline plus `aes`).
pub(super) mod aesni {
    use std::arch::x86_64::__m128i;
    super::super::lanes::entry_points!("aes,sse2", __m128i);
}

/// VAES with AVX2, two blocks per register.
pub(super) mod vaes256 {
    use std::arch::x86_64::__m256i;
    super::super::lanes::entry_points!("vaes,avx2,aes", __m256i);
}

/// VAES with AVX-512, four blocks per register.
pub(super) mod vaes512 {
    use std::arch::x86_64::__m512i;
    super::super::lanes::entry_points!("vaes,avx512f,aes", __m512i);
}

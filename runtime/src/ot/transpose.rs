//! 128×128 bit-matrix transpose, the inner loop of IKNP.
//!
//! Convention: a matrix is 128 rows of one [`Block`] each; element `(i, j)` is bit
//! `j` of row `i` (bit `j % 8` of little-endian byte `j / 8`). The transpose puts
//! element `(i, j)` at `(j, i)`.
//!
//! The source rows may be strided: row `i` is `src[i * stride]`. That lets IKNP
//! transpose one 128-OT slice straight out of its column-major matrix without a
//! gather copy.
//!
//! Kernels:
//! - [`Kernel::Naive`]: bit by bit, the reference for tests.
//! - [`Kernel::Portable`]: safe Rust, the recursive block-swap network on `u128`.
//! - [`Kernel::Sse2`] (x86-64 baseline): 16×16 byte transposes with `punpck*`, then
//!   `pmovmskb` peels one output bit-row of 16 bits at a time.
//! - [`Kernel::Avx2`] (runtime-detected): the same with 32 rows per `vpmovmskb`.
//! - [`Kernel::Gfni`] (runtime-detected, AVX2 + GFNI): the same byte transpose,
//!   then one `vgf2p8affineqb` transposes four 8×8 bit tiles at once and two
//!   shuffle passes place the bytes — no per-bit extraction at all.
//! - [`Kernel::Neon`] (aarch64 baseline): NEON has no `movemask`, so the order is
//!   reversed: an 8×8 bit transpose across each group of 8 rows (`sli`/`sri`/`bsl`
//!   on all 16 bytes at once), then 16×16 byte transposes with `zip1`/`zip2`.
//!
//! Minimum time per 128×128 transpose on the development machine (AMD EPYC,
//! Zen 4; `GARNET_TRANSPOSE_MIN=1 cargo bench -p garnet-runtime --bench ot`):
//! naive 22 µs, portable 1.0 µs, SSE2 250 ns, AVX2 124 ns, GFNI 86 ns. The
//! SIMD kernels are what make ≥ 70 M OTs/s possible, so they keep their `unsafe`.
//! The NEON kernel's speed was not measured on real ARM hardware here: it was
//! only tested for correctness under qemu-user, where timings mean nothing.
//!
//! The SIMD kernels contain the only `unsafe` code of the OT module: unaligned
//! vector loads of source rows (through valid `&Block` references) and unaligned
//! vector loads/stores inside `dst[..128]`, which the SIMD kernels use as scratch
//! between their two passes; `check_bounds` runs before every kernel.
//! `benches/ot.rs` compares every kernel.

use crate::block::Block;

/// Which implementation of the transpose to run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kernel {
    Naive,
    Portable,
    Sse2,
    Avx2,
    Gfni,
    Neon,
}

#[cfg(target_arch = "x86_64")]
fn has_gfni() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("gfni")
}

impl Kernel {
    /// Every kernel this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        #[cfg_attr(
            not(any(target_arch = "x86_64", target_arch = "aarch64")),
            allow(unused_mut)
        )]
        let mut v = vec![Kernel::Naive, Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            v.push(Kernel::Sse2);
            if std::is_x86_feature_detected!("avx2") {
                v.push(Kernel::Avx2);
            }
            if has_gfni() {
                v.push(Kernel::Gfni);
            }
        }
        #[cfg(target_arch = "aarch64")]
        v.push(Kernel::Neon);
        v
    }

    /// The fastest kernel this CPU can run.
    pub fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if has_gfni() {
                Kernel::Gfni
            } else if std::is_x86_feature_detected!("avx2") {
                Kernel::Avx2
            } else {
                Kernel::Sse2
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            Kernel::Neon
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Kernel::Portable
        }
    }

    /// Transposes the 128×128 matrix with rows `src[0], src[stride], …,
    /// src[127 * stride]` into `dst[0..128]`.
    ///
    /// Panics if `src` is too short for 128 rows at this stride, if `dst` has fewer
    /// than 128 blocks, or if the kernel is not available on this CPU.
    pub fn transpose(self, src: &[Block], stride: usize, dst: &mut [Block]) {
        check_bounds(src, stride, dst);
        match self {
            Kernel::Naive => naive(src, stride, dst),
            Kernel::Portable => portable(src, stride, dst),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: SSE2 is part of the x86-64 baseline.
            Kernel::Sse2 => unsafe { x86::sse2(src, stride, dst) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(
                    std::is_x86_feature_detected!("avx2"),
                    "the AVX2 transpose needs a CPU with AVX2"
                );
                // SAFETY: AVX2 support was just checked at runtime.
                unsafe { x86::avx2(src, stride, dst) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Gfni => {
                assert!(
                    has_gfni(),
                    "the GFNI transpose needs a CPU with AVX2 and GFNI"
                );
                // SAFETY: AVX2 and GFNI support was just checked at runtime.
                unsafe { x86::gfni(src, stride, dst) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Sse2 | Kernel::Avx2 | Kernel::Gfni => {
                panic!("{self:?} transpose needs x86-64")
            }
            #[cfg(target_arch = "aarch64")]
            // SAFETY: NEON is part of the aarch64 baseline.
            Kernel::Neon => unsafe { neon::neon(src, stride, dst) },
            #[cfg(not(target_arch = "aarch64"))]
            Kernel::Neon => panic!("{self:?} transpose needs aarch64"),
        }
    }
}

/// Transposes with the fastest available kernel (see [`Kernel::transpose`]).
#[inline]
pub fn transpose(src: &[Block], stride: usize, dst: &mut [Block]) {
    Kernel::best().transpose(src, stride, dst)
}

/// Transposes a contiguous 128-row matrix with the fastest available kernel.
pub fn transpose128(m: &[Block; 128]) -> [Block; 128] {
    let mut out = [Block::ZERO; 128];
    transpose(m, 1, &mut out);
    out
}

#[inline(always)]
fn check_bounds(src: &[Block], stride: usize, dst: &[Block]) {
    assert!(stride >= 1, "transpose: stride must be at least 1");
    assert!(
        src.len() > 127 * stride,
        "transpose: source too short for 128 rows at stride {stride}"
    );
    assert!(dst.len() >= 128, "transpose: destination needs 128 blocks");
}

fn naive(src: &[Block], stride: usize, dst: &mut [Block]) {
    let mut out = [0u128; 128];
    for i in 0..128 {
        let row = src[i * stride].0;
        for (j, o) in out.iter_mut().enumerate() {
            *o |= ((row >> j) & 1) << i;
        }
    }
    for (d, o) in dst.iter_mut().zip(out) {
        *d = Block(o);
    }
}

/// Recursive block transpose: at level `s` swap the top-right and bottom-left
/// `s×s` sub-blocks of every `2s×2s` block, for `s = 64, 32, …, 1`.
fn portable(src: &[Block], stride: usize, dst: &mut [Block]) {
    const MASKS: [(u32, u128); 7] = [
        (64, 0x0000_0000_0000_0000_ffff_ffff_ffff_ffff),
        (32, 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff),
        (16, 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff),
        (8, 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff),
        (4, 0x0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f_0f0f),
        (2, 0x3333_3333_3333_3333_3333_3333_3333_3333),
        (1, 0x5555_5555_5555_5555_5555_5555_5555_5555),
    ];
    let mut m = [0u128; 128];
    for (i, r) in m.iter_mut().enumerate() {
        *r = src[i * stride].0;
    }
    for (s, mask) in MASKS {
        let su = s as usize;
        for base in (0..128).step_by(2 * su) {
            for i in base..base + su {
                let (a, b) = (m[i], m[i + su]);
                let t = ((a >> s) ^ b) & mask;
                m[i + su] = b ^ t;
                m[i] = a ^ (t << s);
            }
        }
    }
    for (d, r) in dst.iter_mut().zip(m) {
        *d = Block(r);
    }
}

/// Transposes 16×16 bytes held as 16 rows of a 128-bit lane, in every lane at
/// once: afterwards `r[b]` holds byte `b` of rows 0..16 in order. Four rounds
/// of interleaves (8, 16, 32, 64 bits: x86 `punpckl*`/`punpckh*`, NEON
/// `zip1`/`zip2`); each round doubles the run of rows that sit together for one
/// column.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
macro_rules! byte_transpose_16x16 {
    ($r:expr, $zero:expr, $u8l:ident, $u8h:ident, $u16l:ident, $u16h:ident,
     $u32l:ident, $u32h:ident, $u64l:ident, $u64h:ident) => {{
        let r = $r;
        // a[8h + p]: columns 8h..8h+8 of rows 2p, 2p+1 (16-bit elements).
        let mut a = [$zero; 16];
        for p in 0..8 {
            a[p] = $u8l(r[2 * p], r[2 * p + 1]);
            a[8 + p] = $u8h(r[2 * p], r[2 * p + 1]);
        }
        // b[4g + q]: columns 4g..4g+4 of rows 4q..4q+4 (32-bit elements).
        let mut b = [$zero; 16];
        for h in 0..2 {
            for q in 0..4 {
                let (x, y) = (a[8 * h + 2 * q], a[8 * h + 2 * q + 1]);
                b[8 * h + q] = $u16l(x, y);
                b[8 * h + 4 + q] = $u16h(x, y);
            }
        }
        // c[2p + w]: columns 2p, 2p+1 of rows 8w..8w+8 (64-bit elements).
        let mut c = [$zero; 16];
        for g in 0..4 {
            for w in 0..2 {
                let (x, y) = (b[4 * g + 2 * w], b[4 * g + 2 * w + 1]);
                c[4 * g + w] = $u32l(x, y);
                c[4 * g + 2 + w] = $u32h(x, y);
            }
        }
        let mut out = [$zero; 16];
        for p in 0..8 {
            out[2 * p] = $u64l(c[2 * p], c[2 * p + 1]);
            out[2 * p + 1] = $u64h(c[2 * p], c[2 * p + 1]);
        }
        out
    }};
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Block;
    use core::arch::x86_64::*;

    /// SSE2 kernel. Bounds were checked by the caller (`check_bounds`). SSE2 is
    /// part of the x86-64 baseline, so every x86-64 CPU can run it.
    #[target_feature(enable = "sse2")]
    pub(super) fn sse2(src: &[Block], stride: usize, dst: &mut [Block]) {
        let out = dst[..128].as_mut_ptr() as *mut __m128i;
        // Pass 1, one 16-row tile t at a time: the byte transpose's column b goes
        // to out[8b + t], so dst doubles as scratch.
        for t in 0..8 {
            let mut r = [_mm_setzero_si128(); 16];
            for (k, rk) in r.iter_mut().enumerate() {
                let row: &Block = &src[(16 * t + k) * stride];
                // SAFETY: `row` is a valid 16-byte reference; loadu has no alignment
                // requirement.
                *rk = unsafe { _mm_loadu_si128(row as *const Block as *const __m128i) };
            }
            let cols = byte_transpose_16x16!(
                r,
                _mm_setzero_si128(),
                _mm_unpacklo_epi8,
                _mm_unpackhi_epi8,
                _mm_unpacklo_epi16,
                _mm_unpackhi_epi16,
                _mm_unpacklo_epi32,
                _mm_unpackhi_epi32,
                _mm_unpacklo_epi64,
                _mm_unpackhi_epi64
            );
            for (b, v) in cols.into_iter().enumerate() {
                // SAFETY: 8b + t < 128: inside dst[..128].
                unsafe { _mm_storeu_si128(out.add(8 * b + t), v) };
            }
        }
        // Pass 2: rows 8b..8b+8 from out[8b..8b+8] (the same 128 bytes). Bit 7 of
        // every byte of tile t's vector is column `row` of rows 16t..16t+16.
        for b in 0..16 {
            let mut v = [_mm_setzero_si128(); 8];
            for (t, vt) in v.iter_mut().enumerate() {
                // SAFETY: 8b + t < 128: inside dst[..128].
                *vt = unsafe { _mm_loadu_si128(out.add(8 * b + t)) };
            }
            for bit in (0..8).rev() {
                let mut row = 0u128;
                for (t, vt) in v.iter_mut().enumerate() {
                    row |= (_mm_movemask_epi8(*vt) as u16 as u128) << (16 * t);
                    *vt = _mm_add_epi8(*vt, *vt);
                }
                dst[8 * b + bit] = Block(row);
            }
        }
    }

    /// AVX2 kernel: lane 0 of a register holds rows 32t..32t+16 and lane 1 rows
    /// 32t+16..32t+32, so one `vpmovmskb` yields 32 bits of an output row.
    /// Callers must make sure the CPU supports AVX2. Bounds were checked by the
    /// caller.
    #[target_feature(enable = "avx2")]
    pub(super) fn avx2(src: &[Block], stride: usize, dst: &mut [Block]) {
        let out = dst[..128].as_mut_ptr() as *mut __m256i;
        // Pass 1, one 32-row tile t at a time (lane 0: its first 16 rows): the
        // byte transpose's column b goes to out[4b + t], so dst doubles as scratch.
        for t in 0..4 {
            let mut r = [_mm256_setzero_si256(); 16];
            for (k, rk) in r.iter_mut().enumerate() {
                *rk = load_pair(src, stride, 32 * t + k, 32 * t + 16 + k);
            }
            let cols = byte_transpose_16x16!(
                r,
                _mm256_setzero_si256(),
                _mm256_unpacklo_epi8,
                _mm256_unpackhi_epi8,
                _mm256_unpacklo_epi16,
                _mm256_unpackhi_epi16,
                _mm256_unpacklo_epi32,
                _mm256_unpackhi_epi32,
                _mm256_unpacklo_epi64,
                _mm256_unpackhi_epi64
            );
            for (b, v) in cols.into_iter().enumerate() {
                // SAFETY: 4b + t < 64 and dst[..128] is 64 × 32 bytes.
                unsafe { _mm256_storeu_si256(out.add(4 * b + t), v) };
            }
        }
        // Pass 2: rows 8b..8b+8 from out[4b..4b+4] (the same 128 bytes), each row
        // assembled from four 32-bit masks and stored whole.
        for b in 0..16 {
            // SAFETY: 4b + 3 < 64: inside dst[..128].
            let mut v = unsafe {
                let p = out.add(4 * b) as *const __m256i;
                [
                    _mm256_loadu_si256(p),
                    _mm256_loadu_si256(p.add(1)),
                    _mm256_loadu_si256(p.add(2)),
                    _mm256_loadu_si256(p.add(3)),
                ]
            };
            for bit in (0..8).rev() {
                let mut row = 0u128;
                for (t, vt) in v.iter_mut().enumerate() {
                    row |= (_mm256_movemask_epi8(*vt) as u32 as u128) << (32 * t);
                    *vt = _mm256_add_epi8(*vt, *vt);
                }
                dst[8 * b + bit] = Block(row);
            }
        }
    }

    /// Rows `lo` and `hi` of the source in lanes 0 and 1.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load_pair(src: &[Block], stride: usize, lo: usize, hi: usize) -> __m256i {
        let lo: &Block = &src[lo * stride];
        let hi: &Block = &src[hi * stride];
        // SAFETY: both are valid 16-byte references; no alignment needed.
        unsafe {
            _mm256_loadu2_m128i(
                hi as *const Block as *const __m128i,
                lo as *const Block as *const __m128i,
            )
        }
    }

    /// GFNI kernel: after the same byte transpose as [`avx2`], every 64-bit lane
    /// holds one 8×8 bit tile (byte `b` of 8 consecutive rows), and one
    /// `vgf2p8affineqb` transposes four such tiles; byte shuffles then put the
    /// tiles' bytes where the output rows need them. Rows are loaded in reversed
    /// order within each group of eight so the affine instruction's reversed
    /// matrix-row order comes out right. `dst` doubles as the scratch space
    /// between the two passes. Callers must make sure the CPU supports AVX2 and
    /// GFNI. Bounds were checked by the caller.
    #[target_feature(enable = "avx2,gfni")]
    pub(super) fn gfni(src: &[Block], stride: usize, dst: &mut [Block]) {
        // x: byte i of every 64-bit lane is 1 << i.
        let unit = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
        // Low dwords of the four qwords to lane 0, high dwords to lane 1.
        let dwords = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
        // Per lane, a 4×4 byte transpose: dword c = [Q0[c], Q1[c], Q2[c], Q3[c]].
        let bytes_4x4 = _mm256_setr_epi8(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6,
            10, 14, 3, 7, 11, 15,
        );
        let out = dst[..128].as_mut_ptr() as *mut __m256i;
        // Pass 1, one 32-row tile group t at a time. The 32 bytes at
        // out[4b + t] get, in dword c, output row 8b + c, bytes 4t..4t+4.
        for t in 0..4 {
            let mut r = [_mm256_setzero_si256(); 16];
            for (k, rk) in r.iter_mut().enumerate() {
                let k_rev = (k & !7) | (7 - (k & 7));
                *rk = load_pair(src, stride, 32 * t + k_rev, 32 * t + 16 + k_rev);
            }
            let cols = byte_transpose_16x16!(
                r,
                _mm256_setzero_si256(),
                _mm256_unpacklo_epi8,
                _mm256_unpackhi_epi8,
                _mm256_unpacklo_epi16,
                _mm256_unpackhi_epi16,
                _mm256_unpacklo_epi32,
                _mm256_unpackhi_epi32,
                _mm256_unpacklo_epi64,
                _mm256_unpackhi_epi64
            );
            for (b, v) in cols.into_iter().enumerate() {
                // Qword q: the tile of rows 32t+8q.., byte b; afterwards byte c of
                // it is output row 8b + c, byte 4t + q.
                let g = _mm256_gf2p8affine_epi64_epi8::<0>(unit, v);
                let g = _mm256_permutevar8x32_epi32(g, dwords);
                let g = _mm256_shuffle_epi8(g, bytes_4x4);
                // SAFETY: 4b + t < 64 and dst[..128] is 64 × 32 bytes.
                unsafe { _mm256_storeu_si256(out.add(4 * b + t), g) };
            }
        }
        // Pass 2: output rows 8b..8b+8 from out[4b..4b+4], in place.
        let out = out as *mut __m128i;
        for b in 0..16 {
            // SAFETY: 4b + 3 < 64: inside dst[..128].
            let [r0, r1, r2, r3] = unsafe {
                let p = out.add(8 * b) as *const __m256i;
                [
                    _mm256_loadu_si256(p),
                    _mm256_loadu_si256(p.add(1)),
                    _mm256_loadu_si256(p.add(2)),
                    _mm256_loadu_si256(p.add(3)),
                ]
            };
            let a = _mm256_unpacklo_epi32(r0, r1);
            let c = _mm256_unpackhi_epi32(r0, r1);
            let e = _mm256_unpacklo_epi32(r2, r3);
            let f = _mm256_unpackhi_epi32(r2, r3);
            // Lane 0: row 8b + c, lane 1: row 8b + c + 4.
            let rows = [
                _mm256_unpacklo_epi64(a, e),
                _mm256_unpackhi_epi64(a, e),
                _mm256_unpacklo_epi64(c, f),
                _mm256_unpackhi_epi64(c, f),
            ];
            for (c, v) in rows.into_iter().enumerate() {
                // SAFETY: 8b + c + 4 < 128: inside dst[..128].
                unsafe {
                    _mm256_storeu2_m128i(out.add(8 * b + c + 4), out.add(8 * b + c), v);
                }
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    //! The NEON kernel. NEON (Advanced SIMD) is part of the aarch64 baseline; the
    //! functions here enable it so its intrinsics are safe to call, and the only
    //! `unsafe` inside is raw-pointer loads and stores.
    //!
    //! NEON has no `movemask`, so instead of peeling bit-rows off a byte
    //! transpose as the x86 kernels do, this kernel transposes bits first, then
    //! bytes:
    //!
    //! 1. For each group `g` of 8 source rows `8g..8g+8`, an 8×8 bit transpose
    //!    *across* the 8 registers (bit `c` of byte `b` of register `r` goes to
    //!    bit `r` of byte `b` of register `c`), all 16 byte positions at once:
    //!    three rounds of shift-and-insert (`sli`/`sri` for nibbles, `bsl` with
    //!    masks for bit pairs and single bits). Register `c` then holds, in byte
    //!    `b`, byte `g` of output row `8b + c`; it is stored at `dst[8g + c]`.
    //! 2. For each `c`, the 16 blocks `dst[8g + c]` (`g = 0..16`) form a 16×16
    //!    byte matrix whose transpose is output rows `8b + c` (`b = 0..16`): the
    //!    same `zip` network as the x86 byte transpose. Pass 2 reads and writes
    //!    the same 16 blocks, so `dst` doubles as scratch.
    use super::Block;
    use std::arch::aarch64::*;

    #[inline]
    #[target_feature(enable = "neon")]
    fn zip1_8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vzip1q_u8(a, b)
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip2_8(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vzip2q_u8(a, b)
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip1_16(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u16(vzip1q_u16(vreinterpretq_u16_u8(a), vreinterpretq_u16_u8(b)))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip2_16(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u16(vzip2q_u16(vreinterpretq_u16_u8(a), vreinterpretq_u16_u8(b)))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip1_32(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u32(vzip1q_u32(vreinterpretq_u32_u8(a), vreinterpretq_u32_u8(b)))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip2_32(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u32(vzip2q_u32(vreinterpretq_u32_u8(a), vreinterpretq_u32_u8(b)))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip1_64(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u64(vzip1q_u64(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b)))
    }
    #[inline]
    #[target_feature(enable = "neon")]
    fn zip2_64(a: uint8x16_t, b: uint8x16_t) -> uint8x16_t {
        vreinterpretq_u8_u64(vzip2q_u64(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b)))
    }

    /// Swaps bit `k + S` of `x` with bit `k` of `y` in every byte, for the bits
    /// `k` set in `lo` (`0x33` for `S = 2`, `0x55` for `S = 1`).
    #[inline]
    #[target_feature(enable = "neon")]
    fn swap_bits<const S: i32>(
        x: uint8x16_t,
        y: uint8x16_t,
        lo: uint8x16_t,
    ) -> (uint8x16_t, uint8x16_t) {
        (
            vbslq_u8(lo, x, vshlq_n_u8::<S>(y)),
            vbslq_u8(lo, vshrq_n_u8::<S>(x), y),
        )
    }

    /// NEON kernel. Bounds were checked by the caller (`check_bounds`). NEON is
    /// part of the aarch64 baseline, so every aarch64 CPU can run it.
    #[target_feature(enable = "neon")]
    pub(super) fn neon(src: &[Block], stride: usize, dst: &mut [Block]) {
        let out = dst[..128].as_mut_ptr() as *mut u8;
        let m33 = vdupq_n_u8(0x33);
        let m55 = vdupq_n_u8(0x55);
        // Pass 1: bit transpose of each group of 8 rows, to dst[8g + c].
        for g in 0..16 {
            let mut r = [vdupq_n_u8(0); 8];
            for (k, rk) in r.iter_mut().enumerate() {
                let row: &Block = &src[(8 * g + k) * stride];
                // SAFETY: `row` is a valid 16-byte reference; ld1 has no alignment
                // requirement.
                *rk = unsafe { vld1q_u8(row as *const Block as *const u8) };
            }
            for k in 0..4 {
                let (x, y) = (r[k], r[k + 4]);
                r[k] = vsliq_n_u8::<4>(x, y);
                r[k + 4] = vsriq_n_u8::<4>(y, x);
            }
            for k in [0, 1, 4, 5] {
                (r[k], r[k + 2]) = swap_bits::<2>(r[k], r[k + 2], m33);
            }
            for k in [0, 2, 4, 6] {
                (r[k], r[k + 1]) = swap_bits::<1>(r[k], r[k + 1], m55);
            }
            for (c, v) in r.into_iter().enumerate() {
                // SAFETY: 8g + c < 128: inside dst[..128].
                unsafe { vst1q_u8(out.add(16 * (8 * g + c)), v) };
            }
        }
        // Pass 2: for each c, a 16×16 byte transpose of dst[8g + c], g = 0..16,
        // back into the same blocks as output rows 8b + c.
        for c in 0..8 {
            let mut r = [vdupq_n_u8(0); 16];
            for (g, rg) in r.iter_mut().enumerate() {
                // SAFETY: 8g + c < 128: inside dst[..128].
                *rg = unsafe { vld1q_u8(out.add(16 * (8 * g + c))) };
            }
            let rows = byte_transpose_16x16!(
                r,
                vdupq_n_u8(0),
                zip1_8,
                zip2_8,
                zip1_16,
                zip2_16,
                zip1_32,
                zip2_32,
                zip1_64,
                zip2_64
            );
            for (b, v) in rows.into_iter().enumerate() {
                // SAFETY: 8b + c < 128: inside dst[..128].
                unsafe { vst1q_u8(out.add(16 * (8 * b + c)), v) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_matrix(seed: u64) -> Vec<Block> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..128).map(|_| Block(rng.r#gen())).collect()
    }

    #[test]
    fn naive_transposes_single_bits() {
        for (i, j) in [(0, 0), (0, 127), (127, 0), (5, 77), (100, 3)] {
            let mut m = vec![Block::ZERO; 128];
            m[i] = Block(1u128 << j);
            let mut out = vec![Block::ZERO; 128];
            naive(&m, 1, &mut out);
            for (k, o) in out.iter().enumerate() {
                let want = if k == j {
                    Block(1u128 << i)
                } else {
                    Block::ZERO
                };
                assert_eq!(*o, want, "bit ({i},{j}) row {k}");
            }
        }
    }

    #[test]
    fn kernels_agree_with_naive_and_are_involutions() {
        for seed in 0..8 {
            let m = random_matrix(seed);
            let mut want = vec![Block::ZERO; 128];
            naive(&m, 1, &mut want);
            for k in Kernel::available() {
                let mut got = vec![Block::ZERO; 128];
                k.transpose(&m, 1, &mut got);
                assert!(got == want, "{k:?} differs from naive (seed {seed})");
                let mut back = vec![Block::ZERO; 128];
                k.transpose(&got, 1, &mut back);
                assert!(back == m, "{k:?} twice is not the identity");
            }
        }
    }

    #[test]
    fn strided_source() {
        let stride = 3;
        let m = random_matrix(99);
        let mut strided = vec![Block(u128::MAX); 127 * stride + 1];
        for i in 0..128 {
            strided[i * stride] = m[i];
        }
        let mut want = vec![Block::ZERO; 128];
        naive(&m, 1, &mut want);
        for k in Kernel::available() {
            let mut got = vec![Block::ZERO; 128];
            k.transpose(&strided, stride, &mut got);
            assert!(got == want, "{k:?} strided");
        }
    }

    #[test]
    fn best_is_available() {
        assert!(Kernel::available().contains(&Kernel::best()));
        #[cfg(target_arch = "aarch64")]
        assert_eq!(Kernel::best(), Kernel::Neon);
    }

    #[test]
    #[should_panic(expected = "source too short")]
    fn short_source_panics() {
        let m = vec![Block::ZERO; 128];
        let mut out = vec![Block::ZERO; 128];
        Kernel::best().transpose(&m, 2, &mut out);
    }
}

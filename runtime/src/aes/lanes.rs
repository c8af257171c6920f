//! The batched AES algorithms, written once over a SIMD register type.
//!
//! Every kernel (AES-NI on 128-bit registers, VAES on 256 or 512 bits, ARMv8 AES)
//! implements [`Lane`] for its register type, and a `#[target_feature]` entry point in
//! its module instantiates these generic functions. The functions are
//! `#[inline(always)]` so that the intrinsics end up inside the entry point, which has
//! the CPU features they need (they would not inline into a function without them).
//!
//! Throughput: AES instructions have a latency of about four cycles and issue one or
//! two per cycle, so [`R`] independent registers go through each round together.

use super::WideKeys;
use crate::block::Block;

/// Registers in flight per AES round.
pub(super) const R: usize = 8;
/// The widest register holds this many blocks (scratch buffers are sized for it).
const MAX_L: usize = 4;

/// One SIMD register of `L` AES blocks and the operations the algorithms need.
///
/// # Safety
/// Every method may only be called where the CPU features of the implementing kernel
/// are enabled (its entry points check them before they are reached). Pointer
/// arguments must be valid for `L` blocks.
pub(super) trait Lane: Copy {
    /// Blocks per register.
    const L: usize;
    unsafe fn load(p: *const Block) -> Self;
    unsafe fn store(self, p: *mut Block);
    unsafe fn xor(self, other: Self) -> Self;
    /// The same block in every lane.
    unsafe fn splat(b: Block) -> Self;
    /// Lane `j` holds the tweak block `first + (j >> shift)` (high 64 bits zero).
    unsafe fn tweaks(first: u64, shift: u32) -> Self;
    /// AES-128 of every lane of every register, with round keys `k` (one per lane).
    unsafe fn encrypt<const N: usize>(k: &[Self; 11], s: &mut [Self; N]);

    /// The round keys, loaded from their widened copies.
    #[inline(always)]
    unsafe fn keys(wk: &WideKeys) -> [Self; 11] {
        // SAFETY: each widened key is `MAX_L >= L` blocks long.
        unsafe {
            let mut k = [Self::load(wk[0].as_ptr()); 11];
            for (d, s) in k.iter_mut().zip(wk).skip(1) {
                *d = Self::load(s.as_ptr());
            }
            k
        }
    }
}

#[inline(always)]
unsafe fn load_n<V: Lane, const N: usize>(p: *const Block) -> [V; N] {
    // SAFETY: the caller guarantees `N * L` readable blocks at `p`.
    unsafe {
        let first = V::load(p);
        let mut s = [first; N];
        for (r, x) in s.iter_mut().enumerate().skip(1) {
            *x = V::load(p.add(r * V::L));
        }
        s
    }
}

#[inline(always)]
unsafe fn store_n<V: Lane, const N: usize>(p: *mut Block, s: &[V; N]) {
    for (r, x) in s.iter().enumerate() {
        // SAFETY: the caller guarantees `N * L` writable blocks at `p`.
        unsafe { x.store(p.add(r * V::L)) };
    }
}

/// An operation on `N` registers of blocks in place, starting at block index `i`.
/// (A trait rather than closures: closures would not be inlined into the entry
/// points, and the intrinsics inside them would stay function calls.)
trait InPlace<V: Lane> {
    unsafe fn run<const N: usize>(&self, p: *mut Block, i: usize);
}

/// Runs `op` over `blocks` in groups of [`R`] registers, then single registers, then a
/// last partial register through a scratch copy.
#[inline(always)]
unsafe fn in_groups<V: Lane, O: InPlace<V>>(blocks: &mut [Block], op: &O) {
    let n = blocks.len();
    let mut i = 0;
    // SAFETY (whole fn): each `run` gets a pointer with enough blocks after it.
    unsafe {
        while i + R * V::L <= n {
            op.run::<R>(blocks.as_mut_ptr().add(i), i);
            i += R * V::L;
        }
        while i + V::L <= n {
            op.run::<1>(blocks.as_mut_ptr().add(i), i);
            i += V::L;
        }
        if i < n {
            let mut tmp = [Block::ZERO; MAX_L];
            let m = n - i;
            tmp[..m].copy_from_slice(&blocks[i..]);
            op.run::<1>(tmp.as_mut_ptr(), i);
            blocks[i..].copy_from_slice(&tmp[..m]);
        }
    }
}

struct Encrypt<V>([V; 11]);

impl<V: Lane> InPlace<V> for Encrypt<V> {
    #[inline(always)]
    unsafe fn run<const N: usize>(&self, p: *mut Block, _: usize) {
        // SAFETY: the caller guarantees `N * L` blocks at `p`.
        unsafe {
            let mut s = load_n::<V, N>(p);
            V::encrypt(&self.0, &mut s);
            store_n(p, &s);
        }
    }
}

/// π of every block, in place.
#[inline(always)]
pub(super) unsafe fn encrypt_blocks<V: Lane>(wk: &WideKeys, blocks: &mut [Block]) {
    // SAFETY: the features are enabled (caller).
    unsafe { in_groups(blocks, &Encrypt(V::keys(wk))) }
}

/// Where the tweak of block `i` comes from.
#[derive(Clone, Copy)]
pub(super) enum Tweaks<'a> {
    /// `tweaks[i]`.
    Explicit(&'a [Block]),
    /// `base + (i >> shift)`.
    Seq { base: u64, shift: u32 },
}

impl Tweaks<'_> {
    /// The tweaks of the register starting at block `i`. An explicit tweak list is
    /// read through a scratch copy where fewer than `L` tweaks remain.
    #[inline(always)]
    unsafe fn at<V: Lane>(&self, i: usize) -> V {
        match *self {
            Tweaks::Seq { base, shift } => unsafe {
                V::tweaks(base.wrapping_add((i >> shift) as u64), shift)
            },
            Tweaks::Explicit(t) => {
                if i + V::L <= t.len() {
                    // SAFETY: in bounds, checked just above.
                    unsafe { V::load(t.as_ptr().add(i)) }
                } else {
                    let mut tmp = [Block::ZERO; MAX_L];
                    let m = t.len().saturating_sub(i);
                    tmp[..m].copy_from_slice(&t[i..i + m]);
                    // SAFETY: `tmp` holds `MAX_L >= L` blocks.
                    unsafe { V::load(tmp.as_ptr()) }
                }
            }
        }
    }
}

/// TMMO `π(π(x) ⊕ t) ⊕ π(x)` in place, tweaks from the second field.
struct Tmmo<'a, V>([V; 11], Tweaks<'a>);

impl<V: Lane> InPlace<V> for Tmmo<'_, V> {
    #[inline(always)]
    unsafe fn run<const N: usize>(&self, p: *mut Block, i: usize) {
        // SAFETY: the caller guarantees `N * L` blocks at `p`.
        unsafe {
            let (k, tw) = (&self.0, self.1);
            let mut y = load_n::<V, N>(p);
            V::encrypt(k, &mut y);
            let mut z = y;
            for (r, v) in z.iter_mut().enumerate() {
                *v = v.xor(tw.at::<V>(i + r * V::L));
            }
            V::encrypt(k, &mut z);
            for r in 0..N {
                z[r] = z[r].xor(y[r]);
            }
            store_n(p, &z);
        }
    }
}

/// TMMO of every block in place, tweaks from `tw` (explicit ones: `xs.len()` of them).
#[inline(always)]
pub(super) unsafe fn tmmo<V: Lane>(wk: &WideKeys, xs: &mut [Block], tw: Tweaks) {
    // SAFETY: the features are enabled (caller).
    unsafe { in_groups(xs, &Tmmo(V::keys(wk), tw)) }
}

/// `N` registers of [`tmmo_seq_to`]: inputs at `x`, outputs at `o0` and, when `DUAL`,
/// the hashes of the inputs ⊕ Δ at `o1`; tweaks `first + r·L + lane`.
#[inline(always)]
unsafe fn tmmo_seq_regs<V: Lane, const N: usize, const DUAL: bool>(
    k: &[V; 11],
    x: *const Block,
    o0: *mut Block,
    o1: *mut Block,
    d: V,
    first: u64,
) {
    // SAFETY: the caller guarantees `N * L` blocks at `x`, `o0` (and `o1` if DUAL).
    unsafe {
        let mut t = [d; N];
        for (r, v) in t.iter_mut().enumerate() {
            *v = V::tweaks(first.wrapping_add((r * V::L) as u64), 0);
        }
        let mut y0 = load_n::<V, N>(x);
        if DUAL {
            let mut y1 = y0;
            for v in y1.iter_mut() {
                *v = v.xor(d);
            }
            V::encrypt(k, &mut y0);
            V::encrypt(k, &mut y1);
            let (mut z0, mut z1) = (y0, y1);
            for r in 0..N {
                z0[r] = z0[r].xor(t[r]);
                z1[r] = z1[r].xor(t[r]);
            }
            V::encrypt(k, &mut z0);
            V::encrypt(k, &mut z1);
            for r in 0..N {
                z0[r] = z0[r].xor(y0[r]);
                z1[r] = z1[r].xor(y1[r]);
            }
            store_n(o0, &z0);
            store_n(o1, &z1);
        } else {
            V::encrypt(k, &mut y0);
            let mut z0 = y0;
            for r in 0..N {
                z0[r] = z0[r].xor(t[r]);
            }
            V::encrypt(k, &mut z0);
            for r in 0..N {
                z0[r] = z0[r].xor(y0[r]);
            }
            store_n(o0, &z0);
        }
    }
}

/// `out0[i] = H(xs[i], base + i)` and, when `DUAL`, `out1[i] = H(xs[i] ⊕ Δ, base + i)`.
///
/// # Safety
/// The kernel's features are enabled; `out0` has `xs.len()` blocks, and so has `out1`
/// when `DUAL`.
#[inline(always)]
pub(super) unsafe fn tmmo_seq_to<V: Lane, const DUAL: bool>(
    wk: &WideKeys,
    xs: &[Block],
    base: u64,
    out0: &mut [Block],
    delta: Block,
    out1: *mut Block,
) {
    // Half as many registers per stream when dual: the same number of AES streams.
    const G: usize = R / 2;
    // SAFETY (whole fn): every access stays within `xs`, `out0`, `out1[..xs.len()]`
    // (caller) or local arrays.
    unsafe {
        let k = V::keys(wk);
        let d = V::splat(delta);
        let n = xs.len();
        let o1 = |i: usize| {
            if DUAL {
                out1.add(i)
            } else {
                core::ptr::null_mut()
            }
        };
        let first = |i: usize| base.wrapping_add(i as u64);
        let mut i = 0;
        if DUAL {
            while i + V::L * G <= n {
                let (x, o) = (xs.as_ptr().add(i), out0.as_mut_ptr().add(i));
                tmmo_seq_regs::<V, G, DUAL>(&k, x, o, o1(i), d, first(i));
                i += V::L * G;
            }
        } else {
            while i + V::L * R <= n {
                let (x, o) = (xs.as_ptr().add(i), out0.as_mut_ptr().add(i));
                tmmo_seq_regs::<V, R, DUAL>(&k, x, o, o1(i), d, first(i));
                i += V::L * R;
            }
        }
        while i + V::L <= n {
            let (x, o) = (xs.as_ptr().add(i), out0.as_mut_ptr().add(i));
            tmmo_seq_regs::<V, 1, DUAL>(&k, x, o, o1(i), d, first(i));
            i += V::L;
        }
        if i < n {
            let m = n - i;
            let mut bx = [Block::ZERO; MAX_L];
            let mut b0 = [Block::ZERO; MAX_L];
            let mut b1 = [Block::ZERO; MAX_L];
            bx[..m].copy_from_slice(&xs[i..]);
            let (x, o, p1) = (bx.as_ptr(), b0.as_mut_ptr(), b1.as_mut_ptr());
            tmmo_seq_regs::<V, 1, DUAL>(&k, x, o, p1, d, first(i));
            out0[i..].copy_from_slice(&b0[..m]);
            if DUAL {
                core::ptr::copy_nonoverlapping(b1.as_ptr(), out1.add(i), m);
            }
        }
    }
}

/// The entry points of one kernel: `#[target_feature]` functions instantiating the
/// generic algorithms for register type `$v`.
macro_rules! entry_points {
    ($features:literal, $v:ty) => {
        use crate::aes::WideKeys;
        use crate::aes::lanes::{self, Tweaks};
        use crate::block::Block;

        /// # Safety
        /// The CPU has this kernel's features.
        #[target_feature(enable = $features)]
        pub(in crate::aes) unsafe fn encrypt_blocks(wk: &WideKeys, blocks: &mut [Block]) {
            // SAFETY: features enabled by the caller's contract.
            unsafe { lanes::encrypt_blocks::<$v>(wk, blocks) }
        }

        /// # Safety
        /// The CPU has this kernel's features; explicit tweaks number `xs.len()`.
        #[target_feature(enable = $features)]
        pub(in crate::aes) unsafe fn tmmo(wk: &WideKeys, xs: &mut [Block], tw: Tweaks) {
            // SAFETY: as above.
            unsafe { lanes::tmmo::<$v>(wk, xs, tw) }
        }

        /// # Safety
        /// See [`lanes::tmmo_seq_to`].
        #[target_feature(enable = $features)]
        pub(in crate::aes) unsafe fn tmmo_seq_to<const DUAL: bool>(
            wk: &WideKeys,
            xs: &[Block],
            base: u64,
            out0: &mut [Block],
            delta: Block,
            out1: *mut Block,
        ) {
            // SAFETY: as above.
            unsafe { lanes::tmmo_seq_to::<$v, DUAL>(wk, xs, base, out0, delta, out1) }
        }
    };
}
pub(super) use entry_points;

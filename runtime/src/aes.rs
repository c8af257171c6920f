//! AES-128 as a keyed permutation π over [`Block`]s, with a per-session random key.
//!
//! The hot path encrypts many blocks at once. On x86-64 CPUs with VAES and AVX-512 a
//! small kernel (`vaes`) pushes four blocks through each `vaesenc` and keeps eight
//! such registers in flight; everywhere else the `aes` crate (AES-NI with eight-block
//! pipelining, or its constant-time software fallback) does the work. Both paths are
//! tested against each other and against the FIPS-197 vector.

use crate::block::Block;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};

/// AES-128 with an expanded key. Cheap to clone; the key never appears in `Debug`.
#[derive(Clone)]
pub struct Aes128 {
    /// Round keys 0..=10 (the block's little-endian bytes are the AES state bytes).
    wide_keys: vaes::WideKeys,
    fallback: aes::Aes128,
    use_vaes: bool,
}

impl std::fmt::Debug for Aes128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aes128(<redacted>)")
    }
}

impl Aes128 {
    /// Expands `key`; picks the fastest implementation this CPU supports.
    pub fn new(key: Block) -> Aes128 {
        let fallback = aes::Aes128::new(GenericArray::from_slice(&key.to_bytes()));
        Aes128 {
            wide_keys: vaes::widen(&expand_key(key)),
            fallback,
            use_vaes: vaes::available(),
        }
    }

    /// A fresh random key drawn from `rng`.
    pub fn random(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Aes128 {
        let mut k = [0u8; 16];
        rng.fill_bytes(&mut k);
        Aes128::new(Block::from_bytes(k))
    }

    /// Forces the portable (`aes` crate) path; for tests and benchmarks.
    pub fn without_vaes(mut self) -> Aes128 {
        self.use_vaes = false;
        self
    }

    /// Whether the VAES kernel is in use.
    pub fn uses_vaes(&self) -> bool {
        self.use_vaes
    }

    /// π(x) for one block.
    pub fn encrypt(&self, x: Block) -> Block {
        let mut b = GenericArray::from(x.to_bytes());
        self.fallback.encrypt_block(&mut b);
        Block::from_bytes(b.into())
    }

    /// π applied to every block in place.
    pub fn encrypt_blocks(&self, blocks: &mut [Block]) {
        if self.use_vaes {
            vaes::encrypt_blocks(&self.wide_keys, blocks);
        } else {
            self.encrypt_blocks_portable(blocks);
        }
    }

    fn encrypt_blocks_portable(&self, blocks: &mut [Block]) {
        const CHUNK: usize = 64;
        let mut buf = [GenericArray::default(); CHUNK];
        for chunk in blocks.chunks_mut(CHUNK) {
            for (g, b) in buf.iter_mut().zip(chunk.iter()) {
                *g = GenericArray::from(b.to_bytes());
            }
            self.fallback.encrypt_blocks(&mut buf[..chunk.len()]);
            for (g, b) in buf.iter().zip(chunk.iter_mut()) {
                *b = Block::from_bytes((*g).into());
            }
        }
    }

    /// The TMMO hash π(π(x) ⊕ t) ⊕ π(x) of every `xs[i]` under tweak `tweaks[i]`, in place.
    /// This is the tweakable circular correlation-robust hash of Guo, Katz, Wang and Yu
    /// (S&P 2020, §7.3); see [`crate::hash::Tccr`].
    pub fn tmmo_in_place(&self, xs: &mut [Block], tweaks: &[Block]) {
        assert_eq!(xs.len(), tweaks.len(), "one tweak per block");
        if self.use_vaes {
            vaes::tmmo(&self.wide_keys, xs, tweaks);
        } else {
            const CHUNK: usize = 32;
            let mut y = [Block::ZERO; CHUNK];
            for (xc, tc) in xs.chunks_mut(CHUNK).zip(tweaks.chunks(CHUNK)) {
                let n = xc.len();
                self.encrypt_blocks_portable(xc);
                y[..n].copy_from_slice(xc);
                for (x, t) in xc.iter_mut().zip(tc) {
                    *x ^= *t;
                }
                self.encrypt_blocks_portable(xc);
                for i in 0..n {
                    xc[i] ^= y[i];
                }
            }
        }
    }
}

impl Aes128 {
    /// TMMO in place where block `i` gets tweak `base + (i >> shift)`, `shift` 0 or 1
    /// (the evaluator's and the garbler's half-gates tweak patterns). Avoids building
    /// a tweak array.
    pub fn tmmo_seq_in_place(&self, xs: &mut [Block], base: u64, shift: u32) {
        assert!(shift <= 1, "shift must be 0 or 1");
        if self.use_vaes {
            vaes::tmmo_seq(&self.wide_keys, xs, base, shift);
        } else {
            let mut tw = [Block::ZERO; 64];
            for (c, chunk) in xs.chunks_mut(64).enumerate() {
                for (i, t) in tw[..chunk.len()].iter_mut().enumerate() {
                    *t = Block(base.wrapping_add(((c * 64 + i) >> shift) as u64) as u128);
                }
                let n = chunk.len();
                self.tmmo_in_place(chunk, &tw[..n]);
            }
        }
    }
}

impl Aes128 {
    /// Out-of-place TMMO with sequential tweaks, optionally also of every input ⊕ Δ:
    /// `out0[i] = H(xs[i], base + i)` and, with `delta = Some((Δ, out1))`,
    /// `out1[i] = H(xs[i] ⊕ Δ, base + i)`. This is the half-gates garbler's batch
    /// (`xs = [A0, B0, …]`, both labels of each input) and, without Δ, the evaluator's.
    ///
    /// # Panics
    /// If the output slices are shorter than `xs`.
    pub fn tmmo_seq_to(
        &self,
        xs: &[Block],
        base: u64,
        out0: &mut [Block],
        delta: Option<(Block, &mut [Block])>,
    ) {
        let n = xs.len();
        assert!(out0.len() >= n, "tmmo_seq_to: output too short");
        let out0 = &mut out0[..n];
        let delta = delta.map(|(d, o)| {
            assert!(o.len() >= n, "tmmo_seq_to: output too short");
            (d, &mut o[..n])
        });
        if self.use_vaes {
            vaes::tmmo_seq_to(&self.wide_keys, xs, base, out0, delta);
        } else {
            out0.copy_from_slice(xs);
            self.tmmo_seq_in_place(out0, base, 0);
            if let Some((d, o1)) = delta {
                for (o, x) in o1.iter_mut().zip(xs) {
                    *o = *x ^ d;
                }
                self.tmmo_seq_in_place(o1, base, 0);
            }
        }
    }
}

/// The AES S-box entry for `x`: inversion in GF(2^8) followed by the affine map.
fn sbox(x: u8) -> u8 {
    fn mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let hi = a & 0x80;
            a <<= 1;
            if hi != 0 {
                a ^= 0x1b;
            }
            b >>= 1;
        }
        p
    }
    // x^254 = x^-1 (and 0 -> 0).
    let mut inv = 1u8;
    let mut base = x;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 == 1 {
            inv = mul(inv, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    inv ^ inv.rotate_left(1) ^ inv.rotate_left(2) ^ inv.rotate_left(3) ^ inv.rotate_left(4) ^ 0x63
}

/// The FIPS-197 AES-128 key schedule (runs once per session, not secret-timing-critical
/// beyond that: the S-box is computed arithmetically, without table lookups).
fn expand_key(key: Block) -> [Block; 11] {
    const RCON: [u8; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];
    let mut rk = [[0u8; 16]; 11];
    rk[0] = key.to_bytes();
    for i in 1..11 {
        let p = rk[i - 1];
        let mut t = [sbox(p[13]), sbox(p[14]), sbox(p[15]), sbox(p[12])];
        t[0] ^= RCON[i - 1];
        let mut n = [0u8; 16];
        for w in 0..4 {
            for k in 0..4 {
                let prev = if w == 0 { t[k] } else { n[4 * (w - 1) + k] };
                n[4 * w + k] = p[4 * w + k] ^ prev;
            }
        }
        rk[i] = n;
    }
    rk.map(Block::from_bytes)
}

/// VAES + AVX-512 kernels: four AES blocks per instruction.
///
/// `unsafe` is confined here: the intrinsics need the CPU features, which
/// [`available`] checks at run time before any kernel is called (the callers only
/// come here when `Aes128::use_vaes` is set), and the loads and stores use unaligned
/// intrinsics on in-bounds slices of `Block` (16 bytes, no padding) or local arrays.
#[allow(unsafe_code)]
mod vaes {
    use crate::block::Block;

    /// Round keys broadcast to four lanes, ready for 512-bit loads.
    pub type WideKeys = [[Block; 4]; 11];

    pub fn widen(rk: &[Block; 11]) -> WideKeys {
        rk.map(|k| [k; 4])
    }

    pub fn available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("vaes")
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("aes")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    #[cfg(target_arch = "x86_64")]
    pub fn encrypt_blocks(wk: &WideKeys, blocks: &mut [Block]) {
        // SAFETY: only reached when `available()` returned true.
        unsafe { x86::encrypt_blocks(wk, blocks) }
    }

    #[cfg(target_arch = "x86_64")]
    pub fn tmmo(wk: &WideKeys, xs: &mut [Block], tweaks: &[Block]) {
        assert_eq!(xs.len(), tweaks.len());
        // SAFETY: only reached when `available()` returned true; lengths checked.
        unsafe { x86::tmmo(wk, xs, x86::Tweaks::Explicit(tweaks)) }
    }

    #[cfg(target_arch = "x86_64")]
    pub fn tmmo_seq(wk: &WideKeys, xs: &mut [Block], base: u64, shift: u32) {
        // SAFETY: only reached when `available()` returned true.
        unsafe { x86::tmmo(wk, xs, x86::Tweaks::Seq { base, shift }) }
    }

    #[cfg(target_arch = "x86_64")]
    pub fn tmmo_seq_to(
        wk: &WideKeys,
        xs: &[Block],
        base: u64,
        out0: &mut [Block],
        delta: Option<(Block, &mut [Block])>,
    ) {
        assert!(out0.len() == xs.len() && delta.as_ref().is_none_or(|(_, o)| o.len() == xs.len()));
        // SAFETY: only reached when `available()` returned true; lengths checked.
        unsafe {
            match delta {
                Some((d, o1)) => x86::tmmo_seq_to::<true>(wk, xs, base, out0, d, o1.as_mut_ptr()),
                None => {
                    x86::tmmo_seq_to::<false>(wk, xs, base, out0, Block::ZERO, std::ptr::null_mut())
                }
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn tmmo_seq_to(
        _: &WideKeys,
        _: &[Block],
        _: u64,
        _: &mut [Block],
        _: Option<(Block, &mut [Block])>,
    ) {
        unreachable!("VAES is only selected on x86-64")
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn encrypt_blocks(_: &WideKeys, _: &mut [Block]) {
        unreachable!("VAES is only selected on x86-64")
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn tmmo(_: &WideKeys, _: &mut [Block], _: &[Block]) {
        unreachable!("VAES is only selected on x86-64")
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn tmmo_seq(_: &WideKeys, _: &mut [Block], _: u64, _: u32) {
        unreachable!("VAES is only selected on x86-64")
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::WideKeys;
        use crate::block::Block;
        use std::arch::x86_64::*;

        /// Blocks per 512-bit register.
        const L: usize = 4;
        /// Registers in flight per round.
        const R: usize = 8;

        #[derive(Clone, Copy)]
        pub enum Tweaks<'a> {
            /// One tweak block per input block.
            Explicit(&'a [Block]),
            /// Block `i` gets tweak `base + (i >> shift)` (`shift` is 0 or 1).
            Seq { base: u64, shift: u32 },
        }

        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        unsafe fn keys(wk: &WideKeys) -> [__m512i; 11] {
            let mut k = [_mm512_setzero_si512(); 11];
            for (d, s) in k.iter_mut().zip(wk.iter()) {
                // SAFETY: each `[Block; 4]` is 64 readable bytes.
                *d = unsafe { _mm512_loadu_si512(s.as_ptr() as *const _) };
            }
            k
        }

        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        fn enc<const N: usize>(k: &[__m512i; 11], s: &mut [__m512i; N]) {
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

        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        unsafe fn load<const N: usize>(p: *const Block) -> [__m512i; N] {
            let mut s = [_mm512_setzero_si512(); N];
            for (i, x) in s.iter_mut().enumerate() {
                // SAFETY: the caller guarantees `N * L` readable blocks at `p`.
                *x = unsafe { _mm512_loadu_si512(p.add(i * L) as *const _) };
            }
            s
        }

        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        unsafe fn store<const N: usize>(p: *mut Block, s: &[__m512i; N]) {
            for (i, x) in s.iter().enumerate() {
                // SAFETY: the caller guarantees `N * L` writable blocks at `p`.
                unsafe { _mm512_storeu_si512(p.add(i * L) as *mut _, *x) };
            }
        }

        #[target_feature(enable = "avx512f,vaes,aes")]
        pub unsafe fn encrypt_blocks(wk: &WideKeys, blocks: &mut [Block]) {
            // SAFETY (whole fn): every pointer access stays within `blocks` or `tmp`.
            unsafe {
                let k = keys(wk);
                let mut chunks = blocks.chunks_exact_mut(L * R);
                for c in &mut chunks {
                    let mut s = load::<R>(c.as_ptr());
                    enc(&k, &mut s);
                    store(c.as_mut_ptr(), &s);
                }
                let rest = chunks.into_remainder();
                if !rest.is_empty() {
                    let mut tmp = [Block::ZERO; L * R];
                    tmp[..rest.len()].copy_from_slice(rest);
                    let mut s = load::<R>(tmp.as_ptr());
                    enc(&k, &mut s);
                    store(tmp.as_mut_ptr(), &s);
                    rest.copy_from_slice(&tmp[..rest.len()]);
                }
            }
        }

        /// TMMO on `N` registers at `x` (tweaks from `t`, or sequential from `seq`,
        /// which is advanced by `step` per register).
        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        unsafe fn tmmo_regs<const N: usize>(
            k: &[__m512i; 11],
            x: *mut Block,
            t: Option<*const Block>,
            seq: &mut __m512i,
            step: __m512i,
        ) {
            // SAFETY: the caller guarantees `N * L` blocks at `x` (and at `t`).
            unsafe {
                let mut y = load::<N>(x);
                enc(k, &mut y);
                let mut z = [_mm512_setzero_si512(); N];
                match t {
                    Some(t) => {
                        let tw = load::<N>(t);
                        for i in 0..N {
                            z[i] = _mm512_xor_si512(y[i], tw[i]);
                        }
                    }
                    None => {
                        for i in 0..N {
                            z[i] = _mm512_xor_si512(y[i], *seq);
                            *seq = _mm512_add_epi64(*seq, step);
                        }
                    }
                }
                enc(k, &mut z);
                for i in 0..N {
                    z[i] = _mm512_xor_si512(z[i], y[i]);
                }
                store(x, &z);
            }
        }

        /// `N` registers of [`tmmo_seq_to`]: inputs at `x`, outputs at `o0` (and, when
        /// `DUAL`, the hashes of the inputs ⊕ Δ at `o1`).
        #[target_feature(enable = "avx512f,vaes,aes")]
        #[inline]
        unsafe fn tmmo_seq_regs<const N: usize, const DUAL: bool>(
            k: &[__m512i; 11],
            x: *const Block,
            o0: *mut Block,
            o1: *mut Block,
            d: __m512i,
            seq: &mut __m512i,
            step: __m512i,
        ) {
            // SAFETY: the caller guarantees `N * L` blocks at `x`, `o0` (and `o1` if DUAL).
            unsafe {
                let mut t = [_mm512_setzero_si512(); N];
                for ti in t.iter_mut() {
                    *ti = *seq;
                    *seq = _mm512_add_epi64(*seq, step);
                }
                let mut y0 = load::<N>(x);
                if DUAL {
                    let mut y1: [__m512i; N] = y0;
                    for v in y1.iter_mut() {
                        *v = _mm512_xor_si512(*v, d);
                    }
                    enc(k, &mut y0);
                    enc(k, &mut y1);
                    let mut z0 = [_mm512_setzero_si512(); N];
                    let mut z1 = [_mm512_setzero_si512(); N];
                    for i in 0..N {
                        z0[i] = _mm512_xor_si512(y0[i], t[i]);
                        z1[i] = _mm512_xor_si512(y1[i], t[i]);
                    }
                    enc(k, &mut z0);
                    enc(k, &mut z1);
                    for i in 0..N {
                        z0[i] = _mm512_xor_si512(z0[i], y0[i]);
                        z1[i] = _mm512_xor_si512(z1[i], y1[i]);
                    }
                    store(o0, &z0);
                    store(o1, &z1);
                } else {
                    enc(k, &mut y0);
                    let mut z0 = [_mm512_setzero_si512(); N];
                    for i in 0..N {
                        z0[i] = _mm512_xor_si512(y0[i], t[i]);
                    }
                    enc(k, &mut z0);
                    for i in 0..N {
                        z0[i] = _mm512_xor_si512(z0[i], y0[i]);
                    }
                    store(o0, &z0);
                }
            }
        }

        /// # Safety
        /// VAES and AVX-512F must be available; `out0` has `xs.len()` blocks, and so has
        /// `out1` when `DUAL`.
        #[target_feature(enable = "avx512f,vaes,aes")]
        pub unsafe fn tmmo_seq_to<const DUAL: bool>(
            wk: &WideKeys,
            xs: &[Block],
            base: u64,
            out0: &mut [Block],
            delta: Block,
            out1: *mut Block,
        ) {
            // SAFETY (whole fn): all accesses stay within `xs`, `out0`, `out1[..xs.len()]`
            // (guaranteed by the caller) or local arrays.
            unsafe {
                let k = keys(wk);
                let n = xs.len();
                let b = base as i64;
                let mut seq = _mm512_set_epi64(0, b + 3, 0, b + 2, 0, b + 1, 0, b);
                let step = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
                let d = _mm512_broadcast_i32x4(_mm_loadu_si128(
                    &delta as *const Block as *const __m128i,
                ));
                // Four registers per pass when dual (eight AES streams), eight otherwise.
                const G: usize = 4;
                let o1 = |i: usize| {
                    if DUAL {
                        out1.add(i)
                    } else {
                        std::ptr::null_mut()
                    }
                };
                let mut i = 0;
                if DUAL {
                    while i + L * G <= n {
                        tmmo_seq_regs::<G, DUAL>(
                            &k,
                            xs.as_ptr().add(i),
                            out0.as_mut_ptr().add(i),
                            o1(i),
                            d,
                            &mut seq,
                            step,
                        );
                        i += L * G;
                    }
                } else {
                    while i + L * 2 * G <= n {
                        tmmo_seq_regs::<{ 2 * G }, DUAL>(
                            &k,
                            xs.as_ptr().add(i),
                            out0.as_mut_ptr().add(i),
                            o1(i),
                            d,
                            &mut seq,
                            step,
                        );
                        i += L * 2 * G;
                    }
                }
                while i + L <= n {
                    tmmo_seq_regs::<1, DUAL>(
                        &k,
                        xs.as_ptr().add(i),
                        out0.as_mut_ptr().add(i),
                        o1(i),
                        d,
                        &mut seq,
                        step,
                    );
                    i += L;
                }
                if i < n {
                    let m = n - i;
                    let mut bx = [Block::ZERO; L];
                    let mut b0 = [Block::ZERO; L];
                    let mut b1 = [Block::ZERO; L];
                    bx[..m].copy_from_slice(&xs[i..]);
                    tmmo_seq_regs::<1, DUAL>(
                        &k,
                        bx.as_ptr(),
                        b0.as_mut_ptr(),
                        b1.as_mut_ptr(),
                        d,
                        &mut seq,
                        step,
                    );
                    out0[i..].copy_from_slice(&b0[..m]);
                    if DUAL {
                        std::ptr::copy_nonoverlapping(b1.as_ptr(), out1.add(i), m);
                    }
                }
            }
        }

        #[target_feature(enable = "avx512f,vaes,aes")]
        pub unsafe fn tmmo(wk: &WideKeys, xs: &mut [Block], tweaks: Tweaks<'_>) {
            // SAFETY (whole fn): explicit tweaks have `xs.len()` blocks (checked by the
            // caller); every access stays within `xs`, `tweaks` or local arrays.
            unsafe {
                let k = keys(wk);
                let n = xs.len();
                let (explicit, mut seq, step) = match tweaks {
                    Tweaks::Explicit(t) => {
                        (Some(t), _mm512_setzero_si512(), _mm512_setzero_si512())
                    }
                    Tweaks::Seq { base, shift } => {
                        let b = base as i64;
                        // Lanes hold tweaks for blocks 4r..4r+4 (low qword of each lane).
                        let (seq, inc) = if shift == 0 {
                            (_mm512_set_epi64(0, b + 3, 0, b + 2, 0, b + 1, 0, b), 4)
                        } else {
                            (_mm512_set_epi64(0, b + 1, 0, b + 1, 0, b, 0, b), 2)
                        };
                        (None, seq, _mm512_set_epi64(0, inc, 0, inc, 0, inc, 0, inc))
                    }
                };
                let tp = |i: usize| explicit.map(|t| t.as_ptr().add(i));
                let mut i = 0;
                while i + L * R <= n {
                    tmmo_regs::<R>(&k, xs.as_mut_ptr().add(i), tp(i), &mut seq, step);
                    i += L * R;
                }
                while i + L <= n {
                    tmmo_regs::<1>(&k, xs.as_mut_ptr().add(i), tp(i), &mut seq, step);
                    i += L;
                }
                if i < n {
                    let m = n - i;
                    let mut bx = [Block::ZERO; L];
                    let mut bt = [Block::ZERO; L];
                    bx[..m].copy_from_slice(&xs[i..]);
                    if let Some(t) = explicit {
                        bt[..m].copy_from_slice(&t[i..]);
                    }
                    let t = explicit.map(|_| bt.as_ptr());
                    tmmo_regs::<1>(&k, bx.as_mut_ptr(), t, &mut seq, step);
                    xs[i..].copy_from_slice(&bx[..m]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn fips197_vector() {
        // FIPS-197 Appendix C.1.
        let key = Block::from_bytes(core::array::from_fn(|i| i as u8));
        let pt = Block::from_bytes(core::array::from_fn(|i| (i as u8) * 0x11));
        let expect = [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a,
        ];
        let aes = Aes128::new(key);
        assert_eq!(aes.encrypt(pt).to_bytes(), expect);
        for a in [aes.clone(), aes.without_vaes()] {
            let mut v = [pt; 3];
            a.encrypt_blocks(&mut v);
            assert!(v.iter().all(|b| b.to_bytes() == expect));
        }
    }

    #[test]
    fn key_schedule_matches_fips197() {
        // FIPS-197 Appendix A.1: last round key for 2b7e1516 28aed2a6 abf71588 09cf4f3c.
        let key = Block::from_bytes([
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ]);
        let rk = expand_key(key);
        assert_eq!(
            rk[10].to_bytes(),
            [
                0xd0, 0x14, 0xf9, 0xa8, 0xc9, 0xee, 0x25, 0x89, 0xe1, 0x3f, 0x0c, 0xc8, 0xb6, 0x63,
                0x0c, 0xa6
            ]
        );
    }

    #[test]
    fn kernels_agree_on_every_length() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let aes = Aes128::random(&mut rng);
        let portable = aes.clone().without_vaes();
        for n in 0..80 {
            let xs: Vec<Block> = (0..n).map(|_| Block(rng.r#gen())).collect();
            let tw: Vec<Block> = (0..n).map(|_| Block(rng.r#gen())).collect();
            let mut a = xs.clone();
            let mut b = xs.clone();
            aes.encrypt_blocks(&mut a);
            portable.encrypt_blocks(&mut b);
            assert_eq!(a, b, "encrypt_blocks, n = {n}");
            let single: Vec<Block> = xs.iter().map(|&x| aes.encrypt(x)).collect();
            assert_eq!(a, single);
            let mut a = xs.clone();
            let mut b = xs.clone();
            aes.tmmo_in_place(&mut a, &tw);
            portable.tmmo_in_place(&mut b, &tw);
            assert_eq!(a, b, "tmmo, n = {n}");
            for i in 0..n {
                let p = aes.encrypt(xs[i]);
                assert_eq!(a[i], aes.encrypt(p ^ tw[i]) ^ p);
            }
            let base = rng.r#gen::<u64>() >> 2;
            let d = Block(rng.r#gen::<u128>() | 1);
            let (mut a0, mut a1) = (vec![Block::ZERO; n], vec![Block::ZERO; n]);
            let (mut b0, mut b1) = (vec![Block::ZERO; n], vec![Block::ZERO; n]);
            aes.tmmo_seq_to(&xs, base, &mut a0, Some((d, &mut a1)));
            portable.tmmo_seq_to(&xs, base, &mut b0, Some((d, &mut b1)));
            assert_eq!((&a0, &a1), (&b0, &b1), "tmmo_seq_to dual, n = {n}");
            let mut c0 = vec![Block::ZERO; n];
            aes.tmmo_seq_to(&xs, base, &mut c0, None);
            assert_eq!(c0, a0, "tmmo_seq_to single, n = {n}");
            for i in 0..n {
                let t = Block((base + i as u64) as u128);
                let p = aes.encrypt(xs[i]);
                assert_eq!(a0[i], aes.encrypt(p ^ t) ^ p);
                let p = aes.encrypt(xs[i] ^ d);
                assert_eq!(a1[i], aes.encrypt(p ^ t) ^ p);
            }
            for shift in [0, 1] {
                let base = rng.r#gen::<u64>() >> 2;
                let mut a = xs.clone();
                let mut b = xs.clone();
                aes.tmmo_seq_in_place(&mut a, base, shift);
                portable.tmmo_seq_in_place(&mut b, base, shift);
                assert_eq!(a, b, "tmmo_seq, n = {n}, shift = {shift}");
                for i in 0..n {
                    let p = aes.encrypt(xs[i]);
                    let t = Block((base + (i as u64 >> shift)) as u128);
                    assert_eq!(a[i], aes.encrypt(p ^ t) ^ p, "n = {n}, i = {i}");
                }
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        let aes = Aes128::new(Block(0x1234_5678));
        assert_eq!(format!("{aes:?}"), "Aes128(<redacted>)");
    }
}

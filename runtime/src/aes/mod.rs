//! AES-128 as a keyed permutation π over [`Block`]s, with a per-session random key.
//!
//! The hot path encrypts many blocks at once, through one of several kernels chosen at
//! run time ([`Kernel`]): VAES on 512-bit registers (four blocks per instruction),
//! VAES on 256-bit registers, AES-NI on 128-bit registers, or the ARMv8 AES
//! instructions, each keeping eight registers in flight. The algorithms (bulk
//! encryption and the TMMO hash) are written once in [`lanes`] over the register type;
//! the kernels only say how to load, XOR and run a round. The portable kernel is the
//! `aes` crate, which every other kernel is tested against (`tests`), with the
//! FIPS-197 vectors on top.
//!
//! `GARNET_AES_KERNEL=portable|aes-ni|vaes-256|vaes-512|armv8` picks a kernel for the
//! whole process (benchmarks use it to compare kernels on one machine); a kernel the
//! CPU lacks is never chosen.

mod lanes;
mod schedule;
#[cfg(test)]
mod tests;

#[cfg(target_arch = "aarch64")]
mod arm;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::block::Block;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use lanes::Tweaks;
use std::sync::OnceLock;

/// Round keys 0..=10, each repeated in four lanes so that any register width loads
/// them directly (the block's little-endian bytes are the AES state bytes).
pub(crate) type WideKeys = [[Block; 4]; 11];

/// An implementation of the batched AES operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The `aes` crate (AES-NI or ARMv8 where it detects them, constant-time software
    /// otherwise), one call per batch of up to 64 blocks.
    Portable,
    /// x86-64 AES-NI on 128-bit registers.
    AesNi,
    /// x86-64 VAES on 256-bit registers (needs AVX2).
    Vaes256,
    /// x86-64 VAES on 512-bit registers (needs AVX-512F).
    Vaes512,
    /// aarch64 AES instructions (ARMv8 cryptography extensions).
    Armv8,
}

impl Kernel {
    /// Every kernel, in order of preference from slowest to fastest.
    pub const ALL: [Kernel; 5] = [
        Kernel::Portable,
        Kernel::AesNi,
        Kernel::Armv8,
        Kernel::Vaes256,
        Kernel::Vaes512,
    ];

    /// The name used in reports, `garnet bench` and `GARNET_AES_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::AesNi => "aes-ni",
            Kernel::Vaes256 => "vaes-256",
            Kernel::Vaes512 => "vaes-512",
            Kernel::Armv8 => "armv8",
        }
    }

    /// The kernel of that name, if any.
    pub fn from_name(name: &str) -> Option<Kernel> {
        Kernel::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::AesNi => std::arch::is_x86_feature_detected!("aes"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Vaes256 => {
                std::arch::is_x86_feature_detected!("aes")
                    && std::arch::is_x86_feature_detected!("vaes")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Vaes512 => {
                std::arch::is_x86_feature_detected!("aes")
                    && std::arch::is_x86_feature_detected!("vaes")
                    && std::arch::is_x86_feature_detected!("avx512f")
            }
            #[cfg(target_arch = "aarch64")]
            Kernel::Armv8 => std::arch::is_aarch64_feature_detected!("aes"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every kernel this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The fastest kernel this CPU can run.
    pub fn best() -> Kernel {
        *Kernel::available()
            .last()
            .expect("the portable kernel always runs")
    }

    /// The kernel new [`Aes128`] instances use: `GARNET_AES_KERNEL` if it names a
    /// kernel this CPU has, otherwise [`Kernel::best`]. Read once per process.
    pub fn selected() -> Kernel {
        static SELECTED: OnceLock<Kernel> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            std::env::var("GARNET_AES_KERNEL")
                .ok()
                .and_then(|n| Kernel::from_name(n.trim()))
                .filter(|k| k.is_available())
                .unwrap_or_else(Kernel::best)
        })
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// AES-128 with an expanded key. Cheap to clone; the key never appears in `Debug`.
#[derive(Clone)]
pub struct Aes128 {
    wide_keys: WideKeys,
    fallback: aes::Aes128,
    kernel: Kernel,
}

impl std::fmt::Debug for Aes128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aes128(<redacted>, {})", self.kernel)
    }
}

/// Calls the entry point `$f` of the instance's kernel module, or evaluates
/// `$portable` for the portable kernel.
macro_rules! dispatch {
    ($self:ident, $portable:expr, $f:ident $(::<$g:tt>)? ($($arg:expr),*)) => {
        match $self.kernel {
            // SAFETY: an instance only holds a kernel that `is_available` approved
            // (`new` and `with_kernel` check), so the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            Kernel::AesNi => unsafe { x86::aesni::$f $(::<$g>)? ($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Vaes256 => unsafe { x86::vaes256::$f $(::<$g>)? ($($arg),*) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Vaes512 => unsafe { x86::vaes512::$f $(::<$g>)? ($($arg),*) },
            #[cfg(target_arch = "aarch64")]
            Kernel::Armv8 => unsafe { arm::armv8::$f $(::<$g>)? ($($arg),*) },
            _ => $portable,
        }
    };
}

impl Aes128 {
    /// Expands `key`; uses [`Kernel::selected`].
    pub fn new(key: Block) -> Aes128 {
        let fallback = aes::Aes128::new(GenericArray::from_slice(&key.to_bytes()));
        Aes128 {
            wide_keys: schedule::expand_key(key).map(|k| [k; 4]),
            fallback,
            kernel: Kernel::selected(),
        }
    }

    /// A fresh random key drawn from `rng`.
    pub fn random(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Aes128 {
        let mut k = [0u8; 16];
        rng.fill_bytes(&mut k);
        Aes128::new(Block::from_bytes(k))
    }

    /// The same key on another kernel, or `None` if this CPU cannot run it.
    pub fn with_kernel(mut self, kernel: Kernel) -> Option<Aes128> {
        kernel.is_available().then(|| {
            self.kernel = kernel;
            self
        })
    }

    /// The same key on the portable kernel (tests and benchmarks).
    pub fn portable(self) -> Aes128 {
        self.with_kernel(Kernel::Portable)
            .expect("the portable kernel always runs")
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// π(x) for one block.
    pub fn encrypt(&self, x: Block) -> Block {
        let mut b = GenericArray::from(x.to_bytes());
        self.fallback.encrypt_block(&mut b);
        Block::from_bytes(b.into())
    }

    /// π applied to every block in place.
    pub fn encrypt_blocks(&self, blocks: &mut [Block]) {
        let wk = &self.wide_keys;
        dispatch!(
            self,
            self.encrypt_blocks_portable(blocks),
            encrypt_blocks(wk, blocks)
        )
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

    /// TMMO on the portable kernel: two passes of the `aes` crate with copies between.
    fn tmmo_portable(&self, xs: &mut [Block], tw: Tweaks) {
        const CHUNK: usize = 32;
        let mut y = [Block::ZERO; CHUNK];
        for (c, xc) in xs.chunks_mut(CHUNK).enumerate() {
            let n = xc.len();
            self.encrypt_blocks_portable(xc);
            y[..n].copy_from_slice(xc);
            for (j, x) in xc.iter_mut().enumerate() {
                let i = c * CHUNK + j;
                *x ^= match tw {
                    Tweaks::Explicit(t) => t[i],
                    Tweaks::Seq { base, shift } => {
                        Block(base.wrapping_add((i >> shift) as u64) as u128)
                    }
                };
            }
            self.encrypt_blocks_portable(xc);
            for i in 0..n {
                xc[i] ^= y[i];
            }
        }
    }

    /// The TMMO hash π(π(x) ⊕ t) ⊕ π(x) of every `xs[i]` under tweak `tweaks[i]`, in place.
    /// This is the tweakable circular correlation-robust hash of Guo, Katz, Wang and Yu
    /// (S&P 2020, §7.3); see [`crate::hash::Tccr`].
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn tmmo_in_place(&self, xs: &mut [Block], tweaks: &[Block]) {
        assert_eq!(xs.len(), tweaks.len(), "one tweak per block");
        let (wk, tw) = (&self.wide_keys, Tweaks::Explicit(tweaks));
        dispatch!(self, self.tmmo_portable(xs, tw), tmmo(wk, xs, tw))
    }

    /// TMMO in place where block `i` gets tweak `base + (i >> shift)`, `shift` 0 or 1
    /// (the evaluator's and the garbler's half-gates tweak patterns). Avoids building
    /// a tweak array.
    ///
    /// # Panics
    /// If `shift > 1`.
    pub fn tmmo_seq_in_place(&self, xs: &mut [Block], base: u64, shift: u32) {
        assert!(shift <= 1, "shift must be 0 or 1");
        let (wk, tw) = (&self.wide_keys, Tweaks::Seq { base, shift });
        dispatch!(self, self.tmmo_portable(xs, tw), tmmo(wk, xs, tw))
    }

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
        let wk = &self.wide_keys;
        match delta {
            Some((d, out1)) => {
                assert!(out1.len() >= n, "tmmo_seq_to: output too short");
                let o1 = out1.as_mut_ptr();
                dispatch!(
                    self,
                    {
                        out0.copy_from_slice(xs);
                        self.tmmo_seq_in_place(out0, base, 0);
                        for (o, x) in out1[..n].iter_mut().zip(xs) {
                            *o = *x ^ d;
                        }
                        self.tmmo_seq_in_place(&mut out1[..n], base, 0);
                    },
                    tmmo_seq_to::<true>(wk, xs, base, out0, d, o1)
                )
            }
            None => {
                let null = std::ptr::null_mut();
                dispatch!(
                    self,
                    {
                        out0.copy_from_slice(xs);
                        self.tmmo_seq_in_place(out0, base, 0);
                    },
                    tmmo_seq_to::<false>(wk, xs, base, out0, Block::ZERO, null)
                )
            }
        }
    }
}

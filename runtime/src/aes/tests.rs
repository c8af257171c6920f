//! Every kernel this CPU has against the portable one (the `aes` crate) and against
//! the definitions; kernels the CPU lacks are named as skipped.

use super::*;
use rand::{Rng, SeedableRng};

/// The available kernels other than the portable one; prints the skipped ones.
fn fast_kernels() -> Vec<Kernel> {
    let skipped: Vec<&str> = Kernel::ALL
        .into_iter()
        .filter(|k| !k.is_available())
        .map(Kernel::name)
        .collect();
    if !skipped.is_empty() {
        eprintln!(
            "AES kernels this CPU lacks (skipped): {}",
            skipped.join(", ")
        );
    }
    Kernel::available()
        .into_iter()
        .filter(|&k| k != Kernel::Portable)
        .collect()
}

fn on(aes: &Aes128, k: Kernel) -> Aes128 {
    aes.clone().with_kernel(k).expect("available")
}

#[test]
fn fips197_vector_on_every_kernel() {
    // FIPS-197 Appendix C.1.
    let key = Block::from_bytes(core::array::from_fn(|i| i as u8));
    let pt = Block::from_bytes(core::array::from_fn(|i| (i as u8) * 0x11));
    let expect = [
        0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5,
        0x5a,
    ];
    let aes = Aes128::new(key);
    assert_eq!(aes.encrypt(pt).to_bytes(), expect);
    for k in Kernel::available() {
        for n in [1, 3, 4, 33] {
            let mut v = vec![pt; n];
            on(&aes, k).encrypt_blocks(&mut v);
            assert!(v.iter().all(|b| b.to_bytes() == expect), "{k}, n = {n}");
        }
    }
}

#[test]
fn kernels_agree_with_portable_on_every_length() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let aes = Aes128::random(&mut rng);
    let portable = aes.clone().portable();
    for kernel in fast_kernels() {
        let fast = on(&aes, kernel);
        for n in 0..80 {
            let xs: Vec<Block> = (0..n).map(|_| Block(rng.r#gen())).collect();
            let tw: Vec<Block> = (0..n).map(|_| Block(rng.r#gen())).collect();
            let mut a = xs.clone();
            let mut b = xs.clone();
            fast.encrypt_blocks(&mut a);
            portable.encrypt_blocks(&mut b);
            assert_eq!(a, b, "{kernel} encrypt_blocks, n = {n}");
            let single: Vec<Block> = xs.iter().map(|&x| aes.encrypt(x)).collect();
            assert_eq!(a, single);

            let mut a = xs.clone();
            let mut b = xs.clone();
            fast.tmmo_in_place(&mut a, &tw);
            portable.tmmo_in_place(&mut b, &tw);
            assert_eq!(a, b, "{kernel} tmmo, n = {n}");
            for i in 0..n {
                let p = aes.encrypt(xs[i]);
                assert_eq!(a[i], aes.encrypt(p ^ tw[i]) ^ p);
            }

            let base = rng.r#gen::<u64>() >> 2;
            let d = Block(rng.r#gen::<u128>() | 1);
            let (mut a0, mut a1) = (vec![Block::ZERO; n], vec![Block::ZERO; n]);
            let (mut b0, mut b1) = (vec![Block::ZERO; n], vec![Block::ZERO; n]);
            fast.tmmo_seq_to(&xs, base, &mut a0, Some((d, &mut a1)));
            portable.tmmo_seq_to(&xs, base, &mut b0, Some((d, &mut b1)));
            assert_eq!((&a0, &a1), (&b0, &b1), "{kernel} tmmo_seq_to dual, n = {n}");
            let mut c0 = vec![Block::ZERO; n];
            fast.tmmo_seq_to(&xs, base, &mut c0, None);
            assert_eq!(c0, a0, "{kernel} tmmo_seq_to single, n = {n}");
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
                fast.tmmo_seq_in_place(&mut a, base, shift);
                portable.tmmo_seq_in_place(&mut b, base, shift);
                assert_eq!(a, b, "{kernel} tmmo_seq, n = {n}, shift = {shift}");
                for i in 0..n {
                    let p = aes.encrypt(xs[i]);
                    let t = Block((base + (i as u64 >> shift)) as u128);
                    assert_eq!(a[i], aes.encrypt(p ^ t) ^ p, "n = {n}, i = {i}");
                }
            }
        }
    }
}

#[test]
fn tweaks_wrap_around_like_the_portable_kernel() {
    let aes = Aes128::new(Block(99));
    let xs: Vec<Block> = (0..37).map(|i| Block(i * 0x1234_5678_9abc)).collect();
    let mut want = xs.clone();
    aes.clone()
        .portable()
        .tmmo_seq_in_place(&mut want, u64::MAX - 5, 0);
    for k in fast_kernels() {
        let mut got = xs.clone();
        on(&aes, k).tmmo_seq_in_place(&mut got, u64::MAX - 5, 0);
        assert_eq!(got, want, "{k}");
    }
}

#[test]
fn kernel_names_round_trip_and_selection_is_available() {
    for k in Kernel::ALL {
        assert_eq!(Kernel::from_name(k.name()), Some(k));
    }
    assert!(Kernel::selected().is_available());
    assert!(Kernel::best().is_available());
    assert_eq!(Kernel::available()[0], Kernel::Portable);
    assert!(
        Aes128::new(Block(1))
            .with_kernel(Kernel::Portable)
            .is_some()
    );
    let missing = Kernel::ALL.into_iter().find(|k| !k.is_available());
    if let Some(k) = missing {
        assert!(Aes128::new(Block(1)).with_kernel(k).is_none(), "{k}");
    }
}

#[test]
fn debug_is_redacted() {
    let aes = Aes128::new(Block(0x1234_5678));
    let s = format!("{aes:?}");
    assert!(s.starts_with("Aes128(<redacted>"), "{s}");
    assert!(!s.contains("1234") && !s.contains("305419896"), "{s}");
}

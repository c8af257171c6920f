//! Base OT (Chou–Orlandi on Ristretto255): correctness, freshness, malformed input.

mod ot_util;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use garnet_runtime::Block;
use garnet_runtime::ot::base;
use ot_util::{Scripted, pipe_pair};
use rand::{Rng, SeedableRng};
use std::io;

fn run(choices: Vec<bool>, seed: u64) -> (base::SenderOutput, base::ReceiverOutput) {
    let (mut a, mut b) = pipe_pair();
    let n = choices.len();
    let sender = std::thread::spawn(move || {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        base::send(&mut a, n, &mut rng).unwrap()
    });
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0xffff);
    let r = base::receive(&mut b, &choices, &mut rng).unwrap();
    (sender.join().unwrap(), r)
}

#[test]
fn receiver_gets_exactly_the_chosen_key() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let choices: Vec<bool> = (0..128).map(|_| rng.r#gen()).collect();
    let (s, r) = run(choices.clone(), 7);
    assert_eq!(s.keys.len(), 128);
    assert_eq!(r.keys.len(), 128);
    assert_eq!(s.transcript, r.transcript);
    for (i, &c) in choices.iter().enumerate() {
        let (k0, k1) = s.keys[i];
        let (chosen, other) = if c { (k1, k0) } else { (k0, k1) };
        assert_eq!(
            r.keys[i], chosen,
            "OT {i}: receiver key is not the chosen key"
        );
        assert_ne!(
            r.keys[i], other,
            "OT {i}: receiver key equals the other key"
        );
        assert_ne!(k0, k1);
    }
    // Keys are all different from each other.
    let mut all: Vec<u128> = s.keys.iter().flat_map(|&(a, b)| [a.0, b.0]).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 256);
}

#[test]
fn all_zero_and_all_one_choices() {
    for c in [false, true] {
        let (s, r) = run(vec![c; 128], 11);
        for i in 0..128 {
            let want = if c { s.keys[i].1 } else { s.keys[i].0 };
            assert_eq!(r.keys[i], want);
        }
    }
}

#[test]
fn two_runs_give_different_keys() {
    let choices = vec![true; 128];
    let (s1, r1) = run(choices.clone(), 1);
    let (s2, r2) = run(choices, 2);
    assert_ne!(s1.transcript, s2.transcript);
    for i in 0..128 {
        assert_ne!(s1.keys[i].0, s2.keys[i].0);
        assert_ne!(s1.keys[i].1, s2.keys[i].1);
        assert_ne!(r1.keys[i], r2.keys[i]);
    }
}

#[test]
fn debug_output_hides_keys() {
    let (s, r) = run(vec![false; 4], 3);
    let shown = format!("{s:?} {r:?}");
    assert!(shown.contains("redacted"));
    for &(k0, _) in &s.keys {
        assert!(!shown.contains(&format!("{}", k0.0)));
    }
    let _ = Block::ZERO;
}

fn assert_invalid_data(r: io::Result<impl std::fmt::Debug>, needle: &str) {
    let e = r.expect_err("malformed peer data must be an error");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains(needle), "unexpected message: {e}");
}

#[test]
fn receiver_rejects_non_canonical_point() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    // 0xff.. is not a canonical field element encoding.
    let mut ch = Scripted::new(vec![0xff; 32]);
    assert_invalid_data(
        base::receive(&mut ch, &[true; 128], &mut rng),
        "Ristretto255",
    );
    // Canonical field element but negative (odd): also not a valid Ristretto encoding.
    let mut bad = [0u8; 32];
    bad[0] = 1;
    let mut ch = Scripted::new(bad.to_vec());
    assert_invalid_data(
        base::receive(&mut ch, &[true; 128], &mut rng),
        "Ristretto255",
    );
}

#[test]
fn receiver_rejects_identity() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut ch = Scripted::new(vec![0u8; 32]);
    assert_invalid_data(base::receive(&mut ch, &[false; 128], &mut rng), "identity");
}

#[test]
fn sender_rejects_garbage_points() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let mut garbage = vec![0u8; 32 * 128];
    rand_chacha::ChaCha8Rng::seed_from_u64(9).fill(&mut garbage[..]);
    let mut ch = Scripted::new(garbage);
    assert_invalid_data(base::send(&mut ch, 128, &mut rng), "receiver's points");
    // The sender wrote its point before reading.
    assert_eq!(ch.written.len(), 32);

    // Valid points followed by one invalid point in the middle.
    let g = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
    let mut input = Vec::new();
    for i in 0..128 {
        if i == 77 {
            input.extend_from_slice(&[0xee; 32]);
        } else {
            input.extend_from_slice(&g);
        }
    }
    let mut ch = Scripted::new(input);
    assert_invalid_data(base::send(&mut ch, 128, &mut rng), "Ristretto255");
}

#[test]
fn truncated_streams_are_errors() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let g = RISTRETTO_BASEPOINT_POINT.compress().to_bytes();
    let mut ch = Scripted::new(g[..10].to_vec());
    let e = base::receive(&mut ch, &[true; 128], &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    assert!(e.to_string().contains("base OT"), "{e}");

    let mut input = Vec::new();
    for _ in 0..100 {
        input.extend_from_slice(&g);
    }
    let mut ch = Scripted::new(input);
    let e = base::send(&mut ch, 128, &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
}

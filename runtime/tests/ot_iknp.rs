//! IKNP correlated and chosen-message OT between two threads.

mod ot_util;

use garnet_runtime::Block;
use garnet_runtime::ot::{CotReceiver, CotSender};
use ot_util::{Pipe, Scripted, pipe_pair};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::HashSet;
use std::io;
use std::thread;

/// Sets up both sides over a pipe; the evaluator side runs `eval` in a thread.
fn session<T: Send + 'static>(
    delta: Block,
    seed: u64,
    garbler: impl FnOnce(&mut CotSender, &mut Pipe) -> Vec<Vec<Block>>,
    eval: impl FnOnce(&mut CotReceiver, &mut Pipe) -> T + Send + 'static,
) -> (Vec<Vec<Block>>, T) {
    let (mut ga, mut ev) = pipe_pair();
    let h = thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xe7a1);
        let mut r = CotReceiver::setup(&mut ev, &mut rng).expect("receiver setup");
        eval(&mut r, &mut ev)
    });
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut s = CotSender::setup(&mut ga, delta, &mut rng).expect("sender setup");
    let q = garbler(&mut s, &mut ga);
    (q, h.join().expect("evaluator thread"))
}

fn random_choices(n: usize, seed: u64) -> Vec<bool> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.r#gen()).collect()
}

const SIZES: [usize; 16] = [
    0, 1, 2, 7, 127, 128, 129, 255, 256, 1000, 8191, 8192, 8193, 10_000, 16_385, 40_000,
];

#[test]
fn correlated_relation_holds_for_every_output() {
    let delta = Block(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835 | 1);
    let choices: Vec<Vec<bool>> = SIZES
        .iter()
        .map(|&n| random_choices(n, n as u64 + 1))
        .collect();
    let c2 = choices.clone();
    let (qs, ts) = session(
        delta,
        42,
        |s, ch| {
            SIZES
                .iter()
                .map(|&n| s.send_correlated(ch, n).unwrap())
                .collect()
        },
        move |r, ch| {
            c2.iter()
                .map(|c| r.receive_correlated(ch, c).unwrap())
                .collect::<Vec<_>>()
        },
    );
    let mut seen = HashSet::new();
    for (k, &n) in SIZES.iter().enumerate() {
        assert_eq!(qs[k].len(), n);
        assert_eq!(ts[k].len(), n);
        for i in 0..n {
            let want = if choices[k][i] {
                qs[k][i] ^ delta
            } else {
                qs[k][i]
            };
            assert_eq!(ts[k][i], want, "size {n}, OT {i}: t != q ^ c·Δ");
            assert_ne!(
                ts[k][i],
                if choices[k][i] {
                    qs[k][i]
                } else {
                    qs[k][i] ^ delta
                }
            );
            // Fresh columns on every call: no 0-label ever repeats.
            assert!(seen.insert(qs[k][i].0), "size {n}, OT {i}: repeated label");
        }
    }
}

#[test]
fn extreme_choices_and_even_delta() {
    // Δ with low bit 0 works too (the protocol does not depend on it).
    for delta in [
        Block(u128::MAX),
        Block(0x1234_5678_9abc_def0 << 64),
        Block(1),
    ] {
        for c in [false, true] {
            let n = 1000;
            let (qs, t) = session(
                delta,
                7,
                |s, ch| vec![s.send_correlated(ch, n).unwrap()],
                move |r, ch| r.receive_correlated(ch, &vec![c; n]).unwrap(),
            );
            for i in 0..n {
                assert_eq!(t[i], if c { qs[0][i] ^ delta } else { qs[0][i] });
            }
        }
    }
}

#[test]
fn receive_into_buffer_matches() {
    let delta = Block(0xabcd_ef01 | 1);
    let choices = random_choices(3000, 3);
    let c2 = choices.clone();
    let (qs, t) = session(
        delta,
        9,
        |s, ch| {
            let mut q = vec![Block::ZERO; 3000];
            s.send_correlated_into(ch, &mut q).unwrap();
            vec![q]
        },
        move |r, ch| {
            let mut t = vec![Block::ZERO; 3000];
            r.receive_correlated_into(ch, &c2, &mut t).unwrap();
            t
        },
    );
    for i in 0..3000 {
        assert_eq!(
            t[i],
            if choices[i] {
                qs[0][i] ^ delta
            } else {
                qs[0][i]
            }
        );
    }
}

#[test]
fn two_setups_give_different_labels() {
    let delta = Block(0x5555 | 1);
    let run = |seed| {
        session(
            delta,
            seed,
            |s, ch| vec![s.send_correlated(ch, 256).unwrap()],
            |r, ch| r.receive_correlated(ch, &[false; 256]).unwrap(),
        )
    };
    let (q1, _) = run(1);
    let (q2, _) = run(2);
    for i in 0..256 {
        assert_ne!(q1[0][i], q2[0][i]);
    }
}

#[test]
fn chosen_message_ot_returns_exactly_the_chosen_messages() {
    let delta = Block(0x0bad_cafe_dead_beef_0123_4567_89ab_cdef | 1);
    let sizes = [0usize, 1, 5, 128, 1023, 1024, 1025, 5000];
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let msgs: Vec<Vec<(Block, Block)>> = sizes
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| (Block(rng.r#gen()), Block(rng.r#gen())))
                .collect()
        })
        .collect();
    let choices: Vec<Vec<bool>> = sizes
        .iter()
        .map(|&n| random_choices(n, 100 + n as u64))
        .collect();
    let (m2, c2) = (msgs.clone(), choices.clone());
    let (_, got) = session(
        delta,
        5,
        move |s, ch| {
            for (k, m) in m2.iter().enumerate() {
                s.send_chosen(ch, m).unwrap();
                // Interleave correlated OTs: both APIs share the extension state.
                s.send_correlated(ch, k * 3).unwrap();
            }
            vec![]
        },
        move |r, ch| {
            let mut out = Vec::new();
            for (k, c) in c2.iter().enumerate() {
                out.push(r.receive_chosen(ch, c).unwrap());
                r.receive_correlated(ch, &vec![true; k * 3]).unwrap();
            }
            out
        },
    );
    for (k, &n) in sizes.iter().enumerate() {
        assert_eq!(got[k].len(), n);
        for i in 0..n {
            let (m0, m1) = msgs[k][i];
            let (want, other) = if choices[k][i] { (m1, m0) } else { (m0, m1) };
            assert_eq!(got[k][i], want, "size {n}, OT {i}");
            assert_ne!(got[k][i], other, "size {n}, OT {i}");
        }
    }
}

#[test]
fn chosen_ot_with_repeated_messages() {
    // Every OT carries the same pair: the receiver gets the chosen one each time,
    // whatever the (per-OT) masks are.
    let delta = Block(0x77 | 1);
    let m = vec![(Block(1), Block(2)); 300];
    let choices = random_choices(300, 12);
    let c2 = choices.clone();
    let (_, got) = session(
        delta,
        6,
        move |s, ch| {
            s.send_chosen(ch, &m).unwrap();
            vec![]
        },
        move |r, ch| r.receive_chosen(ch, &c2).unwrap(),
    );
    for (g, c) in got.iter().zip(&choices) {
        assert_eq!(*g, if *c { Block(2) } else { Block(1) });
    }
}

#[test]
fn works_over_the_crate_memory_channel() {
    // Larger than the channel's in-flight window, both APIs, no deadlock.
    use garnet_runtime::memory::MemoryChannel;
    let (mut ga, mut ev) = MemoryChannel::pair();
    let n = 300_000;
    let choices = random_choices(n, 21);
    let c2 = choices.clone();
    let delta = Block(0xfeed_f00d << 40 | 1);
    let h = thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(31);
        let mut r = CotReceiver::setup(&mut ev, &mut rng).unwrap();
        let t = r.receive_correlated(&mut ev, &c2).unwrap();
        let m = r.receive_chosen(&mut ev, &c2[..5000]).unwrap();
        (t, m)
    });
    let mut rng = ChaCha20Rng::seed_from_u64(32);
    let mut s = CotSender::setup(&mut ga, delta, &mut rng).unwrap();
    let q = s.send_correlated(&mut ga, n).unwrap();
    let msgs: Vec<(Block, Block)> = (0..5000u128).map(|i| (Block(i), Block(i << 64))).collect();
    s.send_chosen(&mut ga, &msgs).unwrap();
    let (t, m) = h.join().unwrap();
    for i in 0..n {
        assert_eq!(t[i], q[i] ^ delta.select(choices[i]), "OT {i}");
    }
    for i in 0..5000 {
        assert_eq!(m[i], if choices[i] { msgs[i].1 } else { msgs[i].0 });
    }
}

#[test]
fn truncated_columns_are_an_error_not_a_panic() {
    let (mut ga, mut ev) = pipe_pair();
    let h = thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let _r = CotReceiver::setup(&mut ev, &mut rng).unwrap();
        // Send half a batch of columns and hang up.
        use garnet_runtime::Channel;
        ev.write_bytes(&vec![0x5a; 16 * 128 * 2]).unwrap();
        ev.flush().unwrap();
    });
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut s = CotSender::setup(&mut ga, Block(3), &mut rng).unwrap();
    h.join().unwrap();
    let e = s.send_correlated(&mut ga, 1000).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    assert!(e.to_string().contains("OT extension"), "{e}");
}

#[test]
fn receiver_sees_truncated_chosen_ciphertexts() {
    let (mut ga, mut ev) = pipe_pair();
    let h = thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut s = CotSender::setup(&mut ga, Block(3), &mut rng).unwrap();
        // Do the extension, then send only part of the ciphertexts and hang up.
        s.send_correlated(&mut ga, 10).unwrap();
        use garnet_runtime::Channel;
        ga.write_bytes(&[1u8; 100]).unwrap();
        ga.flush().unwrap();
    });
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut r = CotReceiver::setup(&mut ev, &mut rng).unwrap();
    let e = r.receive_chosen(&mut ev, &[true; 10]).unwrap_err();
    h.join().unwrap();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
}

#[test]
fn setup_rejects_garbage_from_the_peer() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // The garbler expects the evaluator's Ristretto point first.
    let mut ch = Scripted::new(vec![0xff; 32]);
    let e = CotSender::setup(&mut ch, Block(1), &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("Ristretto255"), "{e}");

    // The evaluator expects 128 points after sending its own.
    let mut garbage = vec![0u8; 32 * 128];
    ChaCha20Rng::seed_from_u64(4).fill(&mut garbage[..]);
    let mut ch = Scripted::new(garbage);
    let e = CotReceiver::setup(&mut ch, &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);

    // Silence / truncation.
    let mut ch = Scripted::new(vec![]);
    let e = CotSender::setup(&mut ch, Block(1), &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    let mut ch = Scripted::new(vec![0; 7]);
    let e = CotReceiver::setup(&mut ch, &mut rng).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn random_bytes_as_chosen_ciphertexts_do_not_panic() {
    // Random bytes are indistinguishable from ciphertexts; the receiver must simply
    // return (wrong) blocks, not panic.
    let (mut ga, mut ev) = pipe_pair();
    let h = thread::spawn(move || {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut s = CotSender::setup(&mut ga, Block(3), &mut rng).unwrap();
        s.send_correlated(&mut ga, 50).unwrap();
        use garnet_runtime::Channel;
        let mut junk = vec![0u8; 32 * 50];
        rng.fill(&mut junk[..]);
        ga.write_bytes(&junk).unwrap();
        ga.flush().unwrap();
    });
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut r = CotReceiver::setup(&mut ev, &mut rng).unwrap();
    let out = r.receive_chosen(&mut ev, &[false; 50]).unwrap();
    h.join().unwrap();
    assert_eq!(out.len(), 50);
}

#[test]
fn debug_output_never_shows_delta() {
    let delta = Block(0x1111_2222_3333_4444_5555_6666_7777_8889);
    let (_, dbg) = session(
        delta,
        8,
        |s, _| {
            let d = format!("{s:?}");
            assert!(d.contains("redacted"), "{d}");
            assert!(
                !d.contains(&format!("{}", delta.0)) && !d.contains("11112222"),
                "{d}"
            );
            vec![]
        },
        |r, _| format!("{r:?}"),
    );
    assert!(dbg.starts_with("CotReceiver"));
}

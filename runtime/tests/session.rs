//! Two-party sessions give exactly the plaintext results.

use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{Circuit, Party, Recipient, passes};
use garnet_runtime::garble::Scheme;
use garnet_runtime::session::run_in_memory_with;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

/// Splits full inputs into the garbler's and the evaluator's (the other side's empty).
fn split(c: &Circuit, inputs: &[Vec<bool>]) -> (Vec<Vec<bool>>, Vec<Vec<bool>>) {
    let own = |p: Party| -> Vec<Vec<bool>> {
        c.inputs
            .iter()
            .zip(inputs)
            .map(|(s, v)| if s.owner == p { v.clone() } else { Vec::new() })
            .collect()
    };
    (own(Party::Garbler), own(Party::Evaluator))
}

/// Both schemes give the plaintext outputs to the parties they are addressed to.
fn check(c: &Circuit, inputs: &[Vec<bool>]) {
    for scheme in Scheme::ALL {
        check_with(c, inputs, scheme);
    }
}

fn check_with(c: &Circuit, inputs: &[Vec<bool>], scheme: Scheme) {
    let expect = c.eval(inputs).unwrap();
    let (gi, ei) = split(c, inputs);
    let (g, e) = run_in_memory_with(c, &gi, &ei, scheme).unwrap();
    assert_eq!((g.report.scheme, e.report.scheme), (scheme, scheme));
    for (i, o) in c.outputs.iter().enumerate() {
        let for_g = o.recipient.includes(Party::Garbler);
        let for_e = o.recipient.includes(Party::Evaluator);
        assert_eq!(
            g.outputs[i].as_ref(),
            for_g.then_some(&expect[i]),
            "garbler output {}",
            o.name
        );
        assert_eq!(
            e.outputs[i].as_ref(),
            for_e.then_some(&expect[i]),
            "evaluator output {}",
            o.name
        );
    }
    assert_eq!(g.report.ands, c.and_count());
    assert_eq!(e.report.ands, c.and_count());
}

fn arb_case() -> impl Strategy<Value = (u64, Vec<u32>, usize, Vec<u32>, f64, u32, bool)> {
    (
        any::<u64>(),
        prop::collection::vec(0u32..12, 1..4),
        0usize..300,
        prop::collection::vec(1u32..8, 1..4),
        0.0f64..1.0,
        prop::sample::select(vec![0u32, 3, 16, 64]),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn sessions_match_plaintext((seed, iw, gates, ow, and_fraction, window, opt) in arb_case()) {
        let mut iw = iw;
        if iw.iter().all(|&w| w == 0) {
            iw[0] = 1;
        }
        let spec = RandomSpec { input_widths: iw, gates, output_widths: ow, and_fraction, window };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let raw = random_circuit(&mut rng, &spec);
        let c = if opt { passes::optimize(raw) } else { raw };
        let inputs: Vec<Vec<bool>> = c.inputs.iter().map(|i| (0..i.bits).map(|_| rng.r#gen()).collect()).collect();
        check(&c, &inputs);
    }
}

#[test]
fn all_recipients_and_constant_outputs() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let spec = RandomSpec {
        output_widths: vec![5, 6, 7, 3, 2, 1],
        ..RandomSpec::default()
    };
    let mut c = passes::optimize(random_circuit(&mut rng, &spec));
    c.outputs[3].bits[1] = garnet_circuits::OutBit::Const(true);
    c.outputs[4].bits[0] = garnet_circuits::OutBit::Const(false);
    assert!(c.outputs.iter().any(|o| o.recipient == Recipient::Both));
    for _ in 0..4 {
        let inputs: Vec<Vec<bool>> = c
            .inputs
            .iter()
            .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
            .collect();
        check(&c, &inputs);
    }
}

/// The project's own Bristol test circuits (tests/data at the workspace root).
#[test]
fn bristol_test_circuits_match_plaintext() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let mut seen = 0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let c = garnet_circuits::format::read_file(&path).unwrap();
        for _ in 0..6 {
            let inputs: Vec<Vec<bool>> = c
                .inputs
                .iter()
                .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
                .collect();
            check(&c, &inputs);
        }
        seen += 1;
    }
    assert!(seen >= 3, "expected Bristol circuits in {}", dir.display());
}

/// Both sides of a session of several inferences over an in-memory channel: the
/// garbler's inputs fixed, one evaluator input set per inference.
fn batch(
    c: &Circuit,
    garbler: &[Vec<bool>],
    evaluator: &[Vec<Vec<bool>>],
    scheme: Scheme,
) -> (
    Result<Vec<garnet_runtime::session::SessionOutcome>, garnet_runtime::error::SessionError>,
    Result<Vec<garnet_runtime::session::SessionOutcome>, garnet_runtime::error::SessionError>,
) {
    use garnet_runtime::session::{SessionOptions, run_evaluator_batch, serve_garbler};
    let digest = garnet_circuits::format::gcirc::digest(c);
    let (a, mut b) = garnet_runtime::memory::MemoryChannel::pair();
    std::thread::scope(|s| {
        let g = s.spawn(move || {
            let mut a = a;
            let mut outs = Vec::new();
            serve_garbler(
                &mut a,
                c,
                digest,
                || c.gates.iter().copied(),
                garbler,
                SessionOptions {
                    scheme,
                    ..SessionOptions::default()
                },
                |o| outs.push(o),
            )
            .map(|n| {
                assert_eq!(n, outs.len());
                outs
            })
        });
        let e = run_evaluator_batch(
            &mut b,
            c,
            digest,
            || c.gates.iter().copied(),
            evaluator,
            SessionOptions {
                scheme,
                ..SessionOptions::default()
            },
        );
        drop(b);
        (g.join().expect("garbler thread"), e)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Each inference of a session gives the plaintext result of the garbler's
    /// fixed inputs with that inference's evaluator inputs, for both parties.
    #[test]
    fn every_inference_of_a_session_matches_plaintext(seed in any::<u64>(), k in 1usize..5, gates in 0usize..300, opt in any::<bool>(), three in any::<bool>()) {
        let scheme = if three { Scheme::ThreeHalves } else { Scheme::HalfGates };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let spec = RandomSpec {
            input_widths: vec![rng.gen_range(1..10), rng.gen_range(0..10), rng.gen_range(0..10)],
            gates,
            output_widths: vec![rng.gen_range(1..6), rng.gen_range(1..6)],
            and_fraction: 0.5,
            window: 16,
        };
        let mut c = random_circuit(&mut rng, &spec);
        if opt {
            c = passes::optimize(c);
        }
        c.outputs[0].recipient = Recipient::Both;
        c.outputs[1].recipient = if rng.r#gen() { Recipient::Garbler } else { Recipient::Evaluator };
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| -> Vec<Vec<bool>> {
            c.inputs.iter().map(|s| (0..s.bits).map(|_| rng.r#gen()).collect()).collect()
        };
        let fixed = draw(&mut rng);
        let samples: Vec<Vec<Vec<bool>>> = (0..k)
            .map(|_| {
                let x = draw(&mut rng);
                c.inputs.iter().zip(fixed.iter().zip(x)).map(|(s, (g, e))| if s.owner == Party::Garbler { g.clone() } else { e }).collect()
            })
            .collect();
        let (gi, _) = split(&c, &samples[0]);
        let eis: Vec<Vec<Vec<bool>>> = samples.iter().map(|x| split(&c, x).1).collect();
        let (g, e) = batch(&c, &gi, &eis, scheme);
        let (g, e) = (g.unwrap(), e.unwrap());
        prop_assert_eq!(g.len(), k);
        prop_assert_eq!(e.len(), k);
        for (j, x) in samples.iter().enumerate() {
            let expect = c.eval(x).unwrap();
            for (i, o) in c.outputs.iter().enumerate() {
                prop_assert_eq!(g[j].outputs[i].as_ref(), o.recipient.includes(Party::Garbler).then_some(&expect[i]));
                prop_assert_eq!(e[j].outputs[i].as_ref(), o.recipient.includes(Party::Evaluator).then_some(&expect[i]));
            }
            prop_assert_eq!(e[j].report.ands, c.and_count());
        }
    }
}

/// A small random circuit, each side's inputs (all ones) and its digest.
type SmallCase = (Circuit, Vec<Vec<bool>>, Vec<Vec<bool>>, [u8; 32]);

fn small_case(seed: u64) -> SmallCase {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let spec = RandomSpec {
        input_widths: vec![4, 4],
        gates: 100,
        ..RandomSpec::default()
    };
    let c = random_circuit(&mut rng, &spec);
    let full: Vec<Vec<bool>> = c
        .inputs
        .iter()
        .map(|s| vec![true; s.bits as usize])
        .collect();
    let (gi, ei) = split(&c, &full);
    let digest = garnet_circuits::format::gcirc::digest(&c);
    (c, gi, ei, digest)
}

#[test]
fn a_one_inference_garbler_refuses_a_second_and_nothing_hangs() {
    use garnet_runtime::session::{SessionOptions, run_evaluator_batch, run_garbler};
    let (c, gi, ei, digest) = small_case(4);
    let (a, mut b) = garnet_runtime::memory::MemoryChannel::pair();
    let (g, e) = std::thread::scope(|s| {
        let g = s.spawn(|| {
            let mut a = a;
            run_garbler(
                &mut a,
                &c,
                digest,
                c.gates.iter().copied(),
                &gi,
                SessionOptions::default(),
            )
        });
        let e = run_evaluator_batch(
            &mut b,
            &c,
            digest,
            || c.gates.iter().copied(),
            &[ei.clone(), ei.clone()],
            SessionOptions::default(),
        );
        drop(b);
        (g.join().unwrap(), e)
    });
    let g = g.unwrap_err().to_string();
    assert!(g.contains("one per session"), "{g}");
    let e = e.unwrap_err().to_string();
    assert!(e.contains("closed the connection"), "{e}");
    // and a session needs at least one inference
    let (_, mut b) = garnet_runtime::memory::MemoryChannel::pair();
    let none = run_evaluator_batch(
        &mut b,
        &c,
        digest,
        || c.gates.iter().copied(),
        &[],
        SessionOptions::default(),
    );
    assert!(none.unwrap_err().to_string().contains("at least one"));
}

#[test]
fn a_garbler_stops_a_session_past_its_inference_limit() {
    use garnet_runtime::session::{SessionOptions, run_evaluator_batch, serve_garbler};
    let (c, gi, ei, digest) = small_case(5);
    for (asked, limit) in [(2, 2), (3, 2)] {
        let (a, mut b) = garnet_runtime::memory::MemoryChannel::pair();
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                let mut a = a;
                let opts = SessionOptions {
                    max_inferences: Some(limit),
                    ..SessionOptions::default()
                };
                serve_garbler(
                    &mut a,
                    &c,
                    digest,
                    || c.gates.iter().copied(),
                    &gi,
                    opts,
                    |_| {},
                )
            });
            let e = run_evaluator_batch(
                &mut b,
                &c,
                digest,
                || c.gates.iter().copied(),
                &vec![ei.clone(); asked],
                SessionOptions::default(),
            );
            drop(b);
            (g.join().unwrap(), e)
        });
        if asked <= limit {
            assert_eq!(g.unwrap(), asked);
            assert_eq!(e.unwrap().len(), asked);
        } else {
            let g = g.unwrap_err().to_string();
            assert!(g.contains("more than the 2 inferences"), "{g}");
            assert!(e.is_err());
        }
    }
}

#[test]
fn a_scheme_mismatch_is_a_clear_error_on_both_sides() {
    use garnet_runtime::session::{SessionOptions, run_evaluator, run_garbler};
    let (c, gi, ei, digest) = small_case(7);
    for (gs, es) in [
        (Scheme::ThreeHalves, Scheme::HalfGates),
        (Scheme::HalfGates, Scheme::ThreeHalves),
    ] {
        let (a, mut b) = garnet_runtime::memory::MemoryChannel::pair();
        let (g, e) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                let mut a = a;
                let opts = SessionOptions {
                    scheme: gs,
                    ..SessionOptions::default()
                };
                run_garbler(&mut a, &c, digest, c.gates.iter().copied(), &gi, opts)
            });
            let opts = SessionOptions {
                scheme: es,
                ..SessionOptions::default()
            };
            let e = run_evaluator(&mut b, &c, digest, c.gates.iter().copied(), &ei, opts);
            drop(b);
            (g.join().unwrap(), e)
        });
        for (side, r, ours, theirs) in [("garbler", g, gs, es), ("evaluator", e, es, gs)] {
            let msg = r.expect_err(side).to_string();
            let want = format!("this side uses {ours}, the peer {theirs}");
            assert!(
                msg.contains("garbling scheme mismatch") && msg.contains(&want),
                "{side}: {msg}"
            );
        }
    }
}

#[test]
fn three_halves_report_shows_at_most_24_7_table_bytes_per_and() {
    // A wide circuit (many ANDs per level, as the compiler schedules them).
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let spec = RandomSpec {
        input_widths: vec![64, 64],
        gates: 60_000,
        output_widths: vec![32, 32],
        and_fraction: 0.7,
        window: 4096,
    };
    let c = random_circuit(&mut rng, &spec);
    let inputs: Vec<Vec<bool>> = c
        .inputs
        .iter()
        .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
        .collect();
    let (gi, ei) = split(&c, &inputs);
    let mut per_and = Vec::new();
    for scheme in Scheme::ALL {
        let (g, e) = run_in_memory_with(&c, &gi, &ei, scheme).unwrap();
        assert!(g.report.ands > 10_000);
        let (bg, be) = (
            g.report.table_bytes_per_and().unwrap(),
            e.report.table_bytes_per_and().unwrap(),
        );
        assert_eq!(bg, be, "both sides count the same tables");
        assert!(e.report.to_string().contains("bytes of tables per AND"));
        per_and.push(bg);
    }
    assert_eq!(per_and[0], 32.0);
    assert!(
        per_and[1] <= 24.7,
        "three-halves: {} bytes per AND",
        per_and[1]
    );
}

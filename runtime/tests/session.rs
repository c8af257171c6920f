//! Two-party sessions give exactly the plaintext results.

use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{Circuit, Party, Recipient, passes};
use garnet_runtime::session::run_in_memory;
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

fn check(c: &Circuit, inputs: &[Vec<bool>]) {
    let expect = c.eval(inputs).unwrap();
    let (gi, ei) = split(c, inputs);
    let (g, e) = run_in_memory(c, &gi, &ei).unwrap();
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

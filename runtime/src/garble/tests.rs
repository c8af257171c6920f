//! The drivers against plaintext evaluation, hazards, and errors.

use super::*;
use crate::memory::BufferChannel;
use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{Circuit, OutBit, passes};
use rand::{Rng, SeedableRng};

/// Garbles into a buffer, evaluates from it, decodes every output bit.
fn two_party_plain(c: &Circuit, inputs: &[Vec<bool>], rng: &mut impl Rng) -> Vec<Vec<bool>> {
    two_party_with(c, inputs, rng, Scheme::HalfGates, 1)
}

/// [`two_party_plain`] with a scheme and thread count (the same on both sides).
fn two_party_with(
    c: &Circuit,
    inputs: &[Vec<bool>],
    rng: &mut impl Rng,
    scheme: Scheme,
    threads: usize,
) -> Vec<Vec<bool>> {
    let hash = Tccr::new(Block(rng.r#gen()));
    let delta = Delta::from_block(Block(rng.r#gen()));
    let mut g = GarblerCore::with_scheme(hash.clone(), delta, c.wires, threads, scheme).unwrap();
    let mut e = EvaluatorCore::with_scheme(hash, c.wires, threads, scheme).unwrap();
    for (i, bit) in inputs.iter().flatten().enumerate() {
        let w0 = Block(rng.r#gen());
        g.labels_mut()[i] = w0;
        e.labels_mut()[i] = w0 ^ delta.block().select(*bit);
    }
    let mut ch = BufferChannel::new();
    let gs = g
        .garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
        .unwrap();
    match scheme {
        Scheme::HalfGates => assert_eq!(ch.len() as u64, gs.ands * BYTES_PER_AND),
        // Whole bytes of control bits per window: at most one byte more per AND.
        Scheme::ThreeHalves => {
            let n = ch.len() as u64;
            assert!(
                n >= scheme.table_bytes(gs.ands) && n <= 25 * gs.ands,
                "{n} bytes"
            );
        }
    }
    let es = e
        .evaluate(c.gates.iter().copied(), &mut ch, &mut |_| {})
        .unwrap();
    assert_eq!(gs, es);
    c.outputs
        .iter()
        .map(|o| {
            o.bits
                .iter()
                .map(|b| match *b {
                    OutBit::Const(v) => v,
                    OutBit::Wire(w) => {
                        let (z, a) = (g.labels()[w as usize], e.labels()[w as usize]);
                        assert!(a == z || a == z ^ delta.block(), "not a valid label");
                        a.lsb() ^ z.lsb()
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn random_circuits_match_plaintext() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for case in 0..300 {
        let spec = RandomSpec {
            input_widths: vec![rng.gen_range(1..9), rng.gen_range(1..9)],
            gates: rng.gen_range(1..400),
            output_widths: vec![rng.gen_range(1..6), rng.gen_range(1..6), 3],
            and_fraction: rng.gen_range(0.0..1.0),
            window: [0, 4, 16][case % 3],
        };
        let raw = random_circuit(&mut rng, &spec);
        let c = if case % 2 == 0 {
            passes::optimize(raw)
        } else {
            raw
        };
        let inputs: Vec<Vec<bool>> = c
            .inputs
            .iter()
            .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
            .collect();
        let want = c.eval(&inputs).unwrap();
        assert_eq!(two_party_plain(&c, &inputs, &mut rng), want, "case {case}");
        let three = two_party_with(&c, &inputs, &mut rng, Scheme::ThreeHalves, 1 + case % 3);
        assert_eq!(three, want, "case {case}, three-halves");
    }
}

#[test]
fn slot_reuse_hazards_are_respected() {
    // Hand-made hazards: AND output read at once, overwritten by XOR, AND writing
    // its own input slot, two ANDs writing the same slot.
    use garnet_circuits::{Gate, InputSpec, OutputSpec, Party, Recipient, ValueType};
    let gates = vec![
        Gate::and(0, 1, 2),
        Gate::and(2, 0, 3),
        Gate::and(0, 1, 0),
        Gate::xor(2, 3, 2),
        Gate::and(1, 3, 4),
        Gate::and(2, 1, 4),
        Gate::not(4, 1),
        Gate::and(1, 1, 5),
    ];
    let c = Circuit {
        inputs: vec![InputSpec {
            name: "x".into(),
            owner: Party::Garbler,
            bits: 2,
            ty: ValueType::default(),
        }],
        outputs: vec![OutputSpec {
            name: "y".into(),
            recipient: Recipient::Both,
            bits: (0..6).map(OutBit::Wire).collect(),
            ty: ValueType::default(),
        }],
        gates,
        wires: 6,
        sections: vec![],
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for x in 0..4u8 {
        let inputs = vec![vec![x & 1 == 1, x & 2 == 2]];
        for scheme in Scheme::ALL {
            assert_eq!(
                two_party_with(&c, &inputs, &mut rng, scheme, 1),
                c.eval(&inputs).unwrap(),
                "{scheme}"
            );
        }
    }
}

#[test]
fn wire_out_of_range_is_an_error_not_a_panic() {
    let mut g = GarblerCore::new(Tccr::new(Block(1)), Delta::from_block(Block(3)), 4);
    let mut ch = BufferChannel::new();
    let err = g
        .garble([Gate::and(0, 9, 2)], &mut ch, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("gate 0"), "{err}");
    let mut e = EvaluatorCore::new(Tccr::new(Block(1)), 4);
    let err = e
        .evaluate([Gate::xor(0, 1, 4)], &mut ch, &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("wire"), "{err}");
}

#[test]
fn truncated_three_halves_tables_are_an_eof_error() {
    let s = Scheme::ThreeHalves;
    let mut e = EvaluatorCore::with_scheme(Tccr::new(Block(1)), 4, 2, s).unwrap();
    let mut ch = BufferChannel::new();
    // Two dependent ANDs need 2 × 25 bytes (one window each); give 40.
    ch.write_bytes(&[0u8; 40]).unwrap();
    let gates = [Gate::and(0, 1, 2), Gate::and(2, 1, 3)];
    let err = e.evaluate(gates, &mut ch, &mut |_| {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn truncated_tables_are_an_eof_error() {
    let mut e = EvaluatorCore::new(Tccr::new(Block(1)), 4);
    let mut ch = BufferChannel::new();
    ch.write_bytes(&[0u8; 40]).unwrap();
    let gates = [Gate::and(0, 1, 2), Gate::and(2, 1, 3)];
    let err = e.evaluate(gates, &mut ch, &mut |_| {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

/// Layers of independent ANDs and XORs (wide enough for split windows), slot-allocated.
fn wide_circuit(rng: &mut impl Rng, width: u32, layers: u32) -> Circuit {
    use garnet_circuits::{Gate, InputSpec, OutputSpec, Party, Recipient, ValueType};
    let mut gates = Vec::new();
    // Slots: inputs 0..width (garbler) and width..2*width (evaluator), then two banks.
    let bank = |l: u32| 2 * width + (l % 2) * width;
    for l in 0..layers {
        let (src_a, src_b) = if l == 0 {
            (0, width)
        } else {
            (bank(l - 1), bank(l - 1))
        };
        for i in 0..width {
            let a = src_a + i;
            let b = src_b + (i + 1 + rng.gen_range(0..width - 1)) % width;
            match rng.gen_range(0..10) {
                0 => gates.push(Gate::xor(a, b, bank(l) + i)),
                1 => gates.push(Gate::not(a, bank(l) + i)),
                _ => gates.push(Gate::and(a, b, bank(l) + i)),
            }
        }
    }
    let input = |name: &str, owner| InputSpec {
        name: name.into(),
        owner,
        bits: width,
        ty: ValueType::default(),
    };
    Circuit {
        inputs: vec![input("x", Party::Garbler), input("y", Party::Evaluator)],
        outputs: vec![OutputSpec {
            name: "z".into(),
            recipient: Recipient::Evaluator,
            bits: (0..width)
                .map(|i| OutBit::Wire(bank(layers - 1) + i))
                .collect(),
            ty: ValueType::default(),
        }],
        gates,
        wires: 4 * width,
        sections: vec![],
    }
}

#[test]
fn every_thread_count_gives_the_same_tables_and_labels() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    for (width, layers) in [(300, 3), (3000, 4), (9000, 2), (40, 50)] {
        let c = wide_circuit(&mut rng, width, layers);
        let hash = Tccr::new(Block(rng.r#gen()));
        let delta = Delta::from_block(Block(rng.r#gen()));
        let inputs: Vec<Vec<bool>> = c
            .inputs
            .iter()
            .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
            .collect();
        let zero_labels: Vec<Block> = (0..2 * width).map(|_| Block(rng.r#gen())).collect();
        let mut reference: Option<(Vec<u8>, Vec<Block>)> = None;
        for threads in [1, 2, 3, 4] {
            let mut g = GarblerCore::with_threads(hash.clone(), delta, c.wires, threads).unwrap();
            g.labels_mut()[..2 * width as usize].copy_from_slice(&zero_labels);
            let mut ch = BufferChannel::new();
            // Two passes: the second starts with helpers that have parts to recycle.
            for _ in 0..2 {
                g.garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
                    .unwrap();
            }
            let tables = ch.as_bytes().to_vec();
            let labels = g.labels().to_vec();
            match &reference {
                None => reference = Some((tables, labels)),
                Some((t, l)) => {
                    assert!(
                        *t == tables,
                        "tables differ, {threads} threads, width {width}"
                    );
                    assert!(
                        *l == labels,
                        "labels differ, {threads} threads, width {width}"
                    );
                }
            }
            // Evaluate with every thread count from the one-thread tables.
            let (t, zl) = reference.as_ref().unwrap();
            let mut ech = BufferChannel::new();
            ech.write_bytes(t).unwrap();
            let mut e = EvaluatorCore::with_threads(hash.clone(), c.wires, threads).unwrap();
            for (i, bit) in inputs.iter().flatten().enumerate() {
                e.labels_mut()[i] = zero_labels[i] ^ delta.block().select(*bit);
            }
            for _ in 0..2 {
                e.evaluate(c.gates.iter().copied(), &mut ech, &mut |_| {})
                    .unwrap();
            }
            let decoded: Vec<bool> = c.outputs[0]
                .bits
                .iter()
                .map(|b| match *b {
                    OutBit::Wire(w) => e.labels()[w as usize].lsb() ^ zl[w as usize].lsb(),
                    OutBit::Const(v) => v,
                })
                .collect();
            assert_eq!(
                vec![decoded],
                c.eval(&inputs).unwrap(),
                "{threads} threads, width {width}"
            );
        }
    }
}

#[test]
fn three_halves_works_with_any_thread_count_on_either_side() {
    // Three-halves windows and chunks do not depend on the thread count, so the
    // garbler and the evaluator may use different ones.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
    let cases = [
        (300, 3, 1, 4),
        (3000, 2, 4, 1),
        (40, 30, 2, 3),
        (9000, 2, 3, 4),
        (3000, 3, 2, 2),
    ];
    for (width, layers, tg, te) in cases {
        let c = wide_circuit(&mut rng, width, layers);
        let hash = Tccr::new(Block(rng.r#gen()));
        let delta = Delta::from_block(Block(rng.r#gen()));
        let inputs: Vec<Vec<bool>> = c
            .inputs
            .iter()
            .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
            .collect();
        let s = Scheme::ThreeHalves;
        let mut g = GarblerCore::with_scheme(hash.clone(), delta, c.wires, tg, s).unwrap();
        let mut e = EvaluatorCore::with_scheme(hash, c.wires, te, s).unwrap();
        assert_eq!((g.scheme(), e.scheme()), (s, s));
        for (i, bit) in inputs.iter().flatten().enumerate() {
            let w0 = Block(rng.r#gen());
            g.labels_mut()[i] = w0;
            e.labels_mut()[i] = w0 ^ delta.block().select(*bit);
        }
        let mut ch = BufferChannel::new();
        for _ in 0..2 {
            let gs = g
                .garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
                .unwrap();
            let es = e
                .evaluate(c.gates.iter().copied(), &mut ch, &mut |_| {})
                .unwrap();
            assert_eq!(gs, es);
            let decoded: Vec<bool> = c.outputs[0]
                .bits
                .iter()
                .map(|b| match *b {
                    OutBit::Wire(w) => e.labels()[w as usize].lsb() ^ g.labels()[w as usize].lsb(),
                    OutBit::Const(v) => v,
                })
                .collect();
            assert_eq!(vec![decoded], c.eval(&inputs).unwrap(), "width {width}");
        }
        assert_eq!(
            ch.bytes_received(),
            ch.bytes_sent(),
            "every table byte was read"
        );
    }
}

#[test]
fn three_halves_full_windows_cost_24_625_bytes_per_and() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
    let c = wide_circuit(&mut rng, 4096, 4);
    let s = Scheme::ThreeHalves;
    let mut g =
        GarblerCore::with_scheme(Tccr::new(Block(1)), Delta::from_os(), c.wires, 1, s).unwrap();
    let mut ch = BufferChannel::new();
    let gs = g
        .garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
        .unwrap();
    let per_and = ch.len() as f64 / gs.ands as f64;
    assert!(
        gs.ands > 10_000 && per_and <= 24.7,
        "{per_and} bytes per AND"
    );
}

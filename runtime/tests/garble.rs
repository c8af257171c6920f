//! The streaming garbler and evaluator (no OT) against plaintext evaluation, for
//! thousands of random circuits: raw SSA circuits and slot-allocated ones, where a
//! slot is overwritten after its last use (the batching must respect that).

use garnet_circuits::random::{RandomSpec, random_built_circuit, random_circuit};
use garnet_circuits::{Circuit, OutBit, passes};
use garnet_runtime::Block;
use garnet_runtime::garble::{BYTES_PER_AND, EvaluatorCore, GarblerCore};
use garnet_runtime::halfgates::Delta;
use garnet_runtime::hash::Tccr;
use garnet_runtime::memory::BufferChannel;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn garbled_eval(
    c: &Circuit,
    inputs: &[Vec<bool>],
    rng: &mut impl Rng,
    portable: bool,
) -> Vec<Vec<bool>> {
    let mut hash = Tccr::new(Block(rng.r#gen()));
    if portable {
        hash = hash.portable();
    }
    let delta = Delta::from_block(Block(rng.r#gen()));
    let d = delta.block();
    let mut g = GarblerCore::new(hash.clone(), delta, c.wires);
    let mut e = EvaluatorCore::new(hash, c.wires);
    for (i, bit) in inputs.iter().flatten().enumerate() {
        let w0 = Block(rng.r#gen());
        g.labels_mut()[i] = w0;
        e.labels_mut()[i] = w0 ^ d.select(*bit);
    }
    let mut ch = BufferChannel::new();
    let gs = g
        .garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
        .unwrap();
    assert_eq!(ch.len() as u64, gs.ands * BYTES_PER_AND);
    e.evaluate(c.gates.iter().copied(), &mut ch, &mut |_| {})
        .unwrap();
    c.outputs
        .iter()
        .map(|o| {
            o.bits
                .iter()
                .map(|b| match *b {
                    OutBit::Const(v) => v,
                    OutBit::Wire(w) => {
                        let (z, a) = (g.labels()[w as usize], e.labels()[w as usize]);
                        assert!(a == z || a == z ^ d, "wire {w} holds no valid label");
                        a.lsb() ^ z.lsb()
                    }
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn garbled_equals_plaintext(
        seed in any::<u64>(),
        iw in prop::collection::vec(1u32..10, 1..4),
        gates in 0usize..250,
        ow in prop::collection::vec(1u32..6, 1..4),
        and_fraction in 0.0f64..1.0,
        window in prop::sample::select(vec![0u32, 2, 8, 32]),
        kind in 0u8..3,
        portable in any::<bool>(),
    ) {
        let spec = RandomSpec { input_widths: iw, gates, output_widths: ow, and_fraction, window };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let c = match kind {
            0 => random_circuit(&mut rng, &spec),
            1 => passes::optimize(random_circuit(&mut rng, &spec)),
            _ => passes::optimize(random_built_circuit(&mut rng, &spec)),
        };
        let inputs: Vec<Vec<bool>> = c.inputs.iter().map(|i| (0..i.bits).map(|_| rng.r#gen()).collect()).collect();
        prop_assert_eq!(garbled_eval(&c, &inputs, &mut rng, portable), c.eval(&inputs).unwrap());
    }
}

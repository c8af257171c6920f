//! Round trips through `.gcirc` and Bristol, the hand-written Bristol files in
//! `tests/data`, and the `.gcirc` size target.

use garnet_circuits::format::{self, Format, bristol, gcirc};
use garnet_circuits::random::{RandomSpec, random_built_circuit, random_circuit};
use garnet_circuits::stats::Stats;
use garnet_circuits::{
    Builder, Circuit, FixedFormat, Gate, Gates, InputSpec, OutBit, OutputSpec, Party, Recipient,
    Section, ValueType, Wire, bits, passes,
};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

fn read_data(name: &str) -> Circuit {
    format::read_file(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Evaluates on plain integers (each value at most 64 bits).
fn eval_ints(c: &Circuit, inputs: &[u64]) -> Vec<u64> {
    let ins: Vec<Vec<bool>> = c
        .inputs
        .iter()
        .zip(inputs)
        .map(|(spec, &v)| bits::from_u128(v as u128, spec.bits as usize))
        .collect();
    c.eval(&ins)
        .expect("eval")
        .iter()
        .map(|o| bits::to_u128(o) as u64)
        .collect()
}

/// 64 random input samples at once; the outputs lane by lane.
fn eval_random(c: &Circuit, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let lanes: Vec<u64> = (0..c.input_bits()).map(|_| rng.r#gen()).collect();
    c.eval_lanes(&lanes).expect("eval")
}

fn gcirc_round_trip(c: &Circuit) -> Circuit {
    let bytes = gcirc::to_bytes(c);
    gcirc::read(&mut &bytes[..]).unwrap_or_else(|e| panic!("reading back: {e}"))
}

fn bristol_round_trip(c: &Circuit) -> Circuit {
    let text = bristol::to_string(c).expect("export");
    bristol::read(&text).unwrap_or_else(|e| panic!("reading back: {e}\n{text}"))
}

// ---------------------------------------------------------------------------------
// Hand-written Bristol files

#[test]
fn bristol_adder4_adds_on_all_inputs() {
    let c = read_data("adder4.txt");
    assert_eq!(c.inputs.len(), 2);
    assert_eq!(
        (c.inputs[0].name.as_str(), c.inputs[0].owner),
        ("in0", Party::Garbler)
    );
    assert_eq!(
        (c.inputs[1].name.as_str(), c.inputs[1].owner),
        ("in1", Party::Evaluator)
    );
    assert_eq!(c.outputs[0].name, "out0");
    assert_eq!(c.outputs[0].recipient, Recipient::Evaluator);
    assert_eq!(c.and_count(), 7);
    for a in 0..16 {
        for b in 0..16 {
            assert_eq!(eval_ints(&c, &[a, b]), vec![a + b], "{a} + {b}");
        }
    }
}

#[test]
fn bristol_comparator4_on_all_inputs() {
    let c = read_data("comparator4.txt");
    for a in 0..16 {
        for b in 0..16 {
            assert_eq!(eval_ints(&c, &[a, b]), vec![(a < b) as u64], "{a} < {b}");
        }
    }
}

#[test]
fn old_bristol_format_equality_on_all_inputs() {
    let c = read_data("eq4_old.txt");
    assert_eq!(c.inputs.iter().map(|i| i.bits).collect::<Vec<_>>(), [4, 4]);
    assert_eq!(c.outputs.len(), 1);
    for a in 0..16 {
        for b in 0..16 {
            assert_eq!(eval_ints(&c, &[a, b]), vec![(a == b) as u64], "{a} == {b}");
        }
    }
}

#[test]
fn bristol_eq_eqw_mand_on_all_inputs() {
    let c = read_data("eq_mand.txt");
    // The MAND makes the only 4 ANDs; `w & 1` with the EQ constant folds away.
    assert_eq!(c.and_count(), 4);
    for a in 0..16u64 {
        for b in 0..16u64 {
            let and0 = a & b & 1;
            let out1 = ((a >> 3) & 1) << 1 | and0 << 2 | ((b & 1) ^ (1 - and0)) << 3;
            assert_eq!(eval_ints(&c, &[a, b]), vec![a & b, out1], "a={a} b={b}");
        }
    }
}

#[test]
fn hand_written_files_survive_both_round_trips() {
    for name in [
        "adder4.txt",
        "comparator4.txt",
        "eq4_old.txt",
        "eq_mand.txt",
    ] {
        let c = read_data(name);
        let via_gcirc = gcirc_round_trip(&c);
        assert_eq!(via_gcirc, c, "{name}");
        let via_bristol = bristol_round_trip(&c);
        for a in 0..16 {
            for b in 0..16 {
                assert_eq!(
                    eval_ints(&via_bristol, &[a, b]),
                    eval_ints(&c, &[a, b]),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn bristol_export_uses_eq_and_eqw_for_copied_and_constant_outputs() {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 2);
    let y = b.input("y", Party::Evaluator, 1);
    let a = b.and(x[0], y[0]);
    let one = b.one();
    // a, then an input bit, a repeat of a and a constant.
    b.output("o", Recipient::Both, &[a, x[1], a, one]);
    let c = b.finish();
    let text = bristol::to_string(&c).unwrap();
    let expected = "4 7\n2 2 1\n1 4\n\n\
                    2 1 0 2 3 AND\n\
                    1 1 1 4 EQW\n\
                    1 1 3 5 EQW\n\
                    1 1 1 6 EQ\n";
    assert_eq!(text, expected);
    let back = bristol::read(&text).unwrap();
    for v in 0..8u64 {
        let (x, y) = (v & 3, v >> 2);
        let a = x & y & 1;
        let want = a | (x >> 1) << 1 | a << 2 | 1 << 3;
        assert_eq!(eval_ints(&back, &[x, y]), vec![want]);
        assert_eq!(eval_ints(&c, &[x, y]), vec![want]);
    }
}

#[test]
fn bristol_export_of_slot_reusing_circuit() {
    let mut rng = StdRng::seed_from_u64(7);
    let spec = RandomSpec {
        gates: 3000,
        ..RandomSpec::default()
    };
    let c = passes::optimize(random_circuit(&mut rng, &spec));
    assert!(
        c.wires < c.input_bits() as u32 + c.gates.len() as u32,
        "slots are reused"
    );
    let text = bristol::to_string(&c).unwrap();
    // SSA: every gate line defines a distinct wire.
    let mut seen = std::collections::HashSet::new();
    for line in text.lines().skip(4) {
        let toks: Vec<&str> = line.split_whitespace().collect();
        assert!(seen.insert(toks[toks.len() - 2].to_string()), "{line}");
    }
    assert_eq!(eval_random(&bristol_round_trip(&c), 1), eval_random(&c, 1));
}

// ---------------------------------------------------------------------------------
// .gcirc specifics

fn typed_circuit() -> Circuit {
    let mut b = Builder::new();
    let ty = ValueType {
        shape: Some(vec![2, 3]),
        format: Some(FixedFormat { bits: 2, frac: 1 }),
    };
    let x = b.typed_input("image", Party::Evaluator, 12, ty.clone());
    let w = b.input("weights ünïcode", Party::Garbler, 4);
    b.section("layer 0");
    let mut acc = Vec::new();
    for i in 0..4 {
        let t = b.and(x[i], w[i]);
        acc.push(b.xor(t, x[i + 4]));
    }
    b.section("layer 1");
    let n = b.not(acc[0]);
    let z = b.zero();
    b.typed_output(
        "logits",
        Recipient::Both,
        &[acc[1], n, z, x[11]],
        ValueType {
            shape: Some(vec![4]),
            format: None,
        },
    );
    b.output("g", Recipient::Garbler, &acc);
    b.finish()
}

#[test]
fn gcirc_round_trip_keeps_types_sections_and_constants() {
    let c = typed_circuit();
    assert_eq!(c.sections.len(), 2);
    assert_eq!(gcirc_round_trip(&c), c);
    let c = passes::optimize(c);
    assert_eq!(gcirc_round_trip(&c), c);
}

#[test]
fn gcirc_bytes_are_deterministic_and_carry_the_digest() {
    let mut rng = StdRng::seed_from_u64(3);
    let c = random_circuit(
        &mut rng,
        &RandomSpec {
            gates: 5000,
            ..RandomSpec::default()
        },
    );
    let a = gcirc::to_bytes(&c);
    let b = gcirc::to_bytes(&c.clone());
    assert_eq!(a, b);
    let mut w = Vec::new();
    gcirc::write(&c, &mut w).unwrap();
    assert_eq!(a, w);
    let d = gcirc::digest(&c);
    assert_eq!(&a[a.len() - 32..], &d);
    use sha2::Digest;
    assert_eq!(sha2::Sha256::digest(&a[..a.len() - 32])[..], d[..]);
    // Any change to the circuit changes the digest.
    let mut c2 = c.clone();
    c2.outputs[0].name.push('x');
    assert_ne!(gcirc::digest(&c2), d);
    let mut c3 = c.clone();
    c3.wires += 1;
    assert_ne!(gcirc::digest(&c3), d);
    let mut c4 = c.clone();
    c4.sections.push(Section {
        name: "s".into(),
        gates: 0..1,
    });
    assert_ne!(gcirc::digest(&c4), d);
}

#[test]
fn gate_reader_streams_the_header_and_gates() {
    let c = passes::optimize(typed_circuit());
    let bytes = gcirc::to_bytes(&c);
    let mut r = gcirc::GateReader::new(&bytes[..]).unwrap();
    let h = r.header().clone();
    assert_eq!(
        h.version, 1,
        "a circuit without annotations stays version 1"
    );
    assert_eq!((h.wires, h.gates), (c.wires, c.gates.len() as u64));
    assert_eq!(
        (&h.inputs, &h.outputs, &h.sections),
        (&c.inputs, &c.outputs, &c.sections)
    );
    assert_eq!(r.digest(), None);
    let gates: Vec<Gate> = r.by_ref().map(|g| g.unwrap()).collect();
    assert_eq!(gates, c.gates);
    assert_eq!(r.digest(), Some(gcirc::digest(&c)));
    assert_eq!(r.finish().unwrap(), gcirc::digest(&c));
}

#[test]
fn detect_and_files_in_both_formats() {
    let c = read_data("adder4.txt");
    let dir = std::env::temp_dir().join(format!("garnet-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let g = dir.join("adder.gcirc");
    let t = dir.join("adder.txt");
    format::write_file(&g, &c, Format::Gcirc).unwrap();
    format::write_file(&t, &c, Format::Bristol).unwrap();
    assert_eq!(format::detect(&std::fs::read(&g).unwrap()), Format::Gcirc);
    assert_eq!(format::detect(&std::fs::read(&t).unwrap()), Format::Bristol);
    assert_eq!(Format::from_path(&g), Some(Format::Gcirc));
    assert_eq!(Format::from_path(&t), Some(Format::Bristol));
    assert_eq!(format::read_file(&g).unwrap(), c);
    let back = format::read_file(&t).unwrap();
    assert_eq!(eval_ints(&back, &[9, 9]), vec![18]);
    let missing = format::read_file(&dir.join("missing.gcirc"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("missing.gcirc"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------
// Size target

/// Ripple-carry adder of two n-bit values (n + 1 bit result).
fn add<G: Gates>(g: &mut G, a: &[G::Bit], b: &[G::Bit]) -> Vec<G::Bit> {
    let mut carry = g.zero();
    let mut out = Vec::new();
    for (&x, &y) in a.iter().zip(b) {
        let t = g.xor(x, y);
        out.push(g.xor(t, carry));
        let u = g.xor(x, carry);
        let v = g.and(t, u);
        carry = g.xor(x, v);
    }
    out.push(carry);
    out
}

/// Schoolbook multiplier n × n → 2n bits.
fn multiplier(n: u32) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, n);
    let y = b.input("y", Party::Evaluator, n);
    let zero = b.zero();
    let mut acc: Vec<Wire> = vec![zero; 2 * n as usize];
    for i in 0..n as usize {
        let row: Vec<Wire> = x.iter().map(|&xb| b.and(xb, y[i])).collect();
        let sum = add(&mut b, &acc[i..i + n as usize], &row);
        acc.splice(i..i + n as usize + 1, sum);
        acc.truncate(2 * n as usize);
    }
    b.output("p", Recipient::Evaluator, &acc);
    b.finish()
}

/// A dot product of `len` 8-bit values, like one neuron.
fn dot(len: usize) -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Evaluator, 8 * len as u32);
    let w = b.input("w", Party::Garbler, 8 * len as u32);
    let mut acc: Vec<Wire> = vec![b.zero(); 24];
    for k in 0..len {
        let xs = &x[8 * k..8 * k + 8];
        let ws = &w[8 * k..8 * k + 8];
        let mut prod: Vec<Wire> = vec![b.zero(); 16];
        for i in 0..8 {
            let row: Vec<Wire> = xs.iter().map(|&xb| b.and(xb, ws[i])).collect();
            let s = add(&mut b, &prod[i..i + 8], &row);
            prod.splice(i..i + 9, s);
            prod.truncate(16);
        }
        prod.resize(24, b.zero());
        let s = add(&mut b, &acc, &prod);
        acc = s[..24].to_vec();
    }
    b.output("y", Recipient::Evaluator, &acc);
    b.finish()
}

#[test]
fn multiplier_is_correct() {
    let c = passes::optimize(multiplier(8));
    for (x, y) in [(0u64, 0u64), (255, 255), (17, 13), (200, 3)] {
        assert_eq!(eval_ints(&c, &[x, y]), vec![x * y]);
    }
}

#[test]
fn gcirc_takes_at_most_8_bytes_per_gate_on_test_circuits() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut cases: Vec<(String, Circuit)> = Vec::new();
    for (gates, window, and_fraction) in [(20_000, 64, 0.4), (50_000, 0, 0.3), (50_000, 1024, 0.5)]
    {
        let spec = RandomSpec {
            gates,
            window,
            and_fraction,
            ..RandomSpec::default()
        };
        let raw = random_circuit(&mut rng, &spec);
        cases.push((format!("random {gates}/{window} raw"), raw.clone()));
        cases.push((
            format!("random {gates}/{window} optimized"),
            passes::optimize(raw),
        ));
        let built = random_built_circuit(&mut rng, &spec);
        cases.push((
            format!("built random {gates}/{window} optimized"),
            passes::optimize(built),
        ));
    }
    cases.push(("mult32 SSA".into(), multiplier(32)));
    cases.push(("mult32 optimized".into(), passes::optimize(multiplier(32))));
    cases.push(("dot64 SSA".into(), dot(64)));
    cases.push(("dot64 optimized".into(), passes::optimize(dot(64))));
    // Random built circuits can fold down to almost nothing; only real-sized ones count.
    cases.retain(|(_, c)| c.gates.len() >= 1000);
    assert!(cases.len() >= 10);
    let (mut total_bytes, mut total_gates) = (0usize, 0usize);
    for (name, c) in &cases {
        let bytes = gcirc::to_bytes(c);
        let per_gate = bytes.len() as f64 / c.gates.len() as f64;
        eprintln!(
            "{name:36} {:8} gates {:8} wires {:9} bytes {per_gate:5.2} B/gate",
            c.gates.len(),
            c.wires,
            bytes.len()
        );
        assert!(per_gate <= 8.0, "{name}: {per_gate:.2} bytes per gate");
        total_bytes += bytes.len();
        total_gates += c.gates.len();
        assert_eq!(gcirc_round_trip(c), *c, "{name}");
    }
    let avg = total_bytes as f64 / total_gates as f64;
    eprintln!("average {avg:.2} bytes per gate");
    assert!(avg <= 8.0);
}

// ---------------------------------------------------------------------------------
// Property tests

fn spec_strategy() -> impl Strategy<Value = (u64, RandomSpec)> {
    (
        any::<u64>(),
        1000usize..6000,
        prop::sample::select(vec![0u32, 16, 64, 500]),
        0.1f64..0.7,
        prop::collection::vec(1u32..40, 1..4),
        prop::collection::vec(1u32..20, 1..4),
    )
        .prop_map(
            |(seed, gates, window, and_fraction, input_widths, output_widths)| {
                (
                    seed,
                    RandomSpec {
                        input_widths,
                        gates,
                        output_widths,
                        and_fraction,
                        window,
                    },
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gcirc_round_trip_preserves_circuits_and_results((seed, spec) in spec_strategy()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let raw = random_circuit(&mut rng, &spec);
        let built = random_built_circuit(&mut rng, &spec);
        for c in [passes::optimize(raw.clone()), raw, passes::optimize(built.clone()), built] {
            let back = gcirc_round_trip(&c);
            prop_assert_eq!(&back, &c);
            prop_assert_eq!(eval_random(&back, seed), eval_random(&c, seed));
            prop_assert_eq!(gcirc::digest(&back), gcirc::digest(&c));
        }
    }

    #[test]
    fn streamed_stats_and_eval_of_a_file_equal_the_loaded_circuits(seed in any::<u64>(), spec in spec_strategy()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let c = passes::optimize(random_built_circuit(&mut rng, &spec.1));
        let dir = std::env::temp_dir().join(format!("garnet-stats-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, f) in [("c.gcirc", Format::Gcirc), ("c.txt", Format::Bristol)] {
            let path = dir.join(name);
            format::write_file(&path, &c, f).unwrap();
            let streamed = format::stats_file(&path).unwrap();
            prop_assert_eq!(&streamed, &Stats::of(&format::read_file(&path).unwrap()));
            if f == Format::Gcirc {
                prop_assert_eq!(&streamed, &Stats::of(&c));
            }
            // and evaluating the stream gives the loaded circuit's outputs
            let sample: Vec<Vec<bool>> =
                c.inputs.iter().map(|i| (0..i.bits).map(|_| rng.r#gen()).collect()).collect();
            let (iface, gates) = format::open_gates(&path).unwrap();
            let mut ev = garnet_circuits::eval::LaneEval::for_sample(&iface, &sample).unwrap();
            for g in gates {
                ev.gate(&g.unwrap());
            }
            prop_assert_eq!(ev.sample_outputs(&iface), c.eval(&sample).unwrap());
        }
        // a damaged file is an error naming it, not statistics of part of it
        let bytes = gcirc::to_bytes(&c);
        let cut = dir.join("cut.gcirc");
        std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
        let e = format::stats_file(&cut).unwrap_err().to_string();
        prop_assert!(e.contains("cut.gcirc"), "{}", e);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bristol_round_trip_preserves_results((seed, spec) in spec_strategy()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let raw = random_circuit(&mut rng, &spec);
        let built = random_built_circuit(&mut rng, &spec);
        for c in [passes::optimize(raw.clone()), raw, passes::optimize(built.clone()), built] {
            let back = bristol_round_trip(&c);
            prop_assert_eq!(back.inputs.iter().map(|i| i.bits).collect::<Vec<_>>(),
                            c.inputs.iter().map(|i| i.bits).collect::<Vec<_>>());
            prop_assert_eq!(back.outputs.iter().map(|o| o.bits.len()).collect::<Vec<_>>(),
                            c.outputs.iter().map(|o| o.bits.len()).collect::<Vec<_>>());
            prop_assert!(passes::validate(&back).is_ok());
            for s in 0..3 {
                prop_assert_eq!(eval_random(&back, seed ^ s), eval_random(&c, seed ^ s));
            }
        }
    }

    #[test]
    fn bit_at_a_time_eval_agrees_after_round_trips(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        let c = passes::optimize(random_circuit(&mut rng, &RandomSpec { gates: 2000, ..RandomSpec::default() }));
        let g = gcirc_round_trip(&c);
        let b = bristol_round_trip(&c);
        for _ in 0..4 {
            let ins: Vec<u64> = c.inputs.iter().map(|i| rng.gen_range(0..1u64 << i.bits)).collect();
            let want = eval_ints(&c, &ins);
            prop_assert_eq!(eval_ints(&g, &ins), want.clone());
            prop_assert_eq!(eval_ints(&b, &ins), want);
        }
    }
}

#[test]
fn empty_and_gateless_circuits_round_trip() {
    let c = Circuit::default();
    assert_eq!(gcirc_round_trip(&c), c);
    let back = bristol_round_trip(&c);
    assert!(back.inputs.is_empty() && back.outputs.is_empty() && back.gates.is_empty());
    // Outputs straight from inputs and constants, no gates.
    let c = Circuit {
        inputs: vec![InputSpec {
            name: "a".into(),
            owner: Party::Garbler,
            bits: 3,
            ty: ValueType::default(),
        }],
        outputs: vec![OutputSpec {
            name: "o".into(),
            recipient: Recipient::Evaluator,
            bits: vec![
                OutBit::Wire(2),
                OutBit::Const(true),
                OutBit::Wire(0),
                OutBit::Wire(2),
            ],
            ty: ValueType::default(),
        }],
        gates: vec![],
        wires: 3,
        sections: vec![],
    };
    assert_eq!(gcirc_round_trip(&c), c);
    let back = bristol_round_trip(&c);
    for a in 0..8u64 {
        let want = (a >> 2) | 2 | (a & 1) << 2 | (a >> 2) << 3;
        assert_eq!(eval_ints(&c, &[a]), vec![want]);
        assert_eq!(eval_ints(&back, &[a]), vec![want]);
    }
}

/// A reader handing out at most a few bytes per call, to exercise buffer refills.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    calls: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        let n = (1 + self.calls % self.step)
            .min(out.len())
            .min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl std::io::BufRead for Trickle<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let n = (1 + self.calls % self.step).min(self.data.len());
        Ok(&self.data[..n])
    }
    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
    }
}

#[test]
fn gcirc_reads_from_a_reader_that_trickles() {
    let mut rng = StdRng::seed_from_u64(21);
    let c = passes::optimize(random_circuit(
        &mut rng,
        &RandomSpec {
            gates: 200_000,
            ..RandomSpec::default()
        },
    ));
    let bytes = gcirc::to_bytes(&c);
    for step in [1, 3, 7, 4096] {
        let back = gcirc::read(&mut Trickle {
            data: &bytes,
            step,
            calls: 0,
        })
        .unwrap();
        assert_eq!(back, c, "step {step}");
    }
    // Errors name the same offset however the bytes arrive.
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let whole = gcirc::read(&mut &bad[..]).unwrap_err().to_string();
    let trickled = gcirc::read(&mut Trickle {
        data: &bad,
        step: 5,
        calls: 0,
    })
    .unwrap_err()
    .to_string();
    assert_eq!(whole, trickled);
    assert!(
        whole.contains(&format!("digest at byte {}", n - 32)),
        "{whole}"
    );
}

#[test]
fn trusted_reader_reads_the_same_gates_and_checks_the_known_digest() {
    let mut rng = StdRng::seed_from_u64(11);
    let spec = RandomSpec {
        input_widths: vec![8, 8],
        gates: 3000,
        output_widths: vec![8],
        and_fraction: 0.4,
        window: 0,
    };
    let c = passes::optimize(random_circuit(&mut rng, &spec));
    let bytes = gcirc::to_bytes(&c);
    let d = gcirc::digest(&c);
    let gates: Vec<Gate> = gcirc::GateReader::trusted(&bytes[..], d)
        .unwrap()
        .map(|g| g.unwrap())
        .collect();
    assert_eq!(gates, c.gates);
    // a digest other than the stored one is an error at the end, after the gates
    let mut other = d;
    other[0] ^= 1;
    let last = gcirc::GateReader::trusted(&bytes[..], other)
        .unwrap()
        .last()
        .unwrap();
    assert!(last.unwrap_err().to_string().contains("digest"));
    // and the structure is still checked: a cut file is an error
    let cut = &bytes[..bytes.len() - 40];
    let r = gcirc::GateReader::trusted(cut, d).map(|r| r.last());
    assert!(matches!(r, Err(_) | Ok(Some(Err(_)))));
}

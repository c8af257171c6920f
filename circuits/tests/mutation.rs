//! Mutation harness for the `.gcirc` and Bristol readers: valid files with bytes
//! flipped, set, inserted, deleted or cut off (and large varints or numbers
//! spliced in, which is how tiny files claim huge sizes) go through every reader
//! and consumer, which must return an error or a valid circuit without panicking,
//! within a cap on the bytes allocated (a counting allocator, so this is its own
//! test binary). The case count is bounded for CI (a few seconds in release).

use garnet_circuits::format::{bristol, gcirc};
use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::stats::Stats;
use garnet_circuits::testing::PeakAlloc;
use garnet_circuits::{Circuit, FixedFormat, ValueType, passes};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

/// Peak heap per case: the seed files are a few kilobytes, so anything near this
/// means a count from the file was trusted.
const CAP: usize = 48 << 20;

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Flip(p, bit) => {
                if let Some(b) = bytes.get_mut(p % n) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Edit::Set(p, v) => {
                if let Some(b) = bytes.get_mut(p % n) {
                    *b = *v;
                }
            }
            Edit::Insert(p, v) => {
                let at = p % (bytes.len() + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Edit::Delete(p, len) => {
                let at = p % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Truncate(p) => bytes.truncate(p % n),
        }
    }
    bytes
}

fn edits(splices: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(p, v)| Edit::Insert(p, v)),
        (any::<usize>(), proptest::sample::select(splices))
            .prop_map(|(p, v)| Edit::Insert(p, v.to_vec())),
        (any::<usize>(), 1usize..16).prop_map(|(p, l)| Edit::Delete(p, l)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..5)
}

/// Varints of 2^30, 2^32 − 1 and 2^63, a zero and a digest-sized run.
const GCIRC_SPLICES: &[&[u8]] = &[
    &[0x80, 0x80, 0x80, 0x80, 0x04],
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    &[0],
    &[0xff; 32],
];

const BRISTOL_SPLICES: &[&[u8]] = &[
    b" 1073741824",
    b" 4294967295",
    b" 99999999999999999999999",
    b"\n",
    b" MAND",
    b" EQW",
    b"\x00",
    b" \xff",
];

/// Valid seed circuits: random gates, and typed values with sections.
fn seeds() -> Vec<Circuit> {
    let mut rng = StdRng::seed_from_u64(14);
    let small = RandomSpec {
        gates: 60,
        ..RandomSpec::default()
    };
    let a = random_circuit(&mut rng, &small);
    let mut b = passes::optimize(random_circuit(&mut rng, &small));
    b.inputs[0].ty = ValueType {
        shape: Some(vec![2]),
        format: Some(FixedFormat { bits: 4, frac: 2 }),
    };
    b.sections = vec![garnet_circuits::Section {
        name: "all".into(),
        gates: 0..b.gates.len() as u64,
    }];
    vec![a, b]
}

/// Everything a circuit read from a file is used for, on a valid circuit.
fn consume(c: &Circuit) {
    passes::validate(c).expect("readers return valid circuits");
    let _ = Stats::of(c);
    let _ = bristol::to_string(c).expect("valid circuits convert");
    let _ = gcirc::to_bytes(c);
    if c.input_bits() <= 1 << 16 {
        let inputs: Vec<Vec<bool>> = c
            .inputs
            .iter()
            .map(|i| vec![true; i.bits as usize])
            .collect();
        let _ = c.eval(&inputs).expect("inputs fit");
    }
}

fn read_gcirc(bytes: &[u8]) {
    // Streamed, as `stats` and `eval` do: gates are used before the digest is checked.
    if let Ok(gr) = gcirc::GateReader::new(bytes) {
        let interface = garnet_circuits::Interface::from(gr.header().clone());
        let _ = Stats::of_stream(&interface, gr);
    }
    if let Ok(c) = gcirc::read(&mut &bytes[..]) {
        consume(&c);
    }
}

fn read_bristol(bytes: &[u8]) {
    let limits = bristol::Limits::default();
    if let Ok(text) = bristol::read_text(&mut &bytes[..], &limits)
        && let Ok(c) = bristol::read_with(&text, &limits)
    {
        consume(&c);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_gcirc_files(seed in 0usize..2, edits in edits(GCIRC_SPLICES)) {
        let bytes = apply(gcirc::to_bytes(&seeds()[seed]), &edits);
        let ((), peak) = ALLOC.measure(|| read_gcirc(&bytes));
        prop_assert!(peak < CAP, "{peak} bytes for {edits:?}");
    }

    #[test]
    fn mutated_bristol_files(seed in 0usize..2, edits in edits(BRISTOL_SPLICES)) {
        let text = bristol::to_string(&seeds()[seed]).unwrap();
        let bytes = apply(text.into_bytes(), &edits);
        let ((), peak) = ALLOC.measure(|| read_bristol(&bytes));
        prop_assert!(peak < CAP, "{peak} bytes for {edits:?}");
    }
}

#[test]
fn the_seeds_are_valid() {
    for c in seeds() {
        read_gcirc(&gcirc::to_bytes(&c));
        read_bristol(bristol::to_string(&c).unwrap().as_bytes());
        assert_eq!(gcirc::read(&mut &gcirc::to_bytes(&c)[..]).unwrap(), c);
    }
}

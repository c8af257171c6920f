//! Malformed-file corpus: every case must give an error naming the problem and where
//! it is (byte offset for `.gcirc`, line for Bristol), without panicking.

use garnet_circuits::format::{self, FormatError, bristol, gcirc};
use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{
    Builder, Circuit, Gate, Gates, InputSpec, OutBit, OutputSpec, Party, Recipient, ValueType,
    passes,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

fn gcirc_err(bytes: &[u8]) -> String {
    match gcirc::read(&mut &bytes[..]) {
        Ok(c) => panic!(
            "expected an error, read a circuit with {} gates",
            c.gates.len()
        ),
        Err(e) => {
            assert!(matches!(e, FormatError::Gcirc { .. }), "{e:?}");
            e.to_string()
        }
    }
}

fn bristol_err(text: &str) -> String {
    match bristol::read(text) {
        Ok(c) => panic!(
            "expected an error, read a circuit with {} gates:\n{text}",
            c.gates.len()
        ),
        Err(e) => {
            assert!(matches!(e, FormatError::Bristol { .. }), "{e:?}");
            e.to_string()
        }
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "`{msg}` should contain `{p}`");
    }
}

fn input(name: &str, bits: u32) -> InputSpec {
    InputSpec {
        name: name.into(),
        owner: Party::Garbler,
        bits,
        ty: ValueType::default(),
    }
}

fn output(name: &str, bits: Vec<OutBit>) -> OutputSpec {
    OutputSpec {
        name: name.into(),
        recipient: Recipient::Evaluator,
        bits,
        ty: ValueType::default(),
    }
}

/// A small valid circuit with every header part: typed values, sections, constants.
fn sample() -> Circuit {
    let mut b = Builder::new();
    let x = b.input("x", Party::Garbler, 8);
    let y = b.input("y", Party::Evaluator, 8);
    b.section("first");
    let mut acc = x[0];
    for i in 0..8 {
        let t = b.and(x[i], y[i]);
        acc = b.xor(acc, t);
        let n = b.not(acc);
        acc = b.and(n, y[(i + 3) % 8]);
    }
    b.section("second");
    let one = b.one();
    b.output("o", Recipient::Both, &[acc, one, x[1]]);
    passes::optimize(b.finish())
}

/// Hand-made `.gcirc` bytes following the documented layout, with a correct digest.
/// Inputs and outputs are untyped; `outputs` holds raw output-bit codes.
fn hand_made(
    wires: u64,
    gates: u64,
    input_bits: &[u64],
    outputs: &[u64],
    blocks: &[(u64, &[u8])],
) -> Vec<u8> {
    fn v(buf: &mut Vec<u8>, mut x: u64) {
        while x >= 0x80 {
            buf.push(x as u8 | 0x80);
            x >>= 7;
        }
        buf.push(x as u8);
    }
    let mut f = gcirc::MAGIC.to_vec();
    f.extend_from_slice(&1u16.to_le_bytes()); // version 1: no annotations
    v(&mut f, wires);
    v(&mut f, gates);
    v(&mut f, input_bits.len() as u64);
    for (i, &bits) in input_bits.iter().enumerate() {
        let name = format!("in{i}");
        v(&mut f, name.len() as u64);
        f.extend_from_slice(name.as_bytes());
        f.push(0);
        v(&mut f, bits);
        f.push(0);
    }
    v(&mut f, 1);
    v(&mut f, 1);
    f.push(b'o');
    f.push(1);
    v(&mut f, outputs.len() as u64);
    for &o in outputs {
        v(&mut f, o);
    }
    f.push(0);
    v(&mut f, 0); // sections
    for (n, bytes) in blocks {
        v(&mut f, *n);
        v(&mut f, bytes.len() as u64);
        f.extend_from_slice(bytes);
    }
    v(&mut f, 0);
    let d = Sha256::digest(&f);
    f.extend_from_slice(&d);
    f
}

// ---------------------------------------------------------------------------------
// .gcirc

#[test]
fn gcirc_truncated_at_every_prefix() {
    let bytes = gcirc::to_bytes(&sample());
    let mut contexts = std::collections::BTreeSet::new();
    for len in 0..bytes.len() {
        let msg = gcirc_err(&bytes[..len]);
        assert!(msg.contains(" at byte "), "{msg}");
        assert!(
            msg.contains("end of file") || msg.contains("empty file"),
            "prefix {len}: {msg}"
        );
        contexts.insert(
            msg.split(" at byte")
                .next()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string(),
        );
    }
    // Every part of the file was cut somewhere.
    for part in ["header", "input", "output", "section", "gate", "digest"] {
        assert!(
            contexts.contains(part),
            "no truncation inside `{part}`: {contexts:?}"
        );
    }
    assert!(gcirc::read(&mut &bytes[..]).is_ok());
}

#[test]
fn gcirc_truncated_large_file_at_many_prefixes() {
    let mut rng = StdRng::seed_from_u64(5);
    let c = passes::optimize(random_circuit(
        &mut rng,
        &RandomSpec {
            gates: 100_000,
            ..RandomSpec::default()
        },
    ));
    let bytes = gcirc::to_bytes(&c);
    assert!(bytes.len() > 1 << 17, "spans several gate blocks");
    for len in (0..bytes.len())
        .step_by(997)
        .chain(bytes.len() - 40..bytes.len())
    {
        let msg = gcirc_err(&bytes[..len]);
        assert!(
            msg.contains("end of file") || msg.contains("empty file"),
            "prefix {len}: {msg}"
        );
    }
}

#[test]
fn gcirc_bad_magic() {
    let mut bytes = gcirc::to_bytes(&sample());
    bytes[1] = b'X';
    assert_contains(
        &gcirc_err(&bytes),
        &["header at byte 0", "bad magic number"],
    );
    assert_contains(
        &gcirc_err(b"hello world, not a circuit"),
        &["header at byte 0", "bad magic"],
    );
}

#[test]
fn gcirc_wrong_version() {
    let mut bytes = gcirc::to_bytes(&sample());
    bytes[8] = 7;
    assert_contains(
        &gcirc_err(&bytes),
        &["header at byte 8", "unsupported version 7"],
    );
}

#[test]
fn gcirc_wrong_digest() {
    let mut bytes = gcirc::to_bytes(&sample());
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    assert_contains(
        &gcirc_err(&bytes),
        &[&format!("digest at byte {}", n - 32), "digest mismatch"],
    );
}

#[test]
fn gcirc_changed_content_fails_the_digest() {
    // A change that keeps the file well formed (an input renamed) is caught by the digest.
    let bytes = gcirc::to_bytes(&sample());
    let pos = bytes.windows(2).position(|w| w == [1, b'x']).unwrap() + 1;
    let mut changed = bytes.clone();
    changed[pos] = b'z';
    assert_contains(&gcirc_err(&changed), &["digest mismatch"]);
}

#[test]
fn gcirc_wire_out_of_range() {
    let c = Circuit {
        inputs: vec![input("a", 2)],
        outputs: vec![output("o", vec![OutBit::Wire(3)])],
        gates: vec![Gate::xor(0, 1, 2), Gate::and(2, 99, 3)],
        wires: 20,
        sections: vec![],
    };
    let msg = gcirc_err(&gcirc::to_bytes(&c));
    assert_contains(
        &msg,
        &[
            "gate 1 at byte ",
            "wire 99 is out of range (the circuit has 20 wires)",
        ],
    );
}

#[test]
fn gcirc_wire_used_before_definition() {
    let c = Circuit {
        inputs: vec![input("a", 2)],
        outputs: vec![output("o", vec![OutBit::Wire(4)])],
        gates: vec![Gate::xor(0, 1, 2), Gate::and(2, 3, 4), Gate::not(0, 3)],
        wires: 5,
        sections: vec![],
    };
    let msg = gcirc_err(&gcirc::to_bytes(&c));
    assert_contains(
        &msg,
        &["gate 1 at byte ", "wire 3 used before it is defined"],
    );
}

#[test]
fn gcirc_output_not_defined() {
    let c = Circuit {
        inputs: vec![input("a", 2)],
        outputs: vec![output(
            "o",
            vec![OutBit::Wire(2), OutBit::Const(true), OutBit::Wire(7)],
        )],
        gates: vec![Gate::xor(0, 1, 2)],
        wires: 8,
        sections: vec![],
    };
    let msg = gcirc_err(&gcirc::to_bytes(&c));
    assert_contains(
        &msg,
        &[
            "output `o` at byte ",
            "bit 2 reads wire 7, which no input or gate defines",
        ],
    );
}

#[test]
fn gcirc_output_wire_out_of_range_in_header() {
    let c = Circuit {
        inputs: vec![input("a", 2)],
        outputs: vec![output("o", vec![OutBit::Wire(9)])],
        gates: vec![],
        wires: 2,
        sections: vec![],
    };
    assert_contains(
        &gcirc_err(&gcirc::to_bytes(&c)),
        &["output 0 at byte ", "wire 9 is out of range"],
    );
}

#[test]
fn gcirc_gate_count_larger_than_the_file() {
    // Three XOR gates (fresh outputs, 1-byte operands coded from the high-water mark).
    let gates: &[u8] = &[0x00, 0x00, 0, 1, 0x00, 0x00, 0, 1, 0x00, 0x00, 0, 1];
    let ok = hand_made(5, 3, &[2], &[6], &[(3, gates)]);
    assert!(
        gcirc::read(&mut &ok[..]).is_ok(),
        "the hand-made file follows the layout"
    );
    let bytes = hand_made(5, 5, &[2], &[6], &[(3, gates)]);
    assert_contains(
        &gcirc_err(&bytes),
        &[
            "at byte ",
            "the header declares 5 gates but the file holds only 3",
        ],
    );
}

#[test]
fn gcirc_more_gates_than_declared() {
    let gates: &[u8] = &[0x00, 0x00, 0, 1, 0x00, 0x00, 0, 1, 0x00, 0x00, 0, 1];
    let bytes = hand_made(5, 2, &[2], &[6], &[(3, gates)]);
    assert_contains(
        &gcirc_err(&bytes),
        &["at byte ", "more gates than the 2 the header declares"],
    );
}

#[test]
fn gcirc_header_asking_for_2_pow_40_gates() {
    let gates: &[u8] = &[0x00, 0x00, 0, 1];
    let bytes = hand_made(3, 1 << 40, &[2], &[4], &[(1, gates)]);
    let t = Instant::now();
    let msg = gcirc_err(&bytes);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert_contains(
        &msg,
        &[
            "at byte ",
            "declares 1099511627776 gates but the file holds only 1",
        ],
    );
    // Also with a block that claims far more gates than it can hold.
    let bytes = hand_made(3, 1 << 40, &[2], &[4], &[(1 << 39, gates)]);
    assert_contains(
        &gcirc_err(&bytes),
        &["at byte ", "cannot hold 549755813888 gates"],
    );
}

#[test]
fn gcirc_huge_counts_in_the_header_are_refused_before_allocating() {
    let bytes = hand_made(u32::MAX as u64, 0, &[], &[], &[]);
    assert_contains(
        &gcirc_err(&bytes),
        &["header at byte 10", "exceed the limit"],
    );
    let bytes = hand_made(8, 0, &[u32::MAX as u64], &[], &[]);
    assert_contains(
        &gcirc_err(&bytes),
        &[
            "input 0 at byte ",
            "the inputs take 4294967295 wires but the circuit has only 8",
        ],
    );
    // A name claiming 2^60 bytes.
    let mut bytes = gcirc::MAGIC.to_vec();
    bytes.extend_from_slice(&[
        1, 0, 4, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10,
    ]);
    assert_contains(
        &gcirc_err(&bytes),
        &["input 0 at byte 13", "longer than the limit"],
    );
}

#[test]
fn gcirc_invalid_gate_tag() {
    let bytes = hand_made(5, 1, &[2], &[4], &[(1, &[0x03, 0x00, 0, 1])]);
    assert_contains(
        &gcirc_err(&bytes),
        &["gate 0 at byte ", "invalid gate tag 0x03"],
    );
    // A NOT (tag 0x02) with a size for b.
    let bytes = hand_made(5, 1, &[2], &[4], &[(1, &[0x02, 0x04, 0, 1])]);
    assert_contains(
        &gcirc_err(&bytes),
        &["gate 0 at byte ", "invalid size byte 0x04"],
    );
}

#[test]
fn gcirc_gate_record_past_its_block() {
    let bytes = hand_made(5, 1, &[2], &[4], &[(1, &[0x00, 0x00, 0])]);
    assert_contains(
        &gcirc_err(&bytes),
        &["gate 0 at byte ", "runs past the end of its block"],
    );
    let bytes = hand_made(5, 1, &[2], &[4], &[(1, &[0x00, 0x00, 0, 1, 9])]);
    assert_contains(&gcirc_err(&bytes), &["at byte ", "1 bytes left over"]);
}

#[test]
fn gcirc_trailing_garbage() {
    let mut bytes = gcirc::to_bytes(&sample());
    let n = bytes.len();
    bytes.extend_from_slice(b"garbage");
    assert_contains(
        &gcirc_err(&bytes),
        &[&format!("at byte {n}"), "trailing data after the digest"],
    );
}

#[test]
fn gcirc_empty_file() {
    assert_contains(&gcirc_err(b""), &["header at byte 0", "empty file"]);
}

#[test]
fn gcirc_duplicate_names() {
    let c = Circuit {
        inputs: vec![input("a", 1), input("a", 1)],
        outputs: vec![],
        gates: vec![],
        wires: 2,
        sections: vec![],
    };
    assert_contains(
        &gcirc_err(&gcirc::to_bytes(&c)),
        &["input 1 at byte ", "duplicate input name `a`"],
    );
}

#[test]
fn gate_reader_stops_after_an_error() {
    let c = Circuit {
        inputs: vec![input("a", 2)],
        outputs: vec![],
        gates: vec![Gate::xor(0, 1, 2), Gate::and(2, 3, 4), Gate::not(0, 3)],
        wires: 5,
        sections: vec![],
    };
    let bytes = gcirc::to_bytes(&c);
    let mut r = gcirc::GateReader::new(&bytes[..]).unwrap();
    assert!(r.next().unwrap().is_ok());
    assert!(r.next().unwrap().is_err());
    assert!(r.next().is_none());
    assert!(r.finish().is_err());
}

// ---------------------------------------------------------------------------------
// Bristol

const ADDER: &str = include_str!("../../tests/data/adder4.txt");

#[test]
fn bristol_unknown_gate() {
    let text = "1 3\n2 1 1\n1 1\n\n2 1 0 1 2 NAND\n";
    assert_contains(
        &bristol_err(text),
        &["line 5, token 6 `NAND`", "unknown gate"],
    );
}

#[test]
fn bristol_wrong_arity() {
    // An XOR line missing its output wire.
    let text = "1 3\n2 1 1\n1 1\n2 1 0 1 XOR\n";
    assert_contains(
        &bristol_err(text),
        &["line 4", "wrong arity", "6 tokens, this line has 5"],
    );
    // An AND declared with one input.
    let text = "1 3\n2 1 1\n1 1\n1 1 0 2 AND\n";
    assert_contains(
        &bristol_err(text),
        &[
            "line 4, token 1",
            "wrong arity: AND takes 2 inputs and 1 output",
        ],
    );
    // A gate line too short to name anything.
    assert_contains(
        &bristol_err("1 3\n2 1 1\n1 1\nXOR\n"),
        &["line 4", "at least 4 tokens"],
    );
}

#[test]
fn bristol_non_numeric_tokens() {
    let text = "1 3\n2 1 1\n1 1\n2 1 0 x 2 XOR\n";
    assert_contains(
        &bristol_err(text),
        &["line 4, token 4 `x`", "non-numeric token"],
    );
    assert_contains(
        &bristol_err("1 three\n"),
        &["line 1, token 2 `three`", "non-numeric"],
    );
    assert_contains(
        &bristol_err("1 3\n2 1 -1\n1 1\n2 1 0 1 2 XOR\n"),
        &["line 2, token 3 `-1`", "non-numeric"],
    );
    let text = "1 3\n2 1 1\n1 1\n1 1 two 2 EQ\n";
    assert_contains(
        &bristol_err(text),
        &["line 4, token 3 `two`", "EQ takes the constant 0 or 1"],
    );
}

#[test]
fn bristol_trailing_garbage() {
    let text = format!("{ADDER}2 1 0 4 8 XOR\n");
    assert_contains(
        &bristol_err(&text),
        &["line 22", "trailing data after the 17 declared gates"],
    );
    let text = format!("{ADDER}\nthe end\n");
    assert_contains(&bristol_err(&text), &["line 23", "trailing data"]);
}

#[test]
fn bristol_empty_file() {
    assert_contains(&bristol_err(""), &["line 1", "empty file"]);
    assert_contains(&bristol_err("\n \n\t\n"), &["line 1", "empty file"]);
}

#[test]
fn bristol_mand_with_odd_counts() {
    let text = "1 8\n2 2 2\n1 2\n3 2 0 1 2 3 6 7 MAND\n";
    assert_contains(
        &bristol_err(text),
        &[
            "line 4, token 1",
            "MAND takes 2k inputs and k ≥ 1 outputs",
            "3 inputs and 2 outputs",
        ],
    );
    let text = "1 8\n2 2 2\n1 2\n4 2 0 1 2 6 7 MAND\n";
    assert_contains(
        &bristol_err(text),
        &["line 4", "has 9 tokens, this line has 8"],
    );
}

#[test]
fn bristol_header_asking_for_2_pow_40_gates() {
    let text = "1099511627776 3\n2 1 1\n1 1\n2 1 0 1 2 XOR\n";
    let t = Instant::now();
    let msg = bristol_err(text);
    assert!(t.elapsed() < Duration::from_millis(200));
    assert_contains(
        &msg,
        &[
            "line 1, token 1",
            "declares 1099511627776 gates but only 1 gate lines follow",
        ],
    );
    // And a wire count no file this size could use.
    let msg = bristol_err("1 1099511627776\n2 1 1\n1 1\n2 1 0 1 2 XOR\n");
    assert_contains(
        &msg,
        &[
            "line 1, token 2",
            "wire count is larger than this file could define",
        ],
    );
    let msg = bristol_err("1 3\n2 1099511627776 1\n1 1\n2 1 0 1 2 XOR\n");
    assert_contains(&msg, &["line 2", "exceed the limit"]);
}

#[test]
fn bristol_gate_count_larger_than_the_file() {
    let text = ADDER.replacen("17 25", "18 25", 1);
    assert_contains(
        &bristol_err(&text),
        &["line 1", "declares 18 gates but only 17 gate lines follow"],
    );
}

#[test]
fn bristol_wire_out_of_range_and_undefined() {
    let text = "1 3\n2 1 1\n1 1\n2 1 0 7 2 XOR\n";
    assert_contains(
        &bristol_err(text),
        &[
            "line 4, token 4 `7`",
            "wire 7 is out of range (the circuit has 3 wires)",
        ],
    );
    let text = "2 4\n2 1 1\n1 1\n2 1 0 2 3 XOR\n2 1 0 1 2 AND\n";
    assert_contains(
        &bristol_err(text),
        &["line 4, token 4 `2`", "wire 2 used before it is defined"],
    );
}

#[test]
fn bristol_output_not_defined() {
    // The output is wire 4, but the gate writes wire 3.
    let text = "1 5\n2 1 1\n1 1\n2 1 0 1 3 XOR\n";
    assert_contains(
        &bristol_err(text),
        &[
            "line 3",
            "output 0 bit 0 is wire 4, which no input or gate defines",
        ],
    );
}

#[test]
fn bristol_bad_value_lines() {
    assert_contains(
        &bristol_err("1 3\n3 1 1\n1 1\n2 1 0 1 2 XOR\n"),
        &["line 2", "declares 3 values but lists 2 widths"],
    );
    assert_contains(&bristol_err("1 3 4\n"), &["line 1", "2 numbers, found 3"]);
    assert_contains(
        &bristol_err("1 3\n"),
        &["line 2", "expected the input line"],
    );
    assert_contains(
        &bristol_err("0 3\n2 1 1 1\n"),
        &["line 2", "old Bristol format"],
    );
}

#[test]
fn bristol_truncated_at_every_prefix() {
    let full = ADDER.trim_end();
    for len in 0..full.len() {
        let prefix = &ADDER[..len];
        let msg = bristol_err(prefix);
        assert!(msg.starts_with("line "), "{msg}");
    }
    assert!(bristol::read(full).is_ok());
}

#[test]
fn bristol_file_not_utf8() {
    let dir = std::env::temp_dir().join(format!("garnet-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.txt");
    std::fs::write(&p, b"1 3\n2 1 1\n\xff\xfe\n").unwrap();
    let msg = format::read_file(&p).unwrap_err().to_string();
    assert_contains(&msg, &["bad.txt", "line 3", "invalid UTF-8"]);
    let e = dir.join("empty.gcirc");
    std::fs::write(&e, b"").unwrap();
    assert_contains(
        &format::read_file(&e).unwrap_err().to_string(),
        &["empty.gcirc", "line 1", "empty file"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------
// Fuzzing: nothing panics

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = gcirc::read(&mut &bytes[..]);
        let mut with_magic = gcirc::MAGIC.to_vec();
        with_magic.extend_from_slice(&[1, 0]);
        with_magic.extend_from_slice(&bytes);
        let _ = gcirc::read(&mut &with_magic[..]);
        let _ = bristol::read(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_gcirc_files_never_panic(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = gcirc::to_bytes(&sample());
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        if let Err(e) = gcirc::read(&mut &bytes[..]) {
            prop_assert!(e.to_string().contains(" at byte "));
        }
    }

    #[test]
    fn mutated_bristol_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), "[0-9A-Z ]{0,3}"), 1..4)
    ) {
        let mut toks: Vec<String> = ADDER.split(' ').map(str::to_string).collect();
        for (i, s) in edits {
            let i = i.index(toks.len());
            toks[i] = s;
        }
        if let Err(e) = bristol::read(&toks.join(" ")) {
            prop_assert!(e.to_string().starts_with("line "));
        }
    }

    #[test]
    fn random_bristol_gate_lines_never_panic(
        lines in prop::collection::vec(("[0-9]{1,2}", "[0-9]{1,2}", prop::collection::vec(0u32..12, 0..6),
            prop::sample::select(vec!["XOR", "AND", "INV", "NOT", "EQ", "EQW", "MAND", "OR"])), 0..8)
    ) {
        let mut text = format!("{} 12\n2 3 3\n2 2 2\n", lines.len());
        for (nin, nout, wires, op) in &lines {
            let ws: Vec<String> = wires.iter().map(u32::to_string).collect();
            text.push_str(&format!("{nin} {nout} {} {op}\n", ws.join(" ")));
        }
        let _ = bristol::read(&text);
    }
}

// ---------------------------------------------------------------------------------
// Issue 14: typed headers, names that reach the terminal, double definitions, size

/// `sample()` with the type of input 0 replaced.
fn typed_sample(ty: ValueType) -> Vec<u8> {
    let mut c = sample();
    c.inputs[0].ty = ty;
    gcirc::to_bytes(&c)
}

#[test]
fn gcirc_header_types_follow_the_dsl_rules() {
    use garnet_circuits::FixedFormat;
    let fixed = |bits, frac| Some(FixedFormat { bits, frac });
    let cases: &[(ValueType, &str)] = &[
        (
            ValueType {
                shape: Some(vec![2, 3]),
                format: fixed(16, 8),
            },
            "shape [2, 3] of fixed(16, 8) takes 96 bits, not 8",
        ),
        (
            ValueType {
                shape: Some(vec![1]),
                format: fixed(40, 8),
            },
            "40 bits is not in 2..=32",
        ),
        (
            ValueType {
                shape: Some(vec![1]),
                format: fixed(8, 8),
            },
            "fixed(8, 8) has as many fraction bits as bits or more",
        ),
        (
            ValueType {
                shape: Some(vec![]),
                format: None,
            },
            "at least one dimension",
        ),
        (
            ValueType {
                shape: Some(vec![0, 4]),
                format: None,
            },
            "zero dimension",
        ),
        (
            ValueType {
                shape: Some(vec![3]),
                format: None,
            },
            "not 1 to 32 bits for each of the 3 elements",
        ),
        (
            ValueType {
                shape: Some(vec![u32::MAX, u32::MAX]),
                format: None,
            },
            "more elements than the 8 bits",
        ),
    ];
    for (ty, want) in cases {
        assert_contains(
            &gcirc_err(&typed_sample(ty.clone())),
            &["input 0 at byte", want],
        );
    }
    // What the compiler writes is accepted: 8 bits as [1] of fixed(8, 4), [8] binary.
    for ty in [
        ValueType {
            shape: Some(vec![1]),
            format: fixed(8, 4),
        },
        ValueType {
            shape: Some(vec![8]),
            format: None,
        },
    ] {
        gcirc::read(&mut &typed_sample(ty)[..]).unwrap();
    }
    // Outputs are checked the same way.
    let mut c = sample();
    let width = c.outputs[0].bits.len() as u32;
    c.outputs[0].ty = ValueType {
        shape: Some(vec![width + 1]),
        format: None,
    };
    assert_contains(
        &gcirc_err(&gcirc::to_bytes(&c)),
        &["output 0 at byte", "more elements than the"],
    );
}

#[test]
fn gcirc_names_are_escaped_in_errors() {
    let evil = "\x1b[2J\x1b]0;pwned\x07\nforged line";
    let c = Circuit {
        inputs: vec![input(evil, 1), input(evil, 1)],
        wires: 2,
        ..Circuit::default()
    };
    let msg = gcirc_err(&gcirc::to_bytes(&c));
    assert!(
        !msg.chars().any(|ch| ch.is_control()),
        "raw control characters in {msg:?}"
    );
    assert_contains(
        &msg,
        &[
            "duplicate input name",
            "\\x1b[2J\\x1b]0;pwned\\x07\\nforged",
        ],
    );
}

#[test]
fn names_are_escaped_in_stats_and_eval_errors() {
    let mut c = sample();
    c.inputs[0].name = "a\x1b[31m".into();
    c.outputs[0].name = "b\r\n".into();
    let table = garnet_circuits::stats::Stats::of(&c).to_string();
    assert!(
        !table.contains('\x1b') && !table.contains('\r'),
        "{table:?}"
    );
    assert_contains(&table, &["a\\x1b[31m", "b\\r\\n"]);
    let e = c
        .eval(&[vec![true], vec![false; 8]])
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["input `a\\x1b[31m` is 8 bits wide"]);
    assert_eq!(garnet_circuits::escape("\u{202e}ok"), "\\u{202e}ok");
}

#[test]
fn bristol_tokens_are_escaped_in_errors() {
    let msg = bristol_err("1 3\n2 1 1\n1 1\n\n2 1 0 1 2 X\x1b[2JOR\n");
    assert!(!msg.contains('\x1b'), "{msg:?}");
    assert_contains(&msg, &["line 5", "X\\x1b[2JOR", "unknown gate"]);
}

#[test]
fn bristol_wire_defined_twice() {
    // The second gate writes wire 2 again.
    let msg = bristol_err("2 3\n2 1 1\n1 1\n\n2 1 0 1 2 XOR\n2 1 0 1 2 AND\n");
    assert_contains(&msg, &["line 6", "token 5 `2`", "wire 2 is defined twice"]);
    // A gate writes an input wire.
    let msg = bristol_err("1 3\n2 1 1\n1 1\n\n1 1 0 1 INV\n");
    assert_contains(&msg, &["line 5", "wire 1 is defined twice"]);
    // Two outputs of one MAND line.
    let msg = bristol_err("1 4\n2 1 1\n1 1\n\n4 2 0 1 1 0 3 3 MAND\n");
    assert_contains(&msg, &["line 5", "wire 3 is defined twice"]);
}

#[test]
fn bristol_with_2_pow_18_input_values_parses_in_linear_time() {
    let n = 1usize << 18;
    let mut text = format!("1 {}\n{n}", n + 1);
    text.push_str(&" 1".repeat(n));
    text.push_str(&format!("\n1 1\n\n2 1 0 1 {n} XOR\n"));
    let t = Instant::now();
    let c = bristol::read(&text).unwrap();
    assert_eq!(c.inputs.len(), n);
    // Quadratic name checks took 195 s here; linear takes well under a second.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn bristol_text_limits_name_the_line_and_the_limit() {
    let limits = bristol::Limits {
        max_line_bytes: 10,
        ..bristol::Limits::default()
    };
    let e = bristol::read_text(&mut &b"1 3\n2 1 1\n1 1 1 1 1 1 1 1\n"[..], &limits).unwrap_err();
    assert_contains(
        &e.to_string(),
        &["line 3", "longer than the limit of 10 bytes"],
    );
    let e =
        bristol::read_text(&mut &b"1 3\n2 1\x001\n"[..], &bristol::Limits::default()).unwrap_err();
    assert_contains(&e.to_string(), &["line 2", "byte 0x00"]);
    let limits = bristol::Limits {
        max_input_bits: 4,
        ..bristol::Limits::default()
    };
    let e = bristol::read_with("1 9\n2 4 4\n1 1\n\n2 1 0 1 8 XOR\n", &limits).unwrap_err();
    assert_contains(
        &e.to_string(),
        &["line 2", "8 input bits exceed the limit of 4"],
    );
}

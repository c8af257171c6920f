//! `.gcirc` version 2: annotations after the sections, covered by the digest;
//! files without annotations stay version 1, byte for byte.

use garnet_circuits::format::gcirc::{self, Annotation, GateReader, Header, Writer};
use garnet_circuits::{Circuit, Gate, InputSpec, OutBit, OutputSpec, Party, Recipient};

fn circuit() -> Circuit {
    Circuit {
        inputs: vec![
            InputSpec {
                name: "a".into(),
                owner: Party::Garbler,
                bits: 1,
                ty: Default::default(),
            },
            InputSpec {
                name: "b".into(),
                owner: Party::Evaluator,
                bits: 1,
                ty: Default::default(),
            },
        ],
        outputs: vec![OutputSpec {
            name: "y".into(),
            recipient: Recipient::Evaluator,
            bits: vec![OutBit::Wire(2)],
            ty: Default::default(),
        }],
        gates: vec![Gate::and(0, 1, 2)],
        wires: 3,
        sections: Vec::new(),
    }
}

fn write(c: &Circuit, annotations: Vec<Annotation>) -> Vec<u8> {
    let header = Header {
        version: gcirc::VERSION,
        wires: c.wires,
        gates: c.gates.len() as u64,
        inputs: c.inputs.clone(),
        outputs: c.outputs.clone(),
        sections: c.sections.clone(),
        annotations,
    };
    let mut w = Writer::new(Vec::new(), &header).unwrap();
    for g in &c.gates {
        w.write_gate(g).unwrap();
    }
    w.finish().unwrap().1
}

fn note(key: &str, value: &[u8]) -> Annotation {
    Annotation {
        key: key.into(),
        value: value.to_vec(),
    }
}

#[test]
fn annotations_round_trip_in_version_2_and_change_the_digest() {
    let c = circuit();
    let plain = write(&c, Vec::new());
    assert_eq!(
        plain,
        gcirc::to_bytes(&c),
        "no annotations: version 1 bytes"
    );
    assert_eq!(u16::from_le_bytes([plain[8], plain[9]]), 1);
    let notes = vec![
        note("garnet.network", b"network n {}"),
        note("x", &[0; 70_000]),
    ];
    let bytes = write(&c, notes.clone());
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 2);
    let mut r = GateReader::new(&bytes[..]).unwrap();
    assert_eq!(r.header().annotations, notes);
    let d = r.finish().unwrap();
    assert_ne!(d, gcirc::digest(&c));
    assert_eq!(gcirc::read(&mut &bytes[..]).unwrap(), c);
    let mut r1 = GateReader::new(&plain[..]).unwrap();
    assert!(r1.header().annotations.is_empty());
    assert_eq!(r1.finish().unwrap(), gcirc::digest(&c));
}

#[test]
fn bad_annotations_are_clear_errors() {
    let c = circuit();
    let bytes = write(&c, vec![note("k", b"abcdef")]);
    // Cut inside the annotation's value.
    let at = bytes.windows(6).position(|w| w == b"abcdef").unwrap();
    let e = GateReader::new(&bytes[..at + 3]).unwrap_err().to_string();
    assert!(
        e.contains("annotation 0") && e.contains("end of file"),
        "{e}"
    );
    // A length beyond the limit: the byte before the value is its length.
    let mut big = bytes[..at - 1].to_vec();
    big.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let e = GateReader::new(&big[..]).unwrap_err().to_string();
    assert!(e.contains("exceeds the limit"), "{e}");
    // The same key twice.
    let dup = write(&c, vec![note("k", b"1"), note("k", b"2")]);
    let e = GateReader::new(&dup[..]).unwrap_err().to_string();
    assert!(e.contains("duplicate annotation `k`"), "{e}");
    // Versions beyond this build's.
    let mut v3 = bytes.clone();
    v3[8] = 3;
    let e = GateReader::new(&v3[..]).unwrap_err().to_string();
    assert!(e.contains("unsupported version 3"), "{e}");
}

//! Bounded memory on hostile files, measured with a counting allocator: a tiny
//! `.gcirc` whose header claims 2^30 wires, a gate that jumps to the last of them,
//! and endless Bristol text must all cost a few megabytes, not gigabytes.
//! (A separate test binary: the allocator counts the whole process.)

use garnet_circuits::eval::LaneEval;
use garnet_circuits::format::{self, FormatError, bristol, gcirc};
use garnet_circuits::stats::Stats;
use garnet_circuits::testing::PeakAlloc;
use garnet_circuits::{Circuit, Gate, InputSpec, OutBit, OutputSpec, Party, Recipient, passes};
use std::path::PathBuf;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

const MB: usize = 1 << 20;

/// `x AND y` in a circuit whose header claims `wires` wire slots, the output in `out`.
fn claiming(wires: u32, out: u32) -> Circuit {
    Circuit {
        inputs: vec![InputSpec {
            name: "x".into(),
            owner: Party::Garbler,
            bits: 2,
            ty: Default::default(),
        }],
        outputs: vec![OutputSpec {
            name: "o".into(),
            recipient: Recipient::Evaluator,
            bits: vec![OutBit::Wire(out)],
            ty: Default::default(),
        }],
        gates: vec![Gate::and(0, 1, out)],
        wires,
        sections: vec![],
    }
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("garnet-memory-{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_header_claiming_2_pow_30_wires_costs_what_the_file_holds() {
    let bytes = gcirc::to_bytes(&claiming(1 << 30, 2));
    assert!(bytes.len() < 100, "{} bytes", bytes.len());
    let path = temp_file("huge-header.gcirc", &bytes);

    let (stats, peak) = ALLOC.measure(|| format::stats_file(&path).unwrap());
    assert_eq!(stats.and_gates, 1);
    assert!(peak < 4 * MB, "stats: {peak} bytes");

    let (c, peak) = ALLOC.measure(|| format::read_file(&path).unwrap());
    assert!(peak < 4 * MB, "read: {peak} bytes");

    let (out, peak) = ALLOC.measure(|| {
        let (interface, gates) = format::open_gates(&path).unwrap();
        let mut ev = LaneEval::for_sample(&interface, &[vec![true, true]]).unwrap();
        for g in gates {
            ev.gate(&g.unwrap());
        }
        ev.sample_outputs(&interface)
    });
    assert_eq!(out, vec![vec![true]]);
    assert!(peak < 4 * MB, "streamed eval: {peak} bytes");

    let (out, peak) = ALLOC.measure(|| c.eval(&[vec![true, false]]).unwrap());
    assert_eq!(out, vec![vec![false]]);
    assert!(peak < 4 * MB, "eval: {peak} bytes");

    let (text, peak) = ALLOC.measure(|| bristol::to_string(&c).unwrap());
    assert!(text.contains("AND"), "{text}");
    assert!(peak < 4 * MB, "conversion to Bristol: {peak} bytes");

    let (_, peak) = ALLOC.measure(|| {
        passes::validate(&c).unwrap();
        let s = Stats::of(&c);
        let o = passes::optimize(c.clone());
        (s, o)
    });
    assert!(peak < 4 * MB, "validate, stats, optimize: {peak} bytes");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_gate_jumping_to_the_last_slot_is_refused_in_bounded_memory() {
    let bytes = gcirc::to_bytes(&claiming(1 << 30, (1 << 30) - 1));
    let (r, peak) = ALLOC.measure(|| gcirc::read(&mut &bytes[..]));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("gate 0 at byte") && msg.contains("past the next fresh slot 2"),
        "{msg}"
    );
    assert!(peak < 4 * MB, "{peak} bytes");
}

#[test]
fn dev_zero_is_not_read_to_the_end() {
    let (r, peak) = ALLOC.measure(|| format::read_file(std::path::Path::new("/dev/zero")));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("/dev/zero") && msg.contains("line 1") && msg.contains("0x00"),
        "{msg}"
    );
    assert!(peak < 4 * MB, "{peak} bytes");
    let (r, peak) = ALLOC.measure(|| format::stats_file(std::path::Path::new("/dev/zero")));
    assert!(r.unwrap_err().to_string().contains("/dev/zero"));
    assert!(peak < 4 * MB, "{peak} bytes");
}

#[test]
fn an_endless_line_stops_at_the_line_limit() {
    let limits = bristol::Limits {
        max_line_bytes: 1 << 20,
        ..bristol::Limits::default()
    };
    let (r, peak) = ALLOC.measure(|| bristol::read_text(&mut std::io::repeat(b'1'), &limits));
    match r {
        Err(e @ FormatError::Bristol { line: 1, .. }) => assert!(
            e.to_string()
                .contains("longer than the limit of 1048576 bytes"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(peak < 4 * MB, "{peak} bytes");
    // Endless lines of a normal length stop at the file limit.
    let limits = bristol::Limits {
        max_bytes: 1 << 20,
        ..bristol::Limits::default()
    };
    let mut lines = std::io::Read::chain(&b"1 2\n"[..], std::io::repeat(b'\n'));
    let (r, peak) = ALLOC.measure(|| bristol::read_text(&mut lines, &limits));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("longer than the limit of 1048576 bytes"),
        "{msg}"
    );
    assert!(peak < 4 * MB, "{peak} bytes");
}

#[test]
fn read_capped_stops_at_the_limit() {
    let (r, peak) =
        ALLOC.measure(|| garnet_circuits::read_capped(std::path::Path::new("/dev/zero"), 1 << 20));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("/dev/zero") && msg.contains("1048576 bytes"),
        "{msg}"
    );
    assert!(peak < 4 * MB, "{peak} bytes");
}

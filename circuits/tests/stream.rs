//! The streaming pipeline (`passes::optimize_into_gcirc`) writes exactly the bytes
//! of the in-memory one (`gcirc::to_bytes(&passes::optimize(builder.finish()))`).

use garnet_circuits::format::gcirc;
use garnet_circuits::passes::{self, optimize_into_gcirc};
use garnet_circuits::random::{RandomSpec, random_builder_with_sections};
use garnet_circuits::{Builder, Gates, Party, Recipient};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn same_bytes(make: impl Fn() -> Builder, what: &str) {
    let want = gcirc::to_bytes(&passes::optimize(make().finish()));
    let mut got = Vec::new();
    let summary = optimize_into_gcirc(make(), &mut got).unwrap();
    assert!(got == want, "{what}: streamed bytes differ");
    let c = gcirc::read(&mut &got[..]).unwrap();
    assert_eq!(summary.gates, c.gates.len() as u64, "{what}");
    assert_eq!(summary.and_gates, c.and_count(), "{what}");
    assert_eq!(summary.wires, c.wires, "{what}");
    assert_eq!(summary.digest, gcirc::digest(&c), "{what}");
}

#[test]
fn random_builder_programs_stream_identically() {
    for seed in 0..120u64 {
        let spec = RandomSpec {
            input_widths: vec![1 + seed as u32 % 17, 5, (seed as u32 * 7) % 9],
            gates: [0, 1, 10, 300, 5000][seed as usize % 5],
            output_widths: vec![1 + seed as u32 % 5, 3, 0],
            and_fraction: [0.2, 0.5, 0.9][seed as usize % 3],
            window: [0, 8, 64][seed as usize % 3],
        };
        let sections = seed % 2 == 1;
        same_bytes(
            || random_builder_with_sections(&mut StdRng::seed_from_u64(seed), &spec, sections),
            &format!("seed {seed}"),
        );
    }
}

#[test]
fn many_windows_and_empty_sections_stream_identically() {
    // More gates than one scheduling window, sections with no (live) gates, dead
    // gates between windows, an input that is an output and a constant output.
    let make = || {
        let mut b = Builder::new();
        let x = b.input("x", Party::Garbler, 64);
        let y = b.input("y", Party::Evaluator, 64);
        let _unused = b.input("z", Party::Evaluator, 3);
        b.section("empty");
        b.section("chains");
        let mut acc = x.clone();
        let mut outs = Vec::new();
        for round in 0..1200 {
            for i in 0..64 {
                let t = b.and(acc[i], y[(i + round) % 64]);
                let u = b.xor(t, acc[(i + 1) % 64]);
                let dead = b.and(u, x[i]);
                let _ = b.xor(dead, y[i]);
                acc[i] = b.not(u);
            }
            if round % 500 == 0 {
                b.section(&format!("r{round}"));
                b.section(&format!("r{round}b"));
                outs.push(acc[0]);
            }
        }
        outs.push(x[5]);
        outs.push(b.one());
        b.output("acc", Recipient::Both, &acc);
        b.output("extra", Recipient::Garbler, &outs);
        b
    };
    same_bytes(make, "chains");
}

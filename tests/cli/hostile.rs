//! Hostile files given to the CLI (issue 14): endless weights and input files, a
//! tiny `.gcirc` claiming 2^30 wires or a 2^30-bit input, names holding terminal
//! escapes. Each is a clear error or a correct answer in bounded memory, measured
//! as the child's peak RSS under an address-space cap.

use super::measure::{self, write_gcirc};
use super::{scratch, stderr, stdout};
use garnet_circuits::{Circuit, Gate, InputSpec, Op, OutBit, OutputSpec, Party, Recipient};

const DIGITS: &str = "models/digits/digits.gnet";
const WEIGHTS: &str = "models/digits/digits.safetensors";

fn input(name: &str, owner: Party, bits: u32) -> InputSpec {
    InputSpec {
        name: name.into(),
        owner,
        bits,
        ty: Default::default(),
    }
}

fn output(name: &str, wire: u32) -> OutputSpec {
    OutputSpec {
        name: name.into(),
        recipient: Recipient::Both,
        bits: vec![OutBit::Wire(wire)],
        ty: Default::default(),
    }
}

/// `a AND b` (a the garbler's, b the evaluator's) in a file claiming `wires` slots.
fn and_claiming(wires: u32, a: &str, b: &str, out: &str) -> Circuit {
    Circuit {
        inputs: vec![input(a, Party::Garbler, 1), input(b, Party::Evaluator, 1)],
        outputs: vec![output(out, 2)],
        gates: vec![Gate {
            op: Op::And,
            a: 0,
            b: 1,
            out: 2,
        }],
        wires,
        sections: Vec::new(),
    }
}

#[test]
fn weights_and_input_files_are_read_with_a_cap() {
    let image = format!("image={}", "models/digits/inputs/sample_0.json");
    // The default limit (256 MiB) on an endless weights file, for eval and the servers.
    for args in [
        &["eval", DIGITS, "--weights", "/dev/zero", "-i", &image][..],
        &[
            "garble",
            DIGITS,
            "--weights",
            "/dev/zero",
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let m = measure::run(args, &[], 1024);
        let e = stderr(&m.out);
        assert_eq!(m.out.status.code(), Some(1), "{args:?}: {e}");
        assert!(
            e.contains("--weights") && e.contains("/dev/zero") && e.contains("268435456 bytes"),
            "{args:?}: {e}"
        );
        assert!(e.contains("GARNET_READ_LIMIT"), "{e}");
        assert!(m.peak_mib < 400, "{args:?}: peak {} MiB", m.peak_mib);
    }
    // Endless input files, the limit lowered by the environment.
    for (args, file) in [
        (
            &[
                "eval",
                DIGITS,
                "--weights",
                WEIGHTS,
                "-i",
                "image=/dev/urandom",
            ][..],
            "/dev/urandom",
        ),
        (
            &[
                "evaluate",
                DIGITS,
                "--connect",
                "127.0.0.1:9",
                "-i",
                "image=/dev/zero",
            ],
            "/dev/zero",
        ),
    ] {
        let m = measure::run(args, &[("GARNET_READ_LIMIT", "1000000")], 1024);
        let e = stderr(&m.out);
        assert_eq!(m.out.status.code(), Some(1), "{args:?}: {e}");
        assert!(
            e.contains("--input image") && e.contains(file) && e.contains("1000000 bytes"),
            "{args:?}: {e}"
        );
        assert!(m.peak_mib < 100, "{args:?}: peak {} MiB", m.peak_mib);
    }
    // A file within the limit still reads.
    let o = measure::run(
        &["eval", DIGITS, "--weights", WEIGHTS, "-i", &image],
        &[("GARNET_READ_LIMIT", "1000000")],
        1024,
    );
    assert!(o.out.status.success(), "{}", stderr(&o.out));
}

#[test]
fn a_tiny_file_claiming_2_pow_30_wires_runs_in_small_memory() {
    let f = scratch("claims-2^30-wires.gcirc");
    write_gcirc(&f, &and_claiming(1 << 30, "a", "b", "y"));
    assert!(std::fs::metadata(&f).unwrap().len() < 200);
    let f = f.to_str().unwrap();
    for args in [
        &["run", f, "-i", "a=1", "-i", "b=1", "--json"][..],
        &["run", f, "-i", "a=1", "-i", "b=1", "--json", "--in-memory"],
        &["eval", f, "-i", "a=1", "-i", "b=1", "--json"],
    ] {
        let m = measure::run(args, &[], 1024);
        assert!(m.out.status.success(), "{args:?}: {}", stderr(&m.out));
        assert!(
            stdout(&m.out).contains(r#""y":"0x1""#),
            "{}",
            stdout(&m.out)
        );
        assert!(m.peak_mib < 200, "{args:?}: peak {} MiB", m.peak_mib);
    }
    // The two parties in two processes.
    let mut server = measure::command(
        &[
            "garble",
            f,
            "--listen",
            "127.0.0.1:0",
            "--once",
            "-i",
            "a=1",
        ],
        &[],
        1024,
    )
    .spawn()
    .unwrap();
    let (addr, _log) = super::serving::listening(&mut server);
    let client = measure::run(
        &["evaluate", f, "--connect", &addr, "-i", "b=1", "--json"],
        &[],
        1024,
    );
    let server = measure::wait(server, std::time::Duration::from_secs(60));
    for m in [&client, &server] {
        assert!(m.out.status.success(), "{}", stderr(&m.out));
        assert!(m.peak_mib < 200, "peak {} MiB", m.peak_mib);
    }
    assert!(stdout(&client.out).contains(r#""y":"0x1""#));
}

#[test]
fn eval_checks_names_before_building_a_huge_input() {
    // A 2^30-bit input in a file of a few bytes: a wrong name next to it, or a
    // missing input, is an error before any of its bits exist.
    let f = scratch("huge-input.gcirc");
    let c = Circuit {
        inputs: vec![
            input("big", Party::Garbler, (1 << 30) - 1),
            input("small", Party::Evaluator, 1),
        ],
        outputs: vec![output("y", 0)],
        gates: Vec::new(),
        wires: 1 << 30,
        sections: Vec::new(),
    };
    write_gcirc(&f, &c);
    let f = f.to_str().unwrap();
    for (args, want) in [
        (
            &["eval", f, "-i", "big=1", "-i", "nosuch=1"][..],
            "no input named `nosuch`",
        ),
        (
            &["eval", f, "-i", "big=1"],
            "missing value for input `small`",
        ),
        (
            &["eval", f, "-i", "big=1", "-i", "small=2"],
            "does not fit input `small`",
        ),
    ] {
        let m = measure::run(args, &[], 1024);
        let e = stderr(&m.out);
        assert_eq!(m.out.status.code(), Some(1), "{args:?}: {e}");
        assert!(e.contains(want), "{args:?}: {e}");
        // The reader's bitset of defined slots (128 MiB for 2^30) stays; the
        // 1 GiB of input bits is never built.
        assert!(m.peak_mib < 300, "{args:?}: peak {} MiB", m.peak_mib);
    }
}

#[test]
fn names_with_terminal_escapes_are_printed_escaped() {
    let (a, b, y) = ("a\x1b[2J", "b\nforged: 1", "y\x1b]0;title\x07");
    let f = scratch("escapes.gcirc");
    write_gcirc(&f, &and_claiming(3, a, b, y));
    let f = f.to_str().unwrap();
    let (ia, ib) = (format!("{a}=1"), format!("{b}=1"));
    let cases: Vec<(Vec<&str>, bool)> = vec![
        (vec!["stats", f], true),
        (vec!["eval", f, "-i", &ia, "-i", &ib], true),
        (vec!["run", f, "-i", &ia, "-i", &ib], true),
        // errors listing or naming the inputs
        (vec!["eval", f, "-i", "nosuch=1"], false),
        (vec!["eval", f, "-i", &ia], false),
        (vec!["run", f, "-i", &ia], false),
        (vec!["run", f, "--owners", "g", "-i", &ia], false),
    ];
    for (args, ok) in cases {
        let o = measure::run(&args, &[], 1024).out;
        assert_eq!(o.status.success(), ok, "{args:?}: {}", stderr(&o));
        let (out, err) = (stdout(&o), stderr(&o));
        for text in [&out, &err] {
            assert!(
                !text.contains('\x1b') && !text.contains('\x07'),
                "{args:?}: {text:?}"
            );
            assert!(!text.contains("\nforged"), "{args:?}: {text:?}");
        }
        let shown = format!("{out}{err}");
        assert!(
            shown.contains("\\x1b") || shown.contains("b\\nforged"),
            "{args:?}: {shown:?}"
        );
    }
    let o = measure::run(&["eval", f, "-i", &ia, "-i", &ib], &[], 1024).out;
    assert!(
        stdout(&o).contains("y\\x1b]0;title\\x07 = 0x1"),
        "{:?}",
        stdout(&o)
    );
}

//! The `garnet` binary's plaintext commands, run as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "cli/hostile.rs"]
mod hostile;
#[path = "cli/measure.rs"]
mod measure;
#[path = "cli/serving.rs"]
mod serving;

fn garnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_garnet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the garnet binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("garnet-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn eval_adds_on_every_input_pair() {
    for a in 0..16u32 {
        for b in [0u32, 1, 7, 9, 15] {
            let o = garnet(&[
                "eval",
                "tests/data/adder4.txt",
                "--input",
                &format!("in0={a}"),
                "--input",
                &format!("in1=0x{b:x}"),
                "--json",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
            let hex = v["outputs"]["out0"].as_str().unwrap();
            let got = u32::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap();
            assert_eq!(got, a + b, "{a} + {b}");
        }
    }
}

#[test]
fn stats_json_has_the_documented_keys() {
    let o = garnet(&["stats", "tests/data/adder4.txt", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    for key in [
        "and_gates",
        "xor_gates",
        "not_gates",
        "wires",
        "and_depth",
        "depth",
        "inputs",
        "outputs",
        "estimated_bytes",
        "sections",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["inputs"][0]["name"], "in0");
    assert_eq!(v["inputs"][0]["owner"], "garbler");
    assert_eq!(v["inputs"][1]["owner"], "evaluator");
    let and = v["and_gates"].as_u64().unwrap();
    assert!(v["estimated_bytes"].as_u64().unwrap() >= 32 * and);
    let table = stdout(&garnet(&["stats", "tests/data/adder4.txt"]));
    assert!(table.contains("AND gates"), "{table}");
}

#[test]
fn convert_round_trip_keeps_results_and_stats() {
    let gcirc = scratch("adder.gcirc");
    let back = scratch("adder_back.txt");
    let o = garnet(&["convert", "tests/data/adder4.txt", gcirc.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = garnet(&["convert", gcirc.to_str().unwrap(), back.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = |f: &str| -> serde_json::Value {
        serde_json::from_str(&stdout(&garnet(&["stats", f, "--json"]))).unwrap()
    };
    let (a, b, c) = (
        json("tests/data/adder4.txt"),
        json(gcirc.to_str().unwrap()),
        json(back.to_str().unwrap()),
    );
    assert_eq!(a["and_gates"], b["and_gates"]);
    assert_eq!(a["and_gates"], c["and_gates"]);
    for f in [gcirc.to_str().unwrap(), back.to_str().unwrap()] {
        let o = garnet(&["eval", f, "-i", "in0=11", "-i", "in1=13", "--json"]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
        assert!(stdout(&o).contains("0x18"), "{f}: {}", stdout(&o));
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "eval",
                "tests/data/adder4.txt",
                "-i",
                "in0=16",
                "-i",
                "in1=1",
            ],
            "does not fit",
        ),
        (
            &["eval", "tests/data/adder4.txt", "-i", "in0=1"],
            "missing value for input `in1`",
        ),
        (
            &["eval", "tests/data/adder4.txt", "-i", "x=1", "-i", "in1=1"],
            "no input named `x`",
        ),
        (
            &[
                "eval",
                "tests/data/adder4.txt",
                "-i",
                "in0=0xz",
                "-i",
                "in1=1",
            ],
            "not a number",
        ),
        (&["stats", "does/not/exist.gcirc"], "does/not/exist.gcirc"),
        (&["convert", "tests/data/adder4.txt", "out.unknown"], "--to"),
    ];
    for (args, want) in cases {
        let o = garnet(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: expected `{want}` in: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn corrupt_file_is_named_in_the_error() {
    let bad = scratch("corrupt.gcirc");
    let good = scratch("good.gcirc");
    assert!(
        garnet(&["convert", "tests/data/adder4.txt", good.to_str().unwrap()])
            .status
            .success()
    );
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&bad, &bytes).unwrap();
    let cut = scratch("cut.gcirc");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    // stats and eval stream the gates: a damage found after some gates is still an
    // error, never statistics or outputs of part of the circuit
    for (file, name) in [(&bad, "corrupt.gcirc"), (&cut, "cut.gcirc")] {
        for args in [
            vec!["stats", file.to_str().unwrap()],
            vec!["eval", file.to_str().unwrap(), "-i", "in0=1", "-i", "in1=2"],
        ] {
            let o = garnet(&args);
            assert!(!o.status.success(), "{args:?}");
            let err = stderr(&o);
            assert!(err.contains(name), "{err}");
            assert!(!err.contains("panicked"), "{err}");
            assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        }
    }
}

#[test]
fn demo_classifies_privately_and_agrees_with_the_plaintext_model() {
    // the README's first command, on a few images
    let o = garnet(&["demo", "--count", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("secure = plaintext model    4/4"), "{out}");
    // the circuit it announces is the bundled model's
    let st = garnet(&["stats", "models/digits/digits.gnet", "--json"]);
    let ands: serde_json::Value = serde_json::from_str(&stdout(&st)).unwrap();
    let ands = ands["and_gates"].as_u64().unwrap();
    let grouped = garnet_circuits::stats::group(ands);
    assert!(out.contains(&format!("{grouped} AND gates")), "{out}");
    // one row per image, each with its agreement
    assert_eq!(
        out.lines().filter(|l| l.contains(" yes ")).count(),
        4,
        "{out}"
    );
}

/// Runs garnet with standard output going to `/dev/full`.
fn garnet_to_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    Command::new(env!("CARGO_BIN_EXE_garnet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(full)
        .output()
        .expect("the garnet binary runs")
}

#[test]
fn a_full_standard_output_is_an_error_not_a_panic() {
    for args in [
        &["stats", "tests/data/adder4.txt"][..],
        &["stats", "tests/data/adder4.txt", "--json"],
        &[
            "eval",
            "tests/data/adder4.txt",
            "-i",
            "in0=1",
            "-i",
            "in1=2",
        ],
    ] {
        let o = garnet_to_full(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("cannot write to standard output"),
            "{args:?}: {e}"
        );
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}

#[test]
fn compile_refuses_to_overwrite_its_source_or_write_two_outputs_to_one_path() {
    let src = scratch("self.gnet");
    std::fs::copy("models/digits/digits.gnet", &src).unwrap();
    let before = std::fs::read(&src).unwrap();
    let s = src.to_str().unwrap();
    let o = garnet(&[
        "compile",
        s,
        "-o",
        s,
        "--weights",
        "models/digits/digits.safetensors",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("is the network source itself"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(&src).unwrap(),
        before,
        "the source is untouched"
    );
    let out = scratch("both.gcirc");
    let out_s = out.to_str().unwrap();
    let o = garnet(&["compile", s, "-o", out_s, "--bristol", out_s]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--bristol"), "{}", stderr(&o));
    let o = garnet(&["convert", "tests/data/adder4.txt", "tests/data/adder4.txt"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is the input itself"), "{}", stderr(&o));
}

#[test]
fn outputs_replace_the_old_file_only_when_complete() {
    use std::os::unix::fs::MetadataExt;
    // Written beside and renamed over: the old file is never truncated in place, so a
    // killed write leaves it whole (a new inode replaces it), and no temporary stays.
    let out = scratch("replaced.gcirc");
    std::fs::write(&out, b"old contents").unwrap();
    let old_inode = std::fs::metadata(&out).unwrap().ino();
    let o = garnet(&[
        "compile",
        "models/digits/digits.gnet",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::metadata(&out).unwrap().ino(), old_inode);
    let text = scratch("replaced.txt");
    std::fs::write(&text, b"old").unwrap();
    let old_inode = std::fs::metadata(&text).unwrap().ino();
    let o = garnet(&["convert", out.to_str().unwrap(), text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::metadata(&text).unwrap().ino(), old_inode);
    let dir = out.parent().unwrap();
    let temps: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temporaries left: {temps:?}");
}

#[test]
fn a_network_without_parameters_compiles_without_weights() {
    let src = scratch("noparams.gnet");
    std::fs::write(
        &src,
        "network nop {\n    format q = fixed(8, 4);\n    input x : q[4] from client;\n    h = relu(x);\n    output y = h to client;\n}\n",
    )
    .unwrap();
    let out = scratch("noparams.gcirc");
    let o = garnet(&[
        "compile",
        src.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = garnet(&["stats", src.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A network with public parameters still needs them, and names them.
    let public = scratch("public.gnet");
    std::fs::write(
        &public,
        "network pub1 {\n    format q = fixed(8, 4);\n    input x : q[4] from client;\n    params public;\n    fc = dense(x, 2);\n    output y = argmax(fc) to client;\n}\n",
    )
    .unwrap();
    let o = garnet(&[
        "compile",
        public.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fc.weight"), "{}", stderr(&o));
}

//! A trained network between two `garnet` processes, as the README shows it: the
//! server garbles `digits.gnet` with its weights, the client evaluates with an image.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const EXE: &str = env!("CARGO_BIN_EXE_garnet");

fn model(file: &str) -> String {
    format!("{}/models/digits/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn json_label(stdout: &[u8]) -> i64 {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    v["outputs"]["label"]
        .as_i64()
        .unwrap_or_else(|| panic!("no label in {v}"))
}

/// A `garnet garble --once` server for the digits model: the process, its address,
/// and its standard error lines (collected until it exits).
fn garbler_once(
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    std::thread::JoinHandle<Vec<String>>,
) {
    let mut server = Command::new(EXE)
        .args([
            "garble",
            &model("digits.gnet"),
            "--weights",
            &model("digits.safetensors"),
        ])
        .args(["--listen", "127.0.0.1:0", "--once", "--timeout", "20"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let first = lines.next().expect("the garbler printed nothing").unwrap();
    let addr = first
        .strip_prefix("garbler: ready, listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .trim()
        .to_string();
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    (server, addr, log)
}

#[test]
fn garbler_and_evaluator_processes_classify_like_the_reference() {
    for sample in [
        "inputs/sample_0.json",
        "inputs/sample_1.csv",
        "inputs/sample_0.npy",
    ] {
        let (mut server, addr, _log) = garbler_once(&[]);
        let client = Command::new(EXE)
            .args([
                "evaluate",
                &model("digits.gnet"),
                "--connect",
                &addr,
                "--json",
            ])
            .args([
                "--input",
                &format!("image={}", model(sample)),
                "--timeout",
                "20",
            ])
            .output()
            .unwrap();
        assert!(
            client.status.success(),
            "{}",
            String::from_utf8_lossy(&client.stderr)
        );
        assert!(server.wait().unwrap().success(), "the garbler failed");
        let reference = Command::new(EXE)
            .args([
                "eval",
                &model("digits.gnet"),
                "--weights",
                &model("digits.safetensors"),
            ])
            .args([
                "--input",
                &format!("image={}", model(sample)),
                "--reference",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            reference.status.success(),
            "{}",
            String::from_utf8_lossy(&reference.stderr)
        );
        assert_eq!(
            json_label(&client.stdout),
            json_label(&reference.stdout),
            "{sample}"
        );
        // The client's report must not leak labels or Δ: it only has sizes and times.
        let report = String::from_utf8_lossy(&client.stderr);
        assert!(report.contains("evaluation"), "{report}");
    }
}

#[test]
fn the_parameter_owner_must_bring_weights() {
    let out = Command::new(EXE)
        .args([
            "garble",
            &model("digits.gnet"),
            "--listen",
            "127.0.0.1:0",
            "--once",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--weights"), "{err}");
}

#[test]
fn one_session_classifies_several_images_like_the_reference() {
    let samples = [
        "inputs/sample_0.json",
        "inputs/sample_1.csv",
        "inputs/sample_0.npy",
    ];
    let (mut server, addr, server_log) = garbler_once(&[]);
    let mut args: Vec<String> = [
        "evaluate",
        &model("digits.gnet"),
        "--connect",
        &addr,
        "--json",
    ]
    .map(String::from)
    .to_vec();
    for s in samples {
        args.push("--input".into());
        args.push(format!("image={}", model(s)));
    }
    let client = Command::new(EXE).args(&args).output().unwrap();
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(server.wait().unwrap().success(), "the garbler failed");
    // one JSON line per image, in order, each the reference's label
    let got: Vec<i64> = client
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(json_label)
        .collect();
    let want: Vec<i64> = samples
        .iter()
        .map(|s| {
            let r = Command::new(EXE)
                .args([
                    "eval",
                    &model("digits.gnet"),
                    "--weights",
                    &model("digits.safetensors"),
                    "--reference",
                    "--json",
                    "--input",
                    &format!("image={}", model(s)),
                ])
                .output()
                .unwrap();
            json_label(&r.stdout)
        })
        .collect();
    assert_eq!(got, want);
    // one session: the server reports its inferences together, with the base OTs'
    // 4 KiB once and one OT extension (16 KiB for 1,024 image bits) per image
    let log = server_log.join().unwrap().join("\n");
    assert!(log.contains("3 inferences in one session"), "{log}");
    let phase = |name: &str| -> String {
        log.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {log}"))
            .to_string()
    };
    assert!(phase("base OT").contains("4.0 KiB"), "{log}");
    assert!(phase("OT extension").contains("48.0 KiB"), "{log}");
}

#[test]
fn a_server_caps_the_inferences_of_a_session() {
    let (mut server, addr, log) = garbler_once(&["--max-inferences", "2"]);
    let image = format!("image={}", model("inputs/sample_0.json"));
    let client = Command::new(EXE)
        .args(["evaluate", &model("digits.gnet"), "--connect", &addr])
        .args(["-i", &image, "-i", &image, "-i", &image, "--timeout", "20"])
        .output()
        .unwrap();
    assert!(!client.status.success(), "the third inference is refused");
    assert!(!server.wait().unwrap().success());
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("more than the 2 inferences"), "{log}");
    // what the two finished inferences cost is still reported
    assert!(
        log.contains("ended early") && log.contains("2 inferences"),
        "{log}"
    );
}

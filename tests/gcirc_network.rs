//! A compiled network (`.gcirc`) as the whole artifact, between two processes:
//! `garnet compile` once, `garnet garble FILE.gcirc --weights` serves it and
//! `garnet evaluate FILE.gcirc` classifies files of many samples; every prediction
//! equals `garnet eval` on the `.gnet` and the numpy fixed-point simulation. Also:
//! a client that starts before its server, one whose server never comes, a
//! zero-width Bristol input, and a server stopped by SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_garnet");

fn model(name: &str, file: &str) -> String {
    format!("{}/models/{name}/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("garnet-gcnet-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Labels of `--json` output, one object per line.
fn labels(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["outputs"]["label"]
                .as_i64()
                .unwrap_or_else(|| panic!("no label: {l}"))
        })
        .collect()
}

/// An int64 `.npy` vector (the numpy simulation's predictions).
fn npy_i64(path: &str) -> Vec<i64> {
    let b = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + header_len..]
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Kills the server if a test fails before it exits.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `garnet garble ARGS --listen ADDR`: the process, its address once it prints that
/// it is ready, and its remaining standard error lines.
fn garble(args: &[&str], listen: &str) -> (Server, String, std::thread::JoinHandle<Vec<String>>) {
    let mut c = Command::new(EXE)
        .arg("garble")
        .args(args)
        .args(["--listen", listen, "--timeout", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(c.stderr.take().unwrap()).lines();
    let mut addr = None;
    for l in lines.by_ref() {
        let l = l.unwrap();
        if let Some(a) = l.strip_prefix("garbler: ready, listening on ") {
            addr = Some(a.trim().to_string());
            break;
        }
    }
    let addr = addr.expect("the garbler never said it was ready");
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    (Server(c), addr, log)
}

fn compile(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.gcirc"));
    let o = Command::new(EXE)
        .args(["compile", &model(name, &format!("{name}.gnet")), "-o"])
        .arg(&out)
        .output()
        .unwrap();
    ok(&o);
    out
}

/// Compile, serve the `.gcirc` with the weights, classify `input` (many samples)
/// from the `.gcirc`; compare with `eval` of the `.gnet` and of the `.gcirc`, and
/// with the numpy simulation's predictions (`first` of them).
fn check(name: &str, input: &str, first: usize) {
    let dir = scratch(name);
    let gcirc = compile(name, &dir);
    let gcirc_s = gcirc.to_str().unwrap();
    let weights = model(name, &format!("{name}.safetensors"));
    let input_name = if name.starts_with("digits") {
        "image"
    } else {
        "x"
    };
    let input = format!("{input_name}={input}");
    let (mut server, addr, log) =
        garble(&[gcirc_s, "--weights", &weights, "--once"], "127.0.0.1:0");
    let client = Command::new(EXE)
        .args([
            "evaluate",
            gcirc_s,
            "--connect",
            &addr,
            "--json",
            "--input",
            &input,
        ])
        .args(["--timeout", "30"])
        .output()
        .unwrap();
    let secure = labels(&ok(&client));
    assert!(server.0.wait().unwrap().success());
    let log = log.join().unwrap().join("\n");
    assert!(
        log.contains(&format!("inferences={} ", secure.len())) && log.contains("outcome=ok"),
        "{log}"
    );
    let gnet = model(name, &format!("{name}.gnet"));
    let eval = |file: &str, extra: &[&str]| {
        let o = Command::new(EXE)
            .args([
                "eval",
                file,
                "--weights",
                &weights,
                "--json",
                "--input",
                &input,
            ])
            .args(extra)
            .output()
            .unwrap();
        labels(&ok(&o))
    };
    let plain = eval(&gnet, &[]);
    let reference = eval(&gnet, &["--reference"]);
    let compiled = eval(gcirc_s, &[]);
    let numpy = npy_i64(&model(name, "test_fixed_predictions.npy"));
    assert_eq!(secure.len(), first);
    assert_eq!(secure, plain);
    assert_eq!(secure, reference);
    assert_eq!(secure, compiled);
    assert_eq!(secure, numpy[..first]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compiled_digits_served_from_the_gcirc_classify_an_npy_batch() {
    check("digits", &model("digits", "test_inputs.npy"), 360);
}

/// The projected and pruned model: its `.gcirc` carries the public file (masks and
/// projection matrix), so the client projects raw images from the `.gcirc` alone
/// (compiled into a scratch directory, away from the public file).
#[test]
fn compiled_digits_pp_served_from_the_gcirc_projects_raw_images() {
    check("digits_pp", &model("digits_pp", "test_inputs.npy"), 360);
}

#[test]
fn compiled_breast_cancer_served_from_the_gcirc_classify_csv_rows() {
    // The first 60 test samples as CSV rows.
    let dir = scratch("bc-csv");
    let set: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(model("breast_cancer", "test.json")).unwrap(),
    )
    .unwrap();
    let rows: Vec<String> = set["inputs"].as_array().unwrap()[..60]
        .iter()
        .map(|r| {
            let v: Vec<String> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            v.join(",")
        })
        .collect();
    let csv = dir.join("rows.csv");
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    check("breast_cancer", csv.to_str().unwrap(), 60);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_started_before_its_server_waits_for_it() {
    let dir = scratch("late");
    let gcirc = compile("digits", &dir);
    let gcirc_s = gcirc.to_str().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let client = Command::new(EXE)
        .args(["evaluate", gcirc_s, "--connect", &addr, "--json"])
        .args([
            "--input",
            &format!("image={}", model("digits", "inputs/sample_0.json")),
        ])
        .args(["--connect-timeout", "60", "--timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let weights = model("digits", "digits.safetensors");
    let (mut server, _, _log) = garble(&[gcirc_s, "--weights", &weights, "--once"], &addr);
    let out = client.wait_with_output().unwrap();
    let stdout = ok(&out);
    assert_eq!(labels(&stdout).len(), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("waiting for the server").count(), 1, "{err}");
    assert!(server.0.wait().unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_whose_server_never_comes_fails_after_the_connect_timeout() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let start = Instant::now();
    let out = Command::new(EXE)
        .args([
            "evaluate",
            &model("digits", "digits.gnet"),
            "--connect",
            &addr,
        ])
        .args([
            "--input",
            &format!("image={}", model("digits", "inputs/sample_0.json")),
        ])
        .args(["--connect-timeout", "1.5"])
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "no server accepted a connection at {addr} within 1.5 s (--connect-timeout)"
        )),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(20),
        "{took:?}"
    );
}

#[test]
fn a_zero_width_bristol_input_needs_no_value() {
    // Old Bristol format, inputs `4 0`: in1 has no bits.
    let file = format!(
        "{}/tests/data/zero_width_old.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    for v in [5u32, 12, 0] {
        let o = Command::new(EXE)
            .args(["eval", &file, "--input", &format!("in0={v}"), "--json"])
            .output()
            .unwrap();
        let got: serde_json::Value = serde_json::from_str(ok(&o).trim()).unwrap();
        let b = |i: u32| (v >> i) & 1;
        let want = (b(0) ^ 1) | (b(1) ^ 1) << 1 | (b(2) ^ b(3)) << 2 | (b(0) & b(3)) << 3;
        assert_eq!(got["outputs"]["out0"], format!("0x{want:x}"), "in0={v}");
    }
    // Two parties: the garbler owns in0, the evaluator's in1 is empty.
    let o = Command::new(EXE)
        .args(["run", &file, "--input", "in0=5", "--json"])
        .output()
        .unwrap();
    assert!(ok(&o).contains("\"out0\":\"0x6\""));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let (mut server, _, log) = garble(
        &[
            &model("digits", "digits.gnet"),
            "--weights",
            &model("digits", "digits.safetensors"),
        ],
        "127.0.0.1:0",
    );
    let st = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("stopped after 0 session(s)"), "{log}");
}

/// `convert` of a compiled network to `.gcirc` keeps the network in it (the copy
/// still takes `--weights` and input files, and is the same circuit); to Bristol it
/// says that the network is dropped.
#[test]
fn converting_a_compiled_network_keeps_it_a_network() {
    let dir = scratch("convert");
    let gcirc = compile("digits", &dir);
    let copy = dir.join("copy.gcirc");
    ok(&Command::new(EXE)
        .arg("convert")
        .args([&gcirc, &copy])
        .output()
        .unwrap());
    assert_eq!(
        std::fs::read(&gcirc).unwrap(),
        std::fs::read(&copy).unwrap(),
        "a .gcirc copied through convert is the same bytes"
    );
    let weights = model("digits", "digits.safetensors");
    let input = format!("image={}", model("digits", "test_inputs.npy"));
    let eval = |file: &Path| {
        let o = Command::new(EXE)
            .arg("eval")
            .arg(file)
            .args(["--weights", &weights, "--json", "--input", &input])
            .output()
            .unwrap();
        labels(&ok(&o))
    };
    let copied = eval(&copy);
    assert_eq!(copied.len(), 360);
    assert_eq!(copied, eval(&gcirc));

    let text = dir.join("digits.txt");
    let o = Command::new(EXE)
        .arg("convert")
        .args([&copy, &text])
        .output()
        .unwrap();
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot carry the network"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

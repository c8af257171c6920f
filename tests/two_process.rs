//! Two-party sessions between two `garnet` processes over real loopback TCP: the
//! evaluator's outputs equal plaintext evaluation (`garnet eval`), for our Bristol
//! test circuits and for a random circuit streamed from a .gcirc file; a server
//! keeps serving after a client fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_garnet");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Kills the child on drop, so a failing test leaves no server behind.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `garnet garble` on a free loopback port and returns it with its address.
fn garbler(circuit: &Path, inputs: &[&str], extra: &[&str]) -> Server {
    let mut cmd = Command::new(EXE);
    cmd.arg("garble")
        .arg(circuit)
        .args(["--listen", "127.0.0.1:0", "--timeout", "10"])
        .args(extra);
    for i in inputs {
        cmd.args(["--input", i]);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("garbler printed nothing").unwrap();
    let addr = first
        .strip_prefix("garbler: ready, listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first}"));
    let addr = addr.trim().to_string();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server(child, addr)
}

fn evaluate(circuit: &Path, addr: &str, inputs: &[&str], extra: &[&str]) -> Output {
    let mut cmd = Command::new(EXE);
    cmd.arg("evaluate")
        .arg(circuit)
        .args(["--connect", addr, "--json", "--timeout", "10"])
        .args(extra);
    for i in inputs {
        cmd.args(["--input", i]);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn plain(circuit: &Path, inputs: &[&str]) -> String {
    let mut cmd = Command::new(EXE);
    cmd.arg("eval").arg(circuit).arg("--json");
    for i in inputs {
        cmd.args(["--input", i]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn check_once(circuit: &Path, g_inputs: &[&str], e_inputs: &[&str]) {
    let start = Instant::now();
    let mut server = garbler(circuit, g_inputs, &["--once"]);
    let out = evaluate(circuit, &server.1, e_inputs, &[]);
    assert!(
        out.status.success(),
        "evaluate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<&str> = g_inputs.iter().chain(e_inputs).copied().collect();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        plain(circuit, &all),
        "{}",
        circuit.display()
    );
    // --once: the garbler exits by itself, successfully.
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "garbler --once did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bristol_circuits_over_tcp_match_plaintext() {
    for (a, b) in [(0u32, 0u32), (5, 9), (15, 15), (7, 12)] {
        let (x, y) = (format!("in0={a}"), format!("in1={b}"));
        check_once(&data("adder4.txt"), &[&x], &[&y]);
        check_once(&data("comparator4.txt"), &[&x], &[&y]);
    }
}

#[test]
fn owners_flag_moves_inputs_between_parties() {
    // Both inputs to the evaluator: the garbler gives none.
    let owners = ["--owners", "evaluator,e"];
    let mut server = garbler(&data("adder4.txt"), &[], &["--once", owners[0], owners[1]]);
    let out = evaluate(&data("adder4.txt"), &server.1, &["in0=3", "in1=4"], &owners);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        plain(&data("adder4.txt"), &["in0=3", "in1=4"])
    );
    assert!(server.0.wait().unwrap().success());
}

fn random_gcirc(dir: &Path) -> PathBuf {
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let spec = RandomSpec {
        input_widths: vec![32, 32],
        gates: 20_000,
        output_widths: vec![16, 16, 16],
        and_fraction: 0.5,
        window: 128,
    };
    let c = garnet_circuits::passes::optimize(random_circuit(&mut rng, &spec));
    let path = dir.join("random.gcirc");
    garnet_circuits::format::write_file(&path, &c, garnet_circuits::format::Format::Gcirc).unwrap();
    path
}

#[test]
fn streamed_gcirc_and_a_server_that_survives_bad_clients() {
    let dir = std::env::temp_dir().join(format!("garnet-two-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = random_gcirc(&dir);
    // Owners alternate garbler, evaluator: in0 is the garbler's, in1 the evaluator's.
    let x = "in0=0x89abcdef";
    let server = garbler(&path, &[x], &["--max-sessions", "2"]);
    // A client that sends garbage, and one with another circuit: both fail cleanly.
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(&server.1).unwrap();
        s.write_all(&[0xAB; 500]).unwrap();
    }
    let wrong = evaluate(&data("adder4.txt"), &server.1, &["in1=1"], &[]);
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("handshake"), "{err}");
    // Then real clients, which get the right answer.
    for v in ["0", "12345", "0xffffffff"] {
        let e_in = format!("in1={v}");
        let out = evaluate(&path, &server.1, &[&e_in], &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let want: serde_json::Value = serde_json::from_str(&plain(&path, &[x, &e_in])).unwrap();
        // The evaluator prints only the outputs addressed to it.
        for (name, value) in got["outputs"].as_object().unwrap() {
            assert_eq!(value, &want["outputs"][name], "output {name}");
        }
        assert!(!got["outputs"].as_object().unwrap().is_empty());
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evaluator_without_a_garbler_fails_after_the_connect_timeout() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    drop(l);
    let start = Instant::now();
    let out = evaluate(
        &data("adder4.txt"),
        &addr,
        &["in1=1"],
        &["--connect-timeout", "2"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waiting for the server"), "{err}");
    assert!(err.contains("within 2.0 s (--connect-timeout)"), "{err}");
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn run_command_prints_eval_shaped_json() {
    for extra in [&[][..], &["--in-memory"][..]] {
        let out = Command::new(EXE)
            .args(["run"])
            .arg(data("adder4.txt"))
            .args(["--input", "in0=11", "--input", "in1=6", "--json"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            plain(&data("adder4.txt"), &["in0=11", "in1=6"])
        );
        // The per-phase report goes to stderr with --json, and names every phase.
        let err = String::from_utf8_lossy(&out.stderr);
        for phase in [
            "handshake",
            "base OT",
            "OT extension",
            "garbling",
            "evaluation",
            "outputs",
        ] {
            assert!(err.contains(phase), "no `{phase}` in report:\n{err}");
        }
    }
}

/// `garnet bench --json` runs end to end (two processes) and reports every key.
/// Only the shape is checked; speed is for benchmarks, not tests.
#[test]
fn bench_json_has_the_documented_keys() {
    let out = Command::new(EXE)
        .args([
            "bench",
            "--json",
            "--ands",
            "200000",
            "--layer-ands",
            "20000",
            "--cots",
            "20000",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "garble_ns_per_and",
        "eval_ns_per_and",
        "cot_per_second",
        "e2e_and_per_second",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no number `{key}` in {v}"));
        assert!(x.is_finite() && x > 0.0, "{key} = {x}");
    }
}

/// `garnet garble --once` with its whole standard error collected in the background.
fn garbler_once(
    circuit: &Path,
    inputs: &[&str],
    extra: &[&str],
) -> (Child, String, std::thread::JoinHandle<String>) {
    let mut cmd = Command::new(EXE);
    cmd.arg("garble")
        .arg(circuit)
        .args(["--listen", "127.0.0.1:0", "--timeout", "10", "--once"])
        .args(extra);
    for i in inputs {
        cmd.args(["--input", i]);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("garbler printed nothing").unwrap();
    let addr = first
        .strip_prefix("garbler: ready, listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .trim()
        .to_string();
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    (child, addr, rest)
}

#[test]
fn schemes_must_match_and_three_halves_between_processes_gives_plaintext() {
    let dir = std::env::temp_dir().join(format!("garnet-two-process-3h-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = random_gcirc(&dir);
    let (x, y) = ("in0=0x1234abcd", "in1=987654");
    // The garbler asks for three-halves, the evaluator for the default half-gates.
    let (mut g, addr, g_err) = garbler_once(&path, &[x], &["--scheme", "three-halves"]);
    let out = evaluate(&path, &addr, &[y], &[]);
    assert!(!out.status.success());
    let e_err = String::from_utf8_lossy(&out.stderr);
    assert!(
        e_err
            .contains("garbling scheme mismatch: this side uses half-gates, the peer three-halves"),
        "{e_err}"
    );
    assert!(!g.wait().unwrap().success());
    let g_err = g_err.join().unwrap();
    assert!(
        g_err
            .contains("garbling scheme mismatch: this side uses three-halves, the peer half-gates"),
        "{g_err}"
    );
    // Both three-halves: the plaintext outputs, and the report says so.
    let (mut g, addr, g_err) = garbler_once(&path, &[x], &["--scheme", "three-halves"]);
    let out = evaluate(&path, &addr, &[y], &["--scheme", "three-halves"]);
    let e_err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e_err}");
    assert!(g.wait().unwrap().success(), "{}", g_err.join().unwrap());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: serde_json::Value = serde_json::from_str(&plain(&path, &[x, y])).unwrap();
    for (name, value) in got["outputs"].as_object().unwrap() {
        assert_eq!(value, &want["outputs"][name], "output {name}");
    }
    assert!(
        e_err.contains("three-halves") && e_err.contains("bytes of tables per AND"),
        "{e_err}"
    );
    // An unknown scheme is a usage error naming the choices.
    let bad = Command::new(EXE)
        .args(["run"])
        .arg(&path)
        .args(["--scheme", "quarter-gates"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("half-gates or three-halves"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

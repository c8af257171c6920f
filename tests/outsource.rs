//! `garnet outsource`: client, proxy and server as three processes on the digits
//! model. The client's results equal `garnet eval` on every bundled test input;
//! the proxy and the server print only sizes and times (no label, no output).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

const EXE: &str = env!("CARGO_BIN_EXE_garnet");

fn model(file: &str) -> String {
    format!("{}/models/digits/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A server or proxy process, its address and its stderr lines (until it exits).
struct Role {
    child: Child,
    addr: String,
    log: JoinHandle<Vec<String>>,
}

fn start(args: &[&str]) -> Role {
    let mut child = Command::new(EXE)
        .args(["outsource"])
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--jobs", "1", "--timeout", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("it printed nothing").unwrap();
    let addr = first
        .split_once("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {first}"))
        .1
        .trim()
        .to_string();
    let log = std::thread::spawn(move || {
        std::iter::once(first)
            .chain(lines.map_while(Result::ok))
            .collect()
    });
    Role { child, addr, log }
}

/// What a role printed: its stdout and its stderr lines.
type Printed = (String, Vec<String>);

/// Waits for a role: its stdout and stderr lines.
fn finish(r: Role) -> Printed {
    let out = r.child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    (
        String::from_utf8(out.stdout).unwrap(),
        r.log.join().unwrap(),
    )
}

/// One outsourced job on `input`: the client's output and both helpers' prints.
fn outsourced(input: &str) -> (Output, Printed, Printed) {
    let server = start(&[
        "server",
        &model("digits.gnet"),
        "--weights",
        &model("digits.safetensors"),
    ]);
    let proxy = start(&["proxy", &model("digits.gnet"), "--server", &server.addr]);
    let client = Command::new(EXE)
        .args(["outsource", "client", &model("digits.gnet"), "--json"])
        .args(["--input", &format!("image={input}")])
        .args(["--proxy", &proxy.addr, "--server", &server.addr])
        .output()
        .unwrap();
    (client, finish(proxy), finish(server))
}

/// What the proxy and server may print: their address and one line per job with
/// sizes and times. Nothing else, so nothing about inputs or results.
fn only_sizes(role: &str, (stdout, stderr): &Printed, samples: usize) {
    assert_eq!(stdout, "", "{role} printed to stdout");
    assert_eq!(stderr.len(), 2, "{role}: {stderr:?}");
    assert!(stderr[0].starts_with(&format!("{role}: listening on 127.0.0.1:")));
    let job = &stderr[1];
    let prefix = format!("{role} job samples={samples} sent=");
    assert!(job.starts_with(&prefix), "{job}");
    assert!(job.ends_with(" outcome=ok"), "{job}");
    assert!(!job.contains("label"), "{job}");
}

#[test]
fn three_processes_classify_every_test_input_like_the_plaintext_model() {
    let inputs = model("test_inputs.npy");
    let (client, proxy, server) = outsourced(&inputs);
    let stderr = String::from_utf8_lossy(&client.stderr);
    assert!(client.status.success(), "{stderr}");
    let reference = Command::new(EXE)
        .args(["eval", &model("digits.gnet"), "--json"])
        .args(["--weights", &model("digits.safetensors")])
        .args(["--input", &format!("image={inputs}")])
        .output()
        .unwrap();
    assert!(reference.status.success());
    let got = String::from_utf8(client.stdout).unwrap();
    let want = String::from_utf8(reference.stdout).unwrap();
    assert_eq!(got.lines().count(), 360);
    assert!(
        got.lines()
            .all(|l| l.starts_with("{\"outputs\":{\"label\":"))
    );
    assert_eq!(got, want);
    only_sizes("proxy", &proxy, 360);
    only_sizes("server", &server, 360);
}

#[test]
fn proxy_and_server_print_nothing_about_a_single_input_or_its_label() {
    let (client, proxy, server) = outsourced(&model("inputs/sample_1.csv"));
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let got = String::from_utf8(client.stdout).unwrap();
    assert!(got.starts_with("{\"outputs\":{\"label\":"), "{got}");
    only_sizes("proxy", &proxy, 1);
    only_sizes("server", &server, 1);
}

#[test]
fn a_client_whose_server_is_gone_gets_a_clear_error() {
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let out = Command::new(EXE)
        .args(["outsource", "client", &model("digits.gnet")])
        .args([
            "--input",
            &format!("image={}", model("inputs/sample_0.json")),
        ])
        .args([
            "--proxy",
            &addr,
            "--server",
            &addr,
            "--connect-timeout",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("cannot reach the server"), "{e}");
}

#[test]
fn a_server_that_hangs_up_fails_the_job_with_a_clear_error_at_the_client() {
    // A "server" that accepts the client's and the proxy's connections and closes them.
    let fake = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = fake.local_addr().unwrap().to_string();
    let hangs_up = std::thread::spawn(move || {
        for _ in 0..2 {
            drop(fake.accept().unwrap());
        }
    });
    let proxy = start(&["proxy", &model("digits.gnet"), "--server", &addr]);
    let out = Command::new(EXE)
        .args(["outsource", "client", &model("digits.gnet")])
        .args([
            "--input",
            &format!("image={}", model("inputs/sample_0.json")),
        ])
        .args(["--proxy", &proxy.addr, "--server", &addr])
        .output()
        .unwrap();
    hangs_up.join().unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("the proxy's job failed"), "{e}");
    let (_, log) = finish(proxy);
    assert!(log[1].contains("outcome=failed"), "{log:?}");
}

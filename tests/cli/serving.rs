//! Servers under hostile or failing conditions (issue 14): clients trickling a
//! byte every second or two must not hold the session slots, and a client whose
//! server dies mid-session keeps the results it already has and names the rest.

use super::measure;
use super::stderr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Waits for a `garnet garble` child to print its address; the rest of its
/// standard error is copied on into the returned log.
pub fn listening(child: &mut Child) -> (String, Arc<Mutex<String>>) {
    let err = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(err).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(a) = line.strip_prefix("garbler: ready, listening on ") {
            break a.trim().to_string();
        }
    };
    let log = Arc::new(Mutex::new(String::new()));
    let l2 = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let mut l = l2.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    (addr, log)
}

/// A client that connects and sends one byte every `every`, reading what comes
/// back, until the server closes the connection; returns how long that took.
fn trickle(addr: &str, every: Duration, give_up: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(every)).unwrap();
    // A well-formed hello (magic, version 2, the evaluator's role, ...), slowly.
    let mut hello = b"GARNET2P".to_vec();
    hello.extend(2u32.to_le_bytes());
    hello.push(2);
    hello.extend([0u8; 256]);
    let mut bytes = hello.into_iter();
    while start.elapsed() < give_up {
        let byte = bytes.next()?;
        if s.write_all(&[byte]).is_err() {
            return Some(start.elapsed());
        }
        let pause = Instant::now();
        while pause.elapsed() < every {
            let mut buf = [0u8; 4096];
            match s.read(&mut buf) {
                Ok(0) => return Some(start.elapsed()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return Some(start.elapsed()),
            }
        }
    }
    None
}

#[test]
fn tricklers_are_dropped_and_a_correct_client_is_served() {
    let mut server = measure::command(
        &[
            "garble",
            "tests/data/adder4.txt",
            "--listen",
            "127.0.0.1:0",
            "--max-sessions",
            "2",
            "-i",
            "in0=5",
        ],
        &[],
        2048,
    )
    .spawn()
    .unwrap();
    let (addr, log) = listening(&mut server);
    let give_up = Duration::from_secs(90);
    let tricklers: Vec<_> = [1000u64, 2500]
        .into_iter()
        .map(|ms| {
            let a = addr.clone();
            std::thread::spawn(move || trickle(&a, Duration::from_millis(ms), give_up))
        })
        .collect();
    // Both slots are taken by the tricklers; a correct client waits its turn.
    std::thread::sleep(Duration::from_millis(500));
    let client = measure::run(
        &[
            "evaluate",
            "tests/data/adder4.txt",
            "--connect",
            &addr,
            "-i",
            "in1=9",
            "--json",
        ],
        &[],
        1024,
    );
    assert!(client.out.status.success(), "{}", stderr(&client.out));
    assert!(
        String::from_utf8_lossy(&client.out.stdout).contains(r#""out0":"0x0e""#),
        "{}",
        String::from_utf8_lossy(&client.out.stdout)
    );
    for t in tricklers {
        let dropped = t.join().unwrap();
        assert!(
            dropped.is_some(),
            "a trickler held its slot for {give_up:?}"
        );
    }
    let peak = measure::peak_kib(server.id()).unwrap_or(0) / 1024;
    server.kill().unwrap();
    server.wait().unwrap();
    let log = log.lock().unwrap().clone();
    assert_eq!(log.matches("peer too slow").count(), 2, "{log}");
    assert!(log.contains("--min-rate"), "{log}");
    assert!(peak < 200, "server peak {peak} MiB");
}

#[test]
fn a_client_prints_each_result_and_names_the_failed_ones_when_the_server_dies() {
    let digits = "models/digits/digits.gnet";
    let images = "image=models/digits/test_inputs.npy";
    // The plaintext answers of the 360 test images.
    let plain = super::garnet(&[
        "eval",
        digits,
        "--weights",
        "models/digits/digits.safetensors",
        "-i",
        images,
        "--json",
    ]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let plain: Vec<String> = String::from_utf8_lossy(&plain.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(plain.len(), 360);
    let mut server = measure::command(
        &[
            "garble",
            digits,
            "--weights",
            "models/digits/digits.safetensors",
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
        2048,
    )
    .spawn()
    .unwrap();
    let (addr, _log) = listening(&mut server);
    // 360 inferences in one session.
    let mut client = measure::command(
        &[
            "evaluate",
            digits,
            "--connect",
            &addr,
            "-i",
            images,
            "--json",
        ],
        &[],
        1024,
    )
    .spawn()
    .unwrap();
    let out = client.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Kill the server once the client has printed five results.
    let mut lines = Vec::new();
    while lines.len() < 5 {
        let l = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the client prints each result as it completes");
        lines.push(l);
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let client = measure::wait(client, Duration::from_secs(60));
    lines.extend(rx.iter());
    let e = stderr(&client.out);
    assert_eq!(client.out.status.code(), Some(1), "{e}");
    let done = lines
        .iter()
        .take_while(|l| !l.contains("\"error\""))
        .count();
    assert!((5..360).contains(&done), "{done} results: {e}");
    for (j, l) in lines[..done].iter().enumerate() {
        assert_eq!(l, &plain[j], "inference {}", j + 1);
    }
    // Every other inference is named as failed, on stdout and in the error.
    assert_eq!(lines.len(), 360, "{lines:?}");
    for (j, l) in lines[done..].iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["inference"], done + j + 1, "{l}");
    }
    assert!(
        e.contains(&format!(
            "the session failed after {done} of 360 inferences: inferences {}-360 have no result",
            done + 1
        )),
        "{e}"
    );
}

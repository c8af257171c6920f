//! Faults: a peer that disconnects, sends garbage, runs another circuit or protocol
//! version, or stays silent ends the session with a clear error within the timeout —
//! never a panic or a hang. A server keeps serving after a client fails.

use garnet_circuits::random::{RandomSpec, random_circuit};
use garnet_circuits::{Circuit, Party, passes};
use garnet_runtime::Channel;
use garnet_runtime::error::{Phase, SessionError};
use garnet_runtime::memory::MemoryChannel;
use garnet_runtime::session::{MAGIC, SessionOptions, run_evaluator, run_garbler};
use garnet_runtime::tcp::{ServeOptions, TcpChannel, serve};
use rand::{Rng, SeedableRng};
use std::io;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[path = "faults/load.rs"]
mod load;

#[global_allocator]
static ALLOC: garnet_circuits::testing::PeakAlloc = garnet_circuits::testing::PeakAlloc::new();

const SHORT: Duration = Duration::from_millis(300);
/// Far above SHORT: a test that hangs fails instead of waiting forever.
const LIMIT: Duration = Duration::from_secs(10);

fn circuit(gates: usize) -> Circuit {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(gates as u64);
    let spec = RandomSpec {
        input_widths: vec![16, 16],
        gates,
        output_widths: vec![8, 8, 8],
        and_fraction: 0.6,
        window: 64,
    };
    passes::optimize(random_circuit(&mut rng, &spec))
}

fn inputs(c: &Circuit, p: Party) -> Vec<Vec<bool>> {
    c.inputs
        .iter()
        .map(|s| {
            if s.owner == p {
                vec![true; s.bits as usize]
            } else {
                Vec::new()
            }
        })
        .collect()
}

fn digest(c: &Circuit) -> [u8; 32] {
    garnet_circuits::format::gcirc::digest(c)
}

fn garble(ch: &mut dyn Channel, c: &Circuit) -> Result<(), SessionError> {
    run_garbler(
        ch,
        c,
        digest(c),
        c.gates.iter().copied(),
        &inputs(c, Party::Garbler),
        SessionOptions::default(),
    )
    .map(|_| ())
}

fn evaluate(ch: &mut dyn Channel, c: &Circuit) -> Result<(), SessionError> {
    run_evaluator(
        ch,
        c,
        digest(c),
        c.gates.iter().copied(),
        &inputs(c, Party::Evaluator),
        SessionOptions::default(),
    )
    .map(|_| ())
}

/// A channel that dies (drops its peer connection) after sending `budget` bytes.
struct Cutoff {
    inner: Option<MemoryChannel>,
    budget: usize,
}

impl Channel for Cutoff {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(ch) = self.inner.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut off"));
        };
        if bytes.len() > self.budget {
            ch.write_bytes(&bytes[..self.budget])?;
            ch.flush()?;
            self.inner = None;
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut off"));
        }
        self.budget -= bytes.len();
        ch.write_bytes(bytes)
    }
    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(ch) => ch.read_bytes(buf),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut off")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(ch) => ch.flush(),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut off")),
        }
    }
    fn bytes_sent(&self) -> u64 {
        0
    }
    fn bytes_received(&self) -> u64 {
        0
    }
}

/// Runs the garbler (through `Cutoff` with `g_budget`) against the evaluator.
fn cut_garbler(
    c: &Circuit,
    g_budget: usize,
) -> (Result<(), SessionError>, Result<(), SessionError>) {
    let (a, mut b) = MemoryChannel::pair_with_timeout(Duration::from_secs(5));
    let start = Instant::now();
    let c2 = c.clone();
    let t = std::thread::spawn(move || {
        let mut cut = Cutoff {
            inner: Some(a),
            budget: g_budget,
        };
        garble(&mut cut, &c2)
    });
    let e = evaluate(&mut b, c);
    drop(b);
    let g = t.join().expect("garbler panicked");
    assert!(start.elapsed() < LIMIT);
    (g, e)
}

#[test]
fn garbler_disconnects_mid_stream() {
    let c = circuit(20_000);
    assert!(c.and_count() > 5000);
    // Past handshake, labels and OT: well inside the tables.
    let (g, e) = cut_garbler(&c, 100_000);
    assert!(g.is_err());
    let e = e.unwrap_err();
    assert!(
        matches!(
            e,
            SessionError::Disconnected {
                phase: Phase::Evaluation,
                ..
            }
        ),
        "unexpected: {e}"
    );
    assert!(e.to_string().contains("evaluation"), "{e}");
}

#[test]
fn truncated_at_every_phase_is_a_clean_error() {
    let c = circuit(300);
    for budget in [0, 5, 60, 150, 1000, 3000, 6000] {
        let (g, e) = cut_garbler(&c, budget);
        assert!(g.is_err() && e.is_err(), "budget {budget}");
        let e = e.unwrap_err();
        assert!(
            matches!(e, SessionError::Disconnected { .. }),
            "budget {budget}: {e}"
        );
    }
}

#[test]
fn evaluator_disconnects_mid_ot() {
    let c = circuit(300);
    let (mut a, b) = MemoryChannel::pair_with_timeout(Duration::from_secs(5));
    let c2 = c.clone();
    let t = std::thread::spawn(move || {
        let mut cut = Cutoff {
            inner: Some(b),
            budget: 400,
        };
        evaluate(&mut cut, &c2)
    });
    let g = garble(&mut a, &c).unwrap_err();
    assert!(t.join().unwrap().is_err());
    assert!(matches!(g, SessionError::Disconnected { .. }), "{g}");
}

#[test]
fn random_bytes_are_rejected_at_the_handshake() {
    let c = circuit(100);
    for side in [Party::Garbler, Party::Evaluator] {
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(SHORT);
        let t = std::thread::spawn(move || {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let junk: Vec<u8> = (0..4096).map(|_| rng.r#gen()).collect();
            let _ = b.write_bytes(&junk);
            let _ = b.flush();
            std::thread::sleep(SHORT * 2);
        });
        let err = match side {
            Party::Garbler => garble(&mut a, &c),
            Party::Evaluator => evaluate(&mut a, &c),
        }
        .unwrap_err();
        t.join().unwrap();
        assert!(matches!(err, SessionError::Handshake(_)), "{err}");
        assert!(err.to_string().contains("not a garnet"), "{err}");
    }
}

#[test]
fn other_protocol_version_is_rejected() {
    let c = circuit(100);
    let (mut a, mut b) = MemoryChannel::pair_with_timeout(SHORT);
    let t = std::thread::spawn(move || {
        let _ = b.write_bytes(&MAGIC);
        let _ = b.write_bytes(&99u32.to_le_bytes());
        let _ = b.flush();
        std::thread::sleep(SHORT * 2);
    });
    let err = evaluate(&mut a, &c).unwrap_err();
    t.join().unwrap();
    assert!(err.to_string().contains("version"), "{err}");
    assert!(err.to_string().contains("99"), "{err}");
}

/// Both sides run with their own circuit/digest; both must fail with `what` in the message.
fn mismatch(cg: Circuit, dg: [u8; 32], ce: Circuit, de: [u8; 32], what: &str) {
    let (mut a, mut b) = MemoryChannel::pair_with_timeout(Duration::from_secs(5));
    let t = std::thread::spawn(move || {
        let ins = inputs(&cg, Party::Garbler);
        run_garbler(
            &mut a,
            &cg,
            dg,
            cg.gates.iter().copied(),
            &ins,
            SessionOptions::default(),
        )
    });
    let ins = inputs(&ce, Party::Evaluator);
    let e = run_evaluator(
        &mut b,
        &ce,
        de,
        ce.gates.iter().copied(),
        &ins,
        SessionOptions::default(),
    )
    .unwrap_err();
    let g = t.join().unwrap().unwrap_err();
    for err in [g, e] {
        assert!(matches!(err, SessionError::Handshake(_)), "{err}");
        assert!(
            err.to_string().contains(what),
            "expected `{what}` in: {err}"
        );
    }
}

#[test]
fn different_digest_fails_on_both_sides() {
    let c = circuit(200);
    let mut other = digest(&c);
    other[0] ^= 1;
    mismatch(c.clone(), digest(&c), c, other, "digest");
}

#[test]
fn different_input_widths_fail_on_both_sides() {
    let c = circuit(200);
    let mut c2 = c.clone();
    c2.inputs[1].bits -= 1;
    mismatch(c.clone(), digest(&c), c2.clone(), digest(&c2), "input 1");
}

#[test]
fn silent_peer_times_out() {
    let c = circuit(100);
    for side in [Party::Garbler, Party::Evaluator] {
        let (mut a, b) = MemoryChannel::pair_with_timeout(SHORT);
        let start = Instant::now();
        let err = match side {
            Party::Garbler => garble(&mut a, &c),
            Party::Evaluator => evaluate(&mut a, &c),
        }
        .unwrap_err();
        drop(b);
        assert!(err.is_timeout(), "{err}");
        assert!(
            matches!(
                err,
                SessionError::Timeout {
                    phase: Phase::Handshake,
                    ..
                }
            ),
            "{err}"
        );
        assert!(start.elapsed() < LIMIT);
    }
}

#[test]
fn silent_tcp_server_times_out() {
    let c = circuit(100);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(SHORT * 3);
        drop(s);
    });
    let start = Instant::now();
    let mut ch = TcpChannel::connect(addr, SHORT, SHORT).unwrap();
    let err = evaluate(&mut ch, &c).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(start.elapsed() < LIMIT);
    t.join().unwrap();
}

#[test]
fn server_keeps_serving_after_failed_clients() {
    let c = circuit(500);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let c2 = c.clone();
    let server = std::thread::spawn(move || {
        let opts = ServeOptions {
            max_sessions: 2,
            limit: Some(4),
            timeout: Duration::from_secs(2),
            ..ServeOptions::default()
        };
        serve(&l, &opts, move |mut ch| {
            let r = garble(&mut ch, &c2);
            tx.send(r.map_err(|e| e.to_string())).unwrap();
        })
        .unwrap()
    });
    // 1: garbage.
    {
        let mut ch = TcpChannel::connect(addr, SHORT, SHORT).unwrap();
        ch.write_bytes(&[0x55; 300]).unwrap();
        ch.flush().unwrap();
    }
    // 2: connects and vanishes at once.
    drop(TcpChannel::connect(addr, SHORT, SHORT).unwrap());
    // 3: a client for another circuit.
    {
        let other = circuit(501);
        let mut ch = TcpChannel::connect(addr, SHORT, Duration::from_secs(2)).unwrap();
        assert!(evaluate(&mut ch, &other).is_err());
    }
    // 4: a good client still gets the right answer.
    let mut ch = TcpChannel::connect(addr, SHORT, Duration::from_secs(5)).unwrap();
    let ins = inputs(&c, Party::Evaluator);
    let out = run_evaluator(
        &mut ch,
        &c,
        digest(&c),
        c.gates.iter().copied(),
        &ins,
        SessionOptions::default(),
    )
    .unwrap();
    let full: Vec<Vec<bool>> = c
        .inputs
        .iter()
        .map(|s| vec![true; s.bits as usize])
        .collect();
    let expect = c.eval(&full).unwrap();
    for (i, o) in c.outputs.iter().enumerate() {
        if o.recipient.includes(Party::Evaluator) {
            assert_eq!(out.outputs[i].as_ref(), Some(&expect[i]));
        }
    }
    assert_eq!(server.join().unwrap(), 4);
    let results: Vec<_> = rx.iter().collect();
    assert_eq!(results.len(), 4);
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

/// A memory channel whose writes go through `f` first (to count or change them).
struct Tap<F>(MemoryChannel, F);

impl<F: FnMut(&[u8]) -> Vec<u8> + Send> Channel for Tap<F> {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        let out = (self.1)(bytes);
        self.0.write_bytes(&out)
    }
    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_bytes(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
    fn bytes_sent(&self) -> u64 {
        self.0.bytes_sent()
    }
    fn bytes_received(&self) -> u64 {
        self.0.bytes_received()
    }
}

/// A session of `k` inferences, the evaluator's side through `wrap`.
fn batch_through<W: Channel + Send>(
    c: &Circuit,
    k: usize,
    wrap: impl FnOnce(MemoryChannel) -> W,
) -> (Result<usize, SessionError>, Result<usize, SessionError>) {
    use garnet_runtime::session::{run_evaluator_batch, serve_garbler};
    let (mut a, b) = MemoryChannel::pair_with_timeout(Duration::from_secs(5));
    let start = Instant::now();
    let mut wrapped = wrap(b);
    let (g, e) = std::thread::scope(|s| {
        let t = s.spawn(|| {
            let r = run_evaluator_batch(
                &mut wrapped,
                c,
                digest(c),
                || c.gates.iter().copied(),
                &vec![inputs(c, Party::Evaluator); k],
                SessionOptions::default(),
            )
            .map(|o| o.len());
            drop(wrapped);
            r
        });
        let g = serve_garbler(
            &mut a,
            c,
            digest(c),
            || c.gates.iter().copied(),
            &inputs(c, Party::Garbler),
            SessionOptions::default(),
            |_| {},
        );
        drop(a);
        (g, t.join().expect("evaluator panicked"))
    });
    assert!(start.elapsed() < LIMIT);
    (g, e)
}

#[test]
fn an_evaluator_gone_between_inferences_is_a_clean_error() {
    let c = circuit(300);
    // how much the evaluator sends in a whole session of three inferences
    let mut total = 0;
    let (g, e) = batch_through(&c, 3, |b| {
        Tap(b, |bytes: &[u8]| {
            total += bytes.len();
            bytes.to_vec()
        })
    });
    assert_eq!((g.unwrap(), e.unwrap()), (3, 3));
    for budget in [total / 3, total / 2, 2 * total / 3, total - 1] {
        let (g, e) = batch_through(&c, 3, |b| Cutoff {
            inner: Some(b),
            budget,
        });
        assert!(e.is_err(), "budget {budget}");
        let g = g.unwrap_err();
        assert!(
            matches!(g, SessionError::Disconnected { .. }),
            "budget {budget}: {g}"
        );
    }
}

#[test]
fn a_bad_continuation_byte_is_a_protocol_error() {
    // The evaluator's colour bits (none here) and its "another inference?" byte
    // form its only one-byte message: make it 7.
    let garble7 = |b| {
        Tap(b, |bytes: &[u8]| {
            if bytes.len() == 1 {
                vec![7]
            } else {
                bytes.to_vec()
            }
        })
    };
    let mut c = circuit(300);
    for o in &mut c.outputs {
        o.recipient = garnet_circuits::Recipient::Evaluator;
    }
    let (g, _) = batch_through(&c, 2, garble7);
    let g = g.unwrap_err();
    assert!(
        matches!(
            g,
            SessionError::Protocol {
                phase: Phase::Outputs,
                ..
            }
        ),
        "{g}"
    );
    assert!(g.to_string().contains("got 7"), "{g}");
}

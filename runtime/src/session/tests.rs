//! Session hygiene: fresh secrets, no reuse across sessions or inferences, nothing
//! secret in reports.

use super::hello::Hello;
use super::*;
use crate::memory::MemoryChannel;
use garnet_circuits::Recipient;
use garnet_circuits::random::{RandomSpec, random_circuit};
use std::sync::{Arc, Mutex};

/// Records every byte written through it.
struct Recording<C> {
    inner: C,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<C: Channel> Channel for Recording<C> {
    fn write_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.log.lock().unwrap().extend_from_slice(bytes);
        self.inner.write_bytes(bytes)
    }
    fn read_bytes(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.inner.read_bytes(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
    fn bytes_sent(&self) -> u64 {
        self.inner.bytes_sent()
    }
    fn bytes_received(&self) -> u64 {
        self.inner.bytes_received()
    }
}

fn circuit() -> Circuit {
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
    let spec = RandomSpec {
        input_widths: vec![8, 8],
        gates: 300,
        ..RandomSpec::default()
    };
    garnet_circuits::passes::optimize(random_circuit(&mut rng, &spec))
}

fn inputs(c: &Circuit, p: Party) -> Vec<Vec<bool>> {
    c.inputs
        .iter()
        .map(|s| {
            if s.owner == p {
                vec![true; s.bits as usize]
            } else {
                vec![]
            }
        })
        .collect()
}

/// One session with the given garbler secrets; returns the garbler's transcript,
/// both outcomes as text (Debug and Display), and the error texts of a failed run.
fn session(secrets: GarblerSecrets) -> (Vec<u8>, String) {
    let c = circuit();
    let digest = garnet_circuits::format::gcirc::digest(&c);
    let (a, mut b) = MemoryChannel::pair();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut rec = Recording {
        inner: a,
        log: log.clone(),
    };
    let (g, e) = std::thread::scope(|s| {
        let c2 = &c;
        let g = s.spawn(move || {
            let ins = inputs(c2, Party::Garbler);
            run_garbler_with(
                &mut rec,
                c2,
                digest,
                c2.gates.iter().copied(),
                &ins,
                SessionOptions::default(),
                secrets,
            )
        });
        let ins = inputs(&c, Party::Evaluator);
        let e = run_evaluator(
            &mut b,
            &c,
            digest,
            c.gates.iter().copied(),
            &ins,
            SessionOptions::default(),
        );
        (g.join().unwrap().unwrap(), e.unwrap())
    });
    let text = format!("{g:?}\n{e:?}\n{}\n{}", g.report, e.report);
    let log = log.lock().unwrap().clone();
    (log, text)
}

/// Every way a block might be printed.
fn renderings(b: Block) -> Vec<String> {
    let bytes = b.to_bytes();
    vec![
        format!("{:x}", b.0),
        format!("{:032x}", b.0),
        format!("{}", b.0),
        bytes.iter().map(|x| format!("{x:02x}")).collect(),
        format!("{bytes:?}"),
        format!("{:x}", b.0 as u64),
    ]
}

#[test]
fn fresh_secrets_differ_and_delta_low_bit_is_set() {
    let a = GarblerSecrets::fresh();
    let mut b = GarblerSecrets::fresh();
    assert!(a.delta.block().lsb() && b.delta.block().lsb());
    assert_ne!(a.delta, b.delta);
    assert_ne!(a.hash_key, b.hash_key);
    let mut a = a;
    assert_ne!(a.prg.next_block(), b.prg.next_block());
    assert_eq!(format!("{a:?}"), "GarblerSecrets(<redacted>)");
}

#[test]
fn two_sessions_share_no_key_labels_or_tables() {
    let (t1, _) = session(GarblerSecrets::fresh());
    let (t2, _) = session(GarblerSecrets::fresh());
    assert_eq!(t1.len(), t2.len());
    let hello = Hello::of(Role::Garbler, Scheme::HalfGates, &circuit(), [0; 32]);
    let mut hb = Vec::new();
    {
        struct V<'a>(&'a mut Vec<u8>);
        impl Channel for V<'_> {
            fn write_bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
                self.0.extend_from_slice(b);
                Ok(())
            }
            fn read_bytes(&mut self, _: &mut [u8]) -> std::io::Result<()> {
                unreachable!()
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
            fn bytes_sent(&self) -> u64 {
                0
            }
            fn bytes_received(&self) -> u64 {
                0
            }
        }
        hello.write(&mut V(&mut hb)).unwrap();
    }
    let h = hb.len();
    // The hello is identical; the AES key right after it is not.
    assert_eq!(t1[..h], t2[..h]);
    assert_ne!(t1[h..h + 16], t2[h..h + 16], "hash key reused");
    // Garbler input labels (same inputs both times) differ, and so does every
    // 16-byte block after them (labels, OT messages, tables).
    let (b1, b2) = (&t1[h + 16..], &t2[h + 16..]);
    let same = b1
        .chunks(16)
        .zip(b2.chunks(16))
        .filter(|(x, y)| x == y)
        .count();
    assert!(same <= 2, "{same} identical blocks across two sessions");
}

#[test]
fn inferences_of_a_session_never_reuse_a_tweak() {
    // Only garbler inputs: both inferences garble the same labels under the same
    // Δ and key, so their tables would repeat if the tweaks started over.
    let mut b = garnet_circuits::Builder::new();
    let g = b.input("g", Party::Garbler, 8);
    let mut outs = Vec::new();
    for i in 0..7 {
        use garnet_circuits::Gates;
        outs.push(b.and(g[i], g[i + 1]));
    }
    b.output("o", Recipient::Evaluator, &outs);
    let c = garnet_circuits::passes::optimize(b.finish());
    let ands = c.and_count() as usize;
    assert_eq!(ands, 7);
    let digest = garnet_circuits::format::gcirc::digest(&c);
    let (a, mut ev) = MemoryChannel::pair();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut rec = Recording {
        inner: a,
        log: log.clone(),
    };
    let ins = vec![vec![true, false, true, true, false, true, true, true]];
    std::thread::scope(|s| {
        let (c2, ins2) = (&c, &ins);
        let g = s.spawn(move || {
            serve_garbler(
                &mut rec,
                c2,
                digest,
                || c2.gates.iter().copied(),
                ins2,
                SessionOptions::default(),
                |_| {},
            )
        });
        let e = run_evaluator_batch(
            &mut ev,
            &c,
            digest,
            || c.gates.iter().copied(),
            &[vec![vec![]], vec![vec![]]],
            SessionOptions::default(),
        )
        .unwrap();
        assert_eq!(g.join().unwrap().unwrap(), 2);
        assert_eq!(e[0].outputs, e[1].outputs);
    });
    // The transcript ends with [tables, decoding byte] twice.
    let log = log.lock().unwrap().clone();
    let per = 32 * ands + 1;
    let second = &log[log.len() - per..log.len() - 1];
    let first = &log[log.len() - 2 * per..log.len() - per - 1];
    for block in second.chunks(16) {
        assert!(
            !first.chunks(16).any(|b| b == block),
            "a table block repeats across inferences"
        );
    }
}

#[test]
fn no_secret_appears_in_reports_or_debug_output() {
    let secrets = GarblerSecrets::fresh();
    let (delta, key) = (secrets.delta, secrets.hash_key);
    let (transcript, text) = session(secrets);
    let mut secrets_seen = renderings(delta.block());
    secrets_seen.extend(renderings(key));
    // Garbler input labels as sent, and the first tables' blocks.
    for chunk in transcript.chunks_exact(16).take(64) {
        secrets_seen.extend(renderings(Block::from_bytes(chunk.try_into().unwrap())));
    }
    for s in &secrets_seen {
        if s.len() >= 12 {
            assert!(
                !text.contains(s.as_str()),
                "secret `{s}` printed in:\n{text}"
            );
        }
    }
    assert!(
        text.contains("handshake") && text.contains("evaluation"),
        "{text}"
    );
    let core = GarblerCore::new(Tccr::new(key), delta, 8);
    let dbg = format!("{core:?}");
    for s in renderings(delta.block()).iter().chain(&renderings(key)) {
        assert!(
            !dbg.contains(s.as_str()),
            "secret in GarblerCore Debug: {dbg}"
        );
    }
}

#[test]
fn reports_of_a_session_combine_phase_by_phase() {
    let c = circuit();
    let digest = garnet_circuits::format::gcirc::digest(&c);
    let (mut a, mut b) = MemoryChannel::pair();
    let ins = inputs(&c, Party::Evaluator);
    let outs = std::thread::scope(|s| {
        let c2 = &c;
        s.spawn(move || {
            serve_garbler(
                &mut a,
                c2,
                digest,
                || c2.gates.iter().copied(),
                &inputs(c2, Party::Garbler),
                SessionOptions::default(),
                |_| {},
            )
        });
        run_evaluator_batch(
            &mut b,
            &c,
            digest,
            || c.gates.iter().copied(),
            &[ins.clone(), ins.clone(), ins.clone()],
            SessionOptions::default(),
        )
        .unwrap()
    });
    let reports: Vec<SessionReport> = outs.into_iter().map(|o| o.report).collect();
    // the one-time phases are in the first report only
    assert!(reports[0].phase(Phase::BaseOt).is_some());
    assert!(reports[1].phase(Phase::BaseOt).is_none());
    let all = SessionReport::combine(&reports).unwrap();
    assert_eq!(all.ands, 3 * c.and_count());
    let sum = |f: &dyn Fn(&SessionReport) -> (u64, u64)| {
        reports.iter().fold((0, 0), |(s, r), x| {
            let (a, b) = f(x);
            (s + a, r + b)
        })
    };
    assert_eq!(all.total_bytes(), sum(&|r| r.total_bytes()));
    let ext = |r: &SessionReport| {
        r.phase(Phase::OtExtension)
            .map_or((0, 0), |p| (p.bytes_sent, p.bytes_received))
    };
    assert_eq!(ext(&all), sum(&ext));
    assert_eq!(all.phases.len(), reports[0].phases.len());
    assert!(SessionReport::combine(&[]).is_none());
}

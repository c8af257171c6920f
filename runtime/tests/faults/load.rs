//! Load and hostile clients on one server (issue 14): 32 concurrent clients with
//! the default `max_sessions`, every result equal to plaintext, while 4 clients
//! trickle a byte a second (reconnecting whenever dropped) to hold the slots; and
//! a circuit claiming far more wire slots than its gates use costs memory for the
//! slots used only.

use super::{ALLOC, circuit, digest};
use garnet_circuits::{Circuit, Gate, InputSpec, Op, OutBit, OutputSpec, Party, Recipient};
use garnet_runtime::session::{
    MAGIC, PROTOCOL_VERSION, SessionOptions, run_evaluator, run_garbler, run_in_memory,
};
use garnet_runtime::tcp::{ServeOptions, TcpChannel, serve};
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The garbler's fixed inputs and an evaluator's (seeded) inputs.
fn party_inputs(c: &Circuit, p: Party, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    c.inputs
        .iter()
        .map(|s| match s.owner == p {
            true => (0..s.bits).map(|_| rng.r#gen()).collect(),
            false => Vec::new(),
        })
        .collect()
}

/// Connects, sends a well-formed hello a byte every `every`, and reconnects
/// whenever the server drops it, until `stop`; returns how many times it was dropped.
fn trickler(addr: SocketAddr, every: Duration, stop: Arc<AtomicBool>) -> usize {
    let mut hello = MAGIC.to_vec();
    hello.extend(PROTOCOL_VERSION.to_le_bytes());
    hello.push(2);
    hello.extend([0u8; 256]);
    let mut drops = 0;
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut s) = TcpStream::connect(addr) else {
            continue;
        };
        s.set_read_timeout(Some(every)).unwrap();
        let mut bytes = hello.iter();
        'conn: while !stop.load(Ordering::SeqCst) {
            let Some(&byte) = bytes.next() else { break };
            if s.write_all(&[byte]).is_err() {
                drops += 1;
                break;
            }
            let t = Instant::now();
            while t.elapsed() < every {
                match s.read(&mut [0u8; 4096]) {
                    Ok(0) => {
                        drops += 1;
                        break 'conn;
                    }
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => {
                        drops += 1;
                        break 'conn;
                    }
                }
            }
        }
    }
    drops
}

#[test]
fn thirty_two_clients_are_served_correctly_while_four_trickle() {
    let c = Arc::new(circuit(2000));
    let g_in = Arc::new(party_inputs(&c, Party::Garbler, 0));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = Arc::new(AtomicUsize::new(0));
    let server = {
        let (c, g_in, slow) = (c.clone(), g_in.clone(), slow.clone());
        let opts = ServeOptions {
            stop: Some(stop.clone()),
            ..ServeOptions::default()
        };
        assert_eq!(opts.max_sessions, 4);
        std::thread::spawn(move || {
            serve(&l, &opts, move |mut ch| {
                let r = run_garbler(
                    &mut ch,
                    &*c,
                    digest(&c),
                    c.gates.iter().copied(),
                    &g_in,
                    SessionOptions::default(),
                );
                if r.is_err_and(|e| e.to_string().contains("peer too slow")) {
                    slow.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap()
        })
    };
    let start = Instant::now();
    let trick_stop = Arc::new(AtomicBool::new(false));
    let tricklers: Vec<_> = (0..4)
        .map(|_| {
            let s = trick_stop.clone();
            std::thread::spawn(move || trickler(addr, Duration::from_secs(1), s))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let clients: Vec<_> = (0..32u64)
        .map(|k| {
            let c = c.clone();
            let g_in = g_in.clone();
            std::thread::spawn(move || {
                let e_in = party_inputs(&c, Party::Evaluator, k + 1);
                let mut ch =
                    TcpChannel::connect(addr, Duration::from_secs(10), Duration::from_secs(60))
                        .map_err(|e| e.to_string())?;
                let out = run_evaluator(
                    &mut ch,
                    &*c,
                    digest(&c),
                    c.gates.iter().copied(),
                    &e_in,
                    SessionOptions::default(),
                )
                .map_err(|e| format!("client {k}: {e}"))?;
                let all: Vec<Vec<bool>> = g_in
                    .iter()
                    .zip(&e_in)
                    .map(|(g, e)| if g.is_empty() { e.clone() } else { g.clone() })
                    .collect();
                let want = c.eval(&all).unwrap();
                for (i, o) in c.outputs.iter().enumerate() {
                    if o.recipient.includes(Party::Evaluator)
                        && out.outputs[i].as_ref() != Some(&want[i])
                    {
                        return Err(format!("client {k}: output {i} differs from plaintext"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let results: Vec<Result<(), String>> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let served_in = start.elapsed();
    trick_stop.store(true, Ordering::SeqCst);
    let drops: Vec<usize> = tricklers.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    // Generous: the tricklers' first slots end after the 10 s handshake deadline.
    assert!(served_in < Duration::from_secs(60), "{served_in:?}");
    assert!(
        drops.iter().all(|&d| d >= 1),
        "every trickler was dropped: {drops:?}"
    );
    assert!(
        slow.load(Ordering::SeqCst) >= 4,
        "{}",
        slow.load(Ordering::SeqCst)
    );
}

#[test]
fn a_circuit_claiming_many_wires_costs_the_slots_its_gates_use() {
    let spec = |name: &str, owner| InputSpec {
        name: name.into(),
        owner,
        bits: 1,
        ty: Default::default(),
    };
    let c = Circuit {
        inputs: vec![spec("a", Party::Garbler), spec("b", Party::Evaluator)],
        outputs: vec![OutputSpec {
            name: "y".into(),
            recipient: Recipient::Both,
            bits: vec![OutBit::Wire(3)],
            ty: Default::default(),
        }],
        gates: vec![
            Gate {
                op: Op::And,
                a: 0,
                b: 1,
                out: 2,
            },
            Gate {
                op: Op::Not,
                a: 2,
                b: 2,
                out: 3,
            },
        ],
        // 16 M slots: 256 MiB of labels per party if sized by the header.
        wires: 1 << 24,
        sections: Vec::new(),
    };
    for (a, b) in [(false, true), (true, true)] {
        let (r, peak) = ALLOC.measure(|| run_in_memory(&c, &[vec![a], vec![]], &[vec![], vec![b]]));
        let (g, e) = r.unwrap();
        assert_eq!(g.outputs[0], Some(vec![!(a & b)]));
        assert_eq!(e.outputs[0], Some(vec![!(a & b)]));
        assert!(peak < 16 << 20, "peak {} MiB", peak >> 20);
    }
}

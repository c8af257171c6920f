//! DeepSecure's secure outsourcing over TCP: a client one-time-pads its inputs,
//! sends the masked values and its output masks to the server (the garbler) and the
//! pads to a proxy (the evaluator); the proxy runs one session per sample with the
//! server on the [`outsource`](garnet_circuits::outsource) circuit and returns y⊕s
//! to the client, who alone unmasks. Secure while proxy and server do not collude
//! (semi-honest): the server sees x⊕r and s, the proxy r and y⊕s.
//!
//! Messages are typed frames (magic, kind, circuit digest, job id, sample count,
//! packed bits) whose length the receiver knows from the circuit before reading.

use crate::model::Model;
use crate::session::sessions;
use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::outsource::{garbler_inputs, outsource};
use garnet_circuits::{Circuit, Party};
use garnet_runtime::Channel;
use rand::RngCore;
use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"GOS1";
/// Most samples one job may hold.
pub const MAX_SAMPLES: u32 = 1 << 16;
/// Most jobs a server keeps waiting for their other half.
const MAX_PENDING: usize = 64;

/// A job's id: random, chosen by the client, shared with server and proxy.
pub type JobId = [u8; 16];

/// What a frame carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Client → server: per sample x⊕r, then the output masks s.
    ToServer = 1,
    /// Client → proxy: per sample the pads r.
    ToProxy = 2,
    /// Proxy → server: the job whose sessions follow (no payload).
    ProxyHello = 3,
    /// Proxy → client: per sample y⊕s.
    Results = 4,
    /// Proxy → client: the job failed (a UTF-8 reason).
    Failed = 5,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        [
            Kind::ToServer,
            Kind::ToProxy,
            Kind::ProxyHello,
            Kind::Results,
            Kind::Failed,
        ]
        .into_iter()
        .find(|k| *k as u8 == b)
    }
}

/// A circuit and its outsourced form, as every role builds it from the same file.
#[derive(Debug)]
pub struct Outsourced {
    /// The original model: input loading (client), weights (server), decoding.
    pub original: Model,
    /// The outsourced circuit's model: what the proxy and the server run.
    pub model: Model,
    circuit: Circuit,
}

impl Outsourced {
    /// Builds the outsourced circuit of `original` (its gates read once).
    pub fn new(original: Model) -> Result<Outsourced> {
        let mut gates = Vec::new();
        original.for_each_gate(&mut |g| gates.push(*g))?;
        let circuit = original.interface.clone().with_gates(gates);
        let mut model = Model::from_circuit(&outsource(&circuit));
        model.threads = original.threads;
        model.scheme = original.scheme;
        Ok(Outsourced {
            original,
            model,
            circuit,
        })
    }

    /// Widths of the client's input values (the original evaluator inputs).
    fn input_widths(&self) -> Vec<usize> {
        let c = &self.circuit;
        c.inputs
            .iter()
            .filter(|i| i.owner == Party::Evaluator)
            .map(|i| i.bits as usize)
            .collect()
    }

    /// Indices and widths of the outputs that are masked (those to the evaluator).
    fn masked_outputs(&self) -> Vec<(usize, usize)> {
        let c = &self.circuit;
        (0..c.outputs.len())
            .filter(|&k| c.outputs[k].recipient.includes(Party::Evaluator))
            .map(|k| (k, c.outputs[k].bits.len()))
            .collect()
    }

    fn widths(&self, kind: Kind) -> Vec<usize> {
        let outs = self.masked_outputs().into_iter().map(|(_, w)| w);
        match kind {
            Kind::ToServer => self.input_widths().into_iter().chain(outs).collect(),
            Kind::ToProxy => self.input_widths(),
            Kind::Results => outs.collect(),
            Kind::ProxyHello | Kind::Failed => Vec::new(),
        }
    }
}

/// A decoded frame: per sample, one bit vector per value of its kind's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub kind: Kind,
    pub job: JobId,
    pub samples: Vec<Vec<Vec<bool>>>,
    /// For [`Kind::ProxyHello`]: the sample count; for [`Kind::Failed`]: empty.
    pub count: u32,
    pub reason: String,
}

impl Frame {
    fn new(kind: Kind, job: JobId, samples: Vec<Vec<Vec<bool>>>) -> Frame {
        Frame {
            kind,
            job,
            count: samples.len() as u32,
            samples,
            reason: String::new(),
        }
    }
}

/// Writes a frame for `o`'s circuit.
pub fn write_frame(ch: &mut dyn Channel, o: &Outsourced, f: &Frame) -> Result<()> {
    let mut bits = Vec::new();
    for s in &f.samples {
        for v in s {
            bits.extend_from_slice(v);
        }
    }
    let mut payload: Vec<u8> = pack(&bits);
    if f.kind == Kind::Failed {
        payload = f.reason.as_bytes()[..f.reason.len().min(4096)].to_vec();
    }
    let mut head = Vec::with_capacity(4 + 1 + 32 + 16 + 4 + 8);
    head.extend_from_slice(MAGIC);
    head.push(f.kind as u8);
    head.extend_from_slice(&o.model.digest);
    head.extend_from_slice(&f.job);
    head.extend_from_slice(&f.count.to_le_bytes());
    head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    ch.write_bytes(&head)?;
    ch.write_bytes(&payload)?;
    ch.flush()?;
    Ok(())
}

/// Reads a frame for `o`'s circuit from `who`, checking magic, digest, kind
/// (one of `want`), count and length before reading the payload.
pub fn read_frame(ch: &mut dyn Channel, o: &Outsourced, want: &[Kind], who: &str) -> Result<Frame> {
    let widths: Vec<(Kind, Vec<usize>)> = want.iter().map(|&k| (k, o.widths(k))).collect();
    read_frame_with(ch, &o.model.digest, &widths, who)
}

/// [`read_frame`] given the circuit's digest and each wanted kind's value widths.
fn read_frame_with(
    ch: &mut dyn Channel,
    digest: &[u8; 32],
    want: &[(Kind, Vec<usize>)],
    who: &str,
) -> Result<Frame> {
    let mut head = [0u8; 4 + 1 + 32 + 16 + 4 + 8];
    ch.read_bytes(&mut head)
        .with_context(|| format!("no message from the {who}"))?;
    if &head[..4] != MAGIC {
        bail!("the {who} does not speak garnet's outsourcing protocol");
    }
    let kind = Kind::from_u8(head[4])
        .filter(|k| want.iter().any(|(w, _)| w == k))
        .ok_or_else(|| anyhow!("unexpected message (kind {}) from the {who}", head[4]))?;
    if head[5..37] != digest[..] {
        bail!(
            "the {who} uses another circuit (its digest differs): give every role the same network"
        );
    }
    let job: JobId = head[37..53].try_into().expect("16 bytes");
    let count = u32::from_le_bytes(head[53..57].try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(head[57..65].try_into().expect("8 bytes"));
    if count > MAX_SAMPLES {
        bail!("the {who} sent {count} samples (at most {MAX_SAMPLES})");
    }
    if kind == Kind::Failed {
        if len > 4096 {
            bail!("the {who} sent a {len}-byte error (at most 4096)");
        }
        let mut b = vec![0u8; len as usize];
        ch.read_bytes(&mut b)
            .with_context(|| format!("the {who}'s message ended early"))?;
        let mut f = Frame::new(kind, job, Vec::new());
        f.reason = String::from_utf8_lossy(&b).into_owned();
        return Ok(f);
    }
    let widths = (want.iter().find(|(k, _)| *k == kind))
        .map(|(_, w)| w.clone())
        .unwrap_or_default();
    let per: usize = widths.iter().sum();
    let want_len = (per as u64 * count as u64).div_ceil(8);
    let want_len = if kind == Kind::ProxyHello {
        0
    } else {
        want_len
    };
    if len != want_len {
        bail!("the {who} sent {len} bytes for {count} samples; this circuit needs {want_len}");
    }
    let mut b = vec![0u8; len as usize];
    ch.read_bytes(&mut b)
        .with_context(|| format!("the {who}'s message ended early"))?;
    let bits = unpack(&b, per * count as usize);
    let mut samples = Vec::new();
    if kind != Kind::ProxyHello {
        let mut at = 0;
        for _ in 0..count {
            let mut s = Vec::new();
            for &w in &widths {
                s.push(bits[at..at + w].to_vec());
                at += w;
            }
            samples.push(s);
        }
    }
    let mut f = Frame::new(kind, job, samples);
    f.count = count;
    Ok(f)
}

/// Bits, least significant first in each byte.
fn pack(bits: &[bool]) -> Vec<u8> {
    let mut b = vec![0u8; bits.len().div_ceil(8)];
    for (i, &x) in bits.iter().enumerate() {
        b[i / 8] |= (x as u8) << (i % 8);
    }
    b
}

fn unpack(bytes: &[u8], n: usize) -> Vec<bool> {
    (0..n).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect()
}

fn xor(a: &[bool], b: &[bool]) -> Vec<bool> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

fn random_bits(rng: &mut dyn RngCore, n: usize) -> Vec<bool> {
    let mut b = vec![0u8; n.div_ceil(8)];
    rng.fill_bytes(&mut b);
    unpack(&b, n)
}

/// What the client sends and keeps for one job.
#[derive(Clone, Debug)]
pub struct Shares {
    /// x⊕r and s, per sample.
    pub to_server: Frame,
    /// r, per sample.
    pub to_proxy: Frame,
    /// s, per sample: what unmasks the results.
    pub masks: Vec<Vec<Vec<bool>>>,
}

/// The client's shares of a job: the server's frame (x⊕r, s), the proxy's (r)
/// and the output masks s (to unmask the results). `samples` holds per sample
/// one bit vector per circuit input (empty for the server's, as
/// [`Model::party_inputs_per_inference`] gives them).
pub fn client_shares(
    o: &Outsourced,
    samples: &[Vec<Vec<bool>>],
    rng: &mut dyn RngCore,
) -> Result<Shares> {
    if samples.is_empty() || samples.len() > MAX_SAMPLES as usize {
        bail!(
            "a job holds 1 to {MAX_SAMPLES} samples, not {}",
            samples.len()
        );
    }
    let mut job = [0u8; 16];
    rng.fill_bytes(&mut job);
    let (mut to_server, mut to_proxy, mut masks) = (Vec::new(), Vec::new(), Vec::new());
    for s in samples {
        let (mut srv, mut pads) = (Vec::new(), Vec::new());
        for (i, v) in o.circuit.inputs.iter().zip(s) {
            if i.owner == Party::Evaluator {
                if v.len() != i.bits as usize {
                    bail!("input {} has {} bits, not {}", i.name, v.len(), i.bits);
                }
                let r = random_bits(rng, v.len());
                srv.push(xor(v, &r));
                pads.push(r);
            }
        }
        let m: Vec<Vec<bool>> = o
            .masked_outputs()
            .iter()
            .map(|&(_, w)| random_bits(rng, w))
            .collect();
        srv.extend(m.iter().cloned());
        to_server.push(srv);
        to_proxy.push(pads);
        masks.push(m);
    }
    Ok(Shares {
        to_server: Frame::new(Kind::ToServer, job, to_server),
        to_proxy: Frame::new(Kind::ToProxy, job, to_proxy),
        masks,
    })
}

/// The client's results from the proxy's frame: per sample the outputs as a
/// session would give them (`Some` for those to the client), unmasked.
pub fn unmask(
    o: &Outsourced,
    results: &Frame,
    masks: &[Vec<Vec<bool>>],
) -> Result<Vec<Vec<Option<Vec<bool>>>>> {
    if results.samples.len() != masks.len() {
        bail!(
            "the proxy returned {} results for {} samples",
            results.samples.len(),
            masks.len()
        );
    }
    let outs = o.masked_outputs();
    Ok(results
        .samples
        .iter()
        .zip(masks)
        .map(|(r, m)| {
            let mut v = vec![None; o.circuit.outputs.len()];
            for (((k, _), y), s) in outs.iter().zip(r).zip(m) {
                v[*k] = Some(xor(y, s));
            }
            v
        })
        .collect())
}

/// The client: sends the shares to server and proxy, waits for the proxy's
/// results and unmasks them. `connect` opens a channel to "server" or "proxy".
pub fn client(
    o: &Outsourced,
    samples: &[Vec<Vec<bool>>],
    connect: &mut dyn FnMut(&str) -> Result<Box<dyn Channel>>,
) -> Result<Vec<Vec<Option<Vec<bool>>>>> {
    let Shares {
        to_server: srv,
        to_proxy: prx,
        masks,
    } = client_shares(o, samples, &mut rand::rngs::OsRng)?;
    let mut s = connect("server")?;
    write_frame(&mut *s, o, &srv).context("cannot send the masked inputs to the server")?;
    drop(s);
    let mut p = connect("proxy")?;
    write_frame(&mut *p, o, &prx).context("cannot send the pads to the proxy")?;
    let r = read_frame(&mut *p, o, &[Kind::Results, Kind::Failed], "proxy")?;
    if r.kind == Kind::Failed {
        bail!("the proxy's job failed: {}", r.reason);
    }
    if r.job != prx.job {
        bail!("the proxy returned the results of another job");
    }
    unmask(o, &r, &masks)
}

/// What one job did, for a role's log line (sizes and timing only: nothing about
/// inputs or results).
#[derive(Clone, Debug)]
pub struct JobLog {
    pub role: &'static str,
    pub samples: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub seconds: f64,
    pub outcome: Result<(), String>,
}

impl std::fmt::Display for JobLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} job samples={} ", self.role, self.samples)?;
        crate::serve::write_log_tail(
            f,
            self.bytes_sent,
            self.bytes_received,
            self.seconds,
            &self.outcome,
        )
    }
}

/// The proxy's side of one job on the client's channel `cl`: reads the pads,
/// runs one session per sample with the server (opened by `server`), returns
/// y⊕s to the client (or the reason it failed).
pub fn proxy_job(
    o: &Outsourced,
    cl: &mut dyn Channel,
    server: &mut dyn FnMut() -> Result<Box<dyn Channel>>,
) -> JobLog {
    let start = Instant::now();
    let mut n = 0;
    let mut traffic = (0, 0);
    let r = (|| -> Result<()> {
        let f = read_frame(cl, o, &[Kind::ToProxy], "client")?;
        n = f.samples.len();
        let mut s = server()?;
        let hello = Frame {
            count: n as u32,
            ..Frame::new(Kind::ProxyHello, f.job, Vec::new())
        };
        let run = (|| -> Result<Frame> {
            write_frame(&mut *s, o, &hello).context("cannot reach the server")?;
            let mut results = Vec::with_capacity(n);
            for (j, pads) in f.samples.iter().enumerate() {
                let mut ins: Vec<Vec<bool>> = Vec::new();
                let mut p = pads.iter();
                for i in &o.model.interface.inputs {
                    ins.push(match i.owner {
                        Party::Evaluator => p.next().cloned().unwrap_or_default(),
                        Party::Garbler => Vec::new(),
                    });
                }
                let out = sessions(Party::Evaluator, &mut *s, &o.model, &[ins], None)
                    .with_context(|| format!("sample {} of {n}", j + 1))?;
                let outs = &out[0].outputs;
                results.push(
                    o.masked_outputs()
                        .iter()
                        .map(|&(k, _)| outs[k].clone().unwrap_or_default())
                        .collect(),
                );
            }
            Ok(Frame::new(Kind::Results, f.job, results))
        })();
        traffic = (s.bytes_sent(), s.bytes_received());
        match run {
            Ok(res) => write_frame(cl, o, &res).context("cannot return the results to the client"),
            Err(e) => {
                let mut fail = Frame::new(Kind::Failed, f.job, Vec::new());
                fail.reason = format!("{e:#}");
                let _ = write_frame(cl, o, &fail);
                Err(e)
            }
        }
    })();
    JobLog {
        role: "proxy",
        samples: n,
        bytes_sent: traffic.0 + cl.bytes_sent(),
        bytes_received: traffic.1 + cl.bytes_received(),
        seconds: start.elapsed().as_secs_f64(),
        outcome: r.map_err(|e| format!("{e:#}")),
    }
}

/// The server's side of one job: the client's frame `from_client` and the proxy's
/// channel (its hello read); one garbler session per sample on the server's own
/// inputs `own` (a network's weights) and the client's x⊕r and s.
pub fn server_job(
    o: &Outsourced,
    own: &[Vec<bool>],
    from_client: &Frame,
    px: &mut dyn Channel,
    hello_count: u32,
) -> JobLog {
    let start = Instant::now();
    let n = from_client.samples.len();
    let own: Vec<Vec<bool>> = own
        .iter()
        .zip(&o.circuit.inputs)
        .filter(|(_, i)| i.owner == Party::Garbler)
        .map(|(v, _)| v.clone())
        .collect();
    let k = o.input_widths().len();
    let r = (|| -> Result<()> {
        if hello_count as usize != n {
            bail!("the proxy asks for {hello_count} samples; the client sent {n}");
        }
        for (j, s) in from_client.samples.iter().enumerate() {
            let g = garbler_inputs(&o.circuit, &own, &s[..k], &s[k..])
                .ok_or_else(|| anyhow!("the client's sample {} does not fit the circuit", j + 1))?;
            let mut g = g.into_iter();
            let ins: Vec<Vec<bool>> = (o.model.interface.inputs.iter())
                .map(|i| match i.owner {
                    Party::Garbler => g.next().unwrap_or_default(),
                    Party::Evaluator => Vec::new(),
                })
                .collect();
            sessions(Party::Garbler, px, &o.model, &[ins], None)
                .with_context(|| format!("sample {} of {n}", j + 1))?;
        }
        Ok(())
    })();
    JobLog {
        role: "server",
        samples: n,
        bytes_sent: px.bytes_sent(),
        bytes_received: px.bytes_received(),
        seconds: start.elapsed().as_secs_f64(),
        outcome: r.map_err(|e| format!("{e:#}")),
    }
}

/// The server: accepts clients' frames and proxies' sessions on `listener`,
/// pairs them by job id and runs each job when both halves are there, one at a
/// time; `log` gets each job's line (and one per refused connection). Each
/// connection's first frame is read on its own thread, paced (a handshake
/// deadline and a minimum rate), so a silent peer holds no job up. Stops after
/// `limit` jobs.
pub fn serve(
    listener: &TcpListener,
    o: &Outsourced,
    own: &[Vec<bool>],
    timeout: Duration,
    limit: Option<u64>,
    log: &mut dyn FnMut(&str),
) -> Result<u64> {
    use garnet_runtime::tcp::{Pace, TcpChannel};
    type Arrival = (std::net::SocketAddr, Result<(TcpChannel, Frame)>);
    let (tx, rx) = std::sync::mpsc::channel::<Arrival>();
    let accepting = listener
        .try_clone()
        .context("cannot share the listening socket")?;
    let digest_of = o.model.digest;
    let widths = [Kind::ToServer, Kind::ProxyHello].map(|k| (k, o.widths(k)));
    std::thread::spawn(move || {
        for conn in accepting.incoming() {
            let Ok(stream) = conn else { continue };
            let peer = stream
                .peer_addr()
                .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
            let tx = tx.clone();
            let widths = widths.clone();
            std::thread::spawn(move || {
                let r = (|| -> Result<(TcpChannel, Frame)> {
                    let mut ch = TcpChannel::new(stream, timeout)?;
                    ch.set_pace(Pace::default());
                    let f = read_frame_with(&mut ch, &digest_of, &widths, "peer")?;
                    Ok((ch, f))
                })();
                let _ = tx.send((peer, r));
            });
        }
    });
    let mut clients: HashMap<JobId, Frame> = HashMap::new();
    let mut proxies: HashMap<JobId, (TcpChannel, u32)> = HashMap::new();
    let mut done = 0;
    while limit.is_none_or(|l| done < l) {
        let (peer, r) = rx.recv().context("the server stopped accepting")?;
        let (mut ch, f) = match r {
            Ok(x) => x,
            Err(e) => {
                log(&format!("connection from {peer} refused: {e:#}"));
                continue;
            }
        };
        let job = f.job;
        if clients.len() >= MAX_PENDING || proxies.len() >= MAX_PENDING {
            log("too many unpaired jobs: dropping them");
            clients.clear();
            proxies.clear();
        }
        match f.kind {
            Kind::ToServer => {
                clients.insert(job, f);
            }
            _ => {
                ch.set_pace(Pace {
                    handshake: timeout,
                    min_rate: 0,
                });
                proxies.insert(job, (ch, f.count));
            }
        }
        if clients.contains_key(&job) && proxies.contains_key(&job) {
            let c = clients.remove(&job).expect("present");
            let (mut px, count) = proxies.remove(&job).expect("present");
            let l = server_job(o, own, &c, &mut px, count);
            log(&l.to_string());
            done += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use garnet_circuits::Recipient;
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use garnet_runtime::memory::MemoryChannel;
    use rand::{Rng, SeedableRng};

    /// A random circuit: input 0 the server's, input 1 the client's; output 0 to the client.
    fn outsourced(seed: u64) -> Outsourced {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let spec = RandomSpec {
            input_widths: vec![6, 12],
            gates: 300,
            output_widths: vec![8],
            and_fraction: 0.4,
            window: 0,
        };
        let mut c = random_circuit(&mut rng, &spec);
        c.inputs[0].owner = Party::Garbler;
        c.inputs[1].owner = Party::Evaluator;
        c.outputs[0].recipient = Recipient::Evaluator;
        Outsourced::new(Model::from_circuit(&c)).unwrap()
    }

    /// One job in memory: what the server read from the client, what the proxy
    /// returned and what the client unmasked.
    fn job(o: &Outsourced, own: &[bool], x: &[Vec<bool>]) -> (Frame, Frame, Vec<Vec<bool>>) {
        let samples: Vec<Vec<Vec<bool>>> = x.iter().map(|x| vec![vec![], x.clone()]).collect();
        let Shares {
            to_server: srv,
            to_proxy: prx,
            masks,
        } = client_shares(o, &samples, &mut rand::rngs::OsRng).unwrap();
        let t = Duration::from_secs(20);
        let (mut c2s, mut s_in) = MemoryChannel::pair_with_timeout(t);
        let (mut c2p, mut p_in) = MemoryChannel::pair_with_timeout(t);
        let (px, mut sx) = MemoryChannel::pair_with_timeout(t);
        std::thread::scope(|s| {
            let server = s.spawn(|| {
                let f = read_frame(&mut s_in, o, &[Kind::ToServer], "client").unwrap();
                let h = read_frame(&mut sx, o, &[Kind::ProxyHello], "proxy").unwrap();
                let own = vec![own.to_vec(), vec![]];
                let log = server_job(o, &own, &f, &mut sx, h.count);
                assert!(log.outcome.is_ok(), "{log}");
                f
            });
            let proxy = s.spawn(move || {
                let mut once = Some(Box::new(px) as Box<dyn Channel>);
                let log = proxy_job(o, &mut p_in, &mut || Ok(once.take().unwrap()));
                assert!(log.outcome.is_ok(), "{log}");
            });
            write_frame(&mut c2s, o, &srv).unwrap();
            write_frame(&mut c2p, o, &prx).unwrap();
            let r = read_frame(&mut c2p, o, &[Kind::Results], "proxy").unwrap();
            proxy.join().unwrap();
            let seen = server.join().unwrap();
            let y = unmask(o, &r, &masks).unwrap();
            let y = y.into_iter().map(|v| v[0].clone().unwrap()).collect();
            (seen, r, y)
        })
    }

    #[test]
    fn the_client_gets_the_result_and_server_and_proxy_see_only_masked_bits() {
        let o = outsourced(7);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let own: Vec<bool> = (0..6).map(|_| rng.r#gen()).collect();
        let x: Vec<Vec<bool>> = (0..40)
            .map(|_| (0..12).map(|_| rng.r#gen()).collect())
            .collect();
        let want: Vec<Vec<bool>> = x
            .iter()
            .map(|x| {
                o.original
                    .eval_many(&[vec![own.clone(), x.clone()]])
                    .unwrap()[0][0]
                    .clone()
            })
            .collect();
        let (seen, returned, got) = job(&o, &own, &x);
        assert_eq!(got, want);
        // Every sample the server saw is x⊕r; over many samples of the same x each
        // bit is 1 about half the time, and the proxy's y⊕s is not y.
        let same_x = vec![x[0].clone(); 400];
        let (seen_same, returned_same, got_same) = job(&o, &own, &same_x);
        assert!(got_same.iter().all(|y| *y == want[0]));
        for b in 0..12 {
            let ones = seen_same.samples.iter().filter(|s| s[0][b]).count();
            assert!((120..=280).contains(&ones), "bit {b}: {ones} of 400");
        }
        let differ = seen_same.samples.iter().filter(|s| s[0] != x[0]).count();
        assert!(differ >= 390, "{differ}");
        let masked = returned_same
            .samples
            .iter()
            .filter(|r| r[0] != want[0])
            .count();
        assert!(masked >= 390, "{masked}");
        for b in 0..8 {
            let ones = returned_same.samples.iter().filter(|r| r[0][b]).count();
            assert!((120..=280).contains(&ones), "output bit {b}: {ones} of 400");
        }
        assert_eq!(seen.samples.len(), 40);
        assert_eq!(returned.samples.len(), 40);
    }

    #[test]
    fn frames_are_checked_before_use() {
        let o = outsourced(8);
        let other = outsourced(9);
        let samples = vec![vec![vec![], vec![true; 12]]];
        let srv = client_shares(&o, &samples, &mut rand::rngs::OsRng)
            .unwrap()
            .to_server;
        let t = Duration::from_secs(5);
        // another circuit
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(t);
        write_frame(&mut a, &other, &srv).unwrap();
        let e = read_frame(&mut b, &o, &[Kind::ToServer], "client").unwrap_err();
        assert!(format!("{e:#}").contains("another circuit"), "{e:#}");
        // the wrong kind
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(t);
        write_frame(&mut a, &o, &srv).unwrap();
        let e = read_frame(&mut b, &o, &[Kind::ToProxy], "client").unwrap_err();
        assert!(format!("{e:#}").contains("unexpected message"), "{e:#}");
        // garbage and a short message
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(t);
        a.write_bytes(&[7u8; 65]).unwrap();
        a.flush().unwrap();
        let e = read_frame(&mut b, &o, &[Kind::ToServer], "client").unwrap_err();
        assert!(format!("{e:#}").contains("protocol"), "{e:#}");
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(t);
        a.write_bytes(&MAGIC[..3]).unwrap();
        a.flush().unwrap();
        drop(a);
        let e = read_frame(&mut b, &o, &[Kind::ToServer], "client").unwrap_err();
        assert!(
            format!("{e:#}").contains("no message from the client"),
            "{e:#}"
        );
        // a length that does not fit the count
        let (mut a, mut b) = MemoryChannel::pair_with_timeout(t);
        let mut bad = srv.clone();
        bad.samples[0].pop(); // the output mask
        write_frame(&mut a, &o, &bad).unwrap();
        let e = read_frame(&mut b, &o, &[Kind::ToServer], "client").unwrap_err();
        assert!(format!("{e:#}").contains("this circuit needs"), "{e:#}");
    }
}

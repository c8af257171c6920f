//! Serving a model over TCP and querying it: the garbler's accept loop with one
//! log line per session and a graceful stop, the evaluator's connect with retry,
//! and both parties in one process.

use crate::model::Model;
use crate::session::{sessions, sessions_keeping};
use anyhow::{Context, Result, anyhow};
use garnet_circuits::Party;
use garnet_runtime::Channel;
use garnet_runtime::memory::MemoryChannel;
use garnet_runtime::session::SessionOutcome;
use garnet_runtime::tcp::{Pace, ServeOptions, TcpChannel};
use std::fmt;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// How a server runs its sessions.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Sessions at once, a thread each; further clients wait in the backlog.
    pub max_sessions: usize,
    /// Read/write timeout of each session.
    pub timeout: Duration,
    /// How fast each client must send: a handshake deadline and a minimum rate.
    pub pace: Pace,
    /// Stop after this many sessions; `None` serves until `stop`.
    pub limit: Option<u64>,
    /// Set it (from a signal handler) to stop accepting; running sessions finish.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_sessions: 4,
            timeout: garnet_runtime::tcp::DEFAULT_TIMEOUT,
            pace: Pace::default(),
            limit: None,
            stop: None,
        }
    }
}

/// What one session did, for the server's log: one line each.
#[derive(Clone, Debug)]
pub struct SessionLog {
    pub peer: String,
    pub inferences: usize,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub seconds: f64,
    /// `Err` with the reason when the session failed.
    pub outcome: Result<(), String>,
}

impl fmt::Display for SessionLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "session client={} inferences={} ",
            self.peer, self.inferences
        )?;
        write_log_tail(
            f,
            self.bytes_sent,
            self.bytes_received,
            self.seconds,
            &self.outcome,
        )
    }
}

/// The end of a log line, the same for every role: traffic, time, outcome.
pub(crate) fn write_log_tail(
    f: &mut fmt::Formatter<'_>,
    sent: u64,
    received: u64,
    seconds: f64,
    outcome: &Result<(), String>,
) -> fmt::Result {
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    write!(
        f,
        "sent={:.1}MiB received={:.1}MiB time={:.3}s ",
        mib(sent),
        mib(received),
        seconds
    )?;
    match outcome {
        Ok(()) => f.write_str("outcome=ok"),
        Err(e) => write!(f, "outcome=failed: {e}"),
    }
}

/// Accepts one client on `listener` and serves it one session (`garnet garble
/// --once`), with `cfg`'s timeout and pace: the peer, its outcomes and log line.
pub fn serve_once(
    listener: &TcpListener,
    model: &Model,
    inputs: &[Vec<bool>],
    cfg: &ServeConfig,
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<(String, Vec<SessionOutcome>, SessionLog)> {
    let (stream, peer) = listener.accept().context("accept failed")?;
    let mut ch = TcpChannel::new(stream, cfg.timeout)?;
    ch.set_pace(cfg.pace);
    let peer = peer.to_string();
    let (outs, log) = serve_session(&mut ch, &peer, model, inputs, progress);
    Ok((peer, outs, log))
}

/// One garbler session on an accepted channel: its outcomes (those of the
/// inferences that finished, when it failed later) and its log line.
pub fn serve_session(
    ch: &mut dyn Channel,
    peer: &str,
    model: &Model,
    inputs: &[Vec<bool>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> (Vec<SessionOutcome>, SessionLog) {
    let start = Instant::now();
    let ins = [inputs.to_vec()];
    let (outs, r) = sessions_keeping(Party::Garbler, ch, model, &ins, progress);
    let log = SessionLog {
        peer: peer.to_string(),
        inferences: outs.len(),
        bytes_sent: ch.bytes_sent(),
        bytes_received: ch.bytes_received(),
        seconds: start.elapsed().as_secs_f64(),
        outcome: r.map_err(|e| format!("{e:#}")),
    };
    (outs, log)
}

/// Serves `model` on `listener` with the garbler's fixed `inputs` (a network's
/// weights, from [`Model::party_inputs`]), one thread per session; `done` gets
/// each session's log and outcomes. The model is opened once and every session
/// streams its gates from it. Returns the number of sessions once `cfg.limit` is
/// reached or `cfg.stop` is set, after the running sessions have finished.
pub fn serve(
    listener: &TcpListener,
    model: Arc<Model>,
    inputs: Arc<Vec<Vec<bool>>>,
    cfg: &ServeConfig,
    done: impl Fn(&SessionLog, &[SessionOutcome]) + Send + Sync + 'static,
) -> Result<u64> {
    let opts = ServeOptions {
        max_sessions: cfg.max_sessions,
        limit: cfg.limit,
        timeout: cfg.timeout,
        pace: cfg.pace,
        stop: cfg.stop.clone(),
    };
    let n = garnet_runtime::tcp::serve(listener, &opts, move |mut ch| {
        let peer = ch
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "?".into());
        let (outs, log) = serve_session(&mut ch, &peer, &model, &inputs, None);
        done(&log, &outs);
    })
    .context("the server stopped")?;
    Ok(n)
}

/// Connects to a server, retrying until `connect_timeout` (see
/// [`TcpChannel::connect_retry`]); `waiting` is told once if the server is not
/// there yet.
pub fn connect(
    addr: &str,
    connect_timeout: Duration,
    timeout: Duration,
    waiting: impl FnOnce(&std::io::Error),
) -> Result<TcpChannel> {
    Ok(TcpChannel::connect_retry(
        addr,
        connect_timeout,
        timeout,
        waiting,
    )?)
}

/// The evaluator's session: one inference per entry of `inputs` (from
/// [`Model::party_inputs_per_inference`]), outcomes in order.
pub fn query(
    ch: &mut dyn Channel,
    model: &Model,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<Vec<SessionOutcome>> {
    sessions(Party::Evaluator, ch, model, inputs, progress)
}

/// The evaluator's session (see [`query`]) handing each outcome to `each` as soon
/// as it is known: after a failure (the server gone mid-session) the caller has
/// already had every finished inference's result.
pub fn query_each(
    ch: &mut dyn Channel,
    model: &Model,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
    each: &mut dyn FnMut(SessionOutcome),
) -> Result<()> {
    crate::session::sessions_each(Party::Evaluator, ch, model, inputs, progress, each)
}

/// Both sides of one session in this process, over loopback TCP or an in-memory
/// channel: the garbler on `gi`, the evaluator one inference per entry of `eis`.
/// Returns (garbler outcomes, evaluator outcomes).
pub fn both_parties(
    model: &Model,
    gi: &[Vec<bool>],
    eis: &[Vec<Vec<bool>>],
    in_memory: bool,
    timeout: Duration,
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<(Vec<SessionOutcome>, Vec<SessionOutcome>)> {
    let (mut gch, mut ech): (Box<dyn Channel>, Box<dyn Channel>) = if in_memory {
        let (a, b) = MemoryChannel::pair_with_timeout(timeout);
        (Box::new(a), Box::new(b))
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
        let addr = listener.local_addr()?;
        let client = TcpChannel::connect(addr, Duration::from_secs(10), timeout)?;
        let (server, _) = listener.accept()?;
        (
            Box::new(TcpChannel::new(server, timeout)?),
            Box::new(client),
        )
    };
    std::thread::scope(|s| {
        let g = s.spawn(move || {
            let r = sessions(
                Party::Garbler,
                &mut *gch,
                model,
                std::slice::from_ref(&gi.to_vec()),
                None,
            );
            drop(gch);
            r
        });
        let e = sessions(Party::Evaluator, &mut *ech, model, eis, progress);
        drop(ech);
        let g = g.join().map_err(|_| anyhow!("garbler thread panicked"))?;
        match (g, e) {
            (Ok(g), Ok(e)) => Ok((g, e)),
            (Err(g), Err(e)) => Err(anyhow!("{g:#}; {e:#}")),
            (Err(x), _) | (_, Err(x)) => Err(x),
        }
    })
}

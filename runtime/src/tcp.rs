//! A TCP channel: buffered both ways, `TCP_NODELAY`, byte counters, a connect
//! timeout and a read timeout (a silent peer ends in `TimedOut`, never a hang).
//! A server's channels also hold their peer to a [`Pace`]: a client trickling a
//! byte every few seconds resets no per-read timeout forever, it is dropped once
//! its waiting time outruns what its bytes allow.

use crate::channel::Channel;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

const BUF: usize = 1 << 18;

/// Default read (and write) timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How fast a server's peer must send. Reading may wait `handshake` in all (the
/// handshake deadline: a whole hello, any time spent before it) plus one second
/// for every `min_rate` bytes received: a correct client, which sends its hello at
/// once and then messages of kilobytes, never comes near it; one sending a byte
/// every second or three is dropped a little after `handshake`. Only the time this
/// side spends blocked in reads counts, not its own garbling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    pub handshake: Duration,
    /// Bytes per second.
    pub min_rate: u64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            handshake: Duration::from_secs(10),
            min_rate: 64,
        }
    }
}

/// The reading time a [`Pace`]d channel has used.
#[derive(Clone, Copy, Debug)]
struct PaceState {
    pace: Pace,
    waited: Duration,
}

impl PaceState {
    /// Waiting time left after `received` bytes.
    fn left(&self, received: u64) -> Duration {
        let earned = Duration::from_secs_f64(received as f64 / self.pace.min_rate.max(1) as f64);
        (self.pace.handshake + earned).saturating_sub(self.waited)
    }

    fn error(&self, received: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "peer too slow: {received} bytes in {:.1} s of waiting, below the minimum of {} bytes/s after a {:.0} s handshake deadline (--min-rate, --handshake-timeout)",
                self.waited.as_secs_f64(),
                self.pace.min_rate,
                self.pace.handshake.as_secs_f64()
            ),
        )
    }
}

/// A connected TCP channel.
#[derive(Debug)]
pub struct TcpChannel {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    peer: Option<SocketAddr>,
    timeout: Duration,
    sent: u64,
    received: u64,
    pace: Option<PaceState>,
}

impl TcpChannel {
    /// Wraps an accepted or connected stream; reads and writes time out after `timeout`.
    pub fn new(stream: TcpStream, timeout: Duration) -> io::Result<TcpChannel> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let peer = stream.peer_addr().ok();
        let reader = BufReader::with_capacity(BUF, stream.try_clone()?);
        let writer = BufWriter::with_capacity(BUF, stream);
        Ok(TcpChannel {
            reader,
            writer,
            peer,
            timeout,
            sent: 0,
            received: 0,
            pace: None,
        })
    }

    /// Holds the peer to `pace` from now on (servers do, for each client); a
    /// `min_rate` of 0 turns pacing off (only the per-read timeout is left).
    pub fn set_pace(&mut self, pace: Pace) {
        self.pace = (pace.min_rate > 0).then_some(PaceState {
            pace,
            waited: Duration::ZERO,
        });
    }

    /// `read_exact` within the pace: each wait on the socket is cut to the time
    /// the peer has left, and the waits add up.
    fn read_paced(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut got = 0;
        while got < buf.len() {
            let Some(p) = self.pace else {
                return self.reader.read_exact(&mut buf[got..]);
            };
            let left = p.left(self.received + got as u64);
            if left.is_zero() {
                return Err(p.error(self.received + got as u64));
            }
            let wait = left.min(self.timeout).max(Duration::from_millis(1));
            if self.reader.buffer().is_empty() {
                self.reader.get_ref().set_read_timeout(Some(wait))?;
            }
            let start = std::time::Instant::now();
            let r = self.reader.read(&mut buf[got..]);
            if let Some(p) = self.pace.as_mut() {
                p.waited += start.elapsed();
            }
            match r {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && wait < self.timeout =>
                {
                    let p = self.pace.expect("paced");
                    return Err(p.error(self.received + got as u64));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Connects to `addr` (each resolved address in turn), giving up on each after
    /// `connect_timeout`.
    pub fn connect(
        addr: impl ToSocketAddrs + std::fmt::Display,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> io::Result<TcpChannel> {
        let mut last = None;
        let addrs = addr
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve `{addr}`: {e}")))?;
        for a in addrs {
            match TcpStream::connect_timeout(&a, connect_timeout) {
                Ok(s) => return TcpChannel::new(s, timeout),
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"));
        let kind = if e.kind() == io::ErrorKind::WouldBlock {
            io::ErrorKind::TimedOut
        } else {
            e.kind()
        };
        Err(io::Error::new(
            kind,
            format!("cannot connect to {addr}: {e}"),
        ))
    }

    /// Connects to `addr`, retrying with exponential backoff (50 ms doubling to
    /// 1 s) until `connect_timeout` has passed, so a client started before its
    /// server (still loading a large circuit, say) waits instead of failing with
    /// `Connection refused`. `waiting` is called once, at the first failed attempt,
    /// to tell the user. The error after the deadline names the address, how long
    /// it waited and the last failure.
    pub fn connect_retry(
        addr: &str,
        connect_timeout: Duration,
        timeout: Duration,
        waiting: impl FnOnce(&io::Error),
    ) -> io::Result<TcpChannel> {
        let start = std::time::Instant::now();
        let mut waiting = Some(waiting);
        let mut pause = Duration::from_millis(50);
        loop {
            let left = connect_timeout.saturating_sub(start.elapsed());
            let attempt = left.clamp(Duration::from_millis(10), Duration::from_secs(5));
            let e = match TcpChannel::connect(addr, attempt, timeout) {
                Ok(ch) => return Ok(ch),
                Err(e) => e,
            };
            let left = connect_timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no server accepted a connection at {addr} within {:.1} s (--connect-timeout); last attempt: {e}",
                        connect_timeout.as_secs_f64()
                    ),
                ));
            }
            if let Some(w) = waiting.take() {
                w(&e);
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Closes both directions (best effort).
    pub fn shutdown(&mut self) {
        let _ = self.writer.flush();
        let _ = self.writer.get_ref().shutdown(Shutdown::Both);
    }

    fn map_err(&self, e: io::Error, what: &str) -> io::Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "peer sent nothing for {:.1} s while {what}",
                    self.timeout.as_secs_f64()
                ),
            ),
            io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("peer closed the connection while {what}"),
            ),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => io::Error::new(
                e.kind(),
                format!("peer dropped the connection while {what}: {e}"),
            ),
            _ => e,
        }
    }
}

impl Channel for TcpChannel {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer
            .write_all(bytes)
            .map_err(|e| self.map_err(e, "sending"))?;
        self.sent += bytes.len() as u64;
        Ok(())
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        // A flush first: a protocol that forgot to flush before waiting must not deadlock.
        if !self.writer.buffer().is_empty() {
            self.writer
                .flush()
                .map_err(|e| self.map_err(e, "sending"))?;
        }
        let r = if self.pace.is_some() {
            self.read_paced(buf)
        } else {
            self.reader.read_exact(buf)
        };
        r.map_err(|e| {
            // The pace's own error says why; others get the usual words.
            if e.kind() == io::ErrorKind::TimedOut && e.get_ref().is_some() {
                e
            } else {
                self.map_err(e, "receiving")
            }
        })?;
        self.received += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush().map_err(|e| self.map_err(e, "sending"))
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }

    fn bytes_received(&self) -> u64 {
        self.received
    }
}

impl Drop for TcpChannel {
    fn drop(&mut self) {
        let _ = self.writer.flush();
    }
}

/// How a server accepts sessions.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Sessions served at once (a thread each); further clients wait in the backlog.
    pub max_sessions: usize,
    /// Stop after this many sessions (all finished); `None` serves until killed.
    pub limit: Option<u64>,
    /// Read/write timeout of each session's channel.
    pub timeout: Duration,
    /// How fast each client must send (see [`Pace`]).
    pub pace: Pace,
    /// When set (by a signal handler, say), stop accepting, let the running
    /// sessions finish, and return: a graceful shutdown.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_sessions: 4,
            limit: None,
            timeout: DEFAULT_TIMEOUT,
            pace: Pace::default(),
            stop: None,
        }
    }
}

/// Accepts connections on `listener` and runs `handler` for each on its own thread,
/// at most `opts.max_sessions` at once. A failing session (the handler reports its
/// own errors) never stops the server. Returns the number of sessions served once
/// `opts.limit` is reached or `opts.stop` is set, and every session has finished.
pub fn serve<F>(
    listener: &std::net::TcpListener,
    opts: &ServeOptions,
    handler: F,
) -> io::Result<u64>
where
    F: Fn(TcpChannel) + Send + Sync + 'static,
{
    use std::sync::{Arc, Condvar, Mutex};
    let handler = Arc::new(handler);
    let active = Arc::new((Mutex::new(0usize), Condvar::new()));
    let max = opts.max_sessions.max(1);
    let mut served = 0u64;
    let mut threads = Vec::new();
    let stopping = || {
        opts.stop
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
    };
    // With a stop flag, accept polls so that the flag is seen within 50 ms.
    let poll = opts.stop.is_some();
    listener.set_nonblocking(poll)?;
    while opts.limit.is_none_or(|l| served < l) && !stopping() {
        {
            let (lock, cv) = &*active;
            let mut n = lock.lock().unwrap_or_else(|e| e.into_inner());
            while *n >= max {
                n = cv
                    .wait_timeout(n, Duration::from_millis(50))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if poll && e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let ch = match stream
            .set_nonblocking(false)
            .and_then(|()| TcpChannel::new(stream, opts.timeout))
        {
            Ok(mut c) => {
                c.set_pace(opts.pace);
                c
            }
            Err(e) => {
                tracing::warn!("cannot set up a connection: {e}");
                continue;
            }
        };
        served += 1;
        *active.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let (h, act) = (handler.clone(), active.clone());
        let t = std::thread::Builder::new()
            .name(format!("session-{served}"))
            .spawn(move || {
                struct Done(Arc<(Mutex<usize>, Condvar)>);
                impl Drop for Done {
                    fn drop(&mut self) {
                        let (lock, cv) = &*self.0;
                        *lock.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                        cv.notify_all();
                    }
                }
                let _done = Done(act);
                h(ch);
            })?;
        threads.retain(|t: &std::thread::JoinHandle<()>| !t.is_finished());
        threads.push(t);
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn round_trip_counters_and_timeout() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut c = TcpChannel::new(s, Duration::from_secs(5)).unwrap();
            let mut buf = [0u8; 3];
            c.read_bytes(&mut buf).unwrap();
            c.write_bytes(&buf).unwrap();
            c.flush().unwrap();
            // Then stay silent until the client gives up, then close.
            let mut more = [0u8; 1];
            let _ = c.read_bytes(&mut more);
        });
        let mut c =
            TcpChannel::connect(addr, Duration::from_secs(5), Duration::from_millis(200)).unwrap();
        c.write_bytes(b"abc").unwrap();
        c.flush().unwrap();
        let mut buf = [0u8; 3];
        c.read_bytes(&mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        assert_eq!((c.bytes_sent(), c.bytes_received()), (3, 3));
        let start = std::time::Instant::now();
        let err = c.read_bytes(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(c);
        t.join().unwrap();
    }

    #[test]
    fn connect_retry_waits_for_a_late_server_and_gives_up_after_the_timeout() {
        // Find a free port, then listen on it only after the client has started.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let l = TcpListener::bind(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            drop(s);
        });
        let mut waited = 0;
        let c = TcpChannel::connect_retry(
            &addr.to_string(),
            Duration::from_secs(10),
            Duration::from_secs(1),
            |_| waited += 1,
        );
        assert!(c.is_ok(), "{:?}", c.err());
        assert_eq!(waited, 1);
        late.join().unwrap();
        // Nobody comes: an error after about the timeout, naming the address.
        let start = std::time::Instant::now();
        let e = TcpChannel::connect_retry(
            &addr.to_string(),
            Duration::from_millis(400),
            Duration::from_secs(1),
            |_| {},
        )
        .unwrap_err();
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }

    #[test]
    fn a_paced_channel_drops_a_trickler_and_keeps_a_fast_peer() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let pace = Pace {
            handshake: Duration::from_millis(300),
            min_rate: 64,
        };
        // A byte every 100 ms: dropped soon after the 300 ms handshake allowance.
        let t = std::thread::spawn(move || {
            let mut c = TcpChannel::connect(addr, SHORT_T, SHORT_T).unwrap();
            for _ in 0..40 {
                if c.write_bytes(&[7]).and_then(|()| c.flush()).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let (s, _) = l.accept().unwrap();
        let mut c = TcpChannel::new(s, Duration::from_secs(10)).unwrap();
        c.set_pace(pace);
        let start = std::time::Instant::now();
        let e = c.read_bytes(&mut [0u8; 30]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        assert!(e.to_string().contains("peer too slow"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(3));
        drop(c);
        t.join().unwrap();
        // 4 KiB at once, then 500 ms of silence: the bytes paid for the wait.
        let t = std::thread::spawn(move || {
            let mut c = TcpChannel::connect(addr, SHORT_T, SHORT_T).unwrap();
            c.write_bytes(&[1; 4096]).unwrap();
            c.flush().unwrap();
            std::thread::sleep(Duration::from_millis(500));
            c.write_bytes(&[2; 16]).unwrap();
            c.flush().unwrap();
        });
        let (s, _) = l.accept().unwrap();
        let mut c = TcpChannel::new(s, Duration::from_secs(10)).unwrap();
        c.set_pace(pace);
        c.read_bytes(&mut [0u8; 4096]).unwrap();
        let mut b = [0u8; 16];
        c.read_bytes(&mut b).unwrap();
        assert_eq!(b, [2; 16]);
        t.join().unwrap();
    }

    const SHORT_T: Duration = Duration::from_secs(5);

    #[test]
    fn connect_to_a_closed_port_fails_cleanly() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let err =
            TcpChannel::connect(addr, Duration::from_secs(2), Duration::from_secs(2)).unwrap_err();
        assert!(err.to_string().contains("cannot connect"), "{err}");
    }
}

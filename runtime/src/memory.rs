//! In-memory channels: a connected pair for two threads, and a byte buffer for
//! benchmarks (write everything, then read it back).

use crate::channel::Channel;
use std::io;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Bytes gathered before a chunk is handed to the peer (also handed over on flush).
const CHUNK: usize = 1 << 16;
/// Chunks in flight before the writer blocks (back-pressure: bounded memory).
const DEPTH: usize = 16;

/// One end of an in-memory duplex pipe. Created in pairs by [`MemoryChannel::pair`].
#[derive(Debug)]
pub struct MemoryChannel {
    tx: SyncSender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    pos: usize,
    timeout: Duration,
    sent: u64,
    received: u64,
}

impl MemoryChannel {
    /// Two connected ends; reads time out after `timeout` with `TimedOut`, and fail
    /// with `UnexpectedEof` once the other end is dropped.
    pub fn pair_with_timeout(timeout: Duration) -> (MemoryChannel, MemoryChannel) {
        let (tx1, rx1) = sync_channel(DEPTH);
        let (tx2, rx2) = sync_channel(DEPTH);
        let mk = |tx, rx| MemoryChannel {
            tx,
            rx,
            out: Vec::with_capacity(CHUNK),
            inbuf: Vec::new(),
            pos: 0,
            timeout,
            sent: 0,
            received: 0,
        };
        (mk(tx1, rx2), mk(tx2, rx1))
    }

    /// A pair with a 60 s read timeout.
    pub fn pair() -> (MemoryChannel, MemoryChannel) {
        MemoryChannel::pair_with_timeout(Duration::from_secs(60))
    }

    fn send_chunk(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.out, Vec::with_capacity(CHUNK));
        // A blocked send would wait forever for a peer that never reads; bound it.
        let mut chunk = chunk;
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            match self.tx.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "peer closed the in-memory channel",
                    ));
                }
                Err(TrySendError::Full(c)) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "peer stopped reading the in-memory channel",
                        ));
                    }
                    chunk = c;
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
    }
}

impl Channel for MemoryChannel {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(bytes);
        self.sent += bytes.len() as u64;
        if self.out.len() >= CHUNK {
            self.send_chunk()?;
        }
        Ok(())
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            if self.pos == self.inbuf.len() {
                match self.rx.recv_timeout(self.timeout) {
                    Ok(v) => {
                        self.inbuf = v;
                        self.pos = 0;
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no data from peer within the timeout",
                        ));
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "peer closed the in-memory channel",
                        ));
                    }
                }
                continue;
            }
            let n = (buf.len() - done).min(self.inbuf.len() - self.pos);
            buf[done..done + n].copy_from_slice(&self.inbuf[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        self.received += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_chunk()
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }

    fn bytes_received(&self) -> u64 {
        self.received
    }
}

/// A one-way byte buffer: writes append, reads consume from the front. Reading past
/// the end is `UnexpectedEof`. For benchmarks with tables to and from memory.
#[derive(Debug, Default)]
pub struct BufferChannel {
    data: Vec<u8>,
    pos: usize,
    sent: u64,
    received: u64,
}

impl BufferChannel {
    pub fn new() -> BufferChannel {
        BufferChannel::default()
    }

    pub fn with_capacity(bytes: usize) -> BufferChannel {
        BufferChannel {
            data: Vec::with_capacity(bytes),
            ..Default::default()
        }
    }

    /// Rewinds reading to the start (keeps the data).
    pub fn rewind(&mut self) {
        self.pos = 0;
    }

    /// Drops all data.
    pub fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Everything written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Channel for BufferChannel {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(bytes);
        self.sent += bytes.len() as u64;
        Ok(())
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let end = self.pos + buf.len();
        if end > self.data.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "buffer channel exhausted",
            ));
        }
        buf.copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        self.received += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }

    fn bytes_received(&self) -> u64 {
        self.received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_round_trip_and_counters() {
        let (mut a, mut b) = MemoryChannel::pair();
        let t = std::thread::spawn(move || {
            let mut buf = vec![0u8; 200_000];
            b.read_bytes(&mut buf).unwrap();
            b.write_bytes(&buf[..5]).unwrap();
            b.flush().unwrap();
            (buf, b.bytes_received())
        });
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        a.write_bytes(&data).unwrap();
        a.flush().unwrap();
        let mut five = [0u8; 5];
        a.read_bytes(&mut five).unwrap();
        let (got, recv) = t.join().unwrap();
        assert_eq!(got, data);
        assert_eq!(recv, 200_000);
        assert_eq!(a.bytes_sent(), 200_000);
        assert_eq!(a.bytes_received(), 5);
        assert_eq!(five, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn silent_peer_times_out_and_closed_peer_is_eof() {
        let (mut a, b) = MemoryChannel::pair_with_timeout(Duration::from_millis(50));
        let mut buf = [0u8; 4];
        assert_eq!(
            a.read_bytes(&mut buf).unwrap_err().kind(),
            io::ErrorKind::TimedOut
        );
        drop(b);
        assert_eq!(
            a.read_bytes(&mut buf).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn buffer_channel_reads_back_and_reports_eof() {
        let mut c = BufferChannel::new();
        c.write_bytes(b"hello").unwrap();
        let mut buf = [0u8; 5];
        c.read_bytes(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        assert_eq!(
            c.read_bytes(&mut buf).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}

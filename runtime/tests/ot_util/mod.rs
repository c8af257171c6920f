//! Test channels for the OT tests (independent of the crate's own channels).
#![allow(dead_code)]

use garnet_runtime::Channel;
use std::io;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// One end of an in-memory duplex pipe: flushed writes travel as messages; reads
/// give up after a timeout so a broken protocol fails instead of hanging.
pub struct Pipe {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    out: Vec<u8>,
    cur: Vec<u8>,
    pos: usize,
    sent: u64,
    received: u64,
}

pub fn pipe_pair() -> (Pipe, Pipe) {
    let (t1, r1) = channel();
    let (t2, r2) = channel();
    (Pipe::new(t1, r2), Pipe::new(t2, r1))
}

impl Pipe {
    fn new(tx: Sender<Vec<u8>>, rx: Receiver<Vec<u8>>) -> Pipe {
        Pipe {
            tx,
            rx,
            out: Vec::new(),
            cur: Vec::new(),
            pos: 0,
            sent: 0,
            received: 0,
        }
    }
}

impl Channel for Pipe {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(bytes);
        self.sent += bytes.len() as u64;
        Ok(())
    }

    fn read_bytes(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            if self.pos == self.cur.len() {
                self.cur = self
                    .rx
                    .recv_timeout(Duration::from_secs(20))
                    .map_err(|e| match e {
                        std::sync::mpsc::RecvTimeoutError::Timeout => {
                            io::Error::new(io::ErrorKind::TimedOut, "test pipe: read timed out")
                        }
                        std::sync::mpsc::RecvTimeoutError::Disconnected => {
                            io::Error::new(io::ErrorKind::UnexpectedEof, "test pipe: peer closed")
                        }
                    })?;
                self.pos = 0;
            }
            let k = buf.len().min(self.cur.len() - self.pos);
            buf[..k].copy_from_slice(&self.cur[self.pos..self.pos + k]);
            self.pos += k;
            self.received += k as u64;
            buf = &mut buf[k..];
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let msg = std::mem::take(&mut self.out);
            self.tx
                .send(msg)
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "test pipe: peer closed"))?;
        }
        Ok(())
    }

    fn bytes_sent(&self) -> u64 {
        self.sent
    }

    fn bytes_received(&self) -> u64 {
        self.received
    }
}

/// A peer that sends a fixed byte string and then hangs up; what we write is
/// recorded.
pub struct Scripted {
    pub input: Vec<u8>,
    pub pos: usize,
    pub written: Vec<u8>,
}

impl Scripted {
    pub fn new(input: Vec<u8>) -> Scripted {
        Scripted {
            input,
            pos: 0,
            written: Vec::new(),
        }
    }
}

impl Channel for Scripted {
    fn write_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.written.extend_from_slice(bytes);
        Ok(())
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if self.input.len() - self.pos < buf.len() {
            self.pos = self.input.len();
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "scripted peer closed",
            ));
        }
        buf.copy_from_slice(&self.input[self.pos..self.pos + buf.len()]);
        self.pos += buf.len();
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn bytes_sent(&self) -> u64 {
        self.written.len() as u64
    }

    fn bytes_received(&self) -> u64 {
        self.pos as u64
    }
}

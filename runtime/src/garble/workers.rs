//! Helper threads that garble or evaluate parts of a window of AND gates.
//!
//! The gate loop stays on the calling thread (it owns the labels and the channel);
//! at each flush of a large window it hands contiguous ranges of the window's AND
//! gates to the helpers, works on its own range, and collects theirs. A range is a
//! [`Part`] that travels by value (boxed, reused from flush to flush), so no label
//! array is shared between threads and no `unsafe` is needed.
//!
//! Hand-offs are a few microseconds of a window's tens: a waiting thread spins
//! briefly before it blocks, since the next window is usually only microseconds
//! away, and blocks afterwards so that an idle session costs no CPU.

use super::Scheme;
use super::part::{Part, eval_part, garble_part};
use crate::block::Block;
use crate::hash::Tccr;
use crate::prg::Prg;
use crate::threehalves::Scratch;
use std::io;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a waiting thread spins before it blocks.
const SPIN: Duration = Duration::from_micros(50);

/// What the helpers compute.
#[derive(Clone, Debug)]
pub(super) enum Role {
    Garble {
        hash: Tccr,
        delta: Block,
        scheme: Scheme,
    },
    Eval {
        hash: Tccr,
        scheme: Scheme,
    },
}

/// One helper thread with its job queue, its results and its reusable part.
#[derive(Debug)]
pub(super) struct Worker {
    jobs: Option<Sender<Box<Part>>>,
    results: Receiver<Box<Part>>,
    /// The part to fill next time.
    spare: Option<Box<Part>>,
    /// A result [`Worker::poll`] saw before [`Worker::collect`] asked for it.
    ready: Option<Box<Part>>,
    thread: Option<JoinHandle<()>>,
    cap: usize,
}

/// Receives with a short spin before blocking; `None` once the sender is gone.
fn recv_spinning<T>(rx: &Receiver<T>) -> Option<T> {
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        std::hint::spin_loop();
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(64) && start.elapsed() > SPIN {
            return rx.recv().ok();
        }
    }
}

fn worker_failed() -> io::Error {
    io::Error::other("a garbling helper thread stopped unexpectedly")
}

impl Worker {
    /// Starts a helper for parts of up to `cap` AND gates.
    pub(super) fn spawn(role: Role, cap: usize, index: usize) -> io::Result<Worker> {
        let (job_tx, job_rx) = channel::<Box<Part>>();
        let (res_tx, res_rx) = channel::<Box<Part>>();
        let thread = std::thread::Builder::new()
            .name(format!("garnet-gc-{index}"))
            .spawn(move || {
                // Three-halves: this thread's scratch and its own random bits.
                let mut three = match &role {
                    Role::Garble { scheme, .. } | Role::Eval { scheme, .. } => (*scheme
                        == Scheme::ThreeHalves)
                        .then(|| (Scratch::default(), Prg::from_entropy())),
                };
                while let Some(mut p) = recv_spinning(&job_rx) {
                    match &role {
                        Role::Garble { hash, delta, .. } => {
                            garble_part(hash, *delta, &mut p, three.as_mut())
                        }
                        Role::Eval { hash, .. } => {
                            eval_part(hash, &mut p, three.as_mut().map(|t| &mut t.0))
                        }
                    }
                    if res_tx.send(p).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Worker {
            jobs: Some(job_tx),
            results: res_rx,
            spare: None,
            ready: None,
            thread: Some(thread),
            cap,
        })
    }

    /// A part to fill (the one returned last time, or a new one).
    pub(super) fn take_part(&mut self, garbler: bool) -> Box<Part> {
        self.spare
            .take()
            .unwrap_or_else(|| Box::new(Part::new(self.cap, garbler)))
    }

    pub(super) fn send(&mut self, part: Box<Part>) -> io::Result<()> {
        let jobs = self.jobs.as_ref().ok_or_else(worker_failed)?;
        jobs.send(part).map_err(|_| worker_failed())
    }

    /// Whether the part sent last is done, without waiting.
    pub(super) fn poll(&mut self) -> bool {
        if self.ready.is_none() {
            self.ready = self.results.try_recv().ok();
        }
        self.ready.is_some()
    }

    /// The part sent last, computed (waits for it).
    pub(super) fn collect(&mut self) -> io::Result<Box<Part>> {
        match self.ready.take() {
            Some(p) => Ok(p),
            None => recv_spinning(&self.results).ok_or_else(worker_failed),
        }
    }

    /// Gives a part back for the next flush.
    pub(super) fn recycle(&mut self, part: Box<Part>) {
        self.spare = Some(part);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once its current part is done.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

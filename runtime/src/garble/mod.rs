//! Streaming garbler and evaluator drivers.
//!
//! Both walk the gates once, in order, keeping one label per wire slot in a flat
//! array (grown as gates write new slots, never one per gate). XOR and NOT cost nothing. AND
//! gates are not hashed one at a time: each driver collects a *window* of AND gates
//! whose inputs are ready, captures their input labels, and hashes the whole window in
//! one batched TMMO call ([`Tccr::hash_in_place`]) so the AES units stay busy. A gate
//! that reads — or overwrites — the output of a pending AND flushes the window first
//! (a per-slot epoch stamp makes that check O(1)), so the result is exactly that of
//! gate-by-gate evaluation. The garbler writes the two ciphertexts of each AND to the
//! channel in gate order; the evaluator reads them in the same order.
//!
//! On several cores ([`GarblerCore::with_threads`]) the windows grow to thousands of
//! AND gates (the compiler's AND-level scheduling makes them that long) and each is
//! split between the calling thread and helper threads (`window`, `workers`); the
//! tables and labels do not depend on the thread count.
//!
//! Two schemes ([`Scheme`]): half-gates (32 bytes per AND) and three-halves
//! ([`crate::threehalves`], 24.625 bytes per AND in full windows). Three-halves windows
//! have the same size for every thread count and are split in whole chunks of 128
//! ANDs, since its control bits are packed per chunk.
//!
//! Type-level separation: [`GarblerCore`] holds the [`Delta`]; [`EvaluatorCore`]
//! holds no Δ and has no way to obtain one.

use crate::block::Block;
use crate::channel::Channel;
use crate::halfgates::Delta;
use crate::hash::Tccr;
use garnet_circuits::{Gate, Op};
use std::io;
use window::{EvalWindow, GarbleWindow};

/// The progress callback fires every this many gates.
pub const PROGRESS_EVERY: u64 = 1 << 20;

/// Bytes of garbled table per AND gate (half-gates); see [`garnet_circuits::cost`].
pub const BYTES_PER_AND: u64 = garnet_circuits::cost::HALF_GATES_BYTES_PER_AND;

/// The garbling scheme; its wire sizes live in [`garnet_circuits::cost`], which
/// `stats` reads too.
pub use garnet_circuits::cost::Scheme;

/// Gate and AND counts of one streaming pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub gates: u64,
    pub ands: u64,
}

/// A streaming pass failed: on the channel, or in the gate stream itself.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("{0}")]
    Channel(#[source] io::Error),
    #[error("{0}")]
    Gate(#[source] io::Error),
}

impl StreamError {
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            StreamError::Channel(e) | StreamError::Gate(e) => e.kind(),
        }
    }
}

/// An item of a gate stream: a [`Gate`], or a `Result` from a streaming file reader
/// (whose error aborts the pass as [`StreamError::Gate`]).
pub trait GateItem {
    fn into_gate(self) -> io::Result<Gate>;
}

impl GateItem for Gate {
    #[inline(always)]
    fn into_gate(self) -> io::Result<Gate> {
        Ok(self)
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> GateItem for Result<Gate, E> {
    #[inline(always)]
    fn into_gate(self) -> io::Result<Gate> {
        self.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

fn bad_gate(index: u64, g: &Gate, wires: usize) -> StreamError {
    StreamError::Gate(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "gate {index} ({:?} {} {} -> {}) uses a wire outside the circuit's {wires} wire slots",
            g.op, g.a, g.b, g.out
        ),
    ))
}

/// Starts the next epoch of the pending-output stamps (clearing them on wrap-around).
#[inline(always)]
fn next_epoch(stamp: &mut [u32], epoch: &mut u32) {
    *epoch = epoch.wrapping_add(1);
    if *epoch == 0 {
        stamp.iter_mut().for_each(|s| *s = 0);
        *epoch = 1;
    }
}

/// Grows the per-slot arrays to `slots` (capped at `max`).
fn hold(labels: &mut Vec<Block>, stamp: &mut Vec<u32>, slots: u32, max: usize) {
    let n = (slots as usize).min(max);
    if n > labels.len() {
        labels.resize(n, Block::ZERO);
        stamp.resize(n, 0);
    }
}

/// Garbler state: Δ, the hash, the 0-label of every wire slot, the AND counter.
#[derive(Debug)]
pub struct GarblerCore {
    labels: Vec<Block>,
    /// `stamp[w] == epoch` marks a wire written by a pending AND.
    stamp: Vec<u32>,
    /// The circuit's wire slots: `labels` grows up to this many.
    max: usize,
    epoch: u32,
    win: Box<GarbleWindow>,
}

impl GarblerCore {
    /// A garbler for a circuit with `wires` slots. All labels start at zero; set the
    /// input wires' 0-labels with [`GarblerCore::labels_mut`] before garbling.
    pub fn new(hash: Tccr, delta: Delta, wires: u32) -> GarblerCore {
        Self::with_threads(hash, delta, wires, 1).expect("one thread starts no helper")
    }

    /// A garbler that spreads large windows of independent AND gates over `threads`
    /// threads (the caller's and `threads - 1` helpers). The tables are the same for
    /// every thread count.
    pub fn with_threads(
        hash: Tccr,
        delta: Delta,
        wires: u32,
        threads: usize,
    ) -> io::Result<GarblerCore> {
        Self::with_scheme(hash, delta, wires, threads, Scheme::HalfGates)
    }

    /// A garbler for `scheme` on `threads` threads (see [`GarblerCore::with_threads`]).
    pub fn with_scheme(
        hash: Tccr,
        delta: Delta,
        wires: u32,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<GarblerCore> {
        Self::with_slots(hash, delta, wires, wires, threads, scheme)
    }

    /// [`GarblerCore::with_scheme`] with only `slots` of the `wires` slots held at
    /// first (say, the input wires); the rest are added as gates write
    /// them, so memory follows the gates, not a header's wire count.
    pub fn with_slots(
        hash: Tccr,
        delta: Delta,
        wires: u32,
        slots: u32,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<GarblerCore> {
        let n = slots.min(wires) as usize;
        Ok(GarblerCore {
            labels: vec![Block::ZERO; n],
            stamp: vec![0; n],
            max: wires as usize,
            epoch: 1,
            win: Box::new(GarbleWindow::new(hash, delta, threads, scheme)?),
        })
    }

    pub fn delta(&self) -> &Delta {
        &self.win.delta
    }

    pub fn scheme(&self) -> Scheme {
        self.win.scheme
    }

    /// The 0-labels, one per wire slot held so far.
    pub fn labels(&self) -> &[Block] {
        &self.labels
    }

    pub fn labels_mut(&mut self) -> &mut [Block] {
        &mut self.labels
    }

    /// Holds at least `slots` slots (at most the circuit's), zero-labelled if new.
    pub fn hold_slots(&mut self, slots: u32) {
        hold(&mut self.labels, &mut self.stamp, slots, self.max);
    }

    /// Number of AND gates garbled so far (the next AND's index `j`).
    pub fn ands(&self) -> u64 {
        self.win.next_and
    }

    /// Garbles `gates` in order, writing the tables of every AND gate to `ch`
    /// (half-gates: `[T_G, T_E]` per gate; three-halves: per chunk of a window, see
    /// [`crate::threehalves::garble_chunks`]; buffered; the channel is not flushed). `progress` receives the number of gates
    /// done every [`PROGRESS_EVERY`] gates.
    pub fn garble<I: IntoIterator>(
        &mut self,
        gates: I,
        ch: &mut dyn Channel,
        progress: &mut dyn FnMut(u64),
    ) -> Result<StreamStats, StreamError>
    where
        I::Item: GateItem,
    {
        let start_ands = self.win.next_and;
        let r = garble_loop(
            &mut self.labels,
            &mut self.stamp,
            self.max,
            &mut self.epoch,
            &mut self.win,
            gates,
            ch,
            progress,
        );
        let gates = r?;
        Ok(StreamStats {
            gates,
            ands: self.win.next_and - start_ands,
        })
    }
}

/// The garbler's hot loop; slices and the epoch are locals so the compiler keeps them
/// in registers and drops repeated bounds checks.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn garble_loop<I: IntoIterator>(
    labels_vec: &mut Vec<Block>,
    stamp_vec: &mut Vec<u32>,
    max: usize,
    epoch: &mut u32,
    win: &mut GarbleWindow,
    gates: I,
    ch: &mut dyn Channel,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError>
where
    I::Item: GateItem,
{
    let mut labels: &mut [Block] = &mut labels_vec[..];
    let mut stamp: &mut [u32] = &mut stamp_vec[..];
    assert_eq!(stamp.len(), labels.len());
    let d = win.delta.block();
    let mut count = 0u64;
    for item in gates {
        let g = item.into_gate().map_err(StreamError::Gate)?;
        let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
        if a >= labels.len() || b >= labels.len() || o >= labels.len() {
            let top = a.max(b).max(o);
            if top >= max {
                return Err(bad_gate(count, &g, max));
            }
            let want = (top + 1).max(labels.len() * 2).min(max) as u32;
            hold(labels_vec, stamp_vec, want, max);
            (labels, stamp) = (&mut labels_vec[..], &mut stamp_vec[..]);
        }
        let e = *epoch;
        if stamp[a] == e || stamp[b] == e || stamp[o] == e {
            win.flush(labels, ch).map_err(StreamError::Channel)?;
            next_epoch(stamp, epoch);
        }
        match g.op {
            Op::Xor => labels[o] = labels[a] ^ labels[b],
            Op::Not => labels[o] = labels[a] ^ d,
            Op::And => {
                let (a0, b0) = (labels[a], labels[b]);
                let k = win.n;
                win.xs[2 * k] = a0;
                win.xs[2 * k + 1] = b0;
                win.out[k] = o as u32;
                stamp[o] = *epoch;
                win.n = k + 1;
                if k + 1 == win.cap {
                    win.flush(labels, ch).map_err(StreamError::Channel)?;
                    next_epoch(stamp, epoch);
                }
            }
        }
        count += 1;
        if count.is_multiple_of(PROGRESS_EVERY) {
            progress(count);
        }
    }
    win.flush(labels, ch).map_err(StreamError::Channel)?;
    next_epoch(stamp, epoch);
    win.drain(ch).map_err(StreamError::Channel)?;
    Ok(count)
}

/// Evaluator state: the hash, the active label of every wire slot, the AND counter.
/// It holds no Δ, and nothing in its API yields one:
///
/// ```compile_fail
/// use garnet_runtime::{Block, garble::EvaluatorCore, hash::Tccr};
/// let e = EvaluatorCore::new(Tccr::new(Block(1)), 4);
/// let _delta = e.delta(); // no such method: the evaluator never sees Δ
/// ```
///
/// while the garbler's does (the same code with `GarblerCore` compiles):
///
/// ```
/// use garnet_runtime::{Block, garble::GarblerCore, halfgates::Delta, hash::Tccr};
/// let g = GarblerCore::new(Tccr::new(Block(1)), Delta::from_os(), 4);
/// let _delta = g.delta();
/// ```
#[derive(Debug)]
pub struct EvaluatorCore {
    labels: Vec<Block>,
    stamp: Vec<u32>,
    max: usize,
    epoch: u32,
    win: Box<EvalWindow>,
}

impl EvaluatorCore {
    pub fn new(hash: Tccr, wires: u32) -> EvaluatorCore {
        Self::with_threads(hash, wires, 1).expect("one thread starts no helper")
    }

    /// An evaluator that spreads large windows over `threads` threads (see
    /// [`GarblerCore::with_threads`]); the labels are the same for every count.
    pub fn with_threads(hash: Tccr, wires: u32, threads: usize) -> io::Result<EvaluatorCore> {
        Self::with_scheme(hash, wires, threads, Scheme::HalfGates)
    }

    /// An evaluator for `scheme` (see [`GarblerCore::with_scheme`]).
    pub fn with_scheme(
        hash: Tccr,
        wires: u32,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<EvaluatorCore> {
        Self::with_slots(hash, wires, wires, threads, scheme)
    }

    /// An evaluator holding `slots` of the `wires` slots at first, growing as
    /// gates write the rest (see [`GarblerCore::with_slots`]).
    pub fn with_slots(
        hash: Tccr,
        wires: u32,
        slots: u32,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<EvaluatorCore> {
        let n = slots.min(wires) as usize;
        Ok(EvaluatorCore {
            labels: vec![Block::ZERO; n],
            stamp: vec![0; n],
            max: wires as usize,
            epoch: 1,
            win: Box::new(EvalWindow::new(hash, threads, scheme)?),
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.win.scheme
    }

    /// The active labels, one per wire slot held so far.
    pub fn labels(&self) -> &[Block] {
        &self.labels
    }

    pub fn labels_mut(&mut self) -> &mut [Block] {
        &mut self.labels
    }

    pub fn ands(&self) -> u64 {
        self.win.next_and
    }

    /// Holds at least `slots` slots (at most the circuit's), see
    /// [`GarblerCore::hold_slots`].
    pub fn hold_slots(&mut self, slots: u32) {
        hold(&mut self.labels, &mut self.stamp, slots, self.max);
    }

    /// Evaluates `gates` in order, reading each AND gate's ciphertexts from `ch`.
    pub fn evaluate<I: IntoIterator>(
        &mut self,
        gates: I,
        ch: &mut dyn Channel,
        progress: &mut dyn FnMut(u64),
    ) -> Result<StreamStats, StreamError>
    where
        I::Item: GateItem,
    {
        let start_ands = self.win.next_and;
        let gates = eval_loop(
            &mut self.labels,
            &mut self.stamp,
            self.max,
            &mut self.epoch,
            &mut self.win,
            gates,
            ch,
            progress,
        )?;
        Ok(StreamStats {
            gates,
            ands: self.win.next_and - start_ands,
        })
    }
}

/// The evaluator's hot loop (see [`garble_loop`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn eval_loop<I: IntoIterator>(
    labels_vec: &mut Vec<Block>,
    stamp_vec: &mut Vec<u32>,
    max: usize,
    epoch: &mut u32,
    win: &mut EvalWindow,
    gates: I,
    ch: &mut dyn Channel,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError>
where
    I::Item: GateItem,
{
    let mut labels: &mut [Block] = &mut labels_vec[..];
    let mut stamp: &mut [u32] = &mut stamp_vec[..];
    assert_eq!(stamp.len(), labels.len());
    let mut count = 0u64;
    for item in gates {
        let g = item.into_gate().map_err(StreamError::Gate)?;
        let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
        if a >= labels.len() || b >= labels.len() || o >= labels.len() {
            let top = a.max(b).max(o);
            if top >= max {
                return Err(bad_gate(count, &g, max));
            }
            let want = (top + 1).max(labels.len() * 2).min(max) as u32;
            hold(labels_vec, stamp_vec, want, max);
            (labels, stamp) = (&mut labels_vec[..], &mut stamp_vec[..]);
        }
        let e = *epoch;
        if stamp[a] == e || stamp[b] == e || stamp[o] == e {
            win.flush(labels, ch).map_err(StreamError::Channel)?;
            next_epoch(stamp, epoch);
        }
        match g.op {
            Op::Xor => labels[o] = labels[a] ^ labels[b],
            Op::Not => labels[o] = labels[a],
            Op::And => {
                let (wa, wb) = (labels[a], labels[b]);
                let k = win.n;
                win.xs[2 * k] = wa;
                win.xs[2 * k + 1] = wb;
                win.out[k] = o as u32;
                stamp[o] = *epoch;
                win.n = k + 1;
                if k + 1 == win.cap {
                    win.flush(labels, ch).map_err(StreamError::Channel)?;
                    next_epoch(stamp, epoch);
                }
            }
        }
        count += 1;
        if count.is_multiple_of(PROGRESS_EVERY) {
            progress(count);
        }
    }
    win.flush(labels, ch).map_err(StreamError::Channel)?;
    next_epoch(stamp, epoch);
    Ok(count)
}

mod part;
#[cfg(test)]
mod tests;
mod window;
mod workers;

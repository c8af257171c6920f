//! Windows of pending AND gates and their flushes: on the calling thread alone, or
//! split into contiguous ranges with helper threads ([`super::workers`]).
//!
//! A split keeps the gates' order on the wire: the garbler writes its own range (the
//! first) while the helpers work, then theirs in order; the evaluator reads the
//! helpers' ranges first (so they start at once) and its own (the last) after. The
//! calling thread also runs the gate loop and the channel, so its share adapts: it
//! grows when the caller had to wait for a helper and shrinks when a helper was done
//! first.
//!
//! Three-halves windows have the same capacity on both sides
//! ([`THREE_HALVES_WINDOW`], whatever the thread count), since control bits are packed
//! per chunk of a window ([`threehalves::CHUNK`]): both parties then cut the gate
//! stream into the same windows and chunks, and a split gives each thread whole
//! chunks.

use super::Scheme;
use super::part::{eval_ands, garble_ands};
use super::workers::{Role, Worker};
use crate::block::Block;
use crate::channel::Channel;
use crate::halfgates::Delta;
use crate::hash::Tccr;
use crate::prg::Prg;
use crate::threehalves;
use std::io;

/// AND gates hashed together on one thread: the garbler's 4 blocks each, the
/// evaluator's 2, so both keep their scratch in L1.
const GARBLE_WINDOW: usize = 64;
const EVAL_WINDOW: usize = 128;
/// AND gates per thread in a window when helpers share it.
const PARALLEL_WINDOW: usize = 2048;
/// Windows smaller than this stay on the calling thread.
const MIN_SPLIT: usize = 256;
/// Bytes of ciphertexts buffered by the garbler before a channel write.
const TABLE_BUF: usize = 1 << 16;
/// The calling thread's share of a split window, in sixteenths.
const SHARE_MIN: usize = 2;
const SHARE_MAX: usize = 14;

/// The helper threads of one driver and the caller's adaptive share.
#[derive(Debug)]
struct Helpers {
    workers: Vec<Worker>,
    /// The calling thread's share in sixteenths.
    share: usize,
}

impl Helpers {
    fn spawn(role: Role, threads: usize, cap: usize) -> io::Result<Option<Helpers>> {
        if threads <= 1 {
            return Ok(None);
        }
        let workers = (1..threads)
            .map(|i| Worker::spawn(role.clone(), cap, i))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Some(Helpers {
            workers,
            share: 16 / threads,
        }))
    }

    /// Splits `n` gates into ranges of whole `chunk`s (the last range may end in a
    /// partial one): the caller's count, and each helper's `(start, len)` in window
    /// positions. The caller's range comes first if `own_first` (the garbler, which
    /// writes it while the helpers work), else last (the evaluator, which reads the
    /// helpers' tables first).
    fn split(&self, n: usize, chunk: usize, own_first: bool) -> (usize, Vec<(usize, usize)>) {
        let chunks = n.div_ceil(chunk);
        let own = (chunks * self.share / 16).clamp(1, chunks);
        let rest = chunks - own;
        let w = self.workers.len();
        let mut lens: Vec<usize> = (0..w)
            .map(|i| rest / w + usize::from(i < rest % w))
            .collect();
        let order: Vec<usize> = if own_first {
            std::iter::once(own).chain(lens.drain(..)).collect()
        } else {
            lens.drain(..).chain(std::iter::once(own)).collect()
        };
        let (mut start, mut spans) = (0, Vec::with_capacity(w + 1));
        for c in order {
            let end = ((start + c) * chunk).min(n);
            spans.push((start * chunk).min(n)..end);
            start += c;
        }
        let own_span = if own_first {
            spans.remove(0)
        } else {
            spans.pop().expect("own")
        };
        let ranges = spans.into_iter().map(|r| (r.start, r.len())).collect();
        (own_span.len(), ranges)
    }

    /// Adapts the caller's share after it finished its range.
    fn adapt(&mut self) {
        let all_done = self.workers.iter_mut().all(Worker::poll);
        self.share = if all_done {
            self.share.saturating_sub(1).max(SHARE_MIN)
        } else {
            (self.share + 1).min(SHARE_MAX)
        };
    }
}

/// AND gates per three-halves window, garbler and evaluator alike, for every thread
/// count (a multiple of [`threehalves::CHUNK`]).
pub(super) const THREE_HALVES_WINDOW: usize = 2048;

/// Window capacity of a scheme.
fn layout(scheme: Scheme, single: usize, threads: usize) -> usize {
    match scheme {
        Scheme::HalfGates => capacity(single, threads),
        Scheme::ThreeHalves => THREE_HALVES_WINDOW,
    }
}

/// Gates per split unit and table bytes of `n` gates.
fn unit(scheme: Scheme) -> usize {
    match scheme {
        Scheme::HalfGates => 1,
        Scheme::ThreeHalves => threehalves::CHUNK,
    }
}

fn bytes(scheme: Scheme, n: usize) -> usize {
    match scheme {
        Scheme::HalfGates => 32 * n,
        Scheme::ThreeHalves => threehalves::table_bytes(n),
    }
}

/// Window capacity for a thread count.
fn capacity(single: usize, threads: usize) -> usize {
    if threads <= 1 {
        single
    } else {
        PARALLEL_WINDOW * threads
    }
}

/// The garbler's window of pending AND gates and its output buffer.
#[derive(Debug)]
pub(super) struct GarbleWindow {
    pub(super) hash: Tccr,
    pub(super) delta: Delta,
    pub(super) scheme: Scheme,
    pub(super) next_and: u64,
    pub(super) n: usize,
    pub(super) cap: usize,
    /// `[A0, B0]` per pending AND (input 0-labels).
    pub(super) xs: Box<[Block]>,
    /// Output slot per pending AND.
    pub(super) out: Box<[u32]>,
    h0: Box<[Block]>,
    h1: Box<[Block]>,
    buf: Box<[u8]>,
    pos: usize,
    helpers: Option<Helpers>,
    /// Three-halves only: scratch, and the generator of 2 random bits per gate.
    three: Option<(threehalves::Scratch, Prg)>,
}

impl GarbleWindow {
    pub(super) fn new(
        hash: Tccr,
        delta: Delta,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<GarbleWindow> {
        let cap = layout(scheme, GARBLE_WINDOW, threads);
        let role = Role::Garble {
            hash: hash.clone(),
            delta: delta.block(),
            scheme,
        };
        let three = (scheme == Scheme::ThreeHalves)
            .then(|| (threehalves::Scratch::default(), Prg::from_entropy()));
        Ok(GarbleWindow {
            hash,
            delta,
            scheme,
            three,
            next_and: 0,
            n: 0,
            cap,
            xs: vec![Block::ZERO; 2 * cap].into(),
            out: vec![0; cap].into(),
            h0: vec![Block::ZERO; 2 * cap].into(),
            h1: vec![Block::ZERO; 2 * cap].into(),
            buf: vec![0u8; TABLE_BUF.max(32 * cap)].into(),
            pos: 0,
            helpers: Helpers::spawn(role, threads, cap)?,
        })
    }

    /// Garbles gates `0..own` of the window here, into the table buffer.
    fn garble_own(
        &mut self,
        labels: &mut [Block],
        own: usize,
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        let len = bytes(self.scheme, own);
        if self.pos + len > self.buf.len() {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        let out = &self.out;
        let key = (&self.hash, self.delta.block());
        let table = &mut self.buf[self.pos..self.pos + len];
        let put = |k: usize, c0| labels[out[k] as usize] = c0;
        match self.three.as_mut() {
            Some((s, prg)) => {
                let xs = &self.xs[..2 * own];
                threehalves::garble_chunks(key, self.next_and, xs, (s, prg), table, put)
            }
            None => garble_ands(
                key,
                self.next_and,
                &self.xs[..2 * own],
                (&mut self.h0[..2 * own], &mut self.h1[..2 * own]),
                table,
                put,
            ),
        }
        self.pos += len;
        Ok(())
    }

    pub(super) fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        match self.helpers.take() {
            Some(mut h) if n >= MIN_SPLIT => {
                // After a failed split the helpers may still hold parts: drop them
                // (a later flush runs here alone) rather than mix up results.
                self.flush_split(&mut h, labels, ch)?;
                self.helpers = Some(h);
            }
            h => {
                self.helpers = h;
                self.garble_own(labels, n, ch)?;
            }
        }
        self.next_and += n as u64;
        self.n = 0;
        Ok(())
    }

    fn flush_split(
        &mut self,
        h: &mut Helpers,
        labels: &mut [Block],
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        let (own, ranges) = h.split(self.n, unit(self.scheme), true);
        for (w, &(start, len)) in h.workers.iter_mut().zip(&ranges) {
            let mut p = w.take_part(true);
            p.first = self.next_and + start as u64;
            p.n = len;
            p.xs[..2 * len].copy_from_slice(&self.xs[2 * start..2 * (start + len)]);
            w.send(p)?;
        }
        self.garble_own(labels, own, ch)?;
        h.adapt();
        ch.write_bytes(&self.buf[..self.pos])?;
        self.pos = 0;
        for (w, &(start, len)) in h.workers.iter_mut().zip(&ranges) {
            let p = w.collect()?;
            ch.write_bytes(&p.table[..bytes(self.scheme, len)])?;
            for (slot, c0) in self.out[start..start + len].iter().zip(&p.out[..len]) {
                labels[*slot as usize] = *c0;
            }
            w.recycle(p);
        }
        Ok(())
    }

    /// Writes out the buffered tables.
    pub(super) fn drain(&mut self, ch: &mut dyn Channel) -> io::Result<()> {
        if self.pos > 0 {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        Ok(())
    }
}

/// The evaluator's window of pending AND gates.
#[derive(Debug)]
pub(super) struct EvalWindow {
    pub(super) hash: Tccr,
    pub(super) scheme: Scheme,
    pub(super) next_and: u64,
    pub(super) n: usize,
    pub(super) cap: usize,
    /// `[A, B]` per pending AND (active input labels).
    pub(super) xs: Box<[Block]>,
    pub(super) out: Box<[u32]>,
    h: Box<[Block]>,
    tables: Box<[u8]>,
    helpers: Option<Helpers>,
    three: Option<threehalves::Scratch>,
}

impl EvalWindow {
    pub(super) fn new(hash: Tccr, threads: usize, scheme: Scheme) -> io::Result<EvalWindow> {
        let cap = layout(scheme, EVAL_WINDOW, threads);
        let role = Role::Eval {
            hash: hash.clone(),
            scheme,
        };
        Ok(EvalWindow {
            hash,
            scheme,
            three: (scheme == Scheme::ThreeHalves).then(threehalves::Scratch::default),
            next_and: 0,
            n: 0,
            cap,
            xs: vec![Block::ZERO; 2 * cap].into(),
            out: vec![0; cap].into(),
            h: vec![Block::ZERO; 2 * cap].into(),
            tables: vec![0u8; 32 * cap].into(),
            helpers: Helpers::spawn(role, threads, cap)?,
        })
    }

    /// Reads and evaluates gates `start..start + len` of the window here.
    fn eval_own(
        &mut self,
        labels: &mut [Block],
        start: usize,
        len: usize,
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        let nb = bytes(self.scheme, len);
        ch.read_bytes(&mut self.tables[..nb])?;
        let xs = &self.xs[2 * start..2 * (start + len)];
        let out = &self.out[start..start + len];
        let first = self.next_and + start as u64;
        let table = &self.tables[..nb];
        let put = |k: usize, l| labels[out[k] as usize] = l;
        match self.three.as_mut() {
            Some(s) => threehalves::eval_chunks(&self.hash, first, xs, s, table, put),
            None => eval_ands(&self.hash, first, xs, &mut self.h[..2 * len], table, put),
        }
        Ok(())
    }

    pub(super) fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        match self.helpers.take() {
            Some(mut h) if n >= MIN_SPLIT => {
                // After a failed split the helpers may still hold parts: drop them
                // (a later flush runs here alone) rather than mix up results.
                self.flush_split(&mut h, labels, ch)?;
                self.helpers = Some(h);
            }
            h => {
                self.helpers = h;
                self.eval_own(labels, 0, n, ch)?;
            }
        }
        self.next_and += n as u64;
        self.n = 0;
        Ok(())
    }

    fn flush_split(
        &mut self,
        h: &mut Helpers,
        labels: &mut [Block],
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        let (own, ranges) = h.split(self.n, unit(self.scheme), false);
        let own_start = self.n - own;
        for (w, &(start, len)) in h.workers.iter_mut().zip(&ranges) {
            let mut p = w.take_part(false);
            p.first = self.next_and + start as u64;
            p.n = len;
            p.xs[..2 * len].copy_from_slice(&self.xs[2 * start..2 * (start + len)]);
            ch.read_bytes(&mut p.table[..bytes(self.scheme, len)])?;
            w.send(p)?;
        }
        self.eval_own(labels, own_start, own, ch)?;
        h.adapt();
        for (w, &(start, len)) in h.workers.iter_mut().zip(&ranges) {
            let p = w.collect()?;
            for (slot, l) in self.out[start..start + len].iter().zip(&p.out[..len]) {
                labels[*slot as usize] = *l;
            }
            w.recycle(p);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_window_in_whole_chunks() {
        let role = Role::Eval {
            hash: Tccr::new(Block(1)),
            scheme: Scheme::ThreeHalves,
        };
        for threads in 2..=4 {
            let mut h = Helpers::spawn(role.clone(), threads, 64).unwrap().unwrap();
            for share in SHARE_MIN..=SHARE_MAX {
                h.share = share;
                for n in [1, 127, 128, 129, 256, 300, 1000, 2048] {
                    for (chunk, own_first) in [(1, true), (1, false), (128, true), (128, false)] {
                        let (own, ranges) = h.split(n, chunk, own_first);
                        let own_range = if own_first { (0, own) } else { (n - own, own) };
                        let mut all: Vec<(usize, usize)> = ranges.clone();
                        all.push(own_range);
                        all.sort();
                        let mut at = 0;
                        for &(s, l) in &all {
                            assert_eq!(s, at, "n={n} chunk={chunk} {all:?}");
                            assert!(s % chunk == 0 || l == 0, "n={n} chunk={chunk} {all:?}");
                            at += l;
                        }
                        assert_eq!(at, n);
                        assert!(own >= 1);
                        assert_eq!(ranges.len(), threads - 1);
                    }
                }
            }
        }
    }
}

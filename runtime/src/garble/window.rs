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
//! Three-halves windows stay on the calling thread and have the same capacity on
//! both sides ([`THREE_HALVES_WINDOW`], whatever the thread count), since a window's
//! control bits are packed together: both parties then cut the gate stream into the
//! same windows.

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
    fn spawn(role: Role, threads: usize) -> io::Result<Option<Helpers>> {
        if threads <= 1 {
            return Ok(None);
        }
        let workers = (1..threads)
            .map(|i| Worker::spawn(role.clone(), PARALLEL_WINDOW * threads, i))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Some(Helpers {
            workers,
            share: 16 / threads,
        }))
    }

    /// Splits `n` gates: the caller's count, then each helper's `(start, len)` of
    /// the other `n - own` gates, from 0 on.
    fn split(&self, n: usize) -> (usize, Vec<(usize, usize)>) {
        let own = (n * self.share / 16).max(1);
        let rest = n - own;
        let w = self.workers.len();
        let mut start = 0;
        let ranges = (0..w)
            .map(|i| {
                let len = rest / w + usize::from(i < rest % w);
                let r = (start, len);
                start += len;
                r
            })
            .collect();
        (own, ranges)
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

/// AND gates per three-halves window, garbler and evaluator alike (a multiple of 8,
/// so that full windows waste no control bits).
pub(super) const THREE_HALVES_WINDOW: usize = 128;

/// Scratch of a three-halves window: the blocks hashed and their two hashes.
#[derive(Debug)]
struct Three {
    x3: Box<[Block]>,
    h0: Box<[Block]>,
    h1: Box<[Block]>,
}

impl Three {
    fn new(cap: usize, garbler: bool) -> Three {
        Three {
            x3: vec![Block::ZERO; 3 * cap].into(),
            h0: vec![Block::ZERO; 3 * cap].into(),
            h1: vec![Block::ZERO; if garbler { 3 * cap } else { 0 }].into(),
        }
    }
}

/// Window capacity and thread count of a scheme.
fn layout(scheme: Scheme, single: usize, threads: usize) -> (usize, usize) {
    match scheme {
        Scheme::HalfGates => (capacity(single, threads), threads),
        Scheme::ThreeHalves => (THREE_HALVES_WINDOW, 1),
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
    three: Option<(Three, Prg, Box<[Block]>)>,
}

impl GarbleWindow {
    pub(super) fn new(
        hash: Tccr,
        delta: Delta,
        threads: usize,
        scheme: Scheme,
    ) -> io::Result<GarbleWindow> {
        let (cap, threads) = layout(scheme, GARBLE_WINDOW, threads);
        let role = Role::Garble {
            hash: hash.clone(),
            delta: delta.block(),
        };
        let three = (scheme == Scheme::ThreeHalves).then(|| {
            let rand = vec![Block::ZERO; cap.div_ceil(64)].into();
            (Three::new(cap, true), Prg::from_entropy(), rand)
        });
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
            helpers: Helpers::spawn(role, threads)?,
        })
    }

    /// Garbles the window's `n` gates with three-halves, into the table buffer.
    fn garble_three(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        let bytes = threehalves::table_bytes(n);
        if self.pos + bytes > self.buf.len() {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        let (s, prg, rand) = self.three.as_mut().expect("a three-halves window");
        let rand = &mut rand[..n.div_ceil(64)];
        prg.fill_blocks(rand);
        let out = &self.out;
        threehalves::garble_batch(
            (&self.hash, self.delta.block()),
            self.next_and,
            &self.xs[..2 * n],
            rand,
            (&mut s.x3, &mut s.h0, &mut s.h1),
            &mut self.buf[self.pos..self.pos + bytes],
            |k, c0| labels[out[k] as usize] = c0,
        );
        self.pos += bytes;
        Ok(())
    }

    /// Garbles gates `0..own` of the window here, into the table buffer.
    fn garble_own(
        &mut self,
        labels: &mut [Block],
        own: usize,
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        if self.pos + own * 32 > self.buf.len() {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        let out = &self.out;
        garble_ands(
            (&self.hash, self.delta.block()),
            self.next_and,
            &self.xs[..2 * own],
            (&mut self.h0[..2 * own], &mut self.h1[..2 * own]),
            &mut self.buf[self.pos..self.pos + 32 * own],
            |k, c0| labels[out[k] as usize] = c0,
        );
        self.pos += 32 * own;
        Ok(())
    }

    pub(super) fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        match self.helpers.take() {
            _ if self.scheme == Scheme::ThreeHalves => self.garble_three(labels, ch)?,
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
        let (own, ranges) = h.split(self.n);
        let ranges: Vec<(usize, usize)> = ranges.into_iter().map(|(s, l)| (s + own, l)).collect();
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
            ch.write_bytes(&p.table[..32 * len])?;
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
    three: Option<Three>,
}

impl EvalWindow {
    pub(super) fn new(hash: Tccr, threads: usize, scheme: Scheme) -> io::Result<EvalWindow> {
        let (cap, threads) = layout(scheme, EVAL_WINDOW, threads);
        let role = Role::Eval { hash: hash.clone() };
        Ok(EvalWindow {
            hash,
            scheme,
            three: (scheme == Scheme::ThreeHalves).then(|| Three::new(cap, false)),
            next_and: 0,
            n: 0,
            cap,
            xs: vec![Block::ZERO; 2 * cap].into(),
            out: vec![0; cap].into(),
            h: vec![Block::ZERO; 2 * cap].into(),
            tables: vec![0u8; 32 * cap].into(),
            helpers: Helpers::spawn(role, threads)?,
        })
    }

    /// Reads and evaluates the window's `n` gates with three-halves.
    fn eval_three(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        let bytes = threehalves::table_bytes(n);
        ch.read_bytes(&mut self.tables[..bytes])?;
        let s = self.three.as_mut().expect("a three-halves window");
        let out = &self.out;
        threehalves::eval_batch(
            &self.hash,
            self.next_and,
            &self.xs[..2 * n],
            (&mut s.x3, &mut s.h0),
            &self.tables[..bytes],
            |k, l| labels[out[k] as usize] = l,
        );
        Ok(())
    }

    /// Reads and evaluates gates `start..start + len` of the window here.
    fn eval_own(
        &mut self,
        labels: &mut [Block],
        start: usize,
        len: usize,
        ch: &mut dyn Channel,
    ) -> io::Result<()> {
        ch.read_bytes(&mut self.tables[..32 * len])?;
        let range = 2 * start..2 * (start + len);
        let out = &self.out[start..start + len];
        eval_ands(
            &self.hash,
            self.next_and + start as u64,
            &self.xs[range],
            &mut self.h[..2 * len],
            &self.tables[..32 * len],
            |k, l| labels[out[k] as usize] = l,
        );
        Ok(())
    }

    pub(super) fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        match self.helpers.take() {
            _ if self.scheme == Scheme::ThreeHalves => self.eval_three(labels, ch)?,
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
        let (own, ranges) = h.split(self.n);
        let own_start = self.n - own;
        for (w, &(start, len)) in h.workers.iter_mut().zip(&ranges) {
            let mut p = w.take_part(false);
            p.first = self.next_and + start as u64;
            p.n = len;
            p.xs[..2 * len].copy_from_slice(&self.xs[2 * start..2 * (start + len)]);
            ch.read_bytes(&mut p.table[..32 * len])?;
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

//! Streaming garbler and evaluator drivers.
//!
//! Both walk the gates once, in order, keeping one label per wire slot in a flat
//! array (`circuit.wires` slots, never one per gate). XOR and NOT cost nothing. AND
//! gates are not hashed one at a time: each driver collects a *window* of AND gates
//! whose inputs are ready, captures their input labels, and hashes the whole window in
//! one batched TMMO call ([`Tccr::hash_in_place`]) so the AES units stay busy. A gate
//! that reads — or overwrites — the output of a pending AND flushes the window first
//! (a per-slot epoch stamp makes that check O(1)), so the result is exactly that of
//! gate-by-gate evaluation. The garbler writes the two ciphertexts of each AND to the
//! channel in gate order; the evaluator reads them in the same order.
//!
//! Type-level separation: [`GarblerCore`] holds the [`Delta`]; [`EvaluatorCore`]
//! holds no Δ and has no way to obtain one.

use crate::block::Block;
use crate::channel::Channel;
use crate::halfgates::{Delta, eval_and_hashed, garble_and_hashed};
use crate::hash::Tccr;
use garnet_circuits::{Gate, Op};
use std::io;

/// AND gates hashed together by the garbler (4 blocks each).
const GARBLE_WINDOW: usize = 16;
/// AND gates hashed together by the evaluator (2 blocks each).
const EVAL_WINDOW: usize = 32;
/// Bytes of ciphertexts buffered by the garbler before a channel write.
const TABLE_BUF: usize = 1 << 16;
/// The progress callback fires every this many gates.
pub const PROGRESS_EVERY: u64 = 1 << 20;

/// Bytes of garbled table per AND gate.
pub const BYTES_PER_AND: u64 = 32;

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

/// Per-slot stamps marking the outputs of pending (not yet hashed) AND gates.
#[derive(Debug)]
struct Pending {
    stamp: Vec<u32>,
    epoch: u32,
}

impl Pending {
    fn new(wires: usize) -> Pending {
        Pending {
            stamp: vec![0; wires],
            epoch: 1,
        }
    }
    #[inline(always)]
    fn is_pending(&self, w: usize) -> bool {
        self.stamp[w] == self.epoch
    }
    #[inline(always)]
    fn mark(&mut self, w: usize) {
        self.stamp[w] = self.epoch;
    }
    #[inline(always)]
    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 1;
        }
    }
}

/// Garbler state: Δ, the hash, the 0-label of every wire slot, the AND counter.
#[derive(Debug)]
pub struct GarblerCore {
    hash: Tccr,
    delta: Delta,
    labels: Vec<Block>,
    pending: Pending,
    next_and: u64,
    // Window of pending AND gates.
    n: usize,
    xs: [Block; 4 * GARBLE_WINDOW],
    a0: [Block; GARBLE_WINDOW],
    b0: [Block; GARBLE_WINDOW],
    out: [u32; GARBLE_WINDOW],
    buf: Box<[u8]>,
    pos: usize,
}

impl GarblerCore {
    /// A garbler for a circuit with `wires` slots. All labels start at zero; set the
    /// input wires' 0-labels with [`GarblerCore::labels_mut`] before garbling.
    pub fn new(hash: Tccr, delta: Delta, wires: u32) -> GarblerCore {
        GarblerCore {
            hash,
            delta,
            labels: vec![Block::ZERO; wires as usize],
            pending: Pending::new(wires as usize),
            next_and: 0,
            n: 0,
            xs: [Block::ZERO; 4 * GARBLE_WINDOW],
            a0: [Block::ZERO; GARBLE_WINDOW],
            b0: [Block::ZERO; GARBLE_WINDOW],
            out: [0; GARBLE_WINDOW],
            buf: vec![0u8; TABLE_BUF].into_boxed_slice(),
            pos: 0,
        }
    }

    pub fn delta(&self) -> &Delta {
        &self.delta
    }

    /// The 0-labels, one per wire slot.
    pub fn labels(&self) -> &[Block] {
        &self.labels
    }

    pub fn labels_mut(&mut self) -> &mut [Block] {
        &mut self.labels
    }

    /// Number of AND gates garbled so far (the next AND's index `j`).
    pub fn ands(&self) -> u64 {
        self.next_and
    }

    /// Garbles `gates` in order, writing `[T_G, T_E]` of every AND gate to `ch`
    /// (buffered; the channel is not flushed). `progress` receives the number of gates
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
        let wires = self.labels.len();
        let d = self.delta.block();
        let start_ands = self.next_and;
        let mut count = 0u64;
        for item in gates {
            let g = item.into_gate().map_err(StreamError::Gate)?;
            let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
            if a >= wires || b >= wires || o >= wires {
                return Err(bad_gate(count, &g, wires));
            }
            if self.pending.is_pending(a)
                || self.pending.is_pending(b)
                || self.pending.is_pending(o)
            {
                self.flush_window(ch).map_err(StreamError::Channel)?;
            }
            match g.op {
                Op::Xor => self.labels[o] = self.labels[a] ^ self.labels[b],
                Op::Not => self.labels[o] = self.labels[a] ^ d,
                Op::And => {
                    let (a0, b0) = (self.labels[a], self.labels[b]);
                    let k = self.n;
                    self.xs[4 * k] = a0;
                    self.xs[4 * k + 1] = a0 ^ d;
                    self.xs[4 * k + 2] = b0;
                    self.xs[4 * k + 3] = b0 ^ d;
                    self.a0[k] = a0;
                    self.b0[k] = b0;
                    self.out[k] = o as u32;
                    self.pending.mark(o);
                    self.n = k + 1;
                    if self.n == GARBLE_WINDOW {
                        self.flush_window(ch).map_err(StreamError::Channel)?;
                    }
                }
            }
            count += 1;
            if count.is_multiple_of(PROGRESS_EVERY) {
                progress(count);
            }
        }
        self.flush_window(ch).map_err(StreamError::Channel)?;
        if self.pos > 0 {
            ch.write_bytes(&self.buf[..self.pos])
                .map_err(StreamError::Channel)?;
            self.pos = 0;
        }
        Ok(StreamStats {
            gates: count,
            ands: self.next_and - start_ands,
        })
    }

    fn flush_window(&mut self, ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        // Blocks [A0, A1, B0, B1] of AND j get tweaks [2j, 2j, 2j+1, 2j+1].
        self.hash
            .hash_seq_in_place(&mut self.xs[..4 * n], 2 * self.next_and, 1);
        if self.pos + n * 32 > TABLE_BUF {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        let d = self.delta.block();
        let table = &mut self.buf[self.pos..self.pos + 32 * n];
        for (k, t) in table.chunks_exact_mut(32).enumerate() {
            let h = [
                self.xs[4 * k],
                self.xs[4 * k + 1],
                self.xs[4 * k + 2],
                self.xs[4 * k + 3],
            ];
            let (c0, [tg, te]) = garble_and_hashed(h, self.a0[k], self.b0[k], d);
            self.labels[self.out[k] as usize] = c0;
            t[..16].copy_from_slice(&tg.to_bytes());
            t[16..].copy_from_slice(&te.to_bytes());
        }
        self.pos += 32 * n;
        self.next_and += n as u64;
        self.n = 0;
        self.pending.next_epoch();
        Ok(())
    }
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
    hash: Tccr,
    labels: Vec<Block>,
    pending: Pending,
    next_and: u64,
    n: usize,
    xs: [Block; 2 * EVAL_WINDOW],
    a: [Block; EVAL_WINDOW],
    b: [Block; EVAL_WINDOW],
    out: [u32; EVAL_WINDOW],
    tables: Vec<u8>,
}

impl EvaluatorCore {
    pub fn new(hash: Tccr, wires: u32) -> EvaluatorCore {
        EvaluatorCore {
            hash,
            labels: vec![Block::ZERO; wires as usize],
            pending: Pending::new(wires as usize),
            next_and: 0,
            n: 0,
            xs: [Block::ZERO; 2 * EVAL_WINDOW],
            a: [Block::ZERO; EVAL_WINDOW],
            b: [Block::ZERO; EVAL_WINDOW],
            out: [0; EVAL_WINDOW],
            tables: vec![0; 32 * EVAL_WINDOW],
        }
    }

    /// The active labels, one per wire slot.
    pub fn labels(&self) -> &[Block] {
        &self.labels
    }

    pub fn labels_mut(&mut self) -> &mut [Block] {
        &mut self.labels
    }

    pub fn ands(&self) -> u64 {
        self.next_and
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
        let wires = self.labels.len();
        let start_ands = self.next_and;
        let mut count = 0u64;
        for item in gates {
            let g = item.into_gate().map_err(StreamError::Gate)?;
            let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
            if a >= wires || b >= wires || o >= wires {
                return Err(bad_gate(count, &g, wires));
            }
            if self.pending.is_pending(a)
                || self.pending.is_pending(b)
                || self.pending.is_pending(o)
            {
                self.flush_window(ch).map_err(StreamError::Channel)?;
            }
            match g.op {
                Op::Xor => self.labels[o] = self.labels[a] ^ self.labels[b],
                Op::Not => self.labels[o] = self.labels[a],
                Op::And => {
                    let (wa, wb) = (self.labels[a], self.labels[b]);
                    let k = self.n;
                    self.xs[2 * k] = wa;
                    self.xs[2 * k + 1] = wb;
                    self.a[k] = wa;
                    self.b[k] = wb;
                    self.out[k] = o as u32;
                    self.pending.mark(o);
                    self.n = k + 1;
                    if self.n == EVAL_WINDOW {
                        self.flush_window(ch).map_err(StreamError::Channel)?;
                    }
                }
            }
            count += 1;
            if count.is_multiple_of(PROGRESS_EVERY) {
                progress(count);
            }
        }
        self.flush_window(ch).map_err(StreamError::Channel)?;
        Ok(StreamStats {
            gates: count,
            ands: self.next_and - start_ands,
        })
    }

    fn flush_window(&mut self, ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        ch.read_bytes(&mut self.tables[..32 * n])?;
        // Blocks [A, B] of AND j get tweaks [2j, 2j+1].
        self.hash
            .hash_seq_in_place(&mut self.xs[..2 * n], 2 * self.next_and, 0);
        for k in 0..n {
            let t = &self.tables[32 * k..32 * k + 32];
            let tg = Block::from_bytes(t[..16].try_into().expect("16 bytes"));
            let te = Block::from_bytes(t[16..].try_into().expect("16 bytes"));
            let h = [self.xs[2 * k], self.xs[2 * k + 1]];
            self.labels[self.out[k] as usize] = eval_and_hashed(h, self.a[k], self.b[k], &[tg, te]);
        }
        self.next_and += n as u64;
        self.n = 0;
        self.pending.next_epoch();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::BufferChannel;
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use garnet_circuits::{Circuit, OutBit, passes};
    use rand::{Rng, SeedableRng};

    /// Garbles into a buffer, evaluates from it, decodes every output bit.
    fn two_party_plain(c: &Circuit, inputs: &[Vec<bool>], rng: &mut impl Rng) -> Vec<Vec<bool>> {
        let hash = Tccr::new(Block(rng.r#gen()));
        let delta = Delta::from_block(Block(rng.r#gen()));
        let mut g = GarblerCore::new(hash.clone(), delta, c.wires);
        let mut e = EvaluatorCore::new(hash, c.wires);
        for (i, bit) in inputs.iter().flatten().enumerate() {
            let w0 = Block(rng.r#gen());
            g.labels_mut()[i] = w0;
            e.labels_mut()[i] = w0 ^ delta.block().select(*bit);
        }
        let mut ch = BufferChannel::new();
        let gs = g
            .garble(c.gates.iter().copied(), &mut ch, &mut |_| {})
            .unwrap();
        assert_eq!(ch.len() as u64, gs.ands * BYTES_PER_AND);
        let es = e
            .evaluate(c.gates.iter().copied(), &mut ch, &mut |_| {})
            .unwrap();
        assert_eq!(gs, es);
        c.outputs
            .iter()
            .map(|o| {
                o.bits
                    .iter()
                    .map(|b| match *b {
                        OutBit::Const(v) => v,
                        OutBit::Wire(w) => {
                            let (z, a) = (g.labels()[w as usize], e.labels()[w as usize]);
                            assert!(a == z || a == z ^ delta.block(), "not a valid label");
                            a.lsb() ^ z.lsb()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn random_circuits_match_plaintext() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for case in 0..300 {
            let spec = RandomSpec {
                input_widths: vec![rng.gen_range(1..9), rng.gen_range(1..9)],
                gates: rng.gen_range(1..400),
                output_widths: vec![rng.gen_range(1..6), rng.gen_range(1..6), 3],
                and_fraction: rng.gen_range(0.0..1.0),
                window: [0, 4, 16][case % 3],
            };
            let raw = random_circuit(&mut rng, &spec);
            let c = if case % 2 == 0 {
                passes::optimize(raw)
            } else {
                raw
            };
            let inputs: Vec<Vec<bool>> = c
                .inputs
                .iter()
                .map(|i| (0..i.bits).map(|_| rng.r#gen()).collect())
                .collect();
            assert_eq!(
                two_party_plain(&c, &inputs, &mut rng),
                c.eval(&inputs).unwrap(),
                "case {case}"
            );
        }
    }

    #[test]
    fn slot_reuse_hazards_are_respected() {
        // Hand-made hazards: AND output read at once, overwritten by XOR, AND writing
        // its own input slot, two ANDs writing the same slot.
        use garnet_circuits::{Gate, InputSpec, OutputSpec, Party, Recipient, ValueType};
        let gates = vec![
            Gate::and(0, 1, 2),
            Gate::and(2, 0, 3),
            Gate::and(0, 1, 0),
            Gate::xor(2, 3, 2),
            Gate::and(1, 3, 4),
            Gate::and(2, 1, 4),
            Gate::not(4, 1),
            Gate::and(1, 1, 5),
        ];
        let c = Circuit {
            inputs: vec![InputSpec {
                name: "x".into(),
                owner: Party::Garbler,
                bits: 2,
                ty: ValueType::default(),
            }],
            outputs: vec![OutputSpec {
                name: "y".into(),
                recipient: Recipient::Both,
                bits: (0..6).map(OutBit::Wire).collect(),
                ty: ValueType::default(),
            }],
            gates,
            wires: 6,
            sections: vec![],
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for x in 0..4u8 {
            let inputs = vec![vec![x & 1 == 1, x & 2 == 2]];
            assert_eq!(
                two_party_plain(&c, &inputs, &mut rng),
                c.eval(&inputs).unwrap()
            );
        }
    }

    #[test]
    fn wire_out_of_range_is_an_error_not_a_panic() {
        let mut g = GarblerCore::new(Tccr::new(Block(1)), Delta::from_block(Block(3)), 4);
        let mut ch = BufferChannel::new();
        let err = g
            .garble([Gate::and(0, 9, 2)], &mut ch, &mut |_| {})
            .unwrap_err();
        assert!(err.to_string().contains("gate 0"), "{err}");
        let mut e = EvaluatorCore::new(Tccr::new(Block(1)), 4);
        let err = e
            .evaluate([Gate::xor(0, 1, 4)], &mut ch, &mut |_| {})
            .unwrap_err();
        assert!(err.to_string().contains("wire"), "{err}");
    }

    #[test]
    fn truncated_tables_are_an_eof_error() {
        let mut e = EvaluatorCore::new(Tccr::new(Block(1)), 4);
        let mut ch = BufferChannel::new();
        ch.write_bytes(&[0u8; 40]).unwrap();
        let gates = [Gate::and(0, 1, 2), Gate::and(2, 1, 3)];
        let err = e.evaluate(gates, &mut ch, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}

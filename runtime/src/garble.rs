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
const GARBLE_WINDOW: usize = 64;
/// AND gates hashed together by the evaluator (2 blocks each).
const EVAL_WINDOW: usize = 128;
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

/// Starts the next epoch of the pending-output stamps (clearing them on wrap-around).
#[inline(always)]
fn next_epoch(stamp: &mut [u32], epoch: &mut u32) {
    *epoch = epoch.wrapping_add(1);
    if *epoch == 0 {
        stamp.iter_mut().for_each(|s| *s = 0);
        *epoch = 1;
    }
}

/// The garbler's window of pending AND gates and its output buffer.
#[derive(Debug)]
struct GarbleWindow {
    hash: Tccr,
    delta: Delta,
    next_and: u64,
    n: usize,
    /// `[A0, B0]` per pending AND (input 0-labels).
    xs: [Block; 2 * GARBLE_WINDOW],
    /// `H(xs[i], 2j + (i & 1))` and `H(xs[i] ⊕ Δ, …)`.
    h0: [Block; 2 * GARBLE_WINDOW],
    h1: [Block; 2 * GARBLE_WINDOW],
    out: [u32; GARBLE_WINDOW],
    buf: Box<[u8]>,
    pos: usize,
}

impl GarbleWindow {
    fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        let d = self.delta.block();
        // Blocks [A0, B0] of AND j get tweaks [2j, 2j+1]; so do [A1, B1].
        self.hash.hash_seq_to(
            &self.xs[..2 * n],
            2 * self.next_and,
            &mut self.h0[..2 * n],
            Some((d, &mut self.h1[..2 * n])),
        );
        if self.pos + n * 32 > TABLE_BUF {
            ch.write_bytes(&self.buf[..self.pos])?;
            self.pos = 0;
        }
        let table = &mut self.buf[self.pos..self.pos + 32 * n];
        for (k, t) in table.chunks_exact_mut(32).enumerate() {
            let h = [
                self.h0[2 * k],
                self.h1[2 * k],
                self.h0[2 * k + 1],
                self.h1[2 * k + 1],
            ];
            let (c0, [tg, te]) = garble_and_hashed(h, self.xs[2 * k], self.xs[2 * k + 1], d);
            labels[self.out[k] as usize] = c0;
            t[..16].copy_from_slice(&tg.to_bytes());
            t[16..].copy_from_slice(&te.to_bytes());
        }
        self.pos += 32 * n;
        self.next_and += n as u64;
        self.n = 0;
        Ok(())
    }
}

/// Garbler state: Δ, the hash, the 0-label of every wire slot, the AND counter.
#[derive(Debug)]
pub struct GarblerCore {
    labels: Vec<Block>,
    /// `stamp[w] == epoch` marks a wire written by a pending AND.
    stamp: Vec<u32>,
    epoch: u32,
    win: Box<GarbleWindow>,
}

impl GarblerCore {
    /// A garbler for a circuit with `wires` slots. All labels start at zero; set the
    /// input wires' 0-labels with [`GarblerCore::labels_mut`] before garbling.
    pub fn new(hash: Tccr, delta: Delta, wires: u32) -> GarblerCore {
        GarblerCore {
            labels: vec![Block::ZERO; wires as usize],
            stamp: vec![0; wires as usize],
            epoch: 1,
            win: Box::new(GarbleWindow {
                hash,
                delta,
                next_and: 0,
                n: 0,
                xs: [Block::ZERO; 2 * GARBLE_WINDOW],
                h0: [Block::ZERO; 2 * GARBLE_WINDOW],
                h1: [Block::ZERO; 2 * GARBLE_WINDOW],
                out: [0; GARBLE_WINDOW],
                buf: vec![0u8; TABLE_BUF].into_boxed_slice(),
                pos: 0,
            }),
        }
    }

    pub fn delta(&self) -> &Delta {
        &self.win.delta
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
        self.win.next_and
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
        let start_ands = self.win.next_and;
        let r = garble_loop(
            &mut self.labels,
            &mut self.stamp,
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
fn garble_loop<I: IntoIterator>(
    labels: &mut [Block],
    stamp: &mut [u32],
    epoch: &mut u32,
    win: &mut GarbleWindow,
    gates: I,
    ch: &mut dyn Channel,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError>
where
    I::Item: GateItem,
{
    let wires = labels.len();
    assert_eq!(stamp.len(), wires);
    let d = win.delta.block();
    let mut count = 0u64;
    for item in gates {
        let g = item.into_gate().map_err(StreamError::Gate)?;
        let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
        if a >= wires || b >= wires || o >= wires {
            return Err(bad_gate(count, &g, wires));
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
                if k + 1 == GARBLE_WINDOW {
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
    if win.pos > 0 {
        ch.write_bytes(&win.buf[..win.pos])
            .map_err(StreamError::Channel)?;
        win.pos = 0;
    }
    Ok(count)
}

/// The evaluator's window of pending AND gates.
#[derive(Debug)]
struct EvalWindow {
    hash: Tccr,
    next_and: u64,
    n: usize,
    /// `[A, B]` per pending AND (active input labels).
    xs: [Block; 2 * EVAL_WINDOW],
    /// `H(xs[i], 2j + (i & 1))`.
    h: [Block; 2 * EVAL_WINDOW],
    out: [u32; EVAL_WINDOW],
    tables: [u8; 32 * EVAL_WINDOW],
}

impl EvalWindow {
    fn flush(&mut self, labels: &mut [Block], ch: &mut dyn Channel) -> io::Result<()> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        ch.read_bytes(&mut self.tables[..32 * n])?;
        // Blocks [A, B] of AND j get tweaks [2j, 2j+1].
        self.hash.hash_seq_to(
            &self.xs[..2 * n],
            2 * self.next_and,
            &mut self.h[..2 * n],
            None,
        );
        for (k, t) in self.tables[..32 * n].chunks_exact(32).enumerate() {
            let tg = Block::from_bytes(t[..16].try_into().expect("16 bytes"));
            let te = Block::from_bytes(t[16..].try_into().expect("16 bytes"));
            let h = [self.h[2 * k], self.h[2 * k + 1]];
            labels[self.out[k] as usize] =
                eval_and_hashed(h, self.xs[2 * k], self.xs[2 * k + 1], &[tg, te]);
        }
        self.next_and += n as u64;
        self.n = 0;
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
    labels: Vec<Block>,
    stamp: Vec<u32>,
    epoch: u32,
    win: Box<EvalWindow>,
}

impl EvaluatorCore {
    pub fn new(hash: Tccr, wires: u32) -> EvaluatorCore {
        EvaluatorCore {
            labels: vec![Block::ZERO; wires as usize],
            stamp: vec![0; wires as usize],
            epoch: 1,
            win: Box::new(EvalWindow {
                hash,
                next_and: 0,
                n: 0,
                xs: [Block::ZERO; 2 * EVAL_WINDOW],
                h: [Block::ZERO; 2 * EVAL_WINDOW],
                out: [0; EVAL_WINDOW],
                tables: [0; 32 * EVAL_WINDOW],
            }),
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
        self.win.next_and
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
fn eval_loop<I: IntoIterator>(
    labels: &mut [Block],
    stamp: &mut [u32],
    epoch: &mut u32,
    win: &mut EvalWindow,
    gates: I,
    ch: &mut dyn Channel,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError>
where
    I::Item: GateItem,
{
    let wires = labels.len();
    assert_eq!(stamp.len(), wires);
    let mut count = 0u64;
    for item in gates {
        let g = item.into_gate().map_err(StreamError::Gate)?;
        let (a, b, o) = (g.a as usize, g.b as usize, g.out as usize);
        if a >= wires || b >= wires || o >= wires {
            return Err(bad_gate(count, &g, wires));
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
                if k + 1 == EVAL_WINDOW {
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

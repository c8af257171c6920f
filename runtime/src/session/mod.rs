//! The two-party session (semi-honest), as a synchronous core over `&mut dyn Channel`.
//!
//! ```text
//! garbler                                          evaluator
//! hello (magic, version, scheme, digest,   ⇄   hello          — mismatch: error on both sides
//!        shapes)
//! hash key                                 ──▶
//! garbler input labels W0 ⊕ x·Δ           ──▶
//! base OT (128, once)                      ⇄
//! per inference:
//!   IKNP correlated OT                     ⇄   (evaluator's input labels, no ciphertexts)
//!   garbled tables, streamed gate by gate  ──▶  evaluated as they arrive
//!   decoding bits of evaluator outputs     ──▶
//!                                          ◀──  colour bits of garbler outputs, 1 = another inference, 0 = done
//! ```
//! Each party learns only the outputs whose recipient includes it. A session runs
//! one inference ([`run_garbler`], [`run_evaluator`]) or as many as the evaluator
//! has inputs for ([`serve_garbler`], [`run_evaluator_batch`]), with the garbler's
//! inputs fixed (a model's weights): the one-time phases are paid once. Threads and
//! sockets live above this module (see [`crate::tcp`], [`crate::memory`]).
//!
//! Type-level separation: the garbler's secrets (Δ, the PRG) live in
//! [`GarblerSecrets`], used only by [`run_garbler`]; [`run_evaluator`] builds an
//! [`EvaluatorCore`], which has no Δ.

use crate::block::Block;
use crate::channel::Channel;
use crate::error::{Phase, SessionError, at};
use crate::garble::{EvaluatorCore, GarblerCore, GateItem, Scheme};
use crate::halfgates::Delta;
use crate::hash::Tccr;
use crate::ot::{CotReceiver, CotSender};
use crate::prg::Prg;
use garnet_circuits::{Circuit, HasInterface, Party};
use std::fmt;

mod hello;
mod report;
#[cfg(test)]
mod tests;
mod wires;

use hello::handshake;
use report::Phases;
pub use report::{PhaseReport, SessionReport};
use wires::{
    check_inputs, check_output_wires, learn, output_wires, owned_count, owned_wires, pack,
    read_bits, set_labels, stream_err,
};

/// First bytes of every session.
pub const MAGIC: [u8; 8] = *b"GARNET2P";
/// Bumped on any change to the messages.
pub const PROTOCOL_VERSION: u32 = 3;

/// Which side of a session.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Garbler,
    Evaluator,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Garbler => 1,
            Role::Evaluator => 2,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Garbler => "garbler",
            Role::Evaluator => "evaluator",
        })
    }
}

/// What a party gets from a session: the outputs it may learn (`Some` for each
/// output whose recipient includes it, in the circuit's output order) and the report.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionOutcome {
    pub outputs: Vec<Option<Vec<bool>>>,
    pub report: SessionReport,
}

/// Options of one session.
#[derive(Default)]
pub struct SessionOptions<'a> {
    /// Called with the number of gates done, every [`crate::garble::PROGRESS_EVERY`] gates.
    pub progress: Option<&'a mut dyn FnMut(u64)>,
    /// For [`serve_garbler`]: the most inferences one session may ask for (none:
    /// no limit); an evaluator asking for more gets the session closed, and the
    /// garbler an error.
    pub max_inferences: Option<usize>,
    /// Threads garbling or evaluating (the caller's and helpers); 0 or 1: the
    /// calling thread alone. Half-gates tables do not depend on it; three-halves
    /// tables are random, and correct whatever count each side uses.
    pub threads: usize,
    /// The garbling scheme; both parties must choose the same (the handshake fails
    /// on both sides otherwise).
    pub scheme: Scheme,
}

impl SessionOptions<'_> {
    /// Runs `f` with the progress callback, or one that does nothing.
    fn with_progress<R>(&mut self, f: impl FnOnce(&mut dyn FnMut(u64)) -> R) -> R {
        match self.progress.as_mut() {
            Some(p) => f(*p),
            None => f(&mut |_| {}),
        }
    }
}

impl fmt::Debug for SessionOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("progress", &self.progress.is_some())
            .field("max_inferences", &self.max_inferences)
            .field("threads", &self.threads)
            .field("scheme", &self.scheme)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// The garbler

/// The garbler's per-session secrets, all fresh from the operating system.
pub struct GarblerSecrets {
    delta: Delta,
    hash_key: Block,
    prg: Prg,
}

impl fmt::Debug for GarblerSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GarblerSecrets(<redacted>)")
    }
}

impl GarblerSecrets {
    /// Fresh Δ (low bit set), hash key and label PRG seed from the OS.
    pub fn fresh() -> GarblerSecrets {
        let mut os = rand::rngs::OsRng;
        let delta = Delta::random(&mut os);
        let mut k = [0u8; 16];
        rand::RngCore::fill_bytes(&mut os, &mut k);
        GarblerSecrets {
            delta,
            hash_key: Block::from_bytes(k),
            prg: Prg::from_rng(&mut os),
        }
    }
}

/// Runs the garbler's side of a session of one inference. `inputs` has one bit
/// vector per circuit input value (those the evaluator owns may be empty); `digest`
/// identifies the circuit (e.g. `garnet_circuits::format::gcirc::digest`); `gates`
/// streams the circuit's gates in order (`circuit.gates.iter().copied()` for an
/// in-memory one). An evaluator asking for a second inference gets an error: see
/// [`serve_garbler`].
pub fn run_garbler<C: HasInterface + ?Sized, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    gates: I,
    inputs: &[Vec<bool>],
    opts: SessionOptions<'_>,
) -> Result<SessionOutcome, SessionError>
where
    I: IntoIterator,
    I::Item: GateItem,
{
    run_garbler_with(
        ch,
        circuit,
        digest,
        gates,
        inputs,
        opts,
        GarblerSecrets::fresh(),
    )
}

pub(crate) fn run_garbler_with<C: HasInterface + ?Sized, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    gates: I,
    inputs: &[Vec<bool>],
    opts: SessionOptions<'_>,
    secrets: GarblerSecrets,
) -> Result<SessionOutcome, SessionError>
where
    I: IntoIterator,
    I::Item: GateItem,
{
    let mut once = Some(gates);
    let mut outcome = None;
    garbler_session(
        ch,
        circuit,
        digest,
        &mut || once.take(),
        inputs,
        opts,
        secrets,
        &mut |o| outcome = Some(o),
    )?;
    outcome.ok_or_else(|| SessionError::Protocol {
        phase: Phase::Outputs,
        detail: "the session ended before its inference".into(),
    })
}

/// Runs the garbler's side of a session of as many inferences as the evaluator asks
/// for, all on the garbler's same `inputs` (say, a model's weights); `gates` makes
/// a fresh stream of the circuit's gates for each. The handshake, the garbler's
/// input labels and the base OTs happen once; each inference then costs its OT
/// extension, tables and outputs. `each` gets every inference's outcome (the first
/// report also holds the one-time phases). Returns the number of inferences.
///
/// One Δ and hash key serve the whole session, with a distinct tweak for every AND
/// of every inference, so the inferences are garbled as one circuit in which the
/// garbler's inputs fan out to every copy.
pub fn serve_garbler<C: HasInterface + ?Sized, F, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    mut gates: F,
    inputs: &[Vec<bool>],
    opts: SessionOptions<'_>,
    mut each: impl FnMut(SessionOutcome),
) -> Result<usize, SessionError>
where
    F: FnMut() -> I,
    I: IntoIterator,
    I::Item: GateItem,
{
    garbler_session(
        ch,
        circuit,
        digest,
        &mut || Some(gates()),
        inputs,
        opts,
        GarblerSecrets::fresh(),
        &mut each,
    )
}

/// Whether the evaluator wants another inference: one byte after its colour bits.
const MORE: u8 = 1;
const DONE: u8 = 0;

#[allow(clippy::too_many_arguments)]
fn garbler_session<C: HasInterface + ?Sized, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    next_gates: &mut dyn FnMut() -> Option<I>,
    inputs: &[Vec<bool>],
    mut opts: SessionOptions<'_>,
    secrets: GarblerSecrets,
    each: &mut dyn FnMut(SessionOutcome),
) -> Result<usize, SessionError>
where
    I: IntoIterator,
    I::Item: GateItem,
{
    let c = circuit;
    check_inputs(c, Party::Garbler, inputs)?;
    check_output_wires(c)?;
    let GarblerSecrets {
        delta,
        hash_key,
        mut prg,
    } = secrets;
    let mut ph = Phases::new(Role::Garbler, opts.scheme, ch);

    // 1. Handshake, then the hash key.
    handshake(ch, Role::Garbler, opts.scheme, c, digest)?;
    ch.write_block(hash_key).map_err(at(Phase::Handshake))?;
    ch.flush().map_err(at(Phase::Handshake))?;
    ph.end(Phase::Handshake, ch);

    let slots = wires::input_slots(c);
    let mut core = GarblerCore::with_slots(
        Tccr::new(hash_key),
        delta,
        c.wires(),
        slots,
        opts.threads,
        opts.scheme,
    )
    .map_err(at(Phase::Garbling))?;
    let d = delta.block();

    // 2. Garbler input labels, once: kept, since gates may reuse their slots.
    let n_in = c.input_bits() as usize;
    prg.fill_blocks(&mut core.labels_mut()[..n_in]);
    let mut msg = Vec::with_capacity(owned_count(c, Party::Garbler) * 16);
    let mut own_labels = Vec::with_capacity(owned_count(c, Party::Garbler));
    for (w, bit) in owned_wires(c, Party::Garbler, inputs) {
        let zero = core.labels()[w];
        own_labels.push((w, zero));
        msg.extend_from_slice(&(zero ^ d.select(bit)).to_bytes());
    }
    ch.write_bytes(&msg).map_err(at(Phase::GarblerInputs))?;
    ch.flush().map_err(at(Phase::GarblerInputs))?;
    ph.end(Phase::GarblerInputs, ch);

    // 3. Base OTs once, for the evaluator's input labels of every inference.
    let n_eval = owned_count(c, Party::Evaluator);
    let eval_wires: Vec<usize> = owned_wires(c, Party::Evaluator, inputs)
        .map(|(w, _)| w)
        .collect();
    let mut sender = if n_eval > 0 {
        let s = CotSender::setup(ch, d, &mut prg).map_err(at(Phase::BaseOt))?;
        ch.flush().map_err(at(Phase::BaseOt))?;
        ph.end(Phase::BaseOt, ch);
        Some(s)
    } else {
        None
    };

    let mut done = 0;
    loop {
        if opts.max_inferences.is_some_and(|m| done >= m) {
            return Err(SessionError::Protocol {
                phase: Phase::Outputs,
                detail: format!(
                    "the evaluator asked for more than the {done} inferences a session may run"
                ),
            });
        }
        let Some(gates) = next_gates() else {
            return Err(SessionError::Protocol {
                phase: Phase::Outputs,
                detail: "the evaluator asked for another inference, but this garbler runs one per session".into(),
            });
        };
        for &(w, l) in &own_labels {
            core.labels_mut()[w] = l;
        }
        // 4. Correlated OT: its 0-labels are the evaluator's input wires' 0-labels.
        if let Some(sender) = sender.as_mut() {
            let q = sender
                .send_correlated(ch, n_eval)
                .map_err(at(Phase::OtExtension))?;
            ch.flush().map_err(at(Phase::OtExtension))?;
            set_labels(core.labels_mut(), &eval_wires, q)?;
            ph.end(Phase::OtExtension, ch);
        }

        // 5. Garbled tables, streamed; the tweaks go on from the last inference's.
        let stats = opts
            .with_progress(|p| core.garble(gates, ch, p))
            .map_err(|e| stream_err(Phase::Garbling, e))?;
        ch.flush().map_err(at(Phase::Garbling))?;
        ph.end(Phase::Garbling, ch);
        core.hold_slots(wires::output_slots(c));

        // 6. Outputs: decoding bits for the evaluator; colour bits back for us, and
        // whether another inference follows.
        let labels = core.labels();
        let decoding = pack(
            output_wires(c, Party::Evaluator)
                .into_iter()
                .map(|w| labels[w as usize].lsb()),
        );
        ch.write_bytes(&decoding).map_err(at(Phase::Outputs))?;
        ch.flush().map_err(at(Phase::Outputs))?;
        let ours = output_wires(c, Party::Garbler);
        let colours = read_bits(ch, ours.len())?;
        let outputs = learn(c, Party::Garbler, labels, &ours, colours);
        let mut more = [0u8; 1];
        ch.read_bytes(&mut more).map_err(at(Phase::Outputs))?;
        ph.end(Phase::Outputs, ch);
        let finished = std::mem::replace(&mut ph, Phases::new(Role::Garbler, opts.scheme, ch));
        each(SessionOutcome {
            outputs,
            report: finished.report(stats.gates, stats.ands),
        });
        done += 1;
        match more[0] {
            DONE => return Ok(done),
            MORE => {}
            b => {
                return Err(SessionError::Protocol {
                    phase: Phase::Outputs,
                    detail: format!("expected 0 or 1 after the colour bits, got {b}"),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The evaluator

/// Runs the evaluator's side of a session of one inference (see [`run_garbler`]
/// for the arguments). The evaluator never holds Δ: its state is an
/// [`EvaluatorCore`].
pub fn run_evaluator<C: HasInterface + ?Sized, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    gates: I,
    inputs: &[Vec<bool>],
    opts: SessionOptions<'_>,
) -> Result<SessionOutcome, SessionError>
where
    I: IntoIterator,
    I::Item: GateItem,
{
    let mut once = Some(gates);
    let mut out = run_evaluator_batch(
        ch,
        circuit,
        digest,
        || once.take().into_iter().flatten(),
        std::slice::from_ref(&inputs.to_vec()),
        opts,
    )?;
    out.pop()
        .ok_or_else(|| SessionError::Input("no inference ran".into()))
}

/// Runs the evaluator's side of a session of one inference per entry of `inputs`
/// (each as for [`run_evaluator`]), against a [`serve_garbler`]; `gates` makes a
/// fresh stream of the circuit's gates for each. Outcomes in order; the first
/// report also holds the one-time phases (handshake, garbler inputs, base OT).
pub fn run_evaluator_batch<C: HasInterface + ?Sized, F, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    gates: F,
    inputs: &[Vec<Vec<bool>>],
    opts: SessionOptions<'_>,
) -> Result<Vec<SessionOutcome>, SessionError>
where
    F: FnMut() -> I,
    I: IntoIterator,
    I::Item: GateItem,
{
    let mut outcomes = Vec::with_capacity(inputs.len());
    run_evaluator_each(ch, circuit, digest, gates, inputs, opts, |o| {
        outcomes.push(o)
    })?;
    Ok(outcomes)
}

/// [`run_evaluator_batch`] handing each outcome to `each` as soon as it is known.
pub fn run_evaluator_each<C: HasInterface + ?Sized, F, I>(
    ch: &mut dyn Channel,
    circuit: &C,
    digest: [u8; 32],
    mut gates: F,
    inputs: &[Vec<Vec<bool>>],
    mut opts: SessionOptions<'_>,
    mut each: impl FnMut(SessionOutcome),
) -> Result<(), SessionError>
where
    F: FnMut() -> I,
    I: IntoIterator,
    I::Item: GateItem,
{
    let c = circuit;
    if inputs.is_empty() {
        return Err(SessionError::Input(
            "a session needs at least one inference".into(),
        ));
    }
    for one in inputs {
        check_inputs(c, Party::Evaluator, one)?;
    }
    check_output_wires(c)?;
    let mut ph = Phases::new(Role::Evaluator, opts.scheme, ch);

    // 1. Handshake, then the hash key.
    handshake(ch, Role::Evaluator, opts.scheme, c, digest)?;
    let hash_key = ch.read_block().map_err(at(Phase::Handshake))?;
    ph.end(Phase::Handshake, ch);
    let slots = wires::input_slots(c);
    let mut core = EvaluatorCore::with_slots(
        Tccr::new(hash_key),
        c.wires(),
        slots,
        opts.threads,
        opts.scheme,
    )
    .map_err(at(Phase::Evaluation))?;

    // 2. Garbler input labels, once: kept, since gates may reuse their slots.
    let g_wires: Vec<usize> = owned_wires(c, Party::Garbler, &inputs[0])
        .map(|(w, _)| w)
        .collect();
    let mut msg = vec![0u8; g_wires.len() * 16];
    ch.read_bytes(&mut msg).map_err(at(Phase::GarblerInputs))?;
    let their_labels: Vec<(usize, Block)> = g_wires
        .iter()
        .zip(msg.chunks_exact(16))
        .map(|(&w, chunk)| (w, Block::from_bytes(chunk.try_into().expect("16 bytes"))))
        .collect();
    ph.end(Phase::GarblerInputs, ch);

    // 3. Base OTs once.
    let n_eval = owned_count(c, Party::Evaluator);
    let mut receiver = if n_eval > 0 {
        let mut rng = Prg::from_entropy();
        let r = CotReceiver::setup(ch, &mut rng).map_err(at(Phase::BaseOt))?;
        ch.flush().map_err(at(Phase::BaseOt))?;
        ph.end(Phase::BaseOt, ch);
        Some(r)
    } else {
        None
    };

    for (k, one) in inputs.iter().enumerate() {
        for &(w, l) in &their_labels {
            core.labels_mut()[w] = l;
        }
        // 4. OT for our input labels.
        let (e_wires, choices): (Vec<usize>, Vec<bool>) =
            owned_wires(c, Party::Evaluator, one).unzip();
        if let Some(receiver) = receiver.as_mut() {
            let t = receiver
                .receive_correlated(ch, &choices)
                .map_err(at(Phase::OtExtension))?;
            ch.flush().map_err(at(Phase::OtExtension))?;
            set_labels(core.labels_mut(), &e_wires, t)?;
            ph.end(Phase::OtExtension, ch);
        }

        // 5. Evaluate the tables as they arrive.
        let stats = opts
            .with_progress(|p| core.evaluate(gates(), ch, p))
            .map_err(|e| stream_err(Phase::Evaluation, e))?;
        ph.end(Phase::Evaluation, ch);
        core.hold_slots(wires::output_slots(c));

        // 6. Outputs: colour bits of the garbler's outputs go back, with whether
        // another inference follows; decoding bits of ours arrive.
        let labels = core.labels();
        let mut colours = pack(
            output_wires(c, Party::Garbler)
                .into_iter()
                .map(|w| labels[w as usize].lsb()),
        );
        colours.push(if k + 1 < inputs.len() { MORE } else { DONE });
        ch.write_bytes(&colours).map_err(at(Phase::Outputs))?;
        ch.flush().map_err(at(Phase::Outputs))?;
        let ours = output_wires(c, Party::Evaluator);
        let decoding = read_bits(ch, ours.len())?;
        let outputs = learn(c, Party::Evaluator, labels, &ours, decoding);
        ph.end(Phase::Outputs, ch);
        let finished = std::mem::replace(&mut ph, Phases::new(Role::Evaluator, opts.scheme, ch));
        each(SessionOutcome {
            outputs,
            report: finished.report(stats.gates, stats.ands),
        });
    }
    Ok(())
}

/// Both parties of an in-memory circuit in two threads over an in-memory channel.
/// Returns (garbler outcome, evaluator outcome). For tests and `garnet run --in-memory`.
pub fn run_in_memory(
    circuit: &Circuit,
    garbler_inputs: &[Vec<bool>],
    evaluator_inputs: &[Vec<bool>],
) -> Result<(SessionOutcome, SessionOutcome), SessionError> {
    run_in_memory_with(circuit, garbler_inputs, evaluator_inputs, Scheme::HalfGates)
}

/// [`run_in_memory`] with a garbling scheme (both sides use it).
pub fn run_in_memory_with(
    circuit: &Circuit,
    garbler_inputs: &[Vec<bool>],
    evaluator_inputs: &[Vec<bool>],
    scheme: Scheme,
) -> Result<(SessionOutcome, SessionOutcome), SessionError> {
    let opts = || SessionOptions {
        scheme,
        ..SessionOptions::default()
    };
    let digest = garnet_circuits::format::gcirc::digest(circuit);
    let (a, mut b) = crate::memory::MemoryChannel::pair();
    std::thread::scope(|s| {
        let g = s.spawn(move || {
            // `a` moves here so that it closes as soon as the garbler returns.
            let mut a = a;
            run_garbler(
                &mut a,
                circuit,
                digest,
                circuit.gates.iter().copied(),
                garbler_inputs,
                opts(),
            )
        });
        let e = run_evaluator(
            &mut b,
            circuit,
            digest,
            circuit.gates.iter().copied(),
            evaluator_inputs,
            opts(),
        );
        drop(b);
        let g = g.join().expect("garbler thread panicked");
        Ok((g?, e?))
    })
}

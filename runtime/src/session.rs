//! The two-party session (semi-honest), as a synchronous core over `&mut dyn Channel`.
//!
//! ```text
//! garbler                                          evaluator
//! hello (magic, version, digest, shapes)   ⇄   hello          — mismatch: error on both sides
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
use crate::garble::{EvaluatorCore, GarblerCore, GateItem, StreamError};
use crate::halfgates::Delta;
use crate::hash::Tccr;
use crate::ot::{CotReceiver, CotSender};
use crate::prg::Prg;
use garnet_circuits::{Circuit, OutBit, Party, Recipient};
use std::fmt;
use std::time::Instant;

/// First bytes of every session.
pub const MAGIC: [u8; 8] = *b"GARNET2P";
/// Bumped on any change to the messages.
pub const PROTOCOL_VERSION: u32 = 2;

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

/// Time and traffic of one phase.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseReport {
    pub phase: Phase,
    pub seconds: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Per-phase time and bytes of one session, plus gate counts. Contains no secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionReport {
    pub role: Role,
    pub phases: Vec<PhaseReport>,
    pub gates: u64,
    pub ands: u64,
}

impl SessionReport {
    pub fn total_seconds(&self) -> f64 {
        self.phases.iter().map(|p| p.seconds).sum()
    }
    pub fn total_bytes(&self) -> (u64, u64) {
        self.phases
            .iter()
            .fold((0, 0), |(s, r), p| (s + p.bytes_sent, r + p.bytes_received))
    }
    pub fn phase(&self, phase: Phase) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.phase == phase)
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl fmt::Display for SessionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} report ({} gates, {} AND):",
            self.role, self.gates, self.ands
        )?;
        writeln!(
            f,
            "  {:<16} {:>10} {:>12} {:>12}",
            "phase", "time", "sent", "received"
        )?;
        for p in &self.phases {
            writeln!(
                f,
                "  {:<16} {:>8.3} s {:>12} {:>12}",
                p.phase.name(),
                p.seconds,
                human_bytes(p.bytes_sent),
                human_bytes(p.bytes_received)
            )?;
        }
        let (s, r) = self.total_bytes();
        write!(
            f,
            "  {:<16} {:>8.3} s {:>12} {:>12}",
            "total",
            self.total_seconds(),
            human_bytes(s),
            human_bytes(r)
        )?;
        let eval = self
            .phase(Phase::Garbling)
            .or(self.phase(Phase::Evaluation));
        if let Some(p) = eval
            && self.ands >= 100_000
            && p.seconds > 0.0
        {
            write!(
                f,
                "\n  {:.1} M AND/s in {}",
                self.ands as f64 / p.seconds / 1e6,
                p.phase.name()
            )?;
        }
        Ok(())
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
}

impl fmt::Debug for SessionOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Records the time and bytes of each phase.
struct Phases {
    role: Role,
    list: Vec<PhaseReport>,
    start: Instant,
    sent: u64,
    received: u64,
}

impl Phases {
    fn new(role: Role, ch: &dyn Channel) -> Phases {
        Phases {
            role,
            list: Vec::new(),
            start: Instant::now(),
            sent: ch.bytes_sent(),
            received: ch.bytes_received(),
        }
    }
    fn end(&mut self, phase: Phase, ch: &dyn Channel) {
        let now = Instant::now();
        self.list.push(PhaseReport {
            phase,
            seconds: (now - self.start).as_secs_f64(),
            bytes_sent: ch.bytes_sent() - self.sent,
            bytes_received: ch.bytes_received() - self.received,
        });
        self.start = now;
        self.sent = ch.bytes_sent();
        self.received = ch.bytes_received();
    }
    fn report(self, gates: u64, ands: u64) -> SessionReport {
        SessionReport {
            role: self.role,
            phases: self.list,
            gates,
            ands,
        }
    }
}

// ---------------------------------------------------------------------------
// Handshake

/// What both sides must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hello {
    version: u32,
    role: u8,
    digest: [u8; 32],
    wires: u32,
    inputs: Vec<(u8, u32)>,
    outputs: Vec<(u8, u32)>,
}

fn party_byte(p: Party) -> u8 {
    match p {
        Party::Garbler => 1,
        Party::Evaluator => 2,
    }
}

fn recipient_byte(r: Recipient) -> u8 {
    match r {
        Recipient::Garbler => 1,
        Recipient::Evaluator => 2,
        Recipient::Both => 3,
    }
}

/// Largest input/output value count accepted from a peer (bounds allocation).
const MAX_VALUES: u32 = 1 << 20;

impl Hello {
    fn of(role: Role, c: &Circuit, digest: [u8; 32]) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            role: role.byte(),
            digest,
            wires: c.wires,
            inputs: c
                .inputs
                .iter()
                .map(|i| (party_byte(i.owner), i.bits))
                .collect(),
            outputs: c
                .outputs
                .iter()
                .map(|o| (recipient_byte(o.recipient), o.bits.len() as u32))
                .collect(),
        }
    }

    fn write(&self, ch: &mut dyn Channel) -> std::io::Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.push(self.role);
        b.extend_from_slice(&self.digest);
        b.extend_from_slice(&self.wires.to_le_bytes());
        for list in [&self.inputs, &self.outputs] {
            b.extend_from_slice(&(list.len() as u32).to_le_bytes());
            for &(tag, bits) in list.iter() {
                b.push(tag);
                b.extend_from_slice(&bits.to_le_bytes());
            }
        }
        ch.write_bytes(&b)?;
        ch.flush()
    }

    fn read(ch: &mut dyn Channel) -> Result<Hello, SessionError> {
        let e = at(Phase::Handshake);
        let mut magic = [0u8; 8];
        ch.read_bytes(&mut magic).map_err(&e)?;
        if magic != MAGIC {
            return Err(SessionError::Handshake(format!(
                "the peer is not a garnet two-party session (expected magic {:?}, got {:02x?})",
                String::from_utf8_lossy(&MAGIC),
                magic
            )));
        }
        let u32_ = |ch: &mut dyn Channel| -> Result<u32, SessionError> {
            let mut b = [0u8; 4];
            ch.read_bytes(&mut b).map_err(at(Phase::Handshake))?;
            Ok(u32::from_le_bytes(b))
        };
        let u8_ = |ch: &mut dyn Channel| -> Result<u8, SessionError> {
            let mut b = [0u8; 1];
            ch.read_bytes(&mut b).map_err(at(Phase::Handshake))?;
            Ok(b[0])
        };
        let version = u32_(ch)?;
        if version != PROTOCOL_VERSION {
            return Err(SessionError::Handshake(format!(
                "protocol version mismatch: this side speaks version {PROTOCOL_VERSION}, the peer version {version}"
            )));
        }
        let role = u8_(ch)?;
        let mut digest = [0u8; 32];
        ch.read_bytes(&mut digest).map_err(&e)?;
        let wires = u32_(ch)?;
        let mut lists = [Vec::new(), Vec::new()];
        for (li, list) in lists.iter_mut().enumerate() {
            let n = u32_(ch)?;
            if n > MAX_VALUES {
                return Err(SessionError::Handshake(format!(
                    "the peer announces {n} {} values (limit {MAX_VALUES})",
                    ["input", "output"][li]
                )));
            }
            for _ in 0..n {
                let tag = u8_(ch)?;
                let bits = u32_(ch)?;
                list.push((tag, bits));
            }
        }
        let [inputs, outputs] = lists;
        Ok(Hello {
            version,
            role,
            digest,
            wires,
            inputs,
            outputs,
        })
    }

    /// Compares our hello with the peer's; the same checks run on both sides.
    fn check(&self, peer: &Hello) -> Result<(), SessionError> {
        let err = |m: String| Err(SessionError::Handshake(m));
        if peer.role == self.role || !(1..=2).contains(&peer.role) {
            let who = if self.role == 1 {
                "garbler"
            } else {
                "evaluator"
            };
            return err(format!(
                "both sides are the {who} (or the peer's role byte {} is invalid)",
                peer.role
            ));
        }
        if peer.inputs.len() != self.inputs.len() {
            return err(format!(
                "circuit mismatch: this circuit has {} input values, the peer's has {}",
                self.inputs.len(),
                peer.inputs.len()
            ));
        }
        for (i, (a, b)) in self.inputs.iter().zip(&peer.inputs).enumerate() {
            if a.1 != b.1 {
                return err(format!(
                    "circuit mismatch: input {i} is {} bits here, {} bits at the peer",
                    a.1, b.1
                ));
            }
            if a.0 != b.0 {
                return err(format!(
                    "circuit mismatch: input {i} has a different owner at the peer"
                ));
            }
        }
        if peer.outputs != self.outputs {
            return err(
                "circuit mismatch: the output values differ (count, width or recipient)".into(),
            );
        }
        if peer.wires != self.wires {
            return err(format!(
                "circuit mismatch: {} wire slots here, {} at the peer",
                self.wires, peer.wires
            ));
        }
        if peer.digest != self.digest {
            return err(format!(
                "circuit digest mismatch: this side has {}, the peer {}",
                hex(&self.digest[..8]),
                hex(&peer.digest[..8])
            ));
        }
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<String>() + "…"
}

fn handshake(
    ch: &mut dyn Channel,
    role: Role,
    c: &Circuit,
    digest: [u8; 32],
) -> Result<(), SessionError> {
    let ours = Hello::of(role, c, digest);
    ours.write(ch).map_err(at(Phase::Handshake))?;
    let peer = Hello::read(ch)?;
    ours.check(&peer)
}

// ---------------------------------------------------------------------------
// Inputs and outputs

/// Checks this party's inputs against the circuit: one bit vector per circuit input
/// value, the right width for each value this party owns (others are ignored).
fn check_inputs(c: &Circuit, party: Party, inputs: &[Vec<bool>]) -> Result<(), SessionError> {
    if inputs.len() != c.inputs.len() {
        return Err(SessionError::Input(format!(
            "expected {} input values (one per circuit input, empty for the peer's), got {}",
            c.inputs.len(),
            inputs.len()
        )));
    }
    for (spec, v) in c.inputs.iter().zip(inputs) {
        if spec.owner == party && v.len() != spec.bits as usize {
            return Err(SessionError::Input(format!(
                "input `{}` is {} bits wide, got {} bits",
                spec.name,
                spec.bits,
                v.len()
            )));
        }
    }
    Ok(())
}

/// Input wire indices owned by `party`, in order, with this party's bit values.
fn owned_wires<'a>(
    c: &'a Circuit,
    party: Party,
    inputs: &'a [Vec<bool>],
) -> impl Iterator<Item = (usize, bool)> + 'a {
    c.inputs
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.owner == party)
        .flat_map(move |(i, _)| {
            let r = c.input_wires(i);
            let v = &inputs[i];
            r.enumerate()
                .map(move |(k, w)| (w as usize, v.get(k).copied().unwrap_or(false)))
        })
}

fn owned_count(c: &Circuit, party: Party) -> usize {
    c.inputs
        .iter()
        .filter(|s| s.owner == party)
        .map(|s| s.bits as usize)
        .sum()
}

/// Output wires of the outputs whose recipient includes `party`, in order.
fn output_wires(c: &Circuit, party: Party) -> Vec<u32> {
    c.outputs
        .iter()
        .filter(|o| o.recipient.includes(party))
        .flat_map(|o| o.bits.iter())
        .filter_map(|b| match b {
            OutBit::Wire(w) => Some(*w),
            OutBit::Const(_) => None,
        })
        .collect()
}

fn check_output_wires(c: &Circuit) -> Result<(), SessionError> {
    for o in &c.outputs {
        for b in &o.bits {
            if let OutBit::Wire(w) = b
                && *w >= c.wires
            {
                return Err(SessionError::Input(format!(
                    "output `{}` names wire {w}, but the circuit has {} wire slots",
                    o.name, c.wires
                )));
            }
        }
    }
    if c.input_bits() > c.wires as u64 {
        return Err(SessionError::Input(format!(
            "the circuit has {} input bits but only {} wire slots",
            c.input_bits(),
            c.wires
        )));
    }
    Ok(())
}

fn pack(bits: impl Iterator<Item = bool>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, b) in bits.enumerate() {
        if i % 8 == 0 {
            out.push(0);
        }
        *out.last_mut().expect("pushed") |= (b as u8) << (i % 8);
    }
    out
}

fn unpack(bytes: &[u8], n: usize) -> Vec<bool> {
    (0..n).map(|i| (bytes[i / 8] >> (i % 8)) & 1 == 1).collect()
}

fn read_bits(ch: &mut dyn Channel, n: usize) -> Result<Vec<bool>, SessionError> {
    let mut bytes = vec![0u8; n.div_ceil(8)];
    ch.read_bytes(&mut bytes).map_err(at(Phase::Outputs))?;
    Ok(unpack(&bytes, n))
}

/// Assembles the outputs `party` learns from `value(wire)`.
fn decode(c: &Circuit, party: Party, mut value: impl FnMut(u32) -> bool) -> Vec<Option<Vec<bool>>> {
    c.outputs
        .iter()
        .map(|o| {
            o.recipient.includes(party).then(|| {
                o.bits
                    .iter()
                    .map(|b| match *b {
                        OutBit::Wire(w) => value(w),
                        OutBit::Const(v) => v,
                    })
                    .collect()
            })
        })
        .collect()
}

/// Puts the labels an OT extension gave on the wires they belong to.
fn set_labels(labels: &mut [Block], wires: &[usize], got: Vec<Block>) -> Result<(), SessionError> {
    if got.len() != wires.len() {
        return Err(SessionError::Protocol {
            phase: Phase::OtExtension,
            detail: format!(
                "{} correlated OTs for {} input bits",
                got.len(),
                wires.len()
            ),
        });
    }
    for (&w, l) in wires.iter().zip(got) {
        labels[w] = l;
    }
    Ok(())
}

/// The outputs `party` learns: each of its output wires' label colour XOR the bit the
/// peer sent for that wire (its decoding bit, or the garbler's 0-label colour).
fn learn(
    c: &Circuit,
    party: Party,
    labels: &[Block],
    wires: &[u32],
    peer_bits: Vec<bool>,
) -> Vec<Option<Vec<bool>>> {
    let bit_of: std::collections::HashMap<u32, bool> =
        wires.iter().copied().zip(peer_bits).collect();
    decode(c, party, |w| bit_of[&w] ^ labels[w as usize].lsb())
}

fn stream_err(phase: Phase, e: StreamError) -> SessionError {
    match e {
        StreamError::Channel(e) => SessionError::io(phase, e),
        StreamError::Gate(e) => SessionError::Circuit { phase, source: e },
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
pub fn run_garbler<I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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

pub(crate) fn run_garbler_with<I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
pub fn serve_garbler<F, I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
fn garbler_session<I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
    let mut ph = Phases::new(Role::Garbler, ch);

    // 1. Handshake, then the hash key.
    handshake(ch, Role::Garbler, c, digest)?;
    ch.write_block(hash_key).map_err(at(Phase::Handshake))?;
    ch.flush().map_err(at(Phase::Handshake))?;
    ph.end(Phase::Handshake, ch);

    let mut core = GarblerCore::new(Tccr::new(hash_key), delta, c.wires);
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
        let mut nop = |_: u64| {};
        let progress: &mut dyn FnMut(u64) = match opts.progress.as_mut() {
            Some(p) => *p,
            None => &mut nop,
        };
        let stats = core
            .garble(gates, ch, progress)
            .map_err(|e| stream_err(Phase::Garbling, e))?;
        ch.flush().map_err(at(Phase::Garbling))?;
        ph.end(Phase::Garbling, ch);

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
        let finished = std::mem::replace(&mut ph, Phases::new(Role::Garbler, ch));
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
pub fn run_evaluator<I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
pub fn run_evaluator_batch<F, I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
pub fn run_evaluator_each<F, I>(
    ch: &mut dyn Channel,
    circuit: &Circuit,
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
    let mut ph = Phases::new(Role::Evaluator, ch);

    // 1. Handshake, then the hash key.
    handshake(ch, Role::Evaluator, c, digest)?;
    let hash_key = ch.read_block().map_err(at(Phase::Handshake))?;
    ph.end(Phase::Handshake, ch);
    let mut core = EvaluatorCore::new(Tccr::new(hash_key), c.wires);

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
        let mut nop = |_: u64| {};
        let progress: &mut dyn FnMut(u64) = match opts.progress.as_mut() {
            Some(p) => *p,
            None => &mut nop,
        };
        let stats = core
            .evaluate(gates(), ch, progress)
            .map_err(|e| stream_err(Phase::Evaluation, e))?;
        ph.end(Phase::Evaluation, ch);

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
        let finished = std::mem::replace(&mut ph, Phases::new(Role::Evaluator, ch));
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
                SessionOptions::default(),
            )
        });
        let e = run_evaluator(
            &mut b,
            circuit,
            digest,
            circuit.gates.iter().copied(),
            evaluator_inputs,
            SessionOptions::default(),
        );
        drop(b);
        let g = g.join().expect("garbler thread panicked");
        Ok((g?, e?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryChannel;
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use std::sync::{Arc, Mutex};

    /// Records every byte written through it.
    struct Recording<C> {
        inner: C,
        log: Arc<Mutex<Vec<u8>>>,
    }

    impl<C: Channel> Channel for Recording<C> {
        fn write_bytes(&mut self, bytes: &[u8]) -> std::io::Result<()> {
            self.log.lock().unwrap().extend_from_slice(bytes);
            self.inner.write_bytes(bytes)
        }
        fn read_bytes(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            self.inner.read_bytes(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
        fn bytes_sent(&self) -> u64 {
            self.inner.bytes_sent()
        }
        fn bytes_received(&self) -> u64 {
            self.inner.bytes_received()
        }
    }

    fn circuit() -> Circuit {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
        let spec = RandomSpec {
            input_widths: vec![8, 8],
            gates: 300,
            ..RandomSpec::default()
        };
        garnet_circuits::passes::optimize(random_circuit(&mut rng, &spec))
    }

    fn inputs(c: &Circuit, p: Party) -> Vec<Vec<bool>> {
        c.inputs
            .iter()
            .map(|s| {
                if s.owner == p {
                    vec![true; s.bits as usize]
                } else {
                    vec![]
                }
            })
            .collect()
    }

    /// One session with the given garbler secrets; returns the garbler's transcript,
    /// both outcomes as text (Debug and Display), and the error texts of a failed run.
    fn session(secrets: GarblerSecrets) -> (Vec<u8>, String) {
        let c = circuit();
        let digest = garnet_circuits::format::gcirc::digest(&c);
        let (a, mut b) = MemoryChannel::pair();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rec = Recording {
            inner: a,
            log: log.clone(),
        };
        let (g, e) = std::thread::scope(|s| {
            let c2 = &c;
            let g = s.spawn(move || {
                let ins = inputs(c2, Party::Garbler);
                run_garbler_with(
                    &mut rec,
                    c2,
                    digest,
                    c2.gates.iter().copied(),
                    &ins,
                    SessionOptions::default(),
                    secrets,
                )
            });
            let ins = inputs(&c, Party::Evaluator);
            let e = run_evaluator(
                &mut b,
                &c,
                digest,
                c.gates.iter().copied(),
                &ins,
                SessionOptions::default(),
            );
            (g.join().unwrap().unwrap(), e.unwrap())
        });
        let text = format!("{g:?}\n{e:?}\n{}\n{}", g.report, e.report);
        let log = log.lock().unwrap().clone();
        (log, text)
    }

    /// Every way a block might be printed.
    fn renderings(b: Block) -> Vec<String> {
        let bytes = b.to_bytes();
        vec![
            format!("{:x}", b.0),
            format!("{:032x}", b.0),
            format!("{}", b.0),
            bytes.iter().map(|x| format!("{x:02x}")).collect(),
            format!("{bytes:?}"),
            format!("{:x}", b.0 as u64),
        ]
    }

    #[test]
    fn fresh_secrets_differ_and_delta_low_bit_is_set() {
        let a = GarblerSecrets::fresh();
        let mut b = GarblerSecrets::fresh();
        assert!(a.delta.block().lsb() && b.delta.block().lsb());
        assert_ne!(a.delta, b.delta);
        assert_ne!(a.hash_key, b.hash_key);
        let mut a = a;
        assert_ne!(a.prg.next_block(), b.prg.next_block());
        assert_eq!(format!("{a:?}"), "GarblerSecrets(<redacted>)");
    }

    #[test]
    fn two_sessions_share_no_key_labels_or_tables() {
        let (t1, _) = session(GarblerSecrets::fresh());
        let (t2, _) = session(GarblerSecrets::fresh());
        assert_eq!(t1.len(), t2.len());
        let hello = Hello::of(Role::Garbler, &circuit(), [0; 32]);
        let mut hb = Vec::new();
        {
            struct V<'a>(&'a mut Vec<u8>);
            impl Channel for V<'_> {
                fn write_bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
                    self.0.extend_from_slice(b);
                    Ok(())
                }
                fn read_bytes(&mut self, _: &mut [u8]) -> std::io::Result<()> {
                    unreachable!()
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
                fn bytes_sent(&self) -> u64 {
                    0
                }
                fn bytes_received(&self) -> u64 {
                    0
                }
            }
            hello.write(&mut V(&mut hb)).unwrap();
        }
        let h = hb.len();
        // The hello is identical; the AES key right after it is not.
        assert_eq!(t1[..h], t2[..h]);
        assert_ne!(t1[h..h + 16], t2[h..h + 16], "hash key reused");
        // Garbler input labels (same inputs both times) differ, and so does every
        // 16-byte block after them (labels, OT messages, tables).
        let (b1, b2) = (&t1[h + 16..], &t2[h + 16..]);
        let same = b1
            .chunks(16)
            .zip(b2.chunks(16))
            .filter(|(x, y)| x == y)
            .count();
        assert!(same <= 2, "{same} identical blocks across two sessions");
    }

    #[test]
    fn inferences_of_a_session_never_reuse_a_tweak() {
        // Only garbler inputs: both inferences garble the same labels under the same
        // Δ and key, so their tables would repeat if the tweaks started over.
        let mut b = garnet_circuits::Builder::new();
        let g = b.input("g", Party::Garbler, 8);
        let mut outs = Vec::new();
        for i in 0..7 {
            use garnet_circuits::Gates;
            outs.push(b.and(g[i], g[i + 1]));
        }
        b.output("o", Recipient::Evaluator, &outs);
        let c = garnet_circuits::passes::optimize(b.finish());
        let ands = c.and_count() as usize;
        assert_eq!(ands, 7);
        let digest = garnet_circuits::format::gcirc::digest(&c);
        let (a, mut ev) = MemoryChannel::pair();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut rec = Recording {
            inner: a,
            log: log.clone(),
        };
        let ins = vec![vec![true, false, true, true, false, true, true, true]];
        std::thread::scope(|s| {
            let (c2, ins2) = (&c, &ins);
            let g = s.spawn(move || {
                serve_garbler(
                    &mut rec,
                    c2,
                    digest,
                    || c2.gates.iter().copied(),
                    ins2,
                    SessionOptions::default(),
                    |_| {},
                )
            });
            let e = run_evaluator_batch(
                &mut ev,
                &c,
                digest,
                || c.gates.iter().copied(),
                &[vec![vec![]], vec![vec![]]],
                SessionOptions::default(),
            )
            .unwrap();
            assert_eq!(g.join().unwrap().unwrap(), 2);
            assert_eq!(e[0].outputs, e[1].outputs);
        });
        // The transcript ends with [tables, decoding byte] twice.
        let log = log.lock().unwrap().clone();
        let per = 32 * ands + 1;
        let second = &log[log.len() - per..log.len() - 1];
        let first = &log[log.len() - 2 * per..log.len() - per - 1];
        for block in second.chunks(16) {
            assert!(
                !first.chunks(16).any(|b| b == block),
                "a table block repeats across inferences"
            );
        }
    }

    #[test]
    fn no_secret_appears_in_reports_or_debug_output() {
        let secrets = GarblerSecrets::fresh();
        let (delta, key) = (secrets.delta, secrets.hash_key);
        let (transcript, text) = session(secrets);
        let mut secrets_seen = renderings(delta.block());
        secrets_seen.extend(renderings(key));
        // Garbler input labels as sent, and the first tables' blocks.
        for chunk in transcript.chunks_exact(16).take(64) {
            secrets_seen.extend(renderings(Block::from_bytes(chunk.try_into().unwrap())));
        }
        for s in &secrets_seen {
            if s.len() >= 12 {
                assert!(
                    !text.contains(s.as_str()),
                    "secret `{s}` printed in:\n{text}"
                );
            }
        }
        assert!(
            text.contains("handshake") && text.contains("evaluation"),
            "{text}"
        );
        let core = GarblerCore::new(Tccr::new(key), delta, 8);
        let dbg = format!("{core:?}");
        for s in renderings(delta.block()).iter().chain(&renderings(key)) {
            assert!(
                !dbg.contains(s.as_str()),
                "secret in GarblerCore Debug: {dbg}"
            );
        }
    }
}

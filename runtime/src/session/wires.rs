//! Which wires carry whose inputs and outputs, and the bit messages about them.

use crate::block::Block;
use crate::channel::Channel;
use crate::error::{Phase, SessionError, at};
use crate::garble::StreamError;
use garnet_circuits::{HasInterface, OutBit, Party};

/// Checks this party's inputs against the circuit: one bit vector per circuit input
/// value, the right width for each value this party owns (others are ignored).
pub(super) fn check_inputs(
    c: &(impl HasInterface + ?Sized),
    party: Party,
    inputs: &[Vec<bool>],
) -> Result<(), SessionError> {
    if inputs.len() != c.inputs().len() {
        return Err(SessionError::Input(format!(
            "expected {} input values (one per circuit input, empty for the peer's), got {}",
            c.inputs().len(),
            inputs.len()
        )));
    }
    for (spec, v) in c.inputs().iter().zip(inputs) {
        if spec.owner == party && v.len() != spec.bits as usize {
            return Err(SessionError::Input(format!(
                "input `{}` is {} bits wide, got {} bits",
                garnet_circuits::text::quote(&spec.name),
                spec.bits,
                v.len()
            )));
        }
    }
    Ok(())
}

/// Input wire indices owned by `party`, in order, with this party's bit values.
pub(super) fn owned_wires<'a>(
    c: &'a (impl HasInterface + ?Sized),
    party: Party,
    inputs: &'a [Vec<bool>],
) -> impl Iterator<Item = (usize, bool)> + 'a {
    c.inputs()
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

pub(super) fn owned_count(c: &(impl HasInterface + ?Sized), party: Party) -> usize {
    c.inputs()
        .iter()
        .filter(|s| s.owner == party)
        .map(|s| s.bits as usize)
        .sum()
}

/// Output wires of the outputs whose recipient includes `party`, in order.
pub(super) fn output_wires(c: &(impl HasInterface + ?Sized), party: Party) -> Vec<u32> {
    c.outputs()
        .iter()
        .filter(|o| o.recipient.includes(party))
        .flat_map(|o| o.bits.iter())
        .filter_map(|b| match b {
            OutBit::Wire(w) => Some(*w),
            OutBit::Const(_) => None,
        })
        .collect()
}

pub(super) fn check_output_wires(c: &(impl HasInterface + ?Sized)) -> Result<(), SessionError> {
    for o in c.outputs() {
        for b in &o.bits {
            if let OutBit::Wire(w) = b
                && *w >= c.wires()
            {
                return Err(SessionError::Input(format!(
                    "output `{}` names wire {w}, but the circuit has {} wire slots",
                    garnet_circuits::text::quote(&o.name),
                    c.wires()
                )));
            }
        }
    }
    if c.input_bits() > c.wires() as u64 {
        return Err(SessionError::Input(format!(
            "the circuit has {} input bits but only {} wire slots",
            c.input_bits(),
            c.wires()
        )));
    }
    Ok(())
}

/// The wire slots a session holds before any gate: the input wires. The rest grow
/// as gates write them (never past the header's `wires`, which a file may set to
/// 2^30 at no cost to itself).
pub(super) fn input_slots(c: &(impl HasInterface + ?Sized)) -> u32 {
    c.input_bits().min(c.wires() as u64) as u32
}

/// The slots the outputs read, held once the gates have run: a file's output
/// wires must be inputs or written by its gates (the reader checks it at the end
/// of the gates), so these are slots the gates already grew to, not a header's
/// claim; holding them only after the gates keeps it so.
pub(super) fn output_slots(c: &(impl HasInterface + ?Sized)) -> u32 {
    let outs = c.outputs().iter().flat_map(|o| &o.bits).map(|b| match *b {
        OutBit::Wire(w) => w as u64 + 1,
        OutBit::Const(_) => 0,
    });
    outs.fold(0, u64::max).min(c.wires() as u64) as u32
}

pub(super) fn pack(bits: impl Iterator<Item = bool>) -> Vec<u8> {
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

pub(super) fn read_bits(ch: &mut dyn Channel, n: usize) -> Result<Vec<bool>, SessionError> {
    let mut bytes = vec![0u8; n.div_ceil(8)];
    ch.read_bytes(&mut bytes).map_err(at(Phase::Outputs))?;
    Ok(unpack(&bytes, n))
}

/// Assembles the outputs `party` learns from `value(wire)`.
fn decode(
    c: &(impl HasInterface + ?Sized),
    party: Party,
    mut value: impl FnMut(u32) -> bool,
) -> Vec<Option<Vec<bool>>> {
    c.outputs()
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
pub(super) fn set_labels(
    labels: &mut [Block],
    wires: &[usize],
    got: Vec<Block>,
) -> Result<(), SessionError> {
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
pub(super) fn learn(
    c: &(impl HasInterface + ?Sized),
    party: Party,
    labels: &[Block],
    wires: &[u32],
    peer_bits: Vec<bool>,
) -> Vec<Option<Vec<bool>>> {
    let bit_of: std::collections::HashMap<u32, bool> =
        wires.iter().copied().zip(peer_bits).collect();
    decode(c, party, |w| bit_of[&w] ^ labels[w as usize].lsb())
}

pub(super) fn stream_err(phase: Phase, e: StreamError) -> SessionError {
    match e {
        StreamError::Channel(e) => SessionError::io(phase, e),
        StreamError::Gate(e) => SessionError::Circuit { phase, source: e },
    }
}

//! The handshake: both sides send what they run (protocol version, role, garbling
//! scheme, circuit digest, wires, input and output shapes) and both check the peer's
//! against theirs.

use crate::channel::Channel;
use crate::error::{Phase, SessionError, at};
use crate::garble::Scheme;
use garnet_circuits::{HasInterface, Party, Recipient};

use super::{MAGIC, PROTOCOL_VERSION, Role};

/// What both sides must agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hello {
    version: u32,
    role: u8,
    scheme: u8,
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
    pub(super) fn of(
        role: Role,
        scheme: Scheme,
        c: &(impl HasInterface + ?Sized),
        digest: [u8; 32],
    ) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            role: role.byte(),
            scheme: scheme.byte(),
            digest,
            wires: c.wires(),
            inputs: c
                .inputs()
                .iter()
                .map(|i| (party_byte(i.owner), i.bits))
                .collect(),
            outputs: c
                .outputs()
                .iter()
                .map(|o| (recipient_byte(o.recipient), o.bits.len() as u32))
                .collect(),
        }
    }

    pub(super) fn write(&self, ch: &mut dyn Channel) -> std::io::Result<()> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.push(self.role);
        b.push(self.scheme);
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
        let scheme = u8_(ch)?;
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
            scheme,
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
        if peer.scheme != self.scheme {
            let name = |b: u8| {
                Scheme::from_byte(b).map_or(format!("an unknown scheme (byte {b})"), |s| {
                    s.name().to_string()
                })
            };
            return err(format!(
                "garbling scheme mismatch: this side uses {}, the peer {} (both must give the same --scheme)",
                name(self.scheme),
                name(peer.scheme)
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

pub(super) fn handshake(
    ch: &mut dyn Channel,
    role: Role,
    scheme: Scheme,
    c: &(impl HasInterface + ?Sized),
    digest: [u8; 32],
) -> Result<(), SessionError> {
    let ours = Hello::of(role, scheme, c, digest);
    ours.write(ch).map_err(at(Phase::Handshake))?;
    let peer = Hello::read(ch)?;
    ours.check(&peer)
}

//! Session errors: every failure names the phase it happened in and what went wrong.

use std::fmt;
use std::io;

/// A phase of the two-party protocol (also the rows of the session report).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Handshake,
    GarblerInputs,
    BaseOt,
    OtExtension,
    Garbling,
    Evaluation,
    Outputs,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Handshake => "handshake",
            Phase::GarblerInputs => "garbler inputs",
            Phase::BaseOt => "base OT",
            Phase::OtExtension => "OT extension",
            Phase::Garbling => "garbling",
            Phase::Evaluation => "evaluation",
            Phase::Outputs => "outputs",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a two-party session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The peer stayed silent longer than the read timeout.
    #[error("{phase}: timed out waiting for the peer ({source})")]
    Timeout { phase: Phase, source: io::Error },
    /// The peer closed or dropped the connection.
    #[error("{phase}: the peer closed the connection ({source})")]
    Disconnected { phase: Phase, source: io::Error },
    /// Any other I/O failure.
    #[error("{phase}: I/O error: {source}")]
    Io { phase: Phase, source: io::Error },
    /// The peers disagree on the protocol or the circuit.
    #[error("handshake: {0}")]
    Handshake(String),
    /// This party's own inputs do not fit the circuit.
    #[error("inputs: {0}")]
    Input(String),
    /// The peer sent something that cannot be right.
    #[error("{phase}: protocol error: {detail}")]
    Protocol { phase: Phase, detail: String },
    /// The circuit's gate stream failed (bad wire, file error).
    #[error("{phase}: circuit error: {source}")]
    Circuit { phase: Phase, source: io::Error },
}

impl SessionError {
    /// Classifies an I/O error from `phase`.
    pub fn io(phase: Phase, e: io::Error) -> SessionError {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                SessionError::Timeout { phase, source: e }
            }
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected => SessionError::Disconnected { phase, source: e },
            _ => SessionError::Io { phase, source: e },
        }
    }

    /// Whether the failure was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SessionError::Timeout { .. })
    }
}

/// `map_err` helper: `.map_err(at(Phase::Handshake))`.
pub fn at(phase: Phase) -> impl Fn(io::Error) -> SessionError {
    move |e| SessionError::io(phase, e)
}

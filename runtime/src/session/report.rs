//! What a session reports: time and bytes per phase, gate counts. No secrets.

use crate::channel::Channel;
use crate::error::Phase;
use crate::garble::Scheme;
use std::fmt;
use std::time::Instant;

use super::Role;

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
    pub scheme: Scheme,
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

    /// Bytes of garbled tables per AND gate: what the garbling phase sent (garbler)
    /// or the evaluation phase received (evaluator), over the AND count. `None`
    /// without AND gates.
    pub fn table_bytes_per_and(&self) -> Option<f64> {
        let bytes = match self.role {
            Role::Garbler => self.phase(Phase::Garbling)?.bytes_sent,
            Role::Evaluator => self.phase(Phase::Evaluation)?.bytes_received,
        };
        (self.ands > 0).then(|| bytes as f64 / self.ands as f64)
    }

    /// The reports of a session's inferences as one: per phase, the sums of times and
    /// bytes (the one-time phases appear in the first report only), and the sums of
    /// gates. `None` for no reports.
    pub fn combine(reports: &[SessionReport]) -> Option<SessionReport> {
        let first = reports.first()?;
        let mut all = SessionReport {
            role: first.role,
            scheme: first.scheme,
            phases: Vec::new(),
            gates: 0,
            ands: 0,
        };
        for r in reports {
            all.gates += r.gates;
            all.ands += r.ands;
            for p in &r.phases {
                match all.phases.iter_mut().find(|q| q.phase == p.phase) {
                    Some(q) => {
                        q.seconds += p.seconds;
                        q.bytes_sent += p.bytes_sent;
                        q.bytes_received += p.bytes_received;
                    }
                    None => all.phases.push(p.clone()),
                }
            }
        }
        Some(all)
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
            "{} report ({} gates, {} AND, {}):",
            self.role, self.gates, self.ands, self.scheme
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
        if let Some(b) = self.table_bytes_per_and() {
            write!(f, "\n  {b:.2} bytes of tables per AND")?;
        }
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

/// Records the time and bytes of each phase.
pub(super) struct Phases {
    role: Role,
    scheme: Scheme,
    list: Vec<PhaseReport>,
    start: Instant,
    sent: u64,
    received: u64,
}

impl Phases {
    pub(super) fn new(role: Role, scheme: Scheme, ch: &dyn Channel) -> Phases {
        Phases {
            role,
            scheme,
            list: Vec::new(),
            start: Instant::now(),
            sent: ch.bytes_sent(),
            received: ch.bytes_received(),
        }
    }
    pub(super) fn end(&mut self, phase: Phase, ch: &dyn Channel) {
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
    pub(super) fn report(self, gates: u64, ands: u64) -> SessionReport {
        SessionReport {
            role: self.role,
            scheme: self.scheme,
            phases: self.list,
            gates,
            ands,
        }
    }
}

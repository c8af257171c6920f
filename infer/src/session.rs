//! Running one side of a session on a [`Model`]: its gate source replayed once
//! per inference, the runtime's session driver underneath.

use crate::model::{GateSource, Model, open_gcirc};
use anyhow::{Context, Result, anyhow, bail};
use garnet_circuits::Party;
use garnet_circuits::format::gcirc::GateReader;
use garnet_runtime::Channel;
use garnet_runtime::error::SessionError;
use garnet_runtime::garble::GateItem;
use garnet_runtime::session::{SessionOptions, SessionOutcome, run_evaluator_each, serve_garbler};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The gates of a `.gcirc` file, opened anew for each inference of a session; a
/// file that cannot be reopened, or is no longer the circuit the session announced
/// (its digest, checked at the end before any output bit goes out), ends the stream
/// with an error.
pub(crate) enum Reopened<R: BufRead> {
    Reader(Box<GateReader<R>>, [u8; 32]),
    Failed(Option<std::io::Error>),
}

impl Reopened<BufReader<std::fs::File>> {
    fn open(path: &Path, m: &Model) -> Self {
        let r = open_gcirc(path).and_then(|r| {
            let h = r.header();
            let widths =
                |c: &[garnet_circuits::InputSpec]| c.iter().map(|i| i.bits).collect::<Vec<_>>();
            let c = &m.interface;
            if h.wires != c.wires
                || widths(&h.inputs) != widths(&c.inputs)
                || h.outputs != c.outputs
            {
                bail!(
                    "{} changed since this session was set up (another circuit now)",
                    path.display()
                );
            }
            Ok(r)
        });
        Self::from((r, m.digest))
    }
}

impl<'a> Reopened<&'a [u8]> {
    /// The gates of a circuit this process compiled, whose digest it knows.
    fn bytes(b: &'a [u8], digest: [u8; 32]) -> Self {
        let r = GateReader::trusted(b, digest).context("the compiled circuit does not read back");
        Self::from((r, digest))
    }
}

impl<R: BufRead> From<(Result<GateReader<R>>, [u8; 32])> for Reopened<R> {
    fn from((r, digest): (Result<GateReader<R>>, [u8; 32])) -> Self {
        match r {
            Ok(r) => Reopened::Reader(Box::new(r), digest),
            Err(e) => Reopened::Failed(Some(std::io::Error::other(format!("{e:#}")))),
        }
    }
}

impl<R: BufRead> Iterator for Reopened<R> {
    type Item = Result<garnet_circuits::Gate, std::io::Error>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Reopened::Reader(r, want) => match r.next() {
                Some(g) => {
                    Some(g.map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
                }
                None if r.digest() == Some(*want) => None,
                None => {
                    let e = std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the circuit file changed since this session was set up (its digest differs)",
                    );
                    *self = Reopened::Failed(None);
                    Some(Err(e))
                }
            },
            Reopened::Failed(e) => e.take().map(Err),
        }
    }
}

/// Runs one side of a session: the garbler serves as many inferences as the
/// evaluator asks for, on its one set of `inputs`; the evaluator runs one inference
/// per entry of `inputs`. `each` gets every outcome.
pub fn run_side<F, I>(
    party: Party,
    ch: &mut dyn Channel,
    m: &Model,
    gates: F,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
    each: &mut dyn FnMut(SessionOutcome),
) -> Result<(), SessionError>
where
    F: FnMut() -> I,
    I: IntoIterator,
    I::Item: GateItem,
{
    let opts = SessionOptions {
        progress,
        max_inferences: m.max_inferences,
        threads: m.threads,
        scheme: m.scheme,
    };
    match party {
        Party::Garbler => {
            let [one] = inputs else {
                return Err(SessionError::Input(
                    "the garbler's inputs are fixed for a session: give each once".into(),
                ));
            };
            serve_garbler(ch, &m.interface, m.digest, gates, one, opts, each).map(|_| ())
        }
        Party::Evaluator => {
            run_evaluator_each(ch, &m.interface, m.digest, gates, inputs, opts, each)
        }
    }
}

/// A session (see [`run_side`]); the outcomes in order.
pub fn sessions(
    party: Party,
    ch: &mut dyn Channel,
    m: &Model,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<Vec<SessionOutcome>> {
    let (outs, r) = sessions_keeping(party, ch, m, inputs, progress);
    r.map(|()| outs)
}

/// A session (see [`run_side`]): the outcomes of the inferences that ended, and
/// whether the session as a whole did, so a failure late in a session keeps what
/// the earlier inferences gave.
pub fn sessions_keeping(
    party: Party,
    ch: &mut dyn Channel,
    m: &Model,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> (Vec<SessionOutcome>, Result<()>) {
    let mut outs = Vec::new();
    let r = sessions_each(party, ch, m, inputs, progress, &mut |o| outs.push(o));
    (outs, r)
}

/// A session (see [`run_side`]) handing each inference's outcome to `each` as
/// soon as it is known, so a caller can print it before the next one runs.
pub fn sessions_each(
    party: Party,
    ch: &mut dyn Channel,
    m: &Model,
    inputs: &[Vec<Vec<bool>>],
    progress: Option<&mut dyn FnMut(u64)>,
    each: &mut dyn FnMut(SessionOutcome),
) -> Result<()> {
    let who = if party == Party::Garbler {
        "garbler"
    } else {
        "evaluator"
    };
    let r = match &m.gates {
        GateSource::Memory(g) => {
            run_side(party, ch, m, || g.iter().copied(), inputs, progress, each)
        }
        GateSource::Bytes(b) => run_side(
            party,
            ch,
            m,
            || Reopened::bytes(b, m.digest),
            inputs,
            progress,
            each,
        ),
        GateSource::File(path) => run_side(
            party,
            ch,
            m,
            || Reopened::open(path, m),
            inputs,
            progress,
            each,
        ),
        GateSource::Synthetic(s) => {
            run_side(party, ch, m, || s.gates_iter(), inputs, progress, each)
        }
    };
    r.map_err(|e| anyhow!("{who}: {e}"))
}

/// A session of one inference.
pub fn session(
    party: Party,
    ch: &mut dyn Channel,
    m: &Model,
    inputs: &[Vec<bool>],
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<SessionOutcome> {
    sessions(
        party,
        ch,
        m,
        std::slice::from_ref(&inputs.to_vec()),
        progress,
    )?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow!("the session ended before its inference"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use garnet_circuits::Circuit;
    use garnet_circuits::random::{RandomSpec, random_circuit};
    use rand::SeedableRng;

    fn circuit(seed: u64) -> Circuit {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let spec = RandomSpec {
            input_widths: vec![4, 4],
            gates: 200,
            output_widths: vec![4],
            and_fraction: 0.5,
            window: 0,
        };
        random_circuit(&mut rng, &spec)
    }

    #[test]
    fn a_circuit_file_replaced_during_a_session_is_an_error() {
        let dir = std::env::temp_dir().join(format!("garnet-reopen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.gcirc");
        let write = |c: &Circuit| {
            garnet_circuits::format::write_file(&path, c, garnet_circuits::format::Format::Gcirc)
                .unwrap()
        };
        // b: the same interface and wiring, one gate's operation changed
        let a = circuit(1);
        let mut b = a.clone();
        let k = b
            .gates
            .iter()
            .position(|g| g.op != garnet_circuits::Op::Not)
            .unwrap();
        b.gates[k].op = match b.gates[k].op {
            garnet_circuits::Op::Xor => garnet_circuits::Op::And,
            _ => garnet_circuits::Op::Xor,
        };
        write(&a);
        let l = Model::open(&path, None).unwrap();
        let gates: Vec<_> = Reopened::open(&path, &l).collect();
        assert_eq!(gates.len(), a.gates.len());
        assert!(gates.iter().all(|g| g.is_ok()));
        // same shape, another gate: the stream ends in an error, before any output
        write(&b);
        let last = Reopened::open(&path, &l).last().unwrap();
        let e = last.unwrap_err().to_string();
        assert!(e.contains("changed"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Circuit files: garnet's binary `.gcirc` format ([`gcirc`]) and Bristol Fashion
//! text, plus the older Bristol format ([`bristol`]).
//!
//! [`detect`] tells the two apart from the first bytes (a `.gcirc` file starts with
//! [`gcirc::MAGIC`]; anything else is read as Bristol text), and [`read_file`] /
//! [`write_file`] pick the reader or writer accordingly.
//!
//! Every reader validates what it reads and reports problems as a [`FormatError`]
//! whose message names the problem and where it is: the byte offset for `.gcirc`,
//! the line (and token) for Bristol. Readers never panic on bad input and never
//! allocate from a count read from the file: memory follows the bytes actually
//! read, within [`Limits`] a caller can raise. Names and tokens quoted in errors
//! are escaped ([`crate::text::escape`]), so a file cannot send terminal escapes.

pub mod bristol;
pub mod gcirc;

use crate::interface::Interface;
use crate::ir::Circuit;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// A circuit file format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// garnet's binary format, see [`gcirc`].
    Gcirc,
    /// Bristol Fashion text (the older Bristol format is read too), see [`bristol`].
    Bristol,
}

impl Format {
    /// The format a file name asks for: `.gcirc` → [`Format::Gcirc`]; `.txt` or
    /// `.bristol` → [`Format::Bristol`]; anything else `None`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "gcirc" => Some(Format::Gcirc),
            "txt" | "bristol" => Some(Format::Bristol),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Gcirc => "gcirc",
            Format::Bristol => "bristol",
        })
    }
}

/// The format of a file from its first bytes: `.gcirc` if it starts with the magic
/// number, otherwise Bristol text (whose reader reports anything that is not).
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(&gcirc::MAGIC) {
        Format::Gcirc
    } else {
        Format::Bristol
    }
}

/// Why a circuit file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A problem in a `.gcirc` file: `context` is the part being read (`header`,
    /// `input 2`, `gate 17`, `digest`, ...), `offset` the byte where the problem is.
    #[error("{context} at byte {offset}: {message}")]
    Gcirc {
        context: String,
        offset: u64,
        message: String,
    },
    /// A problem in a Bristol file at 1-based `line`, and `token` (1-based index in
    /// the line, and its text) when one token is to blame.
    #[error("line {line}{}: {message}", token_suffix(.token))]
    Bristol {
        line: usize,
        token: Option<(usize, String)>,
        message: String,
    },
    /// An I/O error outside any particular position (opening or writing a file).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An error in a named file.
    #[error("{}: {error}", .path.display())]
    File {
        path: PathBuf,
        error: Box<FormatError>,
    },
}

fn token_suffix(token: &Option<(usize, String)>) -> String {
    match token {
        Some((i, t)) => format!(", token {i} `{}`", shorten(t)),
        None => String::new(),
    }
}

/// Text from a file quoted in an error message: escaped and cut to a readable
/// length ([`crate::text::quote`]).
pub(crate) fn shorten(s: &str) -> String {
    crate::text::quote(s)
}

impl FormatError {
    fn in_file(self, path: &Path) -> FormatError {
        if let FormatError::File { .. } = self {
            return self;
        }
        FormatError::File {
            path: path.to_path_buf(),
            error: Box::new(self),
        }
    }
}

/// The limits of both readers, for the functions that pick one from the content.
/// The defaults suit any circuit this toolkit makes; raise them for bigger files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub gcirc: gcirc::Limits,
    pub bristol: bristol::Limits,
}

/// Reads a circuit file of either format (detected from the content), with the
/// default [`Limits`]. A `.gcirc` file is streamed and validated gate by gate; a
/// Bristol file is read as text.
pub fn read_file(path: &Path) -> Result<Circuit, FormatError> {
    read_file_with(path, &Limits::default())
}

/// [`read_file`] with the given limits.
pub fn read_file_with(path: &Path, limits: &Limits) -> Result<Circuit, FormatError> {
    let inner = || -> Result<Circuit, FormatError> {
        let file = std::fs::File::open(path)?;
        let mut r = BufReader::with_capacity(1 << 16, file);
        let head = r.fill_buf()?;
        match detect(head) {
            Format::Gcirc => gcirc::read_with(&mut r, limits.gcirc.clone()),
            Format::Bristol => {
                let text = bristol::read_text(&mut r, &limits.bristol)?;
                bristol::read_with(&text, &limits.bristol)
            }
        }
    };
    inner().map_err(|e| e.in_file(path))
}

/// The gates of a circuit file, one at a time.
pub type GateStream = Box<dyn Iterator<Item = Result<crate::Gate, FormatError>>>;

/// Opens a circuit file for streaming: its [`Interface`] and its gates. A `.gcirc`
/// file is validated as it is read (the digest at the end), so memory is per wire
/// slot, not per gate; Bristol text is loaded whole.
/// Stream errors name the file.
pub fn open_gates(path: &Path) -> Result<(Interface, GateStream), FormatError> {
    open_gates_with(path, &Limits::default())
}

/// [`open_gates`] with the given limits.
pub fn open_gates_with(
    path: &Path,
    limits: &Limits,
) -> Result<(Interface, GateStream), FormatError> {
    let inner = || -> Result<(Interface, GateStream), FormatError> {
        let file = std::fs::File::open(path)?;
        let mut r = BufReader::with_capacity(1 << 16, file);
        if detect(r.fill_buf()?) == Format::Bristol {
            let mut c = read_file_with(path, limits)?;
            let gates = std::mem::take(&mut c.gates);
            let mut interface = Interface::from(&c);
            interface.gates = gates.len() as u64;
            return Ok((interface, Box::new(gates.into_iter().map(Ok))));
        }
        let gr = gcirc::GateReader::with_limits(r, limits.gcirc.clone())?;
        let interface = Interface::from(gr.header().clone());
        let owned = path.to_path_buf();
        Ok((
            interface,
            Box::new(gr.map(move |g| g.map_err(|e| e.in_file(&owned)))),
        ))
    };
    inner().map_err(|e| e.in_file(path))
}

/// Statistics of a circuit file ([`crate::stats::Stats`]), streamed as by
/// [`open_gates`].
pub fn stats_file(path: &Path) -> Result<crate::stats::Stats, FormatError> {
    stats_file_with(path, &Limits::default())
}

/// [`stats_file`] with the given limits.
pub fn stats_file_with(path: &Path, limits: &Limits) -> Result<crate::stats::Stats, FormatError> {
    let (interface, gates) = open_gates_with(path, limits)?;
    crate::stats::Stats::of_stream(&interface, gates)
}

/// Writes `c` to `path` in `format`.
pub fn write_file(path: &Path, c: &Circuit, format: Format) -> Result<(), FormatError> {
    let inner = || -> Result<(), FormatError> {
        let out = Replacing::create(path)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, out.file()?);
        match format {
            Format::Gcirc => gcirc::write(c, &mut w)?,
            Format::Bristol => bristol::write(c, &mut w)?,
        }
        w.flush()?;
        drop(w);
        out.commit()?;
        Ok(())
    };
    inner().map_err(|e| e.in_file(path))
}

/// What [`convert_file`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    pub gates: u64,
    pub and_gates: u64,
    /// Annotations of the source (say, a network's source code) that the target
    /// format cannot carry: Bristol text has no place for them.
    pub dropped_annotations: usize,
}

/// Converts the circuit file `input` to `format` at `output` (written beside it
/// and renamed when complete). `.gcirc` to `.gcirc` is streamed gate by gate and
/// keeps the header's annotations, so a compiled network stays a network; the
/// output path must not be the input.
pub fn convert_file(input: &Path, output: &Path, format: Format) -> Result<Converted, FormatError> {
    convert_file_with(input, output, format, &Limits::default())
}

/// [`convert_file`] with the given limits.
pub fn convert_file_with(
    input: &Path,
    output: &Path,
    format: Format,
    limits: &Limits,
) -> Result<Converted, FormatError> {
    if input == output || same_file(input, output) {
        return Err(FormatError::Io(std::io::Error::other(format!(
            "the output {} is the input itself: pick another path",
            output.display()
        ))));
    }
    let source_is_gcirc = {
        let file = std::fs::File::open(input).map_err(|e| FormatError::from(e).in_file(input))?;
        let mut r = BufReader::new(file);
        detect(
            r.fill_buf()
                .map_err(|e| FormatError::from(e).in_file(input))?,
        ) == Format::Gcirc
    };
    if source_is_gcirc && format == Format::Gcirc {
        return copy_gcirc(input, output, limits);
    }
    let (c, dropped) = if source_is_gcirc {
        let file = std::fs::File::open(input).map_err(|e| FormatError::from(e).in_file(input))?;
        let mut r = BufReader::with_capacity(1 << 16, file);
        let (c, notes) =
            gcirc::read_annotated(&mut r, limits.gcirc.clone()).map_err(|e| e.in_file(input))?;
        (c, notes.len())
    } else {
        (read_file_with(input, limits)?, 0)
    };
    write_file(output, &c, format)?;
    Ok(Converted {
        gates: c.gates.len() as u64,
        and_gates: c.and_count(),
        dropped_annotations: dropped,
    })
}

/// `.gcirc` to `.gcirc`, gate by gate: memory per wire slot, annotations kept,
/// the source's digest checked before the output replaces anything.
fn copy_gcirc(input: &Path, output: &Path, limits: &Limits) -> Result<Converted, FormatError> {
    let file = std::fs::File::open(input).map_err(|e| FormatError::from(e).in_file(input))?;
    let mut r = gcirc::GateReader::with_limits(
        BufReader::with_capacity(1 << 16, file),
        limits.gcirc.clone(),
    )
    .map_err(|e| e.in_file(input))?;
    let out = Replacing::create(output).map_err(|e| FormatError::from(e).in_file(output))?;
    let header = r.header().clone();
    let write_err = |e: std::io::Error| FormatError::from(e).in_file(output);
    let mut w = gcirc::Writer::new(
        std::io::BufWriter::with_capacity(1 << 16, out.file().map_err(write_err)?),
        &header,
    )
    .map_err(write_err)?;
    let mut and_gates = 0;
    for g in r.by_ref() {
        let g = g.map_err(|e| e.in_file(input))?;
        and_gates += (g.op == crate::Op::And) as u64;
        w.write_gate(&g).map_err(write_err)?;
    }
    r.finish().map_err(|e| e.in_file(input))?;
    let (_, mut buf) = w.finish().map_err(write_err)?;
    buf.flush().map_err(write_err)?;
    drop(buf);
    out.commit().map_err(write_err)?;
    Ok(Converted {
        gates: header.gates,
        and_gates,
        dropped_annotations: 0,
    })
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// An output file that replaces its target only when complete: a regular file (or a
/// new one) is written to a temporary file beside it and renamed over it by
/// [`Replacing::commit`], so an interrupted write leaves the old file whole. Other
/// targets (`/dev/null`, a pipe) are written in place: renaming onto them would
/// replace the device or the pipe.
#[derive(Debug)]
pub struct Replacing {
    target: std::path::PathBuf,
    temp: Option<std::path::PathBuf>,
}

impl Replacing {
    pub fn create(target: &Path) -> std::io::Result<Replacing> {
        let regular = match std::fs::metadata(target) {
            Ok(m) => m.is_file(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        let temp = regular.then(|| {
            let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
            let temp = format!(".{}.{}.tmp", name.unwrap_or_default(), std::process::id());
            target.with_file_name(temp)
        });
        Ok(Replacing {
            target: target.to_path_buf(),
            temp,
        })
    }

    /// The file to write into (the temporary one, or the target itself).
    pub fn file(&self) -> std::io::Result<std::fs::File> {
        std::fs::File::create(self.temp.as_ref().unwrap_or(&self.target))
    }

    /// Puts the written file in place of the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        match self.temp.take() {
            Some(t) => std::fs::rename(&t, &self.target).inspect_err(|_| {
                let _ = std::fs::remove_file(&t);
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Replacing {
    fn drop(&mut self) {
        if let Some(t) = self.temp.take() {
            let _ = std::fs::remove_file(t);
        }
    }
}

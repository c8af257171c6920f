//! Text from files shown to people, and files read with a size cap.
//!
//! Names and tokens come from files anyone can write: a `.gcirc` input name may hold
//! ANSI escape sequences or newlines that would rewrite the terminal or forge lines
//! of output if printed raw. [`escape`] makes such text inert and visible; every
//! error message that quotes a file goes through it (via [`quote`]), and the CLI can
//! use it when printing names. [`read_capped`] reads a whole file but refuses to
//! read more than a limit, so `/dev/zero` or a huge file named by mistake is an
//! error naming the file and the limit instead of gigabytes of memory.

use std::fmt::Write as _;
use std::io::{self, Read};
use std::path::Path;

/// Longest quoted text in messages, in characters, before it is cut with `…`.
pub const QUOTE_MAX_CHARS: usize = 40;

/// True for characters that must not reach a terminal raw: control characters
/// (C0, DEL, C1: newlines, `ESC`, ...) and invisible format characters that
/// reorder or hide text (bidirectional overrides, zero-width characters, BOM,
/// line and paragraph separators).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}')
}

/// `s` with every unsafe character ([`is_unsafe_char`]) written as an escape:
/// `\n`, `\r`, `\t`, `\xNN` below U+0100 (so ESC is `\x1b`), `\u{NNNN}` above.
/// Printable text, backslashes included, is unchanged, so ordinary names read as
/// they are.
pub fn escape(s: &str) -> String {
    if !s.chars().any(is_unsafe_char) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text from a file as quoted in a message: escaped ([`escape`]) and cut after
/// [`QUOTE_MAX_CHARS`] characters with `…`, so a megabyte-long name costs a line,
/// not a megabyte, of output.
pub fn quote(s: &str) -> String {
    let mut cut: String = s.chars().take(QUOTE_MAX_CHARS).collect();
    let long = cut.len() < s.len();
    cut = escape(&cut);
    if long {
        cut.push('…');
    }
    cut
}

/// Reads all of `path`, refusing files longer than `limit` bytes: at most
/// `limit + 1` bytes are ever read, so an endless stream (`/dev/zero`) or a huge
/// file costs at most `limit` bytes of memory. The error names the path and the
/// limit (kind [`io::ErrorKind::InvalidData`] when the file is too long); other
/// errors are the I/O error with the path added.
pub fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let shown = || escape(&path.display().to_string());
    let file = std::fs::File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read `{}`: {e}", shown())))?;
    let hint = file
        .metadata()
        .map(|m| m.len())
        .unwrap_or(0)
        .min(limit)
        .min(1 << 26);
    let mut bytes = Vec::with_capacity(hint as usize);
    let err = |e: io::Error| io::Error::new(e.kind(), format!("cannot read `{}`: {e}", shown()));
    let mut file = file;
    (&mut file)
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    // One byte more means too long; probed apart so the buffer never grows past
    // the limit (a read to end of `limit + 1` bytes would double it).
    if bytes.len() as u64 == limit && file.read(&mut [0u8; 1]).map_err(err)? > 0 {
        return Err(too_long(&shown(), limit));
    }
    Ok(bytes)
}

/// The error of a file longer than `limit` bytes.
pub(crate) fn too_long(path: &str, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("`{path}` is longer than the limit of {limit} bytes; raise the limit to read it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_keeps_text() {
        assert_eq!(escape("fc1.weight"), "fc1.weight");
        assert_eq!(escape("é\\x"), "é\\x");
        assert_eq!(escape("a\x1b[31mb\nc"), "a\\x1b[31mb\\nc");
        assert_eq!(escape("\u{202e}x\u{7f}"), "\\u{202e}x\\x7f");
        assert_eq!(quote(&"x".repeat(100)), format!("{}…", "x".repeat(40)));
    }

    #[test]
    fn read_capped_refuses_long_files() {
        let e = read_capped(Path::new("/dev/zero"), 1000).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let m = e.to_string();
        assert!(m.contains("/dev/zero") && m.contains("1000 bytes"), "{m}");
        let e = read_capped(Path::new("/nonexistent/x"), 10).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x"), "{e}");
    }
}

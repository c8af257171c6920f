//! Diagnostics: one type for every error of every pass, and one renderer.
//!
//! Every diagnostic has a primary [`Span`] (file and byte range), optional
//! secondary labels and notes. [`render`] is the only place that formats them
//! (with `ariadne`), showing the offending line and a caret under the span.
//!
//! Sources and names come from files anyone can write, so rendering keeps output
//! proportional to the problem, not to the file: control characters in messages
//! and file names are escaped ([`garnet_circuits::escape`]), words longer than
//! [`MAX_WORD`] characters (a megabyte-long identifier) are cut with `…`, and
//! source lines longer than [`MAX_LINE`] bytes are shown as windows around the
//! labelled places.

use std::fmt;
use std::ops::Range;

/// Index of a source file in a [`Sources`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file.
    pub file: FileId,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span of `file` from `start` to `end` (bytes).
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end }
    }
    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    /// The byte range.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// A secondary label: a span and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What.
    pub message: String,
}

/// An error with a source location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// One-line summary.
    pub message: String,
    /// The offending source range.
    pub span: Span,
    /// Text shown at the primary span's caret (may be empty).
    pub span_label: String,
    /// Other relevant places.
    pub labels: Vec<Label>,
    /// Extra explanation lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A new error at `span`.
    pub fn error(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            span_label: String::new(),
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }
    /// Sets the text at the primary caret.
    pub fn with_span_label(mut self, text: impl Into<String>) -> Self {
        self.span_label = text.into();
        self
    }
    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: text.into(),
        });
        self
    }
    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", tidy(&self.message))
    }
}

/// Longest run of non-blank characters (other than backticks) shown in a message;
/// longer ones are cut to their first [`WORD_KEEP`] characters and `…`.
pub const MAX_WORD: usize = 64;
const WORD_KEEP: usize = 48;
/// Longest source line shown whole, in bytes; longer lines are shown as windows of
/// [`LINE_KEEP`] bytes around each labelled place.
pub const MAX_LINE: usize = 200;
const LINE_KEEP: usize = 40;

/// A message as shown: unsafe characters escaped, over-long words cut.
pub fn tidy(s: &str) -> String {
    let s = garnet_circuits::escape(s);
    let mut out = String::with_capacity(s.len().min(4096));
    let mut run = 0usize;
    let mut cut = false;
    for c in s.chars() {
        if c.is_whitespace() || c == '`' {
            run = 0;
            cut = false;
            out.push(c);
            continue;
        }
        run += 1;
        if run <= WORD_KEEP {
            out.push(c);
        } else if !cut {
            out.push('…');
            cut = true;
        }
    }
    out
}

/// `text` as shown under a caret: every line longer than [`MAX_LINE`] bytes
/// reduced to windows around `points` (byte offsets), gaps shown as `…`, and
/// unsafe characters other than newline and tab escaped; with a map from offsets
/// in `text` to offsets in the result.
struct Condensed {
    text: String,
    /// Pieces of the original kept in order: (start in the original, start in
    /// `text`, length in the original, length in `text`); the lengths differ only
    /// for one escaped character.
    pieces: Vec<(usize, usize, usize, usize)>,
}

fn unsafe_in_source(c: char) -> bool {
    c != '\n' && c != '\t' && garnet_circuits::text::is_unsafe_char(c)
}

impl Condensed {
    fn new(text: &str, points: &[usize]) -> Condensed {
        let long = text.len() > MAX_LINE && text.split('\n').any(|l| l.len() > MAX_LINE);
        if !long && !text.chars().any(unsafe_in_source) {
            return Condensed {
                text: text.to_string(),
                pieces: vec![(0, 0, text.len(), text.len())],
            };
        }
        let mut keep: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let end = start + line.len();
            if line.len() <= MAX_LINE {
                keep.push((start, end));
            } else {
                let mut inside: Vec<usize> = points
                    .iter()
                    .copied()
                    .filter(|&p| p >= start && p <= end)
                    .collect();
                inside.push(start);
                inside.sort_unstable();
                for p in inside {
                    let a = p.saturating_sub(LINE_KEEP).max(start);
                    keep.push((a, (p + LINE_KEEP).min(end)));
                }
                if line.ends_with('\n') {
                    keep.push((end - 1, end));
                }
            }
            start = end;
        }
        let boundary = |mut i: usize, up: bool| {
            while i < text.len() && !text.is_char_boundary(i) {
                i = if up { i + 1 } else { i - 1 };
            }
            i.min(text.len())
        };
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (a, b) in keep {
            let (a, b) = (boundary(a, false), boundary(b, true));
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut c = Condensed {
            text: String::new(),
            pieces: Vec::new(),
        };
        let mut prev = 0;
        for (a, b) in merged {
            if a > prev {
                c.text.push('…');
            }
            c.push_escaped(&text[a..b], a);
            prev = b;
        }
        if prev < text.len() {
            c.text.push('…');
        }
        c
    }

    /// Appends `piece` (at offset `at` of the original), escaping unsafe characters.
    fn push_escaped(&mut self, piece: &str, at: usize) {
        let mut run = 0;
        for (i, ch) in piece.char_indices() {
            if !unsafe_in_source(ch) {
                continue;
            }
            if i > run {
                self.plain(&piece[run..i], at + run);
            }
            let e = garnet_circuits::escape(ch.encode_utf8(&mut [0; 4]));
            self.pieces
                .push((at + i, self.text.len(), ch.len_utf8(), e.len()));
            self.text.push_str(&e);
            run = i + ch.len_utf8();
        }
        if piece.len() > run {
            self.plain(&piece[run..], at + run);
        }
    }

    fn plain(&mut self, s: &str, at: usize) {
        self.pieces.push((at, self.text.len(), s.len(), s.len()));
        self.text.push_str(s);
    }

    /// Where offset `o` of the original text is in the condensed one (a cut
    /// offset goes to the `…` that replaced it).
    fn map(&self, o: usize) -> usize {
        let i = self.pieces.partition_point(|p| p.0 <= o);
        match i.checked_sub(1).map(|i| self.pieces[i]) {
            Some((a, n, len, new_len)) if o < a + len => n + (o - a).min(new_len),
            Some((_, n, _, new_len)) => n + new_len,
            None => 0,
        }
    }
}

/// The source files of one compilation: names (as shown in messages) and text.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<(String, String)>,
}

impl Sources {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push((name.into(), text.into()));
        FileId((self.files.len() - 1) as u32)
    }
    /// The name of `id` (empty if unknown).
    pub fn name(&self, id: FileId) -> &str {
        self.files
            .get(id.0 as usize)
            .map(|f| f.0.as_str())
            .unwrap_or("")
    }
    /// The text of `id` (empty if unknown).
    pub fn text(&self, id: FileId) -> &str {
        self.files
            .get(id.0 as usize)
            .map(|f| f.1.as_str())
            .unwrap_or("")
    }
    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    /// True if there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Renders diagnostics as plain text (no colour), each showing the offending
/// line with a caret under the span, then its labels and notes.
pub fn render(diags: &[Diagnostic], sources: &Sources) -> String {
    render_with(diags, sources, false)
}

/// Like [`render`], with ANSI colours when `color` is true (for terminals).
pub fn render_with(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    use ariadne::{CharSet, Config, IndexType, Label as ALabel, Report, ReportKind};
    // ariadne identifies files by a displayable id; use the index so that two
    // files with the same name stay apart, and print the name in the header.
    let names: Vec<String> = (0..sources.len().max(1))
        .map(|i| {
            let n = sources.name(FileId(i as u32));
            if n.is_empty() {
                "<input>".to_string()
            } else {
                tidy(n)
            }
        })
        .collect();
    let mut out = String::new();
    for d in diags {
        // Each file the diagnostic points into, condensed around its labels.
        let spans: Vec<Span> = std::iter::once(d.span)
            .chain(d.labels.iter().map(|l| l.span))
            .collect();
        let mut files: Vec<(FileId, Condensed)> = Vec::new();
        for s in &spans {
            if files.iter().any(|(f, _)| *f == s.file) {
                continue;
            }
            let points: Vec<usize> = spans
                .iter()
                .filter(|x| x.file == s.file)
                .flat_map(|x| [x.start, x.end])
                .collect();
            files.push((s.file, Condensed::new(sources.text(s.file), &points)));
        }
        let clamp = |s: Span| -> (String, Range<usize>) {
            let c = &files.iter().find(|(f, _)| *f == s.file).expect("added").1;
            let text = sources.text(s.file);
            let mut a = s.start.min(text.len());
            let mut b = s.end.min(text.len()).max(a);
            while a > 0 && !text.is_char_boundary(a) {
                a -= 1;
            }
            while b < text.len() && !text.is_char_boundary(b) {
                b += 1;
            }
            (name_of(&names, s.file), c.map(a)..c.map(b))
        };
        let config = Config::default()
            .with_color(color)
            .with_index_type(IndexType::Byte)
            .with_char_set(CharSet::Ascii);
        let primary = clamp(d.span);
        let mut label = ALabel::new(primary.clone()).with_order(0);
        if !d.span_label.is_empty() {
            label = label.with_message(tidy(&d.span_label));
        }
        let mut report = Report::build(ReportKind::Error, primary)
            .with_config(config)
            .with_message(tidy(&d.message))
            .with_label(label);
        for (i, l) in d.labels.iter().enumerate() {
            report = report.with_label(
                ALabel::new(clamp(l.span))
                    .with_message(tidy(&l.message))
                    .with_order(i as i32 + 1),
            );
        }
        for n in &d.notes {
            report = report.with_note(tidy(n));
        }
        let cache = ariadne::sources(files.into_iter().map(|(f, c)| (name_of(&names, f), c.text)));
        let mut buf = Vec::new();
        if report.finish().write(cache, &mut buf).is_err() {
            // Fall back to a plain line if ariadne cannot render (never for valid spans).
            out.push_str(&format!("error: {}\n", tidy(&d.message)));
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&buf));
    }
    out
}

fn name_of(names: &[String], f: FileId) -> String {
    names
        .get(f.0 as usize)
        .cloned()
        .unwrap_or_else(|| "<input>".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret_without_colour() {
        let mut s = Sources::new();
        let f = s.add("net.gnet", "network n {\n    x = bogus(y);\n}\n");
        let d = Diagnostic::error("unknown layer `bogus`", Span::new(f, 20, 25))
            .with_span_label("no such layer")
            .with_note("known layers: dense, relu");
        let out = render(&[d], &s);
        assert!(out.contains("unknown layer `bogus`"), "{out}");
        assert!(out.contains("x = bogus(y);"), "{out}");
        assert!(out.contains("^"), "{out}");
        assert!(out.contains("no such layer"), "{out}");
        assert!(out.contains("known layers"), "{out}");
        assert!(out.contains("net.gnet:2:"), "{out}");
        assert!(!out.contains('\x1b'), "{out}");
    }

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let mut s = Sources::new();
        let f = s.add("a", "é");
        let d = Diagnostic::error("x", Span::new(f, 1, 99))
            .with_label(Span::new(FileId(7), 0, 1), "other");
        let _ = render(&[d], &s);
    }
}

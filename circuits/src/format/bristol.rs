//! Bristol Fashion text circuits (import and export) and the older Bristol format
//! (import).
//!
//! # Syntax
//!
//! Bristol Fashion: a line `gates wires`; a line `niv` followed by the bit width of
//! each input value; a line `nov` followed by the width of each output value; then
//! one gate per line, `nin nout in… out… OP`. Input values take the first wires in
//! order, output values the last wires in order. Gate kinds: `2 1 a b c XOR`,
//! `2 1 a b c AND`, `1 1 a c INV` (also spelled `NOT`), `1 1 a c EQW` (c is a copy
//! of a), `1 1 v c EQ` (c is the constant v, 0 or 1) and `2k k a1…ak b1…bk c1…ck
//! MAND` (k ANDs, ci = ai ∧ bi). The header's gate count is the number of gate lines.
//!
//! The older Bristol format has `n1 n2 n3` on its second line (two input values of
//! n1 and n2 bits, one output value of n3 bits, the last n3 wires) and no output
//! line. The two are told apart by the third non-blank line: all numbers (the
//! Bristol Fashion output line) or a gate line ending in its operation name.
//! Blank lines are ignored everywhere.
//!
//! # Values and names
//!
//! Imported input values are named `in0`, `in1`, …; `in0` belongs to the garbler and
//! the others to the evaluator. Output values are named `out0`, `out1`, … and go to
//! the evaluator. Import goes through the simplifying [`Builder`], so `EQ` constants
//! fold into the gates that use them, `EQW` only renames a wire, and duplicate gates
//! merge; the result is in SSA form (run [`crate::passes::optimize`] to drop dead gates
//! and reuse slots).
//!
//! # Bit order
//!
//! **Integer bit i of a value is the value's wire i: the value's first wire holds the
//! least significant bit.** For an input value whose wires start at `s`, bit i of the
//! integer is wire `s + i`; for output value j the same holds from its first wire.
//! The rule is the same on import and export and in both Bristol formats, and matches
//! garnet's IR (bits within a value are least-significant first), so a value never
//! needs reordering between a `.gcirc` file and a Bristol file.
//!
//! Why this order: the Bristol Fashion description (Nigel Smart's "MPC circuits"
//! page) fixes which wires belong to which value but not the significance of the bits
//! within one. The two main consumers fix it implicitly. EMP-toolkit's
//! `BristolFashion::compute` copies its array of `Bit`s into wires `0..n` in order
//! and reads the outputs from the last wires in order, and emp's `Integer` keeps its
//! bits least significant first, so an `Integer` passed to `adder64.txt` puts integer
//! bit i on wire i. MP-SPDZ's `Compiler/circuit.py` likewise assigns the bits of an
//! `sbitvec` (element 0 least significant) to the value's wires in order, which is how
//! its documented `adder64` example adds two `sb64` values, and its IEEE-754 helpers
//! read the sign of a double from bit 63, the last wire. The arithmetic circuits
//! (adders, multipliers, dividers, the floating-point circuits) therefore work with
//! garnet's order as they are. Some cryptographic circuits use a bit-string order
//! instead: MP-SPDZ reverses the message and state bits before calling `sha256.txt`,
//! and the Bristol Fashion page notes that its AES circuits reverse the wire order of
//! the old Bristol format ones. Using such a circuit on integers means reversing the
//! bits of the values yourself; the readers never reorder.
//!
//! # Export
//!
//! [`write()`] numbers wires in SSA form: inputs first, then one new wire per gate, with
//! output bits on the last wires. A gate whose result is an output bit writes that
//! output wire directly; an output bit that is an input wire or repeats an earlier
//! output bit is an `EQW` copy, and a constant output bit an `EQ`, appended after the
//! gates. NOT gates are written as `INV`. Names, owners, types and sections do not
//! exist in Bristol and are dropped.

use super::FormatError;
use crate::builder::{Builder, Wire};
use crate::gates::Gates;
use crate::ir::{Circuit, Op, OutBit, Party, Recipient};
use std::io::{self, BufWriter, Write};

/// Most input bits an imported Bristol file may declare (the default of
/// [`Limits::max_input_bits`]).
pub const MAX_INPUT_BITS: u64 = 1 << 26;

/// What a Bristol reader accepts before refusing a file, so that an endless or
/// huge input (`/dev/zero`, a file of one endless line) is a clear error after a
/// bounded amount of memory. Raise them for larger circuits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest file, in bytes (the text is held in memory while it is read).
    pub max_bytes: u64,
    /// Longest line, in bytes (the value lines of a 2^18-value circuit take about
    /// 2 MiB).
    pub max_line_bytes: u64,
    /// Most input bits.
    pub max_input_bits: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 32,
            max_line_bytes: 1 << 24,
            max_input_bits: MAX_INPUT_BITS,
        }
    }
}

/// Reads Bristol text from `r`, enforcing `limits` as the bytes arrive: a line
/// longer than [`Limits::max_line_bytes`], a file longer than
/// [`Limits::max_bytes`] or a byte that cannot be in a text file (a control
/// character other than tab, CR, LF or form feed, e.g. the NULs of `/dev/zero`) is
/// an error naming the line and the limit, after at most the limit has been read.
pub fn read_text(r: &mut impl io::Read, limits: &Limits) -> Result<String, FormatError> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let (mut line, mut line_len) = (1usize, 0u64);
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FormatError::Io(e)),
        };
        if bytes.len() as u64 + n as u64 > limits.max_bytes {
            return Err(err(
                line,
                format!(
                    "the file is longer than the limit of {} bytes",
                    limits.max_bytes
                ),
            ));
        }
        for &b in &chunk[..n] {
            match b {
                b'\n' => {
                    line += 1;
                    line_len = 0;
                    continue;
                }
                b'\t' | b'\r' | 0x0c => {}
                0..0x20 | 0x7f => {
                    return Err(err(
                        line,
                        format!("byte {b:#04x} cannot appear in a Bristol text file"),
                    ));
                }
                _ => {}
            }
            line_len += 1;
            if line_len > limits.max_line_bytes {
                return Err(err(
                    line,
                    format!(
                        "the line is longer than the limit of {} bytes",
                        limits.max_line_bytes
                    ),
                ));
            }
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    utf8(&bytes)?;
    Ok(String::from_utf8(bytes).expect("checked"))
}

fn err(line: usize, message: impl Into<String>) -> FormatError {
    FormatError::Bristol {
        line,
        token: None,
        message: message.into(),
    }
}

fn tok_err(line: usize, index: usize, token: &str, message: impl Into<String>) -> FormatError {
    FormatError::Bristol {
        line,
        token: Some((index + 1, token.to_string())),
        message: message.into(),
    }
}

fn num(line: usize, index: usize, token: &str, what: &str) -> Result<u64, FormatError> {
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(tok_err(
            line,
            index,
            token,
            format!("non-numeric token where {what} was expected"),
        ));
    }
    token
        .parse::<u64>()
        .map_err(|_| tok_err(line, index, token, format!("number too large for {what}")))
}

/// The text of a Bristol file, or an error naming the line of the first byte that is
/// not UTF-8.
pub fn utf8(bytes: &[u8]) -> Result<&str, FormatError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        err(
            line,
            "not a text file: invalid UTF-8 (and not a .gcirc file either)",
        )
    })
}

fn all_numeric(line: &str) -> bool {
    let mut any = false;
    for t in line.split_ascii_whitespace() {
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        any = true;
    }
    any
}

/// A numeric header line: its tokens as numbers.
fn numbers(line: usize, text: &str, what: &str) -> Result<Vec<u64>, FormatError> {
    text.split_ascii_whitespace()
        .enumerate()
        .map(|(i, t)| num(line, i, t, what))
        .collect()
}

/// A `count w1 … wcount` line (the Bristol Fashion input and output lines).
fn value_list(line: usize, text: &str, what: &str) -> Result<Vec<u64>, FormatError> {
    let v = numbers(line, text, what)?;
    let Some((&n, widths)) = v.split_first() else {
        return Err(err(line, format!("empty {what} line")));
    };
    if n != widths.len() as u64 {
        return Err(err(
            line,
            format!(
                "the {what} line declares {n} values but lists {} widths",
                widths.len()
            ),
        ));
    }
    Ok(widths.to_vec())
}

/// One gate line being parsed, for wire look-ups with good error messages.
struct GateLine<'a> {
    ln: usize,
    toks: &'a [&'a str],
    wires: u64,
}

impl GateLine<'_> {
    fn wire_out(&self, i: usize) -> Result<usize, FormatError> {
        let (ln, t) = (self.ln, self.toks[i]);
        let w = num(ln, i, t, "a wire number")?;
        if w >= self.wires {
            return Err(tok_err(
                ln,
                i,
                t,
                format!(
                    "wire {w} is out of range (the circuit has {} wires)",
                    self.wires
                ),
            ));
        }
        Ok(w as usize)
    }

    /// The output wire of token `i`, which must not be defined yet: Bristol
    /// circuits define each wire once (inputs included), so a second definition is
    /// a broken file rather than something to silently overwrite.
    fn wire_new(&self, map: &[Option<Wire>], i: usize) -> Result<usize, FormatError> {
        let w = self.wire_out(i)?;
        if map[w].is_some() {
            return Err(tok_err(
                self.ln,
                i,
                self.toks[i],
                format!("wire {w} is defined twice (already an input or an earlier gate's output)"),
            ));
        }
        Ok(w)
    }

    fn wire_in(&self, map: &[Option<Wire>], i: usize) -> Result<Wire, FormatError> {
        let w = self.wire_out(i)?;
        map[w].ok_or_else(|| {
            tok_err(
                self.ln,
                i,
                self.toks[i],
                format!("wire {w} used before it is defined"),
            )
        })
    }
}

/// Reads a Bristol Fashion or old Bristol format circuit (detected automatically)
/// with the default [`Limits`].
pub fn read(text: &str) -> Result<Circuit, FormatError> {
    read_with(text, &Limits::default())
}

/// [`read`] with the given limits (the input-bit limit; the byte and line limits
/// apply where the text is read, [`read_text`]).
pub fn read_with(text: &str, limits: &Limits) -> Result<Circuit, FormatError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let Some((l1, first)) = lines.next() else {
        return Err(err(1, "empty file: expected a `gates wires` header line"));
    };
    let h = numbers(l1, first, "the header")?;
    let [gates, wires] = h[..] else {
        return Err(err(
            l1,
            format!(
                "expected a `gates wires` header line of 2 numbers, found {} tokens",
                h.len()
            ),
        ));
    };
    let Some((l2, second)) = lines.next() else {
        return Err(err(
            l1 + 1,
            "unexpected end of file: expected the input line",
        ));
    };
    let fashion = lines.peek().is_some_and(|(_, l)| all_numeric(l));
    let (input_widths, output_widths, out_line) = if fashion {
        let inputs = value_list(l2, second, "input")?;
        let (l3, third) = lines.next().expect("peeked");
        (inputs, value_list(l3, third, "output")?, l3)
    } else {
        let v = numbers(l2, second, "the input line")?;
        match v[..] {
            [n1, n2, n3] => (vec![n1, n2], vec![n3], l2),
            _ if v.first() == Some(&(v.len() as u64 - 1)) => {
                return Err(err(
                    l2 + 1,
                    "expected the output line (`nov` and the output widths) after the input line",
                ));
            }
            _ => {
                return Err(err(
                    l2,
                    "expected `niv` and the input widths (Bristol Fashion) or `n1 n2 n3` (old Bristol format)",
                ));
            }
        }
    };

    let input_bits = input_widths.iter().fold(0u64, |s, &w| s.saturating_add(w));
    let output_bits = output_widths.iter().fold(0u64, |s, &w| s.saturating_add(w));
    let max_in = limits.max_input_bits;
    if input_bits > max_in || input_widths.iter().any(|&w| w > u32::MAX as u64) {
        return Err(err(
            l2,
            format!("{input_bits} input bits exceed the limit of {max_in}"),
        ));
    }
    if input_bits > wires || output_bits > wires {
        return Err(err(
            out_line,
            format!(
                "{input_bits} input bits and {output_bits} output bits do not fit in {wires} wires"
            ),
        ));
    }
    if wires > input_bits + text.len() as u64 || wires > u32::MAX as u64 {
        return Err(tok_err(
            l1,
            1,
            &wires.to_string(),
            "the wire count is larger than this file could define",
        ));
    }
    let gate_lines = lines.clone().count() as u64;
    if gate_lines < gates {
        return Err(tok_err(
            l1,
            0,
            &gates.to_string(),
            format!("the header declares {gates} gates but only {gate_lines} gate lines follow"),
        ));
    }
    if gate_lines > gates {
        let (ln, extra) = lines.clone().nth(gates as usize).expect("counted");
        return Err(err(
            ln,
            format!(
                "trailing data after the {gates} declared gates: `{}`",
                super::shorten(extra.trim())
            ),
        ));
    }

    let mut b = Builder::new();
    let mut map: Vec<Option<Wire>> = vec![None; wires as usize];
    let mut next = 0usize;
    for (i, &w) in input_widths.iter().enumerate() {
        let owner = if i == 0 {
            Party::Garbler
        } else {
            Party::Evaluator
        };
        for wire in b.input(&format!("in{i}"), owner, w as u32) {
            map[next] = Some(wire);
            next += 1;
        }
    }

    let mut toks: Vec<&str> = Vec::new();
    let mut ins: Vec<Wire> = Vec::new();
    for (ln, line) in lines {
        toks.clear();
        toks.extend(line.split_ascii_whitespace());
        if toks.len() < 4 {
            return Err(err(
                ln,
                format!(
                    "a gate line needs at least 4 tokens (`nin nout wires… OP`), found {}",
                    toks.len()
                ),
            ));
        }
        let last = toks.len() - 1;
        let name = toks[last];
        let (want_in, want_out): (Option<u64>, Option<u64>) = match name {
            "XOR" | "AND" => (Some(2), Some(1)),
            "INV" | "NOT" | "EQ" | "EQW" => (Some(1), Some(1)),
            "MAND" => (None, None),
            _ => {
                return Err(tok_err(
                    ln,
                    last,
                    name,
                    "unknown gate (expected XOR, AND, INV, NOT, EQ, EQW or MAND)",
                ));
            }
        };
        let nin = num(ln, 0, toks[0], "the gate's input count")?;
        let nout = num(ln, 1, toks[1], "the gate's output count")?;
        let arity_ok = match (want_in, want_out) {
            (Some(i), Some(o)) => nin == i && nout == o,
            _ => nout >= 1 && nout.checked_mul(2) == Some(nin),
        };
        if !arity_ok {
            let expected = match name {
                "MAND" => "2k inputs and k ≥ 1 outputs".to_string(),
                _ => format!("{} inputs and 1 output", want_in.unwrap_or(0)),
            };
            return Err(tok_err(
                ln,
                0,
                toks[0],
                format!(
                    "wrong arity: {name} takes {expected}, this line says {nin} inputs and {nout} outputs"
                ),
            ));
        }
        let expected_tokens = nin.saturating_add(nout).saturating_add(3);
        if toks.len() as u64 != expected_tokens {
            return Err(err(
                ln,
                format!(
                    "wrong arity: a {name} gate with {nin} inputs and {nout} outputs has {expected_tokens} tokens, this line has {}",
                    toks.len()
                ),
            ));
        }
        if b.counts()
            .total()
            .saturating_add(input_bits)
            .saturating_add(nout)
            >= (1 << 31) - 16
        {
            return Err(err(ln, "circuit too large: more than 2^31 wires"));
        }
        let ctx = GateLine {
            ln,
            toks: &toks,
            wires,
        };
        let wire_in = |map: &[Option<Wire>], i: usize| ctx.wire_in(map, i);
        let wire_out = |map: &[Option<Wire>], i: usize| ctx.wire_new(map, i);
        match name {
            "XOR" | "AND" => {
                let (x, y, o) = (wire_in(&map, 2)?, wire_in(&map, 3)?, wire_out(&map, 4)?);
                map[o] = Some(if name == "XOR" {
                    b.xor(x, y)
                } else {
                    b.and(x, y)
                });
            }
            "INV" | "NOT" => {
                let (x, o) = (wire_in(&map, 2)?, wire_out(&map, 3)?);
                map[o] = Some(b.not(x));
            }
            "EQW" => {
                let (x, o) = (wire_in(&map, 2)?, wire_out(&map, 3)?);
                map[o] = Some(x);
            }
            "EQ" => {
                let v = match toks[2] {
                    "0" => false,
                    "1" => true,
                    t => return Err(tok_err(ln, 2, t, "EQ takes the constant 0 or 1")),
                };
                let o = wire_out(&map, 3)?;
                map[o] = Some(b.constant(v));
            }
            _ => {
                // MAND: all inputs are read before any output is written.
                let k = nout as usize;
                ins.clear();
                for i in 2..2 + 2 * k {
                    ins.push(wire_in(&map, i)?);
                }
                for i in 0..k {
                    let o = wire_out(&map, 2 + 2 * k + i)?;
                    map[o] = Some(b.and(ins[i], ins[k + i]));
                }
            }
        }
    }

    let mut w = wires - output_bits;
    for (j, &width) in output_widths.iter().enumerate() {
        let mut bits = Vec::new();
        for k in 0..width {
            let Some(bit) = map[w as usize] else {
                return Err(err(
                    out_line,
                    format!("output {j} bit {k} is wire {w}, which no input or gate defines"),
                ));
            };
            bits.push(bit);
            w += 1;
        }
        b.output(&format!("out{j}"), Recipient::Evaluator, &bits);
    }
    Ok(b.finish())
}

/// Writes `c` as Bristol Fashion (see the module documentation for the numbering).
/// Fails with [`io::ErrorKind::InvalidInput`] if the circuit reads a wire before
/// defining it or uses a wire out of range.
pub fn write(c: &Circuit, w: &mut impl Write) -> io::Result<()> {
    let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
    // Per-slot arrays sized by the slots in use, not the header's wire count
    // (which a file may set to 2^30 at no cost to itself).
    let slots = c.slots_used().min(c.wires) as usize;
    let n_in = c.input_bits();
    if n_in > c.wires as u64 {
        return Err(invalid(format!(
            "the inputs take {n_in} wires but the circuit has only {}",
            c.wires
        )));
    }
    let out_bits: Vec<OutBit> = c
        .outputs
        .iter()
        .flat_map(|o| o.bits.iter().copied())
        .collect();
    let n_out = out_bits.len() as u64;

    // The last gate writing each slot holds the slot's final value, which outputs read.
    const NONE: usize = usize::MAX;
    let mut last = vec![NONE; slots];
    for (i, g) in c.gates.iter().enumerate() {
        if g.out as usize >= slots {
            return Err(invalid(format!(
                "gate {i} writes wire {} out of range",
                g.out
            )));
        }
        last[g.out as usize] = i;
    }
    // (gate, output bit) pairs where the gate writes the output wire directly.
    let mut direct: Vec<(usize, u64)> = Vec::new();
    let mut is_direct = vec![false; out_bits.len()];
    let mut claimed = std::collections::HashSet::new();
    for (j, bit) in out_bits.iter().enumerate() {
        if let OutBit::Wire(s) = *bit {
            if s as usize >= slots {
                return Err(invalid(format!(
                    "output bit {j} reads wire {s} out of range"
                )));
            }
            let g = last[s as usize];
            if g != NONE && claimed.insert(g) {
                direct.push((g, j as u64));
                is_direct[j] = true;
            }
        }
    }
    drop(last);
    direct.sort_unstable();
    let extras = out_bits.len() - direct.len();
    let total_wires = n_in + (c.gates.len() - direct.len()) as u64 + n_out;
    let out_base = total_wires - n_out;

    let mut w = BufWriter::with_capacity(1 << 16, w);
    writeln!(w, "{} {}", c.gates.len() + extras, total_wires)?;
    write!(w, "{}", c.inputs.len())?;
    for i in &c.inputs {
        write!(w, " {}", i.bits)?;
    }
    write!(w, "\n{}", c.outputs.len())?;
    for o in &c.outputs {
        write!(w, " {}", o.bits.len())?;
    }
    writeln!(w, "\n")?;

    const UNSET: u64 = u64::MAX;
    let mut cur = vec![UNSET; slots];
    for (s, id) in cur.iter_mut().zip(0..n_in) {
        *s = id;
    }
    let id_of = |cur: &[u64], gate: usize, s: u32| -> io::Result<u64> {
        match cur.get(s as usize) {
            Some(&id) if id != UNSET => Ok(id),
            Some(_) => Err(invalid(format!(
                "gate {gate} reads wire {s} before it is defined"
            ))),
            None => Err(invalid(format!("gate {gate} reads wire {s} out of range"))),
        }
    };
    let mut next_id = n_in;
    let mut direct_iter = direct.iter().peekable();
    for (i, g) in c.gates.iter().enumerate() {
        let a = id_of(&cur, i, g.a)?;
        let id = match direct_iter.peek() {
            Some(&&(gate, j)) if gate == i => {
                direct_iter.next();
                out_base + j
            }
            _ => {
                next_id += 1;
                next_id - 1
            }
        };
        match g.op {
            Op::Xor | Op::And => {
                let b = id_of(&cur, i, g.b)?;
                let name = if g.op == Op::Xor { "XOR" } else { "AND" };
                writeln!(w, "2 1 {a} {b} {id} {name}")?;
            }
            Op::Not => writeln!(w, "1 1 {a} {id} INV")?,
        }
        cur[g.out as usize] = id;
    }
    for (j, bit) in out_bits.iter().enumerate() {
        if is_direct[j] {
            continue;
        }
        let id = out_base + j as u64;
        match *bit {
            OutBit::Const(v) => writeln!(w, "1 1 {} {id} EQ", v as u8)?,
            OutBit::Wire(s) => {
                let src = id_of(&cur, c.gates.len(), s).map_err(|_| {
                    invalid(format!(
                        "output bit {j} reads wire {s}, which is never defined"
                    ))
                })?;
                writeln!(w, "1 1 {src} {id} EQW")?;
            }
        }
    }
    w.flush()
}

/// The Bristol Fashion text of `c`.
pub fn to_string(c: &Circuit) -> io::Result<String> {
    let mut v = Vec::new();
    write(c, &mut v)?;
    Ok(String::from_utf8(v).expect("Bristol text is ASCII"))
}

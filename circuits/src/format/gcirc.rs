//! The `.gcirc` binary circuit format, versions 1 and 2.
//!
//! # Layout
//!
//! Integers outside gate records are unsigned LEB128 varints (7 bits per byte,
//! least significant group first, canonical: no trailing zero groups) unless stated
//! otherwise.
//!
//! ```text
//! magic      8 bytes   89 47 43 49 52 43 0d 0a   ("\x89GCIRC\r\n")
//! version    u16 little-endian, currently 1
//! wires      number of wire slots (≤ 2^32 − 1)
//! gates      number of gates
//! inputs     count, then per input:  name, owner (1 byte: 0 garbler, 1 evaluator),
//!            bits, type
//! outputs    count, then per output: name, recipient (1 byte: 0 garbler,
//!            1 evaluator, 2 both), bit count, the bits (0 = constant false,
//!            1 = constant true, w + 2 = wire w), type
//! sections   count, then per section: name, first gate, end gate (exclusive)
//! annotations  version 2 only: count, then per annotation: key (a name), byte
//!            length, the bytes (see [`Annotation`])
//! gate blocks  repeated: gate count n ≥ 1, byte length L, then L bytes holding n
//!            gate records; a gate count of 0 ends the gates
//! digest     32 bytes: SHA-256 of every byte before it
//! ```
//!
//! A name is its byte length then UTF-8 bytes. A type is a flag byte (bit 0: a
//! shape follows, bit 1: a fixed-point format follows, other bits zero), then the
//! shape (dimension count, dimensions) and the format (`bits`, `frac`).
//!
//! Inputs occupy wires `0..Σ bits` in declaration order, least-significant bit first.
//!
//! # Gate records
//!
//! Both sides track `hw`, the high-water mark (one past the highest slot written so
//! far, starting at the number of input wires; every defined wire is below it), and
//! `prev`, the previous gate's output slot (starting at `hw − 1`). A record is a tag
//! byte, a size byte, then one to three fields, each a little-endian unsigned
//! integer of 1 to 4 bytes. Arithmetic on `prev` and `a` is modulo 2^32, and
//! `z(d)` is the 32-bit zigzag code of d (2d for d ≥ 0, −2d−1 for d < 0).
//!
//! ```text
//! tag   bits 0-1  op: 0 XOR, 1 AND, 2 NOT
//!       bits 2-3  output: 0 = hw (a fresh slot), 1 = same slot as a,
//!                 2 = same slot as b, 3 = explicit (a field follows the operands)
//!       bit 4     a is coded as hw−1−a (0) or z(a − prev) (1)
//!       bit 5     b is coded as hw−1−b (0) or z(b − a) (1); 0 for NOT
//!       bits 6-7  zero
//! size  bits 0-1  bytes of a − 1
//!       bits 2-3  bytes of b − 1 (0 for NOT)
//!       bits 4-5  bytes of out − 1 (0 unless the output is explicit)
//!       bits 6-7  zero
//! a     the coded a
//! b     the coded b, absent for NOT
//! out   z(out − prev), only for an explicit output
//! ```
//!
//! A gate's output is a slot already in use or the next fresh one (`out ≤ hw`, as
//! slot allocation and SSA numbering both give), so the slots in use never exceed
//! the inputs plus the gates read so far. Readers, evaluators and statistics grow
//! their per-slot arrays as gates arrive: a header claiming 2^30 wires costs nothing
//! until gates use them.
//!
//! The writer picks the shorter coding of each operand (the first on a tie), the
//! fewest bytes for each field and the first output mode that applies, so the same
//! circuit always gives the same bytes. In SSA circuits every output is fresh and
//! operands are near `hw`; after slot allocation the output usually reuses an
//! operand's slot. Either way most gates take 4 bytes. The fixed-size fields (rather
//! than varints) let the reader decode a gate without data-dependent branches.
//!
//! # Writing
//!
//! [`write`](fn@write) and [`to_bytes`] encode a whole [`Circuit`]; [`Writer`] encodes the same
//! bytes from a header and then one gate at a time, so a circuit never has to be in
//! memory at once (both share one encoder).
//!
//! # Reading
//!
//! [`GateReader`] parses and validates the header, then yields gates one by one,
//! checking each (wires in range, operands defined before use, tracked in a bitset
//! over the slots that grows only as slots are written), and at the end checks the
//! gate count, the digest, that nothing follows it, and that every output wire was
//! defined. Memory follows the gates read (the defined-slot bitset grows with the
//! high-water mark, never past [`Limits::max_wires`]) plus one gate block (at most
//! [`MAX_BLOCK_BYTES`]); no count read from the file is used to allocate. Input and
//! output types must be ones the `.gnet` language can give ([`check_type`]).

use super::FormatError;
use crate::ir::{
    Circuit, FixedFormat, Gate, InputSpec, Op, OutBit, OutputSpec, Party, Recipient, Section,
    ValueType,
};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, BufRead, Write};

/// The first 8 bytes of every `.gcirc` file.
pub const MAGIC: [u8; 8] = *b"\x89GCIRC\r\n";
/// The newest format version this module writes and reads: version 2 adds
/// annotations after the sections. A header without annotations is written as
/// version 1, so plain circuits keep their bytes and digests.
pub const VERSION: u16 = 2;
/// The largest annotation a reader accepts, in bytes.
pub const MAX_ANNOTATION_BYTES: u64 = 16 << 20;

/// Named bytes a `.gcirc` file carries for the tools that wrote it, covered by the
/// digest (so both parties of a session agree on them). garnet's compiler stores a
/// network's source here (`garnet.network`), which lets a compiled network bind
/// weights and decode its outputs without the `.gnet` file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Annotation {
    pub key: String,
    pub value: Vec<u8>,
}
/// The largest gate block a reader accepts (the writer makes blocks of about 64 KiB).
pub const MAX_BLOCK_BYTES: u64 = 1 << 20;

const BLOCK_TARGET: usize = (1 << 16) - 64;
/// Bytes kept allocated past the valid data, so the gate decoder can always load
/// 4 bytes at any offset of a record.
const SLACK: usize = 48;

/// For each tag byte, the set of valid size bytes (bit i of the mask: size byte i;
/// size bytes of 64 and above are never valid). An invalid tag has no valid size.
/// Valid: op 0-2, tag bits 6-7 zero, a NOT has no b (b-coding bit and b size zero,
/// output never "same as b"), and a non-explicit output has size bits 4-5 zero.
const VALID_SIZES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let tag = i as u8;
        let op = tag & 3;
        let out_mode = (tag >> 2) & 3;
        let tag_ok =
            tag & 0xc0 == 0 && op != 3 && !(op == OP_NOT && (tag & 0x20 != 0 || out_mode == 2));
        if tag_ok {
            let mut size = 0;
            while size < 64 {
                let b_ok = op != OP_NOT || (size >> 2) & 3 == 0;
                let o_ok = out_mode == 3 || (size >> 4) & 3 == 0;
                if b_ok && o_ok {
                    t[i] |= 1 << size;
                }
                size += 1;
            }
        }
        i += 1;
    }
    t
};

const OP_NOT: u8 = 2;

/// Masks keeping the low 0 to 4 bytes.
const MASK: [u32; 5] = [0, 0xff, 0xffff, 0xff_ffff, 0xffff_ffff];

// ---------------------------------------------------------------------------------
// Writing

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_name(buf: &mut Vec<u8>, name: &str) {
    put_varint(buf, name.len() as u64);
    buf.extend_from_slice(name.as_bytes());
}

fn put_type(buf: &mut Vec<u8>, ty: &ValueType) {
    let flags = ty.shape.is_some() as u8 | (ty.format.is_some() as u8) << 1;
    buf.push(flags);
    if let Some(shape) = &ty.shape {
        put_varint(buf, shape.len() as u64);
        for &d in shape {
            put_varint(buf, d as u64);
        }
    }
    if let Some(f) = &ty.format {
        put_varint(buf, f.bits as u64);
        put_varint(buf, f.frac as u64);
    }
}

/// The writer's (and reader's) running state for gate records.
#[derive(Clone, Copy)]
struct Cursor {
    hw: i64,
    prev: i64,
}

impl Cursor {
    fn new(input_bits: u64) -> Cursor {
        let hw = input_bits as i64;
        Cursor { hw, prev: hw - 1 }
    }
}

fn zigzag32(d: u32) -> u32 {
    let d = d as i32;
    ((d << 1) ^ (d >> 31)) as u32
}

fn unzigzag32(v: u32) -> u32 {
    (v >> 1) ^ (v & 1).wrapping_neg()
}

/// Bytes needed for `v`, 1 to 4.
fn field_len(v: u32) -> u32 {
    (32 - (v | 1).leading_zeros()).div_ceil(8)
}

/// Appends one gate record and advances the cursor.
fn encode_gate(buf: &mut Vec<u8>, g: &Gate, cur: &mut Cursor) {
    let op = g.op as u8;
    let binary = op != OP_NOT;
    let (a, out) = (g.a, g.out);
    let b = if binary { g.b } else { a };
    let out_mode: u8 = if out as i64 == cur.hw {
        0
    } else if out == a {
        1
    } else if binary && out == b {
        2
    } else {
        3
    };
    let prev = cur.prev as u32;
    // Operand coding: from the high-water mark when below it, else relative.
    let pick = |x: u32, rel: u32| -> (u8, u32) {
        let alt = zigzag32(x.wrapping_sub(rel));
        if (x as i64) < cur.hw {
            let v = (cur.hw - 1 - x as i64) as u32;
            if field_len(v) <= field_len(alt) {
                return (0, v);
            }
        }
        (1, alt)
    };
    let (a_mode, va) = pick(a, prev);
    let (b_mode, vb) = if binary { pick(b, a) } else { (0, 0) };
    let vo = zigzag32(out.wrapping_sub(prev));
    let la = field_len(va);
    let lb = if binary { field_len(vb) } else { 1 };
    let lo = if out_mode == 3 { field_len(vo) } else { 1 };
    // Fields are copied 4 bytes at a time into a local record, which is then
    // appended in one go.
    let mut rec = [0u8; 16];
    rec[0] = op | out_mode << 2 | a_mode << 4 | b_mode << 5;
    rec[1] = ((la - 1) | (lb - 1) << 2 | (lo - 1) << 4) as u8;
    let mut n = 2;
    rec[n..n + 4].copy_from_slice(&va.to_le_bytes());
    n += la as usize;
    if binary {
        rec[n..n + 4].copy_from_slice(&vb.to_le_bytes());
        n += lb as usize;
    }
    if out_mode == 3 {
        rec[n..n + 4].copy_from_slice(&vo.to_le_bytes());
        n += lo as usize;
    }
    buf.extend_from_slice(&rec[..n]);
    cur.prev = out as i64;
    cur.hw = cur.hw.max(out as i64 + 1);
}

/// Appends everything before the gate blocks.
fn put_header(
    buf: &mut Vec<u8>,
    wires: u32,
    gates: u64,
    inputs: &[InputSpec],
    outputs: &[OutputSpec],
    sections: &[Section],
    annotations: &[Annotation],
) {
    let version: u16 = if annotations.is_empty() { 1 } else { 2 };
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&version.to_le_bytes());
    put_varint(buf, wires as u64);
    put_varint(buf, gates);
    put_varint(buf, inputs.len() as u64);
    for i in inputs {
        put_name(buf, &i.name);
        buf.push(match i.owner {
            Party::Garbler => 0,
            Party::Evaluator => 1,
        });
        put_varint(buf, i.bits as u64);
        put_type(buf, &i.ty);
    }
    put_varint(buf, outputs.len() as u64);
    for o in outputs {
        put_name(buf, &o.name);
        buf.push(match o.recipient {
            Recipient::Garbler => 0,
            Recipient::Evaluator => 1,
            Recipient::Both => 2,
        });
        put_varint(buf, o.bits.len() as u64);
        for b in &o.bits {
            put_varint(
                buf,
                match *b {
                    OutBit::Const(v) => v as u64,
                    OutBit::Wire(w) => w as u64 + 2,
                },
            );
        }
        put_type(buf, &o.ty);
    }
    put_varint(buf, sections.len() as u64);
    for sec in sections {
        put_name(buf, &sec.name);
        put_varint(buf, sec.gates.start);
        put_varint(buf, sec.gates.end);
    }
    if !annotations.is_empty() {
        put_varint(buf, annotations.len() as u64);
        for a in annotations {
            put_name(buf, &a.key);
            put_varint(buf, a.value.len() as u64);
            buf.extend_from_slice(&a.value);
        }
    }
}

/// Writes a `.gcirc` file gate by gate: [`Writer::new`] writes the header (which
/// states the wire and gate counts up front), [`Writer::write_gate`] appends each
/// gate, [`Writer::finish`] ends the gates and appends the digest. The bytes are
/// exactly those [`write`](fn@write) gives for the circuit with the same header and gates.
pub struct Writer<W: Write> {
    out: W,
    hasher: Sha256,
    block: Vec<u8>,
    block_gates: u64,
    cur: Cursor,
    declared: u64,
    written: u64,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("declared", &self.declared)
            .field("written", &self.written)
            .finish()
    }
}

impl<W: Write> Writer<W> {
    /// Writes the header: `header.gates` gates must follow. `header.version` is
    /// ignored (the writer writes version 1 without annotations, 2 with them).
    pub fn new(out: W, header: &Header) -> io::Result<Writer<W>> {
        Writer::with_parts(
            out,
            header.wires,
            header.gates,
            &header.inputs,
            &header.outputs,
            &header.sections,
            &header.annotations,
        )
    }

    fn with_parts(
        out: W,
        wires: u32,
        gates: u64,
        inputs: &[InputSpec],
        outputs: &[OutputSpec],
        sections: &[Section],
        annotations: &[Annotation],
    ) -> io::Result<Writer<W>> {
        let mut buf = Vec::new();
        put_header(
            &mut buf,
            wires,
            gates,
            inputs,
            outputs,
            sections,
            annotations,
        );
        let mut w = Writer {
            out,
            hasher: Sha256::new(),
            block: Vec::with_capacity(BLOCK_TARGET + 64),
            block_gates: 0,
            cur: Cursor::new(inputs.iter().map(|i| i.bits as u64).sum()),
            declared: gates,
            written: 0,
        };
        w.emit(&buf)?;
        Ok(w)
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }

    fn flush_block(&mut self) -> io::Result<()> {
        let mut head = Vec::with_capacity(16);
        put_varint(&mut head, self.block_gates);
        put_varint(&mut head, self.block.len() as u64);
        self.hasher.update(&head);
        self.hasher.update(&self.block);
        self.out.write_all(&head)?;
        self.out.write_all(&self.block)?;
        self.block.clear();
        self.block_gates = 0;
        Ok(())
    }

    /// Appends one gate.
    pub fn write_gate(&mut self, g: &Gate) -> io::Result<()> {
        encode_gate(&mut self.block, g, &mut self.cur);
        self.block_gates += 1;
        self.written += 1;
        if self.block.len() >= BLOCK_TARGET {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Ends the gates, writes the digest and returns it with the writer. Fails if
    /// the number of gates written differs from the header's.
    pub fn finish(mut self) -> io::Result<([u8; 32], W)> {
        if self.written != self.declared {
            return Err(io::Error::other(format!(
                "the header declares {} gates but {} were written",
                self.declared, self.written
            )));
        }
        if self.block_gates > 0 {
            self.flush_block()?;
        }
        self.emit(&[0])?;
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        self.out.write_all(&digest)?;
        Ok((digest, self.out))
    }
}

fn encode<W: Write>(c: &Circuit, out: &mut W) -> io::Result<[u8; 32]> {
    let mut w = Writer::with_parts(
        out,
        c.wires,
        c.gates.len() as u64,
        &c.inputs,
        &c.outputs,
        &c.sections,
        &[],
    )?;
    for g in &c.gates {
        w.write_gate(g)?;
    }
    Ok(w.finish()?.0)
}

/// Writes `c` as `.gcirc`. The same circuit always gives the same bytes. The circuit
/// is written as it is; the reader is the one that validates.
pub fn write(c: &Circuit, w: &mut impl Write) -> io::Result<()> {
    encode(c, w).map(|_| ())
}

/// The `.gcirc` bytes of `c`.
pub fn to_bytes(c: &Circuit) -> Vec<u8> {
    let mut v = Vec::new();
    encode(c, &mut v).expect("writing to a Vec cannot fail");
    v
}

/// The SHA-256 digest a `.gcirc` file of `c` carries: it covers every byte of the
/// file before it (inputs, outputs, wires, sections, gates), so two parties holding
/// the same circuit get the same digest and any difference changes it. For a file
/// this module wrote, `digest(&read(file)?)` equals the digest stored in it.
pub fn digest(c: &Circuit) -> [u8; 32] {
    encode(c, &mut io::sink()).expect("writing to a sink cannot fail")
}

// ---------------------------------------------------------------------------------
// Reading

/// Resource limits a reader enforces before allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted wire count (the bitset of defined slots takes wires/8 bytes).
    pub max_wires: u32,
    /// Longest accepted name, in bytes.
    pub max_name_len: u32,
    /// Most inputs, outputs or sections accepted (each).
    pub max_values: u32,
    /// Most dimensions in a shape.
    pub max_shape_dims: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_wires: 1 << 30,
            max_name_len: 4096,
            max_values: 1 << 20,
            max_shape_dims: 16,
        }
    }
}

/// The header of a `.gcirc` file, everything but the gates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub wires: u32,
    pub gates: u64,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    pub sections: Vec<Section>,
    /// Empty in version 1 files.
    pub annotations: Vec<Annotation>,
}

impl Header {
    /// Total number of input wires.
    pub fn input_bits(&self) -> u64 {
        self.inputs.iter().map(|i| i.bits as u64).sum()
    }
}

/// Buffered input that knows its file offset and hashes what it consumes.
struct Input<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// `buf[..hashed]` has been fed to the hasher; `hashed <= pos`.
    hashed: usize,
    /// The digest of bytes this process wrote itself: no need to hash them again.
    known_digest: Option<[u8; 32]>,
    /// File offset of `buf[0]`.
    base: u64,
    hasher: Sha256,
    eof: bool,
}

fn gcirc_err(context: &str, offset: u64, message: impl Into<String>) -> FormatError {
    FormatError::Gcirc {
        context: context.to_string(),
        offset,
        message: message.into(),
    }
}

impl<R: BufRead> Input<R> {
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Makes `n` bytes available at `buf[pos..]`; `Ok(false)` if the file ends first.
    /// `n` must be bounded by the caller (at most [`MAX_BLOCK_BYTES`]).
    fn ensure(&mut self, n: usize, ctx: &str) -> Result<bool, FormatError> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        if self.known_digest.is_none() {
            self.hasher.update(&self.buf[self.hashed..self.pos]);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.hashed = 0;
        if self.buf.len() - SLACK < n {
            self.buf.resize(n.next_power_of_two() + SLACK, 0);
        }
        let usable = self.buf.len() - SLACK;
        while self.end < n && !self.eof {
            match self.r.read(&mut self.buf[self.end..usable]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(gcirc_err(
                        ctx,
                        self.base + self.end as u64,
                        format!("read error: {e}"),
                    ));
                }
            }
        }
        Ok(self.end >= n)
    }

    /// Feeds everything consumed so far to the hasher.
    fn hash_consumed(&mut self) {
        if self.known_digest.is_none() {
            self.hasher.update(&self.buf[self.hashed..self.pos]);
        }
        self.hashed = self.pos;
    }

    fn byte(&mut self, ctx: &str, what: &str) -> Result<u8, FormatError> {
        if !self.ensure(1, ctx)? {
            return Err(gcirc_err(
                ctx,
                self.offset(),
                format!("unexpected end of file, expected {what}"),
            ));
        }
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    fn varint(&mut self, ctx: &str, what: &str) -> Result<u64, FormatError> {
        let at = self.offset();
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte(ctx, what)?;
            if i == 9 && b > 1 {
                break;
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                if b == 0 && i > 0 {
                    return Err(gcirc_err(
                        ctx,
                        at,
                        format!("non-canonical varint for {what}"),
                    ));
                }
                return Ok(v);
            }
        }
        Err(gcirc_err(
            ctx,
            at,
            format!("malformed varint for {what} (more than 64 bits)"),
        ))
    }

    fn varint_u32(&mut self, ctx: &str, what: &str) -> Result<u32, FormatError> {
        let at = self.offset();
        let v = self.varint(ctx, what)?;
        u32::try_from(v)
            .map_err(|_| gcirc_err(ctx, at, format!("{what} {v} does not fit in 32 bits")))
    }

    fn name(&mut self, ctx: &str, limits: &Limits) -> Result<String, FormatError> {
        let at = self.offset();
        let len = self.varint(ctx, "a name length")?;
        if len > limits.max_name_len as u64 {
            return Err(gcirc_err(
                ctx,
                at,
                format!(
                    "name of {len} bytes is longer than the limit of {}",
                    limits.max_name_len
                ),
            ));
        }
        let len = len as usize;
        if !self.ensure(len, ctx)? {
            return Err(gcirc_err(
                ctx,
                self.offset(),
                format!("unexpected end of file inside a name of {len} bytes"),
            ));
        }
        let bytes = self.buf[self.pos..self.pos + len].to_vec();
        let name = String::from_utf8(bytes)
            .map_err(|_| gcirc_err(ctx, self.offset(), "name is not valid UTF-8"))?;
        self.pos += len;
        Ok(name)
    }

    fn count(&mut self, ctx: &str, what: &str, limits: &Limits) -> Result<u32, FormatError> {
        let at = self.offset();
        let n = self.varint(ctx, what)?;
        if n > limits.max_values as u64 {
            return Err(gcirc_err(
                ctx,
                at,
                format!("{n} {what} exceed the limit of {}", limits.max_values),
            ));
        }
        Ok(n as u32)
    }

    fn value_type(&mut self, ctx: &str, limits: &Limits) -> Result<ValueType, FormatError> {
        let at = self.offset();
        let flags = self.byte(ctx, "type flags")?;
        if flags & !3 != 0 {
            return Err(gcirc_err(
                ctx,
                at,
                format!("unknown type flags {flags:#04x}"),
            ));
        }
        let mut ty = ValueType::default();
        if flags & 1 != 0 {
            let at = self.offset();
            let n = self.varint(ctx, "a dimension count")?;
            if n > limits.max_shape_dims as u64 {
                return Err(gcirc_err(
                    ctx,
                    at,
                    format!(
                        "shape with {n} dimensions exceeds the limit of {}",
                        limits.max_shape_dims
                    ),
                ));
            }
            let mut dims = Vec::new();
            for _ in 0..n {
                dims.push(self.varint_u32(ctx, "a dimension")?);
            }
            ty.shape = Some(dims);
        }
        if flags & 2 != 0 {
            let bits = self.varint_u32(ctx, "a fixed-point width")?;
            let frac = self.varint_u32(ctx, "a fixed-point fraction")?;
            ty.format = Some(FixedFormat { bits, frac });
        }
        Ok(ty)
    }
}

/// Checks that a value of `width` bits can have type `ty`, by the rules of the
/// `.gnet` language, which is what makes typed values: a fixed-point format has
/// 2 to 32 bits and fewer fraction bits than bits; a shape has at least one
/// dimension, none zero; a shaped fixed-point value is exactly its elements'
/// bits, a shaped value without a format (binary, class index, thresholds) is 1
/// to 32 bits per element; an unshaped fixed-point value is whole elements.
/// Consumers that print or decode values by type can then trust it.
pub fn check_type(ty: &ValueType, width: u64) -> Result<(), String> {
    if let Some(f) = &ty.format {
        if !(2..=32).contains(&f.bits) {
            return Err(format!(
                "fixed-point format of {} bits is not in 2..=32",
                f.bits
            ));
        }
        if f.frac >= f.bits {
            return Err(format!(
                "fixed-point format fixed({}, {}) has as many fraction bits as bits or more",
                f.bits, f.frac
            ));
        }
    }
    let Some(shape) = &ty.shape else {
        return match &ty.format {
            Some(f) if !width.is_multiple_of(f.bits as u64) => Err(format!(
                "{width} bits are not whole {}-bit elements",
                f.bits
            )),
            _ => Ok(()),
        };
    };
    if shape.is_empty() {
        return Err("a shape needs at least one dimension".into());
    }
    if shape.contains(&0) {
        return Err(format!("shape {shape:?} has a zero dimension"));
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |p, &d| p.checked_mul(d as u64))
        .filter(|&p| p <= width)
        .ok_or_else(|| format!("shape {shape:?} has more elements than the {width} bits"))?;
    match &ty.format {
        Some(f) if elements * f.bits as u64 != width => Err(format!(
            "shape {shape:?} of fixed({}, {}) takes {} bits, not {width}",
            f.bits,
            f.frac,
            elements * f.bits as u64
        )),
        None if !width.is_multiple_of(elements) || width / elements > 32 => Err(format!(
            "{width} bits are not 1 to 32 bits for each of the {elements} elements of shape {shape:?}"
        )),
        _ => Ok(()),
    }
}

fn read_header<R: BufRead>(
    inp: &mut Input<R>,
    limits: &Limits,
) -> Result<(Header, Vec<u64>), FormatError> {
    let ctx = "header";
    let got = inp.ensure(MAGIC.len(), ctx)?;
    let avail = &inp.buf[inp.pos..inp.end.min(inp.pos + MAGIC.len())];
    if !got {
        let msg = if avail.is_empty() {
            "empty file, expected the .gcirc magic number".to_string()
        } else if MAGIC.starts_with(avail) {
            "unexpected end of file inside the magic number".to_string()
        } else {
            "bad magic number: not a .gcirc file".to_string()
        };
        return Err(gcirc_err(ctx, inp.offset(), msg));
    }
    if avail != MAGIC {
        return Err(gcirc_err(
            ctx,
            0,
            format!("bad magic number {avail:02x?}: not a .gcirc file"),
        ));
    }
    inp.pos += MAGIC.len();
    let at = inp.offset();
    let lo = inp.byte(ctx, "the version")?;
    let hi = inp.byte(ctx, "the version")?;
    let version = u16::from_le_bytes([lo, hi]);
    if !(1..=VERSION).contains(&version) {
        return Err(gcirc_err(
            ctx,
            at,
            format!("unsupported version {version} (this build reads versions 1 to {VERSION})"),
        ));
    }
    let at = inp.offset();
    let wires = inp.varint_u32(ctx, "the wire count")?;
    if wires > limits.max_wires {
        return Err(gcirc_err(
            ctx,
            at,
            format!("{wires} wires exceed the limit of {}", limits.max_wires),
        ));
    }
    let gates = inp.varint(ctx, "the gate count")?;

    let n_inputs = inp.count(ctx, "inputs", limits)?;
    let mut inputs = Vec::new();
    let mut names = HashSet::new();
    let mut input_bits = 0u64;
    for i in 0..n_inputs {
        let ctx = &format!("input {i}");
        let at = inp.offset();
        let name = inp.name(ctx, limits)?;
        if !names.insert(name.clone()) {
            return Err(gcirc_err(
                ctx,
                at,
                format!("duplicate input name `{}`", super::shorten(&name)),
            ));
        }
        let at = inp.offset();
        let owner = match inp.byte(ctx, "the owner")? {
            0 => Party::Garbler,
            1 => Party::Evaluator,
            x => return Err(gcirc_err(ctx, at, format!("unknown owner code {x}"))),
        };
        let at = inp.offset();
        let bits = inp.varint_u32(ctx, "the bit width")?;
        input_bits += bits as u64;
        if input_bits > wires as u64 {
            return Err(gcirc_err(
                ctx,
                at,
                format!("the inputs take {input_bits} wires but the circuit has only {wires}"),
            ));
        }
        let at = inp.offset();
        let ty = inp.value_type(ctx, limits)?;
        check_type(&ty, bits as u64).map_err(|m| gcirc_err(ctx, at, m))?;
        inputs.push(InputSpec {
            name,
            owner,
            bits,
            ty,
        });
    }

    let n_outputs = inp.count(ctx, "outputs", limits)?;
    let mut outputs = Vec::new();
    let mut offsets = Vec::new();
    names.clear();
    for i in 0..n_outputs {
        let ctx = &format!("output {i}");
        let at = inp.offset();
        offsets.push(at);
        let name = inp.name(ctx, limits)?;
        if !names.insert(name.clone()) {
            return Err(gcirc_err(
                ctx,
                at,
                format!("duplicate output name `{}`", super::shorten(&name)),
            ));
        }
        let at = inp.offset();
        let recipient = match inp.byte(ctx, "the recipient")? {
            0 => Recipient::Garbler,
            1 => Recipient::Evaluator,
            2 => Recipient::Both,
            x => return Err(gcirc_err(ctx, at, format!("unknown recipient code {x}"))),
        };
        let n = inp.varint_u32(ctx, "the bit count")?;
        // Pushed as they are read: memory grows with the bytes actually present.
        let mut bits = Vec::new();
        for j in 0..n {
            let at = inp.offset();
            let v = inp.varint(ctx, "an output bit")?;
            bits.push(match v {
                0 => OutBit::Const(false),
                1 => OutBit::Const(true),
                v if v - 2 < wires as u64 => OutBit::Wire((v - 2) as u32),
                v => {
                    return Err(gcirc_err(
                        ctx,
                        at,
                        format!(
                            "bit {j}: wire {} is out of range (the circuit has {wires} wires)",
                            v - 2
                        ),
                    ));
                }
            });
        }
        let at = inp.offset();
        let ty = inp.value_type(ctx, limits)?;
        check_type(&ty, n as u64).map_err(|m| gcirc_err(ctx, at, m))?;
        outputs.push(OutputSpec {
            name,
            recipient,
            bits,
            ty,
        });
    }

    let n_sections = inp.count(ctx, "sections", limits)?;
    let mut sections = Vec::new();
    let mut prev_end = 0;
    for i in 0..n_sections {
        let ctx = &format!("section {i}");
        let name = inp.name(ctx, limits)?;
        let at = inp.offset();
        let start = inp.varint(ctx, "the first gate")?;
        let end = inp.varint(ctx, "the end gate")?;
        if start > end || end > gates || start < prev_end {
            return Err(gcirc_err(
                ctx,
                at,
                format!(
                    "section `{}` covers gates {start}..{end}, outside the {gates} gates or before the previous section's end",
                    super::shorten(&name)
                ),
            ));
        }
        prev_end = end;
        sections.push(Section {
            name,
            gates: start..end,
        });
    }
    let annotations = if version >= 2 {
        read_annotations(inp, limits)?
    } else {
        Vec::new()
    };
    let header = Header {
        version,
        wires,
        gates,
        inputs,
        outputs,
        sections,
        annotations,
    };
    Ok((header, offsets))
}

/// The annotations of a version 2 header: unique keys, each value at most
/// [`MAX_ANNOTATION_BYTES`], read in chunks so memory follows the bytes present.
fn read_annotations<R: BufRead>(
    inp: &mut Input<R>,
    limits: &Limits,
) -> Result<Vec<Annotation>, FormatError> {
    let n = inp.count("header", "annotations", limits)?;
    let mut out: Vec<Annotation> = Vec::new();
    for i in 0..n {
        let ctx = &format!("annotation {i}");
        let at = inp.offset();
        let key = inp.name(ctx, limits)?;
        if out.iter().any(|a| a.key == key) {
            let k = super::shorten(&key);
            return Err(gcirc_err(ctx, at, format!("duplicate annotation `{k}`")));
        }
        let at = inp.offset();
        let len = inp.varint(ctx, "an annotation length")?;
        if len > MAX_ANNOTATION_BYTES {
            return Err(gcirc_err(
                ctx,
                at,
                format!("annotation of {len} bytes exceeds the limit of {MAX_ANNOTATION_BYTES}"),
            ));
        }
        let mut value = Vec::new();
        let mut left = len as usize;
        while left > 0 {
            let chunk = left.min(1 << 16);
            if !inp.ensure(chunk, ctx)? {
                return Err(gcirc_err(
                    ctx,
                    inp.offset(),
                    format!("unexpected end of file inside an annotation of {len} bytes"),
                ));
            }
            value.extend_from_slice(&inp.buf[inp.pos..inp.pos + chunk]);
            inp.pos += chunk;
            left -= chunk;
        }
        out.push(Annotation { key, value });
    }
    Ok(out)
}

#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum State {
    Gates,
    Done,
    Failed,
}

/// Streams the gates of a `.gcirc` file, validating as it goes.
///
/// [`GateReader::new`] reads and checks the header; iterating yields each gate or
/// the first error (after which iteration stops). The iterator returns `None` only
/// once the gate count, the digest, the end of the file and the outputs have all
/// been checked, so a consumer that sees `None` has a fully valid circuit; an error
/// found at the end comes as the last item. [`GateReader::finish`] does the same
/// without handing out the gates.
pub struct GateReader<R: BufRead> {
    inp: Input<R>,
    header: Header,
    output_offsets: Vec<u64>,
    wires: u32,
    defined: Defined,
    cur: Cursor,
    /// Gates decoded (and validated) so far.
    index: u64,
    /// Gates left in the current block, and where in `inp.buf` the block ends.
    block_left: u64,
    block_end: usize,
    /// Gates decoded ahead of the consumer (at most [`BATCH`]), and the next to hand out.
    batch: Vec<Gate>,
    batch_pos: usize,
    /// An error found while decoding ahead, reported after the batch's gates.
    pending: Option<FormatError>,
    state: State,
    digest: Option<[u8; 32]>,
}

/// Gates decoded per batch: the decoder runs over a batch with its state in locals.
const BATCH: usize = 512;

/// Which wire slots hold a value. Input slots `0..inputs` always do; the others are
/// a bitset over slots `inputs..`, grown (up to the wire count) as gates write
/// higher slots, so memory follows the gates read, not the header's counts.
#[derive(Clone)]
struct Defined {
    inputs: u32,
    bits: Vec<u64>,
    words: usize,
}

impl Defined {
    fn new(input_bits: u32, wires: u32) -> Defined {
        Defined {
            inputs: input_bits,
            bits: Vec::new(),
            words: (wires.saturating_sub(input_bits) as usize).div_ceil(64),
        }
    }

    #[inline(always)]
    fn get(&self, w: u32) -> bool {
        let Some(k) = w.checked_sub(self.inputs) else {
            return true;
        };
        self.bits
            .get((k >> 6) as usize)
            .is_some_and(|x| (x >> (k & 63)) & 1 == 1)
    }

    /// Marks `w` defined; `w` must be below the wire count.
    #[inline(always)]
    fn set(&mut self, w: u32) {
        let Some(k) = w.checked_sub(self.inputs) else {
            return;
        };
        let i = (k >> 6) as usize;
        if i >= self.bits.len() {
            self.grow(i);
        }
        self.bits[i] |= 1 << (k & 63);
    }

    #[cold]
    fn grow(&mut self, i: usize) {
        let n = (i + 1)
            .max(self.bits.len() * 2)
            .max(1024)
            .min(self.words.max(i + 1));
        self.bits.resize(n, 0);
    }
}

/// Decodes and validates the gate record at `*p` without data-dependent branches
/// (gate kinds and field sizes are unpredictable), advancing `p` and `cur`.
/// `None` for anything unusual, which [`GateReader::decode_gate_slow`] then names.
#[inline(always)]
fn decode_fast(
    buf: &[u8],
    block_end: usize,
    wires: u32,
    defined: &mut Defined,
    p: &mut usize,
    cur: &mut Cursor,
) -> Option<Gate> {
    let c = *cur;
    let at = *p;
    let head = load32(buf, at);
    let (tag, size) = (head as u8, (head >> 8) as u8);
    let op = tag & 3;
    let binary = op != OP_NOT;
    let out_mode = (tag >> 2) & 3;
    let explicit = out_mode == 3;
    let la = (size & 3) as usize + 1;
    let lb = if binary {
        ((size >> 2) & 3) as usize + 1
    } else {
        0
    };
    let lo = if explicit {
        ((size >> 4) & 3) as usize + 1
    } else {
        0
    };
    let fa = at + 2;
    let va = load32(buf, fa) & MASK[la];
    let vb = load32(buf, fa + la) & MASK[lb];
    let vo = load32(buf, fa + la + lb) & MASK[lo];
    let end = fa + la + lb + lo;
    let prev = c.prev as u32;
    let a = if tag & 0x10 == 0 {
        c.hw - 1 - va as i64
    } else {
        prev.wrapping_add(unzigzag32(va)) as i64
    };
    let b_coded = if tag & 0x20 == 0 {
        c.hw - 1 - vb as i64
    } else {
        (a as u32).wrapping_add(unzigzag32(vb)) as i64
    };
    let b = if binary { b_coded } else { a };
    // Selects rather than a jump: the output mode is unpredictable.
    let low = if out_mode & 1 == 0 { c.hw } else { a };
    let high = if out_mode & 1 == 0 {
        b
    } else {
        prev.wrapping_add(unzigzag32(vo)) as i64
    };
    let out = if out_mode & 2 == 0 { low } else { high };
    let wires = wires as u64;
    let ok = (VALID_SIZES[tag as usize] >> (size & 63)) & 1 == 1;
    let ok = ok
        & (size < 64)
        & (end <= block_end)
        & ((a as u64) < wires)
        & ((b as u64) < wires)
        & ((out as u64) < wires)
        & (out <= c.hw);
    if !ok {
        return None;
    }
    let (a, b, out) = (a as u32, b as u32, out as u32);
    if !(defined.get(a) & defined.get(b)) {
        return None;
    }
    defined.set(out);
    *cur = Cursor {
        hw: c.hw.max(out as i64 + 1),
        prev: out as i64,
    };
    *p = end;
    let op = match op {
        0 => Op::Xor,
        1 => Op::And,
        _ => Op::Not,
    };
    Some(Gate { op, a, b, out })
}

impl<R: BufRead> std::fmt::Debug for GateReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateReader")
            .field("header", &self.header)
            .field("index", &self.index)
            .field("state", &self.state)
            .finish()
    }
}

enum GateFault {
    Record(&'static str),
    Tag(u8),
    Size(u8),
    Range(i64),
    Undefined(u32),
    /// An output slot above the high-water mark (the output, the mark).
    Skip(i64, i64),
}

/// 4 bytes at `p`, little-endian (zeros past the end of `buf`, which the slack
/// makes unreachable in practice).
#[inline(always)]
fn load32(buf: &[u8], p: usize) -> u32 {
    match buf.get(p..p + 4) {
        Some(s) => u32::from_le_bytes(s.try_into().expect("4 bytes")),
        None => load32_slow(buf, p),
    }
}

#[cold]
fn load32_slow(buf: &[u8], p: usize) -> u32 {
    let mut w = [0u8; 4];
    for (i, x) in w.iter_mut().enumerate() {
        *x = buf.get(p + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(w)
}

impl<R: BufRead> GateReader<R> {
    /// Reads and validates the header with the default [`Limits`].
    pub fn new(r: R) -> Result<Self, FormatError> {
        Self::with_limits(r, Limits::default())
    }

    /// Reads bytes this process wrote itself (say, a circuit compiled into memory)
    /// whose digest it knows: everything is validated as by [`GateReader::new`] but
    /// the content is not hashed again, and the stored digest must equal `digest`.
    pub fn trusted(r: R, digest: [u8; 32]) -> Result<Self, FormatError> {
        Self::open(r, Limits::default(), Some(digest))
    }

    /// Reads and validates the header with the given limits.
    pub fn with_limits(r: R, limits: Limits) -> Result<Self, FormatError> {
        Self::open(r, limits, None)
    }

    fn open(r: R, limits: Limits, known_digest: Option<[u8; 32]>) -> Result<Self, FormatError> {
        let mut inp = Input {
            r,
            buf: vec![0; (1 << 16) + SLACK],
            pos: 0,
            end: 0,
            hashed: 0,
            known_digest,
            base: 0,
            hasher: Sha256::new(),
            eof: false,
        };
        let (header, output_offsets) = read_header(&mut inp, &limits)?;
        let n_in = header.input_bits() as u32;
        let defined = Defined::new(n_in, header.wires);
        Ok(GateReader {
            inp,
            wires: header.wires,
            cur: Cursor::new(n_in as u64),
            header,
            output_offsets,
            defined,
            index: 0,
            block_left: 0,
            block_end: 0,
            batch: Vec::with_capacity(BATCH),
            batch_pos: 0,
            pending: None,
            state: State::Gates,
            digest: None,
        })
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Consumes the reader, returning the header.
    pub fn into_header(self) -> Header {
        self.header
    }

    /// Number of gates yielded so far.
    pub fn gates_read(&self) -> u64 {
        self.index - (self.batch.len() - self.batch_pos) as u64
    }

    /// The file's digest, once the end of the file has been reached and verified.
    pub fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }

    /// Reads (and validates) the remaining gates and the end of the file; returns
    /// the verified digest.
    pub fn finish(&mut self) -> Result<[u8; 32], FormatError> {
        for g in self.by_ref() {
            g?;
        }
        self.digest.ok_or_else(|| {
            gcirc_err(
                "gates",
                self.inp.offset(),
                "the reader stopped at an earlier error",
            )
        })
    }

    fn check_wire(&self, w: i64) -> Result<u32, GateFault> {
        if w < 0 || w >= self.wires as i64 {
            return Err(GateFault::Range(w));
        }
        let w = w as u32;
        if !self.defined.get(w) {
            return Err(GateFault::Undefined(w));
        }
        Ok(w)
    }

    /// Decodes one gate with a branch per decision, naming any problem.
    #[cold]
    #[inline(never)]
    fn decode_gate_slow(&mut self) -> Result<Gate, GateFault> {
        const PAST: GateFault = GateFault::Record("gate record runs past the end of its block");
        let buf = &self.inp.buf[..self.block_end];
        let p = self.inp.pos;
        let (Some(&tag), Some(&size)) = (buf.get(p), buf.get(p + 1)) else {
            return Err(PAST);
        };
        let op = tag & 3;
        let out_mode = (tag >> 2) & 3;
        if VALID_SIZES[tag as usize] == 0 {
            return Err(GateFault::Tag(tag));
        }
        if size >= 64 || (VALID_SIZES[tag as usize] >> size) & 1 == 0 {
            return Err(GateFault::Size(size));
        }
        let mut q = p + 2;
        let mut field = |len: u8| -> Result<u32, GateFault> {
            let len = len as usize + 1;
            let bytes = buf.get(q..q + len).ok_or(PAST)?;
            q += len;
            Ok(bytes.iter().rev().fold(0u32, |v, &x| v << 8 | x as u32))
        };
        let cur = self.cur;
        let prev = cur.prev as u32;
        let va = field(size & 3)?;
        let a = if tag & 0x10 == 0 {
            cur.hw - 1 - va as i64
        } else {
            prev.wrapping_add(unzigzag32(va)) as i64
        };
        let (op, b) = match op {
            0 | 1 => {
                let vb = field((size >> 2) & 3)?;
                let b = if tag & 0x20 == 0 {
                    cur.hw - 1 - vb as i64
                } else {
                    (a as u32).wrapping_add(unzigzag32(vb)) as i64
                };
                (if op == 0 { Op::Xor } else { Op::And }, b)
            }
            _ => (Op::Not, a),
        };
        let out = match out_mode {
            0 => cur.hw,
            1 => a,
            2 => b,
            _ => prev.wrapping_add(unzigzag32(field((size >> 4) & 3)?)) as i64,
        };
        let a = self.check_wire(a)?;
        let b = self.check_wire(b)?;
        if out < 0 || out >= self.wires as i64 {
            return Err(GateFault::Range(out));
        }
        if out > cur.hw {
            return Err(GateFault::Skip(out, cur.hw));
        }
        let out = out as u32;
        self.defined.set(out);
        self.cur = Cursor {
            hw: cur.hw.max(out as i64 + 1),
            prev: out as i64,
        };
        self.inp.pos = q;
        Ok(Gate { op, a, b, out })
    }

    fn fault(&self, f: GateFault) -> FormatError {
        let ctx = format!("gate {}", self.index);
        let at = self.inp.offset();
        let msg = match f {
            GateFault::Record(m) => m.to_string(),
            GateFault::Tag(t) => format!("invalid gate tag {t:#04x}"),
            GateFault::Size(x) => format!("invalid size byte {x:#04x} for this gate"),
            GateFault::Range(w) => format!(
                "wire {w} is out of range (the circuit has {} wires)",
                self.wires
            ),
            GateFault::Undefined(w) => format!("wire {w} used before it is defined"),
            GateFault::Skip(w, hw) => format!(
                "the gate writes wire {w}, past the next fresh slot {hw} (slots must be used in order)"
            ),
        };
        gcirc_err(&ctx, at, msg)
    }

    /// Reads the next block header; `Ok(false)` at the (verified) end of the file.
    fn next_block(&mut self) -> Result<bool, FormatError> {
        let ctx = &format!("gate block after gate {}", self.index);
        let at = self.inp.offset();
        let n = self.inp.varint(ctx, "a gate count")?;
        let gates = self.header.gates;
        if n == 0 {
            if self.index < gates {
                return Err(gcirc_err(
                    ctx,
                    at,
                    format!(
                        "the header declares {gates} gates but the file holds only {}",
                        self.index
                    ),
                ));
            }
            self.finish_file()?;
            return Ok(false);
        }
        if n > gates - self.index {
            return Err(gcirc_err(
                ctx,
                at,
                format!("the file holds more gates than the {gates} the header declares"),
            ));
        }
        let at = self.inp.offset();
        let len = self.inp.varint(ctx, "a block length")?;
        if len > MAX_BLOCK_BYTES {
            return Err(gcirc_err(
                ctx,
                at,
                format!("gate block of {len} bytes exceeds the limit of {MAX_BLOCK_BYTES}"),
            ));
        }
        if n > len {
            return Err(gcirc_err(
                ctx,
                at,
                format!("a block of {len} bytes cannot hold {n} gates"),
            ));
        }
        if !self.inp.ensure(len as usize, ctx)? {
            return Err(gcirc_err(
                ctx,
                self.inp.base + self.inp.end as u64,
                format!("unexpected end of file inside a gate block of {len} bytes"),
            ));
        }
        self.block_left = n;
        self.block_end = self.inp.pos + len as usize;
        Ok(true)
    }

    fn finish_file(&mut self) -> Result<(), FormatError> {
        self.inp.hash_consumed();
        let computed: [u8; 32] = match self.inp.known_digest {
            Some(d) => d,
            None => std::mem::take(&mut self.inp.hasher).finalize().into(),
        };
        let ctx = "digest";
        if !self.inp.ensure(32, ctx)? {
            return Err(gcirc_err(
                ctx,
                self.inp.offset(),
                "unexpected end of file: the 32-byte SHA-256 digest is missing or cut short",
            ));
        }
        let stored: [u8; 32] = self.inp.buf[self.inp.pos..self.inp.pos + 32]
            .try_into()
            .expect("32 bytes");
        if stored != computed {
            return Err(gcirc_err(
                ctx,
                self.inp.offset(),
                format!(
                    "digest mismatch: the file says {} but its content hashes to {}",
                    hex(&stored),
                    hex(&computed)
                ),
            ));
        }
        self.inp.pos += 32;
        self.inp.hashed = self.inp.pos;
        if self.inp.ensure(1, ctx)? {
            return Err(gcirc_err(
                "end of file",
                self.inp.offset(),
                "trailing data after the digest",
            ));
        }
        for (i, o) in self.header.outputs.iter().enumerate() {
            let wires = o.bits.iter().enumerate().filter_map(|(j, b)| match *b {
                OutBit::Wire(w) => Some((j, w)),
                OutBit::Const(_) => None,
            });
            for (j, w) in wires {
                if !self.defined.get(w) {
                    return Err(gcirc_err(
                        &format!("output `{}`", super::shorten(&o.name)),
                        self.output_offsets[i],
                        format!("bit {j} reads wire {w}, which no input or gate defines"),
                    ));
                }
            }
        }
        self.digest = Some(stored);
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<R: BufRead> GateReader<R> {
    /// Decodes up to [`BATCH`] gates of the current block into `batch`; a problem
    /// becomes `pending`, to be reported after the gates before it.
    fn fill_batch(&mut self) {
        self.batch.clear();
        self.batch_pos = 0;
        let n = self.block_left.min(BATCH as u64) as usize;
        let mut p = self.inp.pos;
        let mut cur = self.cur;
        {
            let buf = &self.inp.buf[..];
            let (block_end, wires) = (self.block_end, self.wires);
            let defined = &mut self.defined;
            let batch = &mut self.batch;
            for _ in 0..n {
                match decode_fast(buf, block_end, wires, defined, &mut p, &mut cur) {
                    Some(g) => batch.push(g),
                    None => break,
                }
            }
        }
        self.inp.pos = p;
        self.cur = cur;
        let done = self.batch.len();
        self.index += done as u64;
        self.block_left -= done as u64;
        if done < n {
            match self.decode_gate_slow() {
                Ok(g) => {
                    self.batch.push(g);
                    self.index += 1;
                    self.block_left -= 1;
                }
                Err(f) => {
                    self.pending = Some(self.fault(f));
                    return;
                }
            }
        }
        if self.block_left == 0 && self.inp.pos != self.block_end {
            let left = self.block_end - self.inp.pos;
            self.pending = Some(gcirc_err(
                &format!("gate block ending at gate {}", self.index),
                self.inp.offset(),
                format!("{left} bytes left over after the block's gates"),
            ));
        }
    }

    /// Refills the batch (reading block headers and the end of the file as needed)
    /// and hands out its first gate, or the pending error, or `None` at the end.
    #[cold]
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Result<Gate, FormatError>> {
        loop {
            if let Some(e) = self.pending.take() {
                self.state = State::Failed;
                self.batch.clear();
                self.batch_pos = 0;
                return Some(Err(e));
            }
            if self.state != State::Gates {
                return None;
            }
            if self.block_left == 0 {
                match self.next_block() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.state = State::Done;
                        return None;
                    }
                    Err(e) => self.pending = Some(e),
                }
                continue;
            }
            self.fill_batch();
            if let Some(&g) = self.batch.first() {
                self.batch_pos = 1;
                return Some(Ok(g));
            }
        }
    }
}

impl<R: BufRead> Iterator for GateReader<R> {
    type Item = Result<Gate, FormatError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(&g) = self.batch.get(self.batch_pos) {
            self.batch_pos += 1;
            return Some(Ok(g));
        }
        self.next_slow()
    }
}

/// Reads and fully validates a `.gcirc` circuit.
pub fn read(r: &mut impl BufRead) -> Result<Circuit, FormatError> {
    read_with(r, Limits::default())
}

/// [`read`] with the given limits. The gate list grows as gates are read, so
/// memory follows the file's size, not its header.
pub fn read_with(r: &mut impl BufRead, limits: Limits) -> Result<Circuit, FormatError> {
    read_annotated(r, limits).map(|(c, _)| c)
}

/// [`read_with`], and the header's annotations (a compiled network's source).
pub fn read_annotated(
    r: &mut impl BufRead,
    limits: Limits,
) -> Result<(Circuit, Vec<Annotation>), FormatError> {
    let mut gr = GateReader::with_limits(r, limits)?;
    let mut gates = Vec::new();
    for g in gr.by_ref() {
        gates.push(g?);
    }
    let header = gr.into_header();
    let c = Circuit {
        inputs: header.inputs,
        outputs: header.outputs,
        gates,
        wires: header.wires,
        sections: header.sections,
    };
    Ok((c, header.annotations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// The branch-free decoder accepts exactly what the exact one accepts, with the
    /// same result, on random records and states.
    #[test]
    fn fast_and_exact_decoders_agree() {
        let c = Circuit {
            inputs: vec![InputSpec {
                name: "x".into(),
                owner: Party::Garbler,
                bits: 8,
                ty: ValueType::default(),
            }],
            wires: 40,
            ..Circuit::default()
        };
        let bytes = to_bytes(&c);
        let mut r = GateReader::new(&bytes[..]).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..200_000 {
            // Mostly well-formed records with small fields, sometimes corrupted.
            let op = rng.gen_range(0..3u8);
            let out_mode = if op == OP_NOT {
                [0, 1, 3][rng.gen_range(0..3)]
            } else {
                rng.gen_range(0..4)
            };
            let modes = rng.gen_range(0..4u8) & if op == OP_NOT { 1 } else { 3 };
            let mut record = vec![op | out_mode << 2 | modes << 4, 0];
            let mut size = 0u8;
            let fields = 1 + (op != OP_NOT) as u8 + (out_mode == 3) as u8;
            for (k, shift) in [(0, 0), (1, 2), (2, 4)] {
                if k >= fields {
                    break;
                }
                let shift = if k == 1 && op == OP_NOT { 4 } else { shift };
                let n = if rng.gen_bool(0.9) {
                    1
                } else {
                    rng.gen_range(1..=4u8)
                };
                size |= (n - 1) << shift;
                let v: u32 = if rng.gen_bool(0.8) {
                    rng.gen_range(0..48)
                } else {
                    rng.r#gen()
                };
                record.extend_from_slice(&v.to_le_bytes()[..n as usize]);
            }
            record[1] = size;
            if rng.gen_bool(0.2) {
                let i = rng.gen_range(0..record.len());
                record[i] = rng.r#gen();
            }
            if rng.gen_bool(0.1) {
                record.truncate(rng.gen_range(0..record.len()));
            }
            let len = record.len();
            r.inp.buf[..len].copy_from_slice(&record);
            r.inp.buf[len..len + 8].fill(rng.r#gen());
            r.inp.pos = 0;
            r.block_end = len;
            let hw = rng.gen_range(8..=40);
            r.cur = Cursor {
                hw,
                prev: rng.gen_range(-1..hw),
            };
            r.defined = Defined::new(8, 40);
            for _ in 0..rng.gen_range(0..60) {
                r.defined.set(rng.gen_range(0..hw as u32));
            }
            let (defined, cur) = (r.defined.clone(), r.cur);
            let (mut p, mut fast_cur, mut fast_defined) = (0, cur, defined.clone());
            let fast = decode_fast(
                &r.inp.buf,
                len,
                40,
                &mut fast_defined,
                &mut p,
                &mut fast_cur,
            );
            let exact = r.decode_gate_slow();
            match (fast, exact) {
                (Some(g), Ok(h)) => {
                    assert_eq!(g, h, "{record:02x?}");
                    assert_eq!(
                        (p, fast_cur.hw, fast_cur.prev),
                        (r.inp.pos, r.cur.hw, r.cur.prev)
                    );
                    accepted += 1;
                }
                (Some(g), Err(_)) => panic!("fast path accepted {g:?} from {record:02x?}"),
                (None, Ok(h)) => panic!("fast path refused {h:?} from {record:02x?}"),
                (None, Err(_)) => rejected += 1,
            }
        }
        assert!(
            accepted > 10_000 && rejected > 10_000,
            "{accepted} {rejected}"
        );
    }

    #[test]
    fn field_sizes_and_zigzag() {
        for (v, len) in [
            (0u32, 1),
            (255, 1),
            (256, 2),
            (65535, 2),
            (65536, 3),
            (1 << 24, 4),
            (u32::MAX, 4),
        ] {
            assert_eq!(field_len(v), len, "{v}");
        }
        for d in [
            0u32,
            1,
            u32::MAX,
            63,
            (-64i32) as u32,
            1 << 31,
            (1 << 31) - 1,
        ] {
            assert_eq!(unzigzag32(zigzag32(d)), d);
        }
        assert_eq!(zigzag32((-1i32) as u32), 1);
        assert_eq!(zigzag32(1), 2);
        let mut b = Vec::new();
        put_varint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
    }

    #[test]
    fn valid_sizes_table() {
        assert_eq!(VALID_SIZES[0x00] & 1, 1, "XOR, 1-byte fields");
        assert_eq!(VALID_SIZES[0x02] >> 0x04 & 1, 0, "NOT with a b size");
        assert_eq!(VALID_SIZES[0x03], 0, "op 3");
        assert_eq!(VALID_SIZES[0x40], 0, "high tag bits");
        assert_eq!(VALID_SIZES[0x0c] >> 0x30 & 1, 1, "explicit output size");
        assert_eq!(
            VALID_SIZES[0x00] >> 0x10 & 1,
            0,
            "out size without explicit output"
        );
    }
}

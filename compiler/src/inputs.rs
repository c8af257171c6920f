//! Input loading: a JSON array (nested arrays are flattened), a `.npy` file
//! (float32/float64/integers, C order) or CSV of numbers, quantized to the
//! input tensor's format with a saturation count.

use crate::ir::{Format, Tensor};
use crate::weights::quantize;

/// The file kinds inputs can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// JSON (nested) array of numbers.
    Json,
    /// NumPy `.npy`.
    Npy,
    /// Comma/whitespace separated numbers.
    Csv,
}

impl InputKind {
    /// From a file name's extension (`.json`, `.npy`, anything else is CSV).
    pub fn from_path(path: &str) -> InputKind {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            InputKind::Json
        } else if lower.ends_with(".npy") {
            InputKind::Npy
        } else {
            InputKind::Csv
        }
    }
}

/// Errors of input loading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Malformed file.
    #[error("cannot read input: {0}")]
    Parse(String),
    /// Wrong element count.
    #[error(
        "input `{name}` needs {expected} values (or a multiple: one sample each), the file has {found}"
    )]
    Count {
        /// Tensor name.
        name: String,
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// NaN or infinity.
    #[error("input `{name}` value at index {index} is not finite")]
    NonFinite {
        /// Tensor name.
        name: String,
        /// Index.
        index: usize,
    },
    /// The tensor's format cannot be an input.
    #[error("input `{0}` has a format that cannot be loaded")]
    BadFormat(String),
}

/// A quantized input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizedInput {
    /// Integer values in the tensor's format.
    pub values: Vec<i64>,
    /// How many saturated.
    pub saturated: usize,
}

/// Parses the numbers of a file.
pub fn parse_values(bytes: &[u8], kind: InputKind) -> Result<Vec<f64>, InputError> {
    match kind {
        InputKind::Json => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| InputError::Parse(e.to_string()))?;
            let mut out = Vec::new();
            flatten_json(&v, &mut out, 0)?;
            Ok(out)
        }
        InputKind::Csv => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| InputError::Parse("CSV is not UTF-8".into()))?;
            let mut out = Vec::new();
            for (ln, line) in text.lines().enumerate() {
                for tok in line
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|t| !t.is_empty())
                {
                    let v = tok.parse::<f64>().map_err(|_| {
                        InputError::Parse(format!("line {}: `{tok}` is not a number", ln + 1))
                    })?;
                    out.push(v);
                }
            }
            Ok(out)
        }
        InputKind::Npy => parse_npy(bytes),
    }
}

fn flatten_json(v: &serde_json::Value, out: &mut Vec<f64>, depth: usize) -> Result<(), InputError> {
    if depth > 64 {
        return Err(InputError::Parse("JSON nested too deeply".into()));
    }
    match v {
        serde_json::Value::Number(n) => {
            out.push(
                n.as_f64()
                    .ok_or_else(|| InputError::Parse(format!("bad number {n}")))?,
            );
            Ok(())
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| flatten_json(x, out, depth + 1)),
        other => Err(InputError::Parse(format!(
            "expected numbers, found {other}"
        ))),
    }
}

/// The `shape` tuple of a `.npy` header, from its opening parenthesis.
fn parse_shape(s: &str) -> Result<Vec<usize>, InputError> {
    let err = || InputError::Parse(".npy: bad shape".into());
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(err)?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| err()))
        .collect()
}

/// The shape of a `.npy` file.
fn npy_shape(bytes: &[u8]) -> Result<Vec<usize>, InputError> {
    let err = |m: &str| InputError::Parse(format!(".npy: {m}"));
    if bytes.len() < 12 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("bad magic"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| err("truncated header"))?;
    let i = header.find("'shape'").ok_or_else(|| err("no shape"))?;
    let rest = header[i + 7..]
        .trim_start()
        .strip_prefix(':')
        .ok_or_else(|| err("bad shape"))?;
    parse_shape(rest.trim_start())
}

/// Parses a `.npy` file (versions 1–3; little/big endian; f4, f8, i1–i8, u1–u8, b1).
pub fn parse_npy(bytes: &[u8]) -> Result<Vec<f64>, InputError> {
    let err = |m: &str| InputError::Parse(format!(".npy: {m}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("bad magic"));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(err("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(err(&format!("unsupported version {v}"))),
    };
    let end = start
        .checked_add(hlen)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| err("truncated header"))?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| err("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        Some(
            header[i + key.len() + 2..]
                .trim_start()
                .strip_prefix(':')?
                .trim_start(),
        )
    };
    let descr = field("descr").ok_or_else(|| err("no descr"))?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or_else(|| err("bad descr"))?;
    if field("fortran_order").is_some_and(|f| f.starts_with("True")) {
        return Err(err("Fortran order is not supported"));
    }
    let shape = parse_shape(field("shape").ok_or_else(|| err("no shape"))?)?;
    let mut count: usize = 1;
    for d in &shape {
        count = count
            .checked_mul(*d)
            .ok_or_else(|| err("shape too large"))?;
    }
    let (endian, ty) = descr.split_at(1.min(descr.len()));
    let big = match endian {
        "<" | "|" | "=" => false,
        ">" => true,
        _ => return Err(err(&format!("unsupported dtype {descr}"))),
    };
    let size: usize = ty
        .get(1..)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err(&format!("unsupported dtype {descr}")))?;
    let kind = ty.chars().next().unwrap_or(' ');
    if !matches!(
        (kind, size),
        ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) | ('b', 1)
    ) {
        return Err(err(&format!("unsupported dtype {descr}")));
    }
    let data = &bytes[end..];
    let need = count
        .checked_mul(size)
        .ok_or_else(|| err("shape too large"))?;
    if data.len() < need {
        return Err(err(&format!("needs {need} data bytes, has {}", data.len())));
    }
    let mut out = Vec::with_capacity(count);
    for c in data[..need].chunks_exact(size) {
        let mut b = [0u8; 8];
        if big {
            for (i, x) in c.iter().rev().enumerate() {
                b[i] = *x;
            }
        } else {
            b[..size].copy_from_slice(c);
        }
        let raw = u64::from_le_bytes(b);
        let v = match (kind, size) {
            ('f', 4) => f32::from_bits(raw as u32) as f64,
            ('f', _) => f64::from_bits(raw),
            ('u' | 'b', _) => raw as f64,
            ('i', s) => {
                let shift = 64 - 8 * s as u32;
                ((raw << shift) as i64 >> shift) as f64
            }
            _ => 0.0,
        };
        out.push(v);
    }
    Ok(out)
}

/// Quantizes values to `tensor`'s format (binary: `v >= 0` → 1).
pub fn quantize_input(values: &[f64], tensor: &Tensor) -> Result<QuantizedInput, InputError> {
    if values.len() != tensor.len() {
        return Err(InputError::Count {
            name: tensor.name.clone(),
            expected: tensor.len(),
            found: values.len(),
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(InputError::NonFinite {
            name: tensor.name.clone(),
            index,
        });
    }
    let mut saturated = 0;
    let values = match tensor.format {
        Format::Fixed { .. } => values
            .iter()
            .map(|v| {
                let (q, s) = quantize(*v, tensor.format);
                saturated += usize::from(s);
                q
            })
            .collect(),
        Format::Binary => values.iter().map(|v| i64::from(*v >= 0.0)).collect(),
        Format::Index { .. } => return Err(InputError::BadFormat(tensor.name.clone())),
    };
    Ok(QuantizedInput { values, saturated })
}

/// Parses and quantizes an input file holding one or more samples of `tensor`: one
/// sample of any layout, or k samples laid out as k rows (an `.npy` of shape
/// `[k, …]`, a JSON array of k arrays, k CSV lines), each holding exactly one sample.
pub fn load_samples(
    bytes: &[u8],
    kind: InputKind,
    tensor: &Tensor,
) -> Result<Vec<QuantizedInput>, InputError> {
    let values = parse_values(bytes, kind)?;
    let n = tensor.len();
    if values.len() == n {
        return Ok(vec![quantize_input(&values, tensor)?]);
    }
    let count_err = || InputError::Count {
        name: tensor.name.clone(),
        expected: n,
        found: values.len(),
    };
    if n == 0 || values.is_empty() || !values.len().is_multiple_of(n) {
        return Err(count_err());
    }
    // Several samples: the file's rows must be them, one each.
    match rows(bytes, kind)? {
        Some(r) if r.len() == values.len() / n && r.iter().all(|&c| c == n) => {}
        _ => {
            return Err(InputError::Parse(format!(
                "input `{}`: {} values are {} samples of {n} only when laid out as one sample per row (an .npy of shape [k, …], a JSON array of k arrays, k CSV lines)",
                tensor.name,
                values.len(),
                values.len() / n
            )));
        }
    }
    values
        .chunks(n)
        .map(|v| quantize_input(v, tensor))
        .collect()
}

/// The number of values in each top-level row of an input file, when it has rows:
/// the first dimension of an `.npy` of two or more, the elements of a JSON array of
/// arrays, the non-empty lines of a CSV file.
fn rows(bytes: &[u8], kind: InputKind) -> Result<Option<Vec<usize>>, InputError> {
    match kind {
        InputKind::Npy => {
            let shape = npy_shape(bytes)?;
            Ok((shape.len() >= 2).then(|| vec![shape[1..].iter().product(); shape[0]]))
        }
        InputKind::Json => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| InputError::Parse(e.to_string()))?;
            let serde_json::Value::Array(a) = v else {
                return Ok(None);
            };
            if !a.iter().all(|x| x.is_array()) {
                return Ok(None);
            }
            let mut counts = Vec::with_capacity(a.len());
            for x in &a {
                let mut out = Vec::new();
                flatten_json(x, &mut out, 1)?;
                counts.push(out.len());
            }
            Ok(Some(counts))
        }
        InputKind::Csv => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| InputError::Parse("CSV is not UTF-8".into()))?;
            Ok(Some(
                text.lines()
                    .map(|l| {
                        l.split(|c: char| c == ',' || c.is_whitespace())
                            .filter(|t| !t.is_empty())
                            .count()
                    })
                    .filter(|&c| c > 0)
                    .collect(),
            ))
        }
    }
}

/// Parses and quantizes an input file for `tensor`.
pub fn load_input(
    bytes: &[u8],
    kind: InputKind,
    tensor: &Tensor,
) -> Result<QuantizedInput, InputError> {
    quantize_input(&parse_values(bytes, kind)?, tensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(n: usize, format: Format) -> Tensor {
        Tensor {
            name: "image".into(),
            shape: vec![n],
            format,
        }
    }

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    const Q: Format = Format::Fixed { bits: 8, frac: 4 };

    #[test]
    fn json_nested_arrays() {
        let q = load_input(
            b"[[0.5, -1.0], [100, 0.03125]]",
            InputKind::Json,
            &tensor(4, Q),
        )
        .expect("ok");
        assert_eq!(q.values, vec![8, -16, 127, 1]); // 0.03125·16 = 0.5 → 1 (ties away)
        assert_eq!(q.saturated, 1);
        assert!(matches!(
            load_input(b"[1, \"a\"]", InputKind::Json, &tensor(2, Q)),
            Err(InputError::Parse(_))
        ));
        assert!(matches!(
            load_input(b"[1, 2]", InputKind::Json, &tensor(3, Q)),
            Err(InputError::Count { .. })
        ));
    }

    #[test]
    fn csv_numbers() {
        let q = load_input(b"0.5, -0.5\n1e0 -9\n\n", InputKind::Csv, &tensor(4, Q)).expect("ok");
        assert_eq!(q.values, vec![8, -8, 16, -128]);
        assert_eq!(q.saturated, 1);
        let e = load_input(b"1, x", InputKind::Csv, &tensor(2, Q)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read input: line 1: `x` is not a number"
        );
        assert!(matches!(
            load_input(b"1, nan", InputKind::Csv, &tensor(2, Q)),
            Err(InputError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn npy_dtypes() {
        let f4: Vec<u8> = [0.25f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            load_input(&npy("<f4", "(2,)", &f4), InputKind::Npy, &tensor(2, Q))
                .expect("f4")
                .values,
            vec![4, -32]
        );
        let f8: Vec<u8> = [0.25f64, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            load_input(&npy("<f8", "(1, 2)", &f8), InputKind::Npy, &tensor(2, Q))
                .expect("f8")
                .values,
            vec![4, -32]
        );
        let i2: Vec<u8> = [3i16, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            parse_npy(&npy("<i2", "(2,)", &i2)).expect("i2"),
            vec![3.0, -1.0]
        );
        let be: Vec<u8> = [3i32, -1].iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(
            parse_npy(&npy(">i4", "(2,)", &be)).expect("i4 be"),
            vec![3.0, -1.0]
        );
        assert_eq!(
            parse_npy(&npy("|u1", "(3,)", &[0, 7, 255])).expect("u1"),
            vec![0.0, 7.0, 255.0]
        );
        assert!(parse_npy(&npy("<c8", "(1,)", &[0; 8])).is_err());
        assert!(parse_npy(&npy("<f4", "(3,)", &f4)).is_err()); // truncated data
        assert!(parse_npy(b"\x93NUMPY").is_err());
        assert!(parse_npy(b"not numpy at all").is_err());
    }

    #[test]
    fn binary_inputs_take_the_sign() {
        let q = quantize_input(&[0.0, -0.1, 3.0], &tensor(3, Format::Binary)).expect("ok");
        assert_eq!(q.values, vec![1, 0, 1]);
        assert!(quantize_input(&[0.0], &tensor(1, Format::Index { bits: 2 })).is_err());
    }

    #[test]
    fn kind_from_path() {
        assert_eq!(InputKind::from_path("a/b.JSON"), InputKind::Json);
        assert_eq!(InputKind::from_path("x.npy"), InputKind::Npy);
        assert_eq!(InputKind::from_path("x.csv"), InputKind::Csv);
    }

    #[test]
    fn several_samples_only_as_one_per_row() {
        let t = tensor(4, Format::Fixed { bits: 8, frac: 0 });
        let f64s = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let eight: Vec<f64> = (0..8).map(f64::from).collect();
        let ok = |bytes: &[u8], kind| load_samples(bytes, kind, &t).map(|v| v.len());
        // one sample in any layout
        assert_eq!(ok(b"1 2\n3 4\n", InputKind::Csv), Ok(1));
        assert_eq!(
            ok(&npy("<f8", "(2, 2)", &f64s(&eight[..4])), InputKind::Npy),
            Ok(1)
        );
        // two samples as two rows
        assert_eq!(
            ok(&npy("<f8", "(2, 4)", &f64s(&eight)), InputKind::Npy),
            Ok(2)
        );
        assert_eq!(
            ok(&npy("<f8", "(2, 2, 2)", &f64s(&eight)), InputKind::Npy),
            Ok(2)
        );
        assert_eq!(ok(b"[[0,1,2,3],[4,5,6,7]]", InputKind::Json), Ok(2));
        assert_eq!(ok(b"0,1,2,3\n4,5,6,7\n", InputKind::Csv), Ok(2));
        // eight values in other layouts are not two samples
        for (bytes, kind) in [
            (npy("<f8", "(8,)", &f64s(&eight)), InputKind::Npy),
            (npy("<f8", "(4, 2)", &f64s(&eight)), InputKind::Npy),
            (b"[0,1,2,3,4,5,6,7]".to_vec(), InputKind::Json),
            (b"[[0,1,2],[3,4,5,6,7]]".to_vec(), InputKind::Json),
            (b"0 1\n2 3\n4 5\n6 7\n".to_vec(), InputKind::Csv),
        ] {
            let e = load_samples(&bytes, kind, &t).unwrap_err().to_string();
            assert!(e.contains("one sample per row"), "{e}");
        }
        // and a count that is no multiple is the count error
        assert!(matches!(
            load_samples(b"1,2,3", InputKind::Csv, &t),
            Err(InputError::Count { .. })
        ));
    }
}

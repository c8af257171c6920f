//! Input values on the command line (`NAME=VALUE`, decimal, `0x…` or `0b…`, any width)
//! and the printing of outputs. Integer bit i of a value is the value's wire i.

use garnet_circuits::{HasInterface, Party};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("`{0}` is not NAME=VALUE")]
    NotAssignment(String),
    #[error("`{text}` is not a number: {why} (use decimal, 0x… hex or 0b… binary)")]
    NotANumber { text: String, why: String },
    #[error("value {text} does not fit input `{name}` of {bits} bits")]
    TooWide {
        name: String,
        text: String,
        bits: u32,
    },
    #[error("the circuit has no input named `{name}`; its inputs are: {known}")]
    UnknownInput { name: String, known: String },
    #[error("input `{name}` belongs to the {owner}, not to this party")]
    NotOurs { name: String, owner: String },
    #[error("input `{0}` is given twice")]
    Duplicate(String),
    #[error("missing value for input `{name}` ({bits} bits); pass --input {name}=VALUE")]
    Missing { name: String, bits: u32 },
}

/// Splits `NAME=VALUE`.
pub fn split_assignment(text: &str) -> Result<(&str, &str), ValueError> {
    match text.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() && !v.trim().is_empty() => Ok((n.trim(), v.trim())),
        _ => Err(ValueError::NotAssignment(text.to_string())),
    }
}

/// Parses an integer of any size into its little-endian magnitude bits and sign.
fn parse_magnitude(text: &str) -> Result<(bool, Vec<bool>), ValueError> {
    let bad = |why: &str| ValueError::NotANumber {
        text: text.to_string(),
        why: why.to_string(),
    };
    let t: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16u32, h)
    } else if let Some(b) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (2, b)
    } else {
        (10, t.as_str())
    };
    if digits.is_empty() {
        return Err(bad("no digits"));
    }
    // Little-endian base-2^32 limbs, multiply-accumulate per digit.
    let mut limbs: Vec<u64> = vec![0];
    for ch in digits.chars() {
        let d = ch
            .to_digit(radix)
            .ok_or_else(|| bad(&format!("`{ch}` is not a base-{radix} digit")))?;
        let mut carry = d as u64;
        for l in limbs.iter_mut() {
            let v = *l * radix as u64 + carry;
            *l = v & 0xffff_ffff;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut bits: Vec<bool> = limbs
        .iter()
        .flat_map(|l| (0..32).map(move |i| (l >> i) & 1 == 1))
        .collect();
    while bits.last() == Some(&false) {
        bits.pop();
    }
    Ok((negative && !bits.is_empty(), bits))
}

/// Parses `text` as a `bits`-wide value. Negative decimals are two's complement
/// and must fit the signed range; non-negative values the unsigned range.
pub fn parse_value(name: &str, text: &str, bits: u32) -> Result<Vec<bool>, ValueError> {
    let (negative, mag) = parse_magnitude(text)?;
    let too_wide = || ValueError::TooWide {
        name: garnet_circuits::escape(name),
        text: text.to_string(),
        bits,
    };
    if !negative {
        if mag.len() > bits as usize {
            return Err(too_wide());
        }
        let mut v = mag;
        v.resize(bits as usize, false);
        return Ok(v);
    }
    // -m fits in `bits` two's-complement bits iff m <= 2^(bits-1).
    let power_of_two = mag.iter().filter(|&&b| b).count() == 1;
    let fits =
        bits > 0 && (mag.len() < bits as usize || (mag.len() == bits as usize && power_of_two));
    if !fits {
        return Err(too_wide());
    }
    let mut v = mag;
    v.resize(bits as usize, false);
    // Two's complement: invert and add one.
    let mut carry = true;
    for b in v.iter_mut() {
        let inv = !*b;
        *b = inv ^ carry;
        carry &= inv;
    }
    Ok(v)
}

/// Reads `NAME=VALUE` assignments for the inputs of `party` (all inputs when `None`),
/// returning one bit vector per such input, in the circuit's input order. An input
/// of zero bits needs no assignment.
pub fn collect_inputs(
    c: &(impl HasInterface + ?Sized),
    assignments: &[String],
    party: Option<Party>,
) -> Result<Vec<Vec<bool>>, ValueError> {
    // Names, owners, duplicates, missing values and widths first, building no bits:
    // an input a file declares 2^30 bits wide costs nothing until every check passed.
    let mut given: Vec<Option<(&str, &str)>> = vec![None; c.inputs().len()];
    for a in assignments {
        let (name, value) = split_assignment(a)?;
        let Some(i) = c.inputs().iter().position(|i| i.name == name) else {
            let ins = c.inputs();
            let mut known = ins
                .iter()
                .take(20)
                .map(|i| garnet_circuits::text::quote(&i.name))
                .collect::<Vec<_>>()
                .join(", ");
            if ins.len() > 20 {
                known.push_str(&format!(", … ({} in all)", ins.len()));
            }
            return Err(ValueError::UnknownInput {
                name: garnet_circuits::escape(name),
                known,
            });
        };
        let spec = &c.inputs()[i];
        if party.is_some_and(|p| p != spec.owner) {
            return Err(ValueError::NotOurs {
                name: garnet_circuits::escape(name),
                owner: format!("{:?}", spec.owner).to_lowercase(),
            });
        }
        if given[i].is_some() {
            return Err(ValueError::Duplicate(garnet_circuits::escape(name)));
        }
        given[i] = Some((name, value));
    }
    for (spec, v) in c.inputs().iter().zip(&given) {
        match v {
            // A value of no bits (an old-format Bristol file's `0` input) needs none.
            None if spec.bits == 0 || party.is_some_and(|p| p != spec.owner) => {}
            None => {
                return Err(ValueError::Missing {
                    name: garnet_circuits::escape(&spec.name),
                    bits: spec.bits,
                });
            }
            Some((name, value)) => check_width(name, value, spec.bits)?,
        }
    }
    c.inputs()
        .iter()
        .zip(given)
        .filter(|(spec, _)| party.is_none_or(|p| p == spec.owner))
        .map(|(spec, v)| match v {
            Some((name, value)) => parse_value(name, value, spec.bits),
            None => Ok(Vec::new()),
        })
        .collect()
}

/// Whether `text` parses and fits `bits`, without building the bits.
fn check_width(name: &str, text: &str, bits: u32) -> Result<(), ValueError> {
    let (negative, mag) = parse_magnitude(text)?;
    let b = bits as usize;
    let power_of_two = mag.iter().filter(|&&x| x).count() == 1;
    let fits = if negative {
        bits > 0 && (mag.len() < b || (mag.len() == b && power_of_two))
    } else {
        mag.len() <= b
    };
    if fits {
        Ok(())
    } else {
        Err(ValueError::TooWide {
            name: garnet_circuits::escape(name),
            text: text.to_string(),
            bits,
        })
    }
}

/// `0x…` with one digit per four bits (at least one digit).
pub fn to_hex(bits: &[bool]) -> String {
    let digits = bits.len().div_ceil(4).max(1);
    let mut s = String::with_capacity(digits + 2);
    s.push_str("0x");
    for d in (0..digits).rev() {
        let v = (0..4).fold(0u32, |acc, i| {
            acc | ((*bits.get(d * 4 + i).unwrap_or(&false) as u32) << i)
        });
        s.push(char::from_digit(v, 16).unwrap_or('0'));
    }
    s
}

/// Unsigned decimal of any width.
pub fn to_decimal(bits: &[bool]) -> String {
    // Repeated division by 10^9 over base-2^32 limbs.
    let mut limbs: Vec<u64> = bits
        .chunks(32)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u64, |a, (i, &b)| a | ((b as u64) << i))
        })
        .collect();
    let mut parts = Vec::new();
    loop {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        if limbs.is_empty() {
            break;
        }
        let mut rem = 0u64;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 32) | *l;
            *l = cur / 1_000_000_000;
            rem = cur % 1_000_000_000;
        }
        parts.push(rem);
    }
    match parts.split_last() {
        None => "0".to_string(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for p in rest.iter().rev() {
                s.push_str(&format!("{p:09}"));
            }
            s
        }
    }
}

/// Two's-complement decimal of any width.
pub fn to_signed_decimal(bits: &[bool]) -> String {
    if bits.last() != Some(&true) {
        return to_decimal(bits);
    }
    let mut mag: Vec<bool> = bits.iter().map(|b| !b).collect();
    let mut carry = true;
    for b in mag.iter_mut() {
        let v = *b ^ carry;
        carry &= *b;
        *b = v;
    }
    format!("-{}", to_decimal(&mag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use garnet_circuits::bits;
    use proptest::prelude::*;

    #[test]
    fn parses_every_base() {
        assert_eq!(parse_value("x", "10", 8).unwrap(), bits::from_u128(10, 8));
        assert_eq!(
            parse_value("x", "0xff", 8).unwrap(),
            bits::from_u128(255, 8)
        );
        assert_eq!(parse_value("x", "0b101", 4).unwrap(), bits::from_u128(5, 4));
        assert_eq!(parse_value("x", "-1", 8).unwrap(), bits::from_i128(-1, 8));
        assert_eq!(
            parse_value("x", "-128", 8).unwrap(),
            bits::from_i128(-128, 8)
        );
        assert_eq!(
            parse_value("x", "1_000", 16).unwrap(),
            bits::from_u128(1000, 16)
        );
    }

    #[test]
    fn rejects_what_does_not_fit_or_parse() {
        assert!(matches!(
            parse_value("x", "256", 8),
            Err(ValueError::TooWide { .. })
        ));
        assert!(matches!(
            parse_value("x", "-129", 8),
            Err(ValueError::TooWide { .. })
        ));
        assert!(matches!(
            parse_value("x", "0x1g", 8),
            Err(ValueError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_value("x", "0x", 8),
            Err(ValueError::NotANumber { .. })
        ));
        assert!(matches!(
            split_assignment("novalue"),
            Err(ValueError::NotAssignment(_))
        ));
    }

    proptest! {
        #[test]
        fn round_trips_u128(v: u128) {
            let b = parse_value("x", &v.to_string(), 128).unwrap();
            prop_assert_eq!(bits::to_u128(&b), v);
            prop_assert_eq!(to_decimal(&b), v.to_string());
            prop_assert_eq!(to_hex(&b), format!("0x{v:032x}"));
            prop_assert_eq!(parse_value("x", &to_hex(&b), 128).unwrap(), b);
        }

        #[test]
        fn round_trips_i64(v: i64) {
            let b = parse_value("x", &v.to_string(), 64).unwrap();
            prop_assert_eq!(bits::to_i128(&b), v as i128);
            prop_assert_eq!(to_signed_decimal(&b), v.to_string());
        }

        #[test]
        fn wide_values_round_trip(bits_vec in proptest::collection::vec(any::<bool>(), 1..400)) {
            let dec = to_decimal(&bits_vec);
            prop_assert_eq!(parse_value("x", &dec, bits_vec.len() as u32).unwrap(), bits_vec.clone());
            let hex = to_hex(&bits_vec);
            prop_assert_eq!(parse_value("x", &hex, bits_vec.len() as u32).unwrap(), bits_vec);
        }
    }
}

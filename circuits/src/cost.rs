//! What a two-party run of a circuit costs on the wire: the one owner of the
//! protocol's size constants. The runtime sends exactly these sizes and `stats`
//! estimates with them, so the estimate and the per-phase report cannot drift.

/// The garbling scheme of a session; both parties must use the same one (the
/// handshake checks it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Zahur, Rosulek, Evans 2015: two ciphertexts (32 bytes) per AND.
    #[default]
    HalfGates,
    /// Rosulek and Roy 2021: three half-ciphertexts and 5 bits (24.625 bytes) per AND,
    /// 1.5× the hashing.
    ThreeHalves,
}

/// Bytes of garbled table per AND gate with half-gates: two 128-bit ciphertexts.
pub const HALF_GATES_BYTES_PER_AND: u64 = 32;
/// Three-halves: bytes of half-ciphertexts per AND gate (`G0, G1, G2`, 8 bytes each).
pub const THREE_HALVES_HALVES_BYTES: u64 = 24;
/// Three-halves: control bits per AND gate, packed after a chunk's half-ciphertexts.
pub const THREE_HALVES_CONTROL_BITS: u64 = 5;
/// Bytes per garbler input bit: its active label.
pub const BYTES_PER_GARBLER_INPUT: u64 = 16;
/// Bytes per evaluator input bit in IKNP correlated OT: one κ = 128-bit column row.
pub const BYTES_PER_EVALUATOR_INPUT: u64 = 16;
/// 128 Chou–Orlandi base OTs on Ristretto255: one point one way, 128 the other.
pub const BASE_OT_BYTES: u64 = 32 + 128 * 32;

impl Scheme {
    pub const ALL: [Scheme; 2] = [Scheme::HalfGates, Scheme::ThreeHalves];

    /// The name `--scheme` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::HalfGates => "half-gates",
            Scheme::ThreeHalves => "three-halves",
        }
    }

    /// Its byte in the handshake.
    pub fn byte(self) -> u8 {
        match self {
            Scheme::HalfGates => 1,
            Scheme::ThreeHalves => 2,
        }
    }

    pub fn from_byte(b: u8) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.byte() == b)
    }

    /// Bytes of tables for `ands` AND gates sent together (a three-halves batch
    /// rounds its control bits up to a whole byte; full windows lose nothing).
    pub fn table_bytes(self, ands: u64) -> u64 {
        match self {
            Scheme::HalfGates => ands * HALF_GATES_BYTES_PER_AND,
            Scheme::ThreeHalves => {
                THREE_HALVES_HALVES_BYTES * ands + (THREE_HALVES_CONTROL_BITS * ands).div_ceil(8)
            }
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Scheme, String> {
        Scheme::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown garbling scheme {s:?} (half-gates or three-halves)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sizes() {
        assert_eq!(Scheme::HalfGates.table_bytes(10), 320);
        assert_eq!(Scheme::ThreeHalves.table_bytes(8), 197);
        assert_eq!(Scheme::ThreeHalves.table_bytes(128) as f64 / 128.0, 24.625);
        assert_eq!(Scheme::ThreeHalves.table_bytes(1), 25);
        for s in Scheme::ALL {
            assert_eq!(Scheme::from_byte(s.byte()), Some(s));
            assert_eq!(s.name().parse::<Scheme>(), Ok(s));
        }
        assert!("half".parse::<Scheme>().is_err());
    }
}

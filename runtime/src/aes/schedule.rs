//! The AES-128 key schedule, computed without table lookups.
//!
//! It runs once per key (per session, or per PRG seed), so it is written for clarity:
//! the S-box is computed arithmetically (inversion in GF(2^8), then the affine map).

use crate::block::Block;

/// The AES S-box entry for `x`: inversion in GF(2^8) followed by the affine map.
fn sbox(x: u8) -> u8 {
    fn mul(mut a: u8, mut b: u8) -> u8 {
        let mut p = 0u8;
        while b != 0 {
            if b & 1 != 0 {
                p ^= a;
            }
            let hi = a & 0x80;
            a <<= 1;
            if hi != 0 {
                a ^= 0x1b;
            }
            b >>= 1;
        }
        p
    }
    // x^254 = x^-1 (and 0 -> 0).
    let mut inv = 1u8;
    let mut base = x;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 == 1 {
            inv = mul(inv, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    inv ^ inv.rotate_left(1) ^ inv.rotate_left(2) ^ inv.rotate_left(3) ^ inv.rotate_left(4) ^ 0x63
}

/// The FIPS-197 AES-128 key schedule (runs once per session, not secret-timing-critical
/// beyond that: the S-box is computed arithmetically, without table lookups).
pub(super) fn expand_key(key: Block) -> [Block; 11] {
    const RCON: [u8; 10] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];
    let mut rk = [[0u8; 16]; 11];
    rk[0] = key.to_bytes();
    for i in 1..11 {
        let p = rk[i - 1];
        let mut t = [sbox(p[13]), sbox(p[14]), sbox(p[15]), sbox(p[12])];
        t[0] ^= RCON[i - 1];
        let mut n = [0u8; 16];
        for w in 0..4 {
            for k in 0..4 {
                let prev = if w == 0 { t[k] } else { n[4 * (w - 1) + k] };
                n[4 * w + k] = p[4 * w + k] ^ prev;
            }
        }
        rk[i] = n;
    }
    rk.map(Block::from_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_schedule_matches_fips197() {
        // FIPS-197 Appendix A.1: last round key for 2b7e1516 28aed2a6 abf71588 09cf4f3c.
        let key = Block::from_bytes([
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ]);
        let rk = expand_key(key);
        assert_eq!(
            rk[10].to_bytes(),
            [
                0xd0, 0x14, 0xf9, 0xa8, 0xc9, 0xee, 0x25, 0x89, 0xe1, 0x3f, 0x0c, 0xc8, 0xb6, 0x63,
                0x0c, 0xa6
            ]
        );
    }
}

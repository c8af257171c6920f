//! Pooling over a window of values.

use garnet_circuits::Gates;

use crate::arith::shr_arith;
use crate::colsum::ColumnSum;
use crate::compare::max_signed;
use crate::nn::index_bits;

/// Maximum of w signed values as a balanced tree (AND-depth grows with log w):
/// (w−1)·2n ANDs.
pub fn max_pool<G: Gates>(g: &mut G, values: &[Vec<G::Bit>]) -> Vec<G::Bit> {
    assert!(!values.is_empty(), "max-pool of no values");
    let mut level = values.to_vec();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for c in level.chunks(2) {
            next.push(if c.len() == 2 {
                max_signed(g, &c[0], &c[1])
            } else {
                c[0].clone()
            });
        }
        level = next;
    }
    level.pop().expect("one left")
}

/// Exact sum of w signed n-bit values, n + ⌈log2 w⌉ bits, in one carry-save tree.
pub fn sum_pool<G: Gates>(g: &mut G, values: &[Vec<G::Bit>]) -> Vec<G::Bit> {
    assert!(!values.is_empty(), "sum-pool of no values");
    let n = values[0].len();
    let mut cs = ColumnSum::new(n + index_bits(values.len()));
    for v in values {
        assert_eq!(v.len(), n, "pooled values must have equal widths");
        cs.add_value(g, v, true, 0, false, 0);
    }
    cs.finish(g)
}

/// Mean of w = 2^p signed n-bit values, rounded down (floor), n bits: the sum and
/// a free shift.
pub fn avg_pool<G: Gates>(g: &mut G, values: &[Vec<G::Bit>]) -> Vec<G::Bit> {
    assert!(
        values.len().is_power_of_two(),
        "average-pool needs a power-of-two window"
    );
    let p = values.len().trailing_zeros() as usize;
    let sum = sum_pool(g, values);
    shr_arith(g, &sum, p)
}

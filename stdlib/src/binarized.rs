//! Binarized networks: XNOR-popcount neurons.

use garnet_circuits::Gates;

use crate::arith::zero_extend;
use crate::colsum::ColumnSum;
use crate::compare::lt_unsigned;

/// Number of set bits, as ⌊log2 n⌋+1 unsigned bits: a full-adder tree,
/// n − popcount(n) ANDs (the known optimum).
pub fn popcount<G: Gates>(g: &mut G, bits: &[G::Bit]) -> Vec<G::Bit> {
    let width = (usize::BITS - bits.len().leading_zeros()).max(1) as usize;
    let mut cs = ColumnSum::new(width);
    for &b in bits {
        cs.add_bit(g, 0, b, false, 0);
    }
    cs.finish(g)
}

/// `popcount(xnor(x, w)) ≥ threshold` (threshold unsigned): the XNORs are free, so
/// popcount plus one comparison. A public threshold given as constant bits folds.
pub fn binarized_neuron<G: Gates>(
    g: &mut G,
    x: &[G::Bit],
    w: &[G::Bit],
    threshold: &[G::Bit],
) -> G::Bit {
    assert_eq!(
        x.len(),
        w.len(),
        "binarized neuron needs one weight per input"
    );
    let agree: Vec<G::Bit> = x.iter().zip(w).map(|(&a, &b)| g.xnor(a, b)).collect();
    let pop = popcount(g, &agree);
    let width = pop.len().max(threshold.len());
    let p = zero_extend(g, &pop, width);
    let t = zero_extend(g, threshold, width);
    let below = lt_unsigned(g, &p, &t);
    g.not(below)
}

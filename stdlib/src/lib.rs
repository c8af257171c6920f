//! garnet stdlib: AND-minimal arithmetic and neural-network gadgets.
//!
//! Every gadget is written once against [`Gates`], so the same code builds circuits
//! ([`garnet_circuits::Builder`]), computes on plain bits ([`garnet_circuits::PlainBits`])
//! or only counts gates ([`garnet_circuits::Counter`], [`DepthCounter`]). Under
//! free-XOR only AND gates cost anything, so each gadget minimizes ANDs first and
//! AND-depth second. Bit vectors are least-significant bit first; signed values are
//! two's complement.
//!
//! Multi-operand sums go through one carry-save tree ([`ColumnSum`]); wide products
//! and dot products through Karatsuba ([`dot::SplitVector`]). The `table` and
//! `anchors` modules measure every gadget for the README and the pinned-count tests.
//!
//! Some gadgets fold work into constants when [`Gates::known`] says a bit is known,
//! and `PlainBits` reports every bit as known, so on plain bits a gadget may take a
//! shortcut (e.g. a carry-save sum becomes integer addition); the results agree.

pub mod activation;
pub mod anchors;
pub mod arith;
pub mod binarized;
pub mod colsum;
pub mod compare;
pub mod depth;
pub mod dot;
pub mod mul;
pub mod nn;
pub mod pool;
pub mod table;

pub use activation::{PiecewiseLinear, Segment, piecewise_linear};
pub use arith::{
    add, add_carry, full_adder, half_adder, negate, shl, shr_arith, sign_extend, sub, sub_borrow,
    zero_extend,
};
pub use binarized::{binarized_neuron, popcount};
pub use colsum::ColumnSum;
pub use compare::{eq, lt_signed, lt_unsigned, max_signed, min_signed, relu, select};
pub use depth::DepthCounter;
pub use dot::{
    Split, SplitVector, dot_const, dot_signed, dot_signed_schoolbook, dot_signed_shared,
    dot_signed_split, exact_width, shared_sum,
};
pub use mul::{csd, mul_const, mul_full_signed, mul_full_unsigned, mul_trunc};
pub use nn::{argmax, requantize, requantize_relu};
pub use pool::{avg_pool, max_pool, sum_pool};

pub use garnet_circuits::Gates;

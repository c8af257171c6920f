//! Correctness of every gadget against Rust integer arithmetic: exhaustive up to
//! 8 bits, proptest at 16 and 32 bits, and built circuits against plain bits.

pub mod common;

mod activation;
mod anchors;
mod arith;
mod binarized;
mod compare;
mod counts;
mod dot;
mod mul;
mod nn;
mod pool;
mod readme;

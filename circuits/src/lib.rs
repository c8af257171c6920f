//! garnet circuits: the gate IR, a simplifying builder behind the [`Gates`] trait,
//! optimization passes, bit-sliced plaintext evaluation, statistics and file formats.

pub mod builder;
pub mod cost;
pub mod eval;
pub mod format;
pub mod gates;
pub mod interface;
pub mod ir;
mod liveness;
pub mod outsource;
pub mod passes;
pub mod random;
pub mod stats;
pub mod testing;
pub mod text;

pub use builder::{Builder, Counter, GateCounts, LiveCounter, LiveCounts, UnusedRoots, Wire};
pub use gates::{Gates, PlainBits, bits};
pub use interface::{HasInterface, Interface};
pub use ir::{
    Circuit, FixedFormat, Gate, InputSpec, Op, OutBit, OutputSpec, Party, Recipient, Section,
    ValueType,
};
pub use text::{escape, read_capped};
